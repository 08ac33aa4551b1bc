"""Writing result files so that no reader ever sees half of one.

An LMS importing ``gradebook.csv``, a resumed batch reading
``report.json``, a teacher's spreadsheet open on a file being rewritten:
each sees the old file or the new one, because every file is written to a
temporary name beside it and renamed over it (atomic on one filesystem).
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from grader.errors import InputError


def write_atomic(path: str | os.PathLike[str], text: str, *, only_if_changed: bool = False,
                 need_folder: bool = False) -> None:
    """Write ``text`` as UTF-8 via a temporary file and a rename.

    ``only_if_changed`` leaves an identical file untouched (its mtime too);
    ``need_folder`` refuses to create a file in a folder that does not exist
    (a user's ``--json out/report.json`` with a typo in ``out``)."""
    target = Path(path)
    if need_folder and not target.parent.exists():
        raise InputError(str(path), "its folder does not exist")
    data = text.encode("utf-8")
    if only_if_changed:
        try:
            if target.read_bytes() == data:
                return
        except OSError:
            pass
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(str(path), f"cannot write: {exc.strerror or exc}") from None


__all__ = ["write_atomic"]
