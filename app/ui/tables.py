"""A table view that says what to do when it is empty, and sorts through its model (see app.ui.models)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyledItemDelegate, QTableView

_ELIDE = Qt.TextElideMode.ElideRight


class CachedTextDelegate(QStyledItemDelegate):
    """Paints a keyed model's cells from the texts and colours it worked out when the row changed: one call into
    Python per cell instead of seven `data()` roles (the watchlist repaints every visible cell each second)."""

    def __init__(self, view: QTableView, model: Any) -> None:
        super().__init__(view)
        self.model = model
        pal = view.palette()
        self.text_colour = pal.text().color()
        self.highlight = pal.highlight()
        self.highlighted_text = pal.highlightedText().color()
        self.align = [int((Qt.AlignmentFlag.AlignRight if c.right else Qt.AlignmentFlag.AlignLeft)
                          | Qt.AlignmentFlag.AlignVCenter) for c in model.columns]
        self.elide = [c.elide for c in model.columns]
        self.selected: set[int] = set()  # kept from the selection model's signals: reading option.state per cell
        self.view = view  # (a Python enum conversion) costs more than painting the cell

    def track_selection(self, *_: Any) -> None:
        sm = self.view.selectionModel()
        self.selected = {i.row() for i in sm.selectedRows()} if sm is not None else set()

    def paint(self, painter: QPainter, option: Any, index: Any) -> None:
        m = self.model
        r, c = index.row(), index.column()
        if r >= len(m._rows):
            return
        rect = option.rect
        if r in self.selected:
            painter.fillRect(rect, self.highlight)
            painter.setPen(self.highlighted_text)
        else:
            bg = m._bg[r]
            if bg is not None:
                painter.fillRect(rect, bg)
            painter.setPen(m._fg[r][c] or self.text_colour)
        text = m.text_at(r, c)
        box = rect.adjusted(4, 0, -4, 0)
        if self.elide[c]:
            text = option.fontMetrics.elidedText(text, _ELIDE, box.width())
        painter.drawText(box, self.align[c], text)


class TableView(QTableView):
    def __init__(self, model: Any, name: str, empty_text: str = "") -> None:
        super().__init__()
        self.setObjectName(name)
        self.empty_text = empty_text
        self.setModel(model)
        if hasattr(model, "text_at"):
            delegate = CachedTextDelegate(self, model)
            self.setItemDelegate(delegate)
            self.selectionModel().selectionChanged.connect(delegate.track_selection)
            for sig in (model.layoutChanged, model.rowsInserted, model.rowsRemoved, model.modelReset):
                sig.connect(delegate.track_selection)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.setWordWrap(False)  # long texts are elided, with the whole text in the tooltip
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setSortIndicatorClearable(True)  # a third click returns to the natural order
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # no indicator until the user sorts
        self.setSortingEnabled(True)

    def set_empty_text(self, text: str) -> None:
        if text != self.empty_text:
            self.empty_text = text
            self.viewport().update()

    def paintEvent(self, event: Any) -> None:
        super().paintEvent(event)
        model = self.model()
        if model is not None and model.rowCount() == 0 and self.empty_text:
            p = QPainter(self.viewport())
            p.setPen(self.palette().placeholderText().color())
            area = self.viewport().rect().adjusted(16, 12, -16, -12)
            p.drawText(QRect(area), int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
                                        | Qt.TextFlag.TextWordWrap), self.empty_text)
            p.end()
