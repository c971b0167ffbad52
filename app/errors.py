"""The project's own exceptions: each carries a message a trader can act on."""


class ScalpDeskError(Exception):
    """Base class: the message is shown to the user as it is, without a traceback."""


class ConfigError(ScalpDeskError):
    """`key`: the dotted key at fault, when one is (a save can then reset exactly that key)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class DataError(ScalpDeskError):
    """A file or a feed gave data that cannot be used (names the file and line where known)."""


class ExchangeError(ScalpDeskError):
    """The exchange could not be reached or refused; `retryable` tells whether trying later may help."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class StorageError(ScalpDeskError):
    pass


class DamagedDatabaseError(StorageError):
    """The database file is damaged; the CLI and the window offer to move it aside (app.storage.recovery)."""

    def __init__(self, path: object, message: str) -> None:
        super().__init__(message)
        self.path = path


class ModelError(ScalpDeskError):
    pass


class CancelledError(ScalpDeskError):
    """A long job was cancelled by the user."""


def user_message(exc: BaseException) -> str:
    """What to show for an error in a dialog or the status bar: our own errors as they are, a full disk named as
    such (errno 28 from any file write), anything else with its type."""
    import errno

    if isinstance(exc, ScalpDeskError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        where = f" writing {exc.filename}" if exc.filename else ""
        return f"The disk is full{where}. Free some space and try again; nothing was half-written."
    return f"{type(exc).__name__}: {exc}"
