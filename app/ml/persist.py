"""The model file: one zip holding `manifest.json` and `model.skops`, written to a temporary file and renamed over
the old one, so model and manifest switch together in one commit point (a crash leaves the previous model).

The estimators are stored with skops, never pickle: loading builds only the types on an allow-list
(scikit-learn's estimators, numpy arrays and the types in TRUSTED), so a planted file cannot run code when the app
loads it. The manifest's SHA-256 of `model.skops` catches damage; skops' allow-list is what makes a hostile file
harmless (a hash written by the same hand proves nothing about who wrote it).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from app.errors import ModelError

FORMAT = "scalpdesk-model/2"
# Types beyond skops' defaults (scikit-learn estimators, numpy, builtins) that our models hold.
TRUSTED = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
_STALE_TMP_S = 60.0  # a save takes well under a second


def write(path: Path, estimators: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """Store `estimators` with `manifest` (plus the payload's SHA-256) at `path`; returns the manifest written.
    Disk full or any other failure leaves the previous file as it was and no temporary file behind."""
    import skops.io as sio

    payload = sio.dumps(estimators)
    extra = sorted(set(sio.get_untrusted_types(data=payload)) - set(TRUSTED))
    if extra:  # a new scikit-learn stores a type we never vetted: refuse now rather than fail at every load
        raise ModelError(f"this scikit-learn stores types that are not on the model allow-list ({', '.join(extra)})")
    full = dict(manifest, format=FORMAT, sha256=hashlib.sha256(payload).hexdigest(), model_file="model.skops")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(_os_message(path, exc)) from None
    _sweep(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED) as zf:
                zf.writestr("manifest.json", json.dumps(full, indent=2) + "\n")
                zf.writestr("model.skops", payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # the one commit point: the old model stays until this rename
    except OSError as exc:
        raise ModelError(_os_message(path, exc)) from None
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)
    return full


def read(path: Path) -> tuple[dict[str, Any], bytes]:
    """(manifest, payload) of a model file, checked as an archive; nothing is deserialised here."""
    if not path.is_file():
        raise ModelError(f"no model at {path}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if names != {"manifest.json", "model.skops"}:
                raise ModelError(f"{path}: not a ScalpDesk model file (unexpected contents); retrain")
            manifest = json.loads(zf.read("manifest.json").decode("utf-8"))
            payload = zf.read("model.skops")
    except zipfile.BadZipFile:
        raise ModelError(f"{path}: not a ScalpDesk model file (older versions stored pickles, which are never "
                         f"loaded because they can run code); retrain") from None
    except (ValueError, UnicodeDecodeError, zipfile.LargeZipFile) as exc:
        raise ModelError(f"{path}: unreadable model file ({type(exc).__name__}); retrain") from None
    except OSError as exc:
        raise ModelError(_os_message(path, exc, reading=True)) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelError(f"{path}: not a ScalpDesk model file of this version; retrain")
    if not isinstance(manifest.get("sha256"), str) or not isinstance(manifest.get("feature_names"), list):
        raise ModelError(f"{path}: the manifest lacks the model's hash or feature list; retrain")
    if hashlib.sha256(payload).hexdigest() != manifest["sha256"]:
        raise ModelError(f"{path}: the model does not match its manifest's SHA-256 (changed or damaged); refused, "
                         f"retrain")
    return manifest, payload


def estimators(path: Path, payload: bytes) -> dict[str, Any]:
    """Build the estimators from a verified payload: only allow-listed types, no code is run."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        obj = sio.loads(payload, trusted=TRUSTED)
    except UntrustedTypesFoundException as exc:
        raise ModelError(f"{path}: the model holds types that are not allowed ({exc}); refused") from None
    except Exception as exc:  # a damaged or foreign payload: say so, never crash
        raise ModelError(f"{path}: could not be loaded ({type(exc).__name__}); retrain") from None
    if not isinstance(obj, dict) or "model" not in obj or "calibrator" not in obj:
        raise ModelError(f"{path}: not a ScalpDesk model (missing model or calibrator); retrain")
    return obj


def _sweep(path: Path) -> None:
    """Temporary files of saves killed mid-way (a crash or kill -9 cannot run a finally)."""
    now = time.time()
    for old in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > _STALE_TMP_S:
                old.unlink()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _os_message(path: Path, exc: OSError, reading: bool = False) -> str:
    if exc.errno == errno.ENOSPC:
        return f"{path}: the disk is full; the model was not saved and the previous model is unchanged. Free some " \
               f"space and train again."
    if reading:
        return f"{path}: cannot be read ({exc.strerror or exc})"
    return f"{path}: the model could not be saved ({exc.strerror or exc}); the previous model is unchanged"
