"""One module per page family; each exports ``routes`` (Starlette routes), which
``monitor.web.app`` mounts in order. Helpers more than one family needs live here:
:func:`write_atomic` (the feeds and rules pages write the config and rule files) and
:func:`tone_views` (every page that shows items shows their tone)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ...models import Item
from ...store import Store
from ..render import ToneView, tone_view

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


def tone_views(store: Store, items: Iterable[Item]) -> dict[int, ToneView]:
    """Each item's :class:`ToneView`, by item id; who corrected it and when is read only
    for the items a staff member corrected (the latest correction of each)."""
    out: dict[int, ToneView] = {}
    for item in items:
        correction = None
        if item.tone_corrected:
            done = store.tone_corrections(item_id=item.id)
            if done:
                correction = (done[-1].actor, done[-1].at)
        out[item.id] = tone_view(item, correction)
    return out
