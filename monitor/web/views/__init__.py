"""One module per page family; each exports ``routes`` (Starlette routes), which
``monitor.web.app`` mounts in order. Helpers more than one family needs live here:
:func:`write_atomic` (the feeds and rules pages write the config and rule files)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

NEW_FILE_MODE = 0o644      # a new rule file: readable by the daemon whoever runs it


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one step: a temporary file in the same
    directory, flushed to disk, given the old file's permissions (a new file
    :data:`NEW_FILE_MODE`), then renamed over it.
    A reader (the daemon reloading rules) sees the old file or the new, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            mode = NEW_FILE_MODE
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
