"""Reading input files with one clear line when they cannot be read, and
writing result files so that no reader ever sees half of one.

An LMS importing ``gradebook.csv``, a resumed batch reading
``report.json``, a teacher's spreadsheet open on a file being rewritten:
each sees the old file or the new one, because every file is written to a
temporary name beside it and renamed over it (atomic on one filesystem).
"""
from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

from grader.errors import InputError


#: The most an input file read whole (a rubric, roster, ledger, kubeconfig,
#: expected.yaml) may hold. Dumps have their own, larger limit
#: (grader/sources/dumpread.py) and are streamed.
INPUT_LIMIT = 64 * 1024 * 1024


def read_input(path: str | os.PathLike[str], what: str, limit: int = INPUT_LIMIT) -> bytes:
    """The bytes of an input file (``what``: "roster CSV", "ledger"...), or
    one InputError naming the file and what is wrong with it.

    At most ``limit`` bytes are read: ``--rubric /dev/zero`` or a mistyped
    path to a disk image filled memory until the machine gave out, where a
    too-big file is one line. A pipe (``--kubeconfig <(...)``) still reads."""
    where = str(path)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise InputError(where, f"is over {limit // (1024 * 1024)} MB; not a {what} file?")
        return data
    except FileNotFoundError:
        raise InputError(where, f"no such {what} file") from None
    except IsADirectoryError:
        raise InputError(where, f"is a folder, not a {what} file") from None
    except OSError as exc:
        raise InputError(where, f"cannot read the {what}: {exc.strerror or exc}") from None


def write_atomic(path: str | os.PathLike[str], text: str | bytes, *, only_if_changed: bool = False,
                 need_folder: bool = False) -> None:
    """Write ``text`` (as UTF-8, or ``bytes`` as they are) via a temporary file and a rename.

    ``only_if_changed`` leaves an identical file untouched (its mtime too);
    ``need_folder`` refuses to create a file in a folder that does not exist
    (a user's ``--json out/report.json`` with a typo in ``out``)."""
    target = Path(path)
    if need_folder and not target.parent.exists():
        raise InputError(str(path), "its folder does not exist")
    data = text.encode("utf-8") if isinstance(text, str) else text
    if only_if_changed:
        try:
            if target.read_bytes() == data:
                return
        except OSError:
            pass
    # A fresh name, created here or not at all (O_EXCL), never through a
    # symlink: a predictable one planted in the folder pointed the write at a
    # file elsewhere. The mode is the umask's, as for any new file.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}.tmp")
    created = False
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                     | getattr(os, "O_BINARY", 0), 0o666)
        created = True
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except OSError as exc:
        if created:
            tmp.unlink(missing_ok=True)
        raise InputError(str(path), f"cannot write: {exc.strerror or exc}") from None


__all__ = ["read_input", "write_atomic"]
