"""The roster: who is in the class and where each student's work is.

A CSV file with a header. ``student_id`` is required; ``name`` is carried
into the gradebook; each student's work is reached one of two ways:

* **dumps**: a column per rubric phase (``built``, ``cleaned``) and
  optionally ``baseline``, each a dump path relative to the roster's folder.
  ``namespace`` then names the lab namespace inside the dumps (default: what
  a labgrade bundle recorded, else the rubric's), as ``grade -n`` does.
* **live**: ``namespace`` with no phase dump, and optionally ``context`` and
  ``kubeconfig`` (default: ``--context``/``--kubeconfig``, then ``KUBECONFIG``
  and ``~/.kube/config``).

Other columns (email, section...) are ignored. Rows whose ``student_id``
starts with ``#`` and empty rows are skipped. The file may be UTF-8 (with or
without the BOM Excel writes), UTF-16 with a BOM, or GB18030/GBK (what Excel
on a Chinese Windows saves as "CSV"); comma, semicolon or tab separated.

Everything structural is checked before any grading starts, and the first
problem is one :class:`InputError` naming the roster file and line. Student
ids become folder names, so they are limited to ``[A-Za-z0-9._-]``, start
with a letter or digit, are at most 64 characters, are unique ignoring case
(Windows and macOS folders are case-insensitive), and cannot be a Windows
device name or one of the class files' names.
"""
from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from grader.errors import InputError
from grader.files import read_input
from grader.i18n import Text
from grader.report.safe import for_terminal
from grader.rubric import Rubric

#: Names a student folder cannot take: the class files written beside them.
RESERVED_NAMES = ("gradebook.csv", "canvas.csv", "junit.xml", "summary.md", "class.html")
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)

@dataclass(frozen=True)
class RosterEntry:
    student_id: str
    name: str
    line: int
    namespace: str | None = None
    context: str | None = None
    kubeconfig: str | None = None
    dumps: dict[str, Path] = field(default_factory=dict)  # phase (or "baseline") -> path

    @property
    def live(self) -> bool:
        return not any(phase != "baseline" for phase in self.dumps)


@dataclass(frozen=True)
class Roster:
    path: Path
    entries: tuple[RosterEntry, ...]


def missing_namespace(ns: str) -> Text:
    """What a row whose namespace the cluster does not have says (batch's
    error row, observe's): the roster's mistake, never a 0/100."""
    return Text(f"命名空间 {ns} 不存在（请检查名单中的 namespace 列）",
                f"namespace {ns} does not exist (check the roster's namespace column)")


def _decode(raw: bytes, where: str) -> str:
    if b"\x00" in raw and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(where, "not a CSV text file (it holds NUL bytes)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(where, "not valid UTF-16 text") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:  # Excel on a Chinese Windows saves "CSV" in the ANSI code page
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise InputError(where, "not UTF-8 (or GBK) text; save the roster as CSV UTF-8") from None


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _rows(path: Path, rubric: Rubric) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, cells) of each student row, in order: blank rows and rows whose
    student_id starts with '#' are skipped. A problem with the file itself
    (unreadable, no header, broken CSV, a row wider than the header) is an
    InputError; what a row says is not judged here."""
    where = str(path)
    text = _decode(read_input(path, "roster CSV"), where)
    if not text.strip():
        raise InputError(where, "is empty; it needs a header row with student_id")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text.splitlines()[0]), strict=True)
    dump_columns = (*rubric.phases, "baseline")
    last_line = 0
    try:
        header = next(reader)
        columns = [h.strip().lower() for h in header]
        seen: dict[str, int] = {}
        for i, col in enumerate(columns):
            if col and col in seen:
                raise InputError(where, f"column {col!r} appears twice in the header", line=1)
            seen[col] = i
        if "student_id" not in seen:
            shown = ", ".join(repr(c) for c in columns[:8]) or "nothing"
            raise InputError(where, f"no student_id column in the header (found {shown})", line=1)
        if not any(c in seen for c in ("namespace", *dump_columns)):
            raise InputError(where, "no column says where a student's work is: add namespace (live grading) "
                                    f"or dump columns ({', '.join(dump_columns)})", line=1)
        last_line = reader.line_num
        for row in reader:
            line = last_line + 1
            last_line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                raise InputError(where, f"{len(row)} fields but the header has {len(columns)} "
                                        "(a name with an unquoted comma?)", line=line)
            cells = {col: (row[i].strip() if i < len(row) else "") for col, i in seen.items() if col}
            if cells.get("student_id", "").startswith("#"):
                continue
            yield line, cells
    except csv.Error as exc:
        hint = "; a quote (\") opened here and never closed?" if "end of data" in str(exc) else ""
        raise InputError(where, f"not readable as CSV from here on ({exc}{hint})", line=last_line + 1) from None


def load_roster(path: str | os.PathLike[str], rubric: Rubric) -> Roster:
    """Read and validate a roster; InputError (file:line: reason) on the first problem."""
    p = Path(path)
    ids: dict[str, tuple[str, int]] = {}
    entries = [_entry(cells, line, str(p), p.parent, ids, rubric) for line, cells in _rows(p, rubric)]
    if not entries:
        raise InputError(str(p), "lists no students (only a header)")
    return Roster(p, tuple(entries))


@dataclass(frozen=True)
class BadRow:
    """A roster row that cannot be graded as written (its problem, and the
    cells as they were, for the one line that reports it)."""

    line: int
    problem: InputError
    student_id: str
    name: str
    namespace: str


def pick_row(path: str | os.PathLike[str], rubric: Rubric, index: int) -> RosterEntry | BadRow | None:
    """Row ``index`` (0-based, counted as :func:`load_roster` counts students)
    for one pod of an Indexed Job: its entry, a :class:`BadRow` when it is
    unusable (a retry cannot fix it, and the other rows are no business of
    this pod's), or None past the end (a Job may have more completions than
    the class has students). A problem with the file itself is an InputError."""
    p = Path(path)
    ids: dict[str, tuple[str, int]] = {}
    for i, (line, cells) in enumerate(_rows(p, rubric)):
        try:
            entry = _entry(cells, line, str(p), p.parent, ids, rubric)
        except InputError as exc:
            if i == index:
                return BadRow(line, exc, cells.get("student_id", ""), cells.get("name", ""), cells.get("namespace", ""))
            continue
        if i == index:
            return entry
    return None


def _entry(cells: dict[str, str], line: int, where: str, base: Path,
           ids: dict[str, tuple[str, int]], rubric: Rubric) -> RosterEntry:
    def fail(message: str) -> InputError:
        return InputError(where, message, line=line)

    sid = cells.get("student_id", "")
    dump_columns = (*rubric.phases, "baseline")
    shown = for_terminal(sid, 80)
    if not sid:
        raise fail("empty student_id")
    if not STUDENT_ID.match(sid):
        raise fail(f"student_id {shown!r} cannot be a folder name: use letters, digits, '.', '_' and '-', "
                   "starting with a letter or digit, at most 64 characters")
    if _WINDOWS_DEVICES.match(sid) or sid.lower() in RESERVED_NAMES:
        raise fail(f"student_id {shown!r} is a reserved file name; add a prefix")
    folded = sid.casefold()
    if folded in ids:
        first, first_line = ids[folded]
        same = "" if first == sid else f" ({first!r} differs only in case, and folders would collide)"
        raise fail(f"student_id {shown!r} appears twice: first on line {first_line}{same}")
    ids[folded] = (sid, line)

    dumps = {col: _path(base, cells[col]) for col in dump_columns if cells.get(col)}
    namespace = cells.get("namespace") or None
    if namespace and not NAMESPACE.match(namespace):
        raise fail(f"namespace {for_terminal(namespace, 80)!r} of {shown} is not a Kubernetes namespace name")
    phase_dumps = [c for c in dumps if c != "baseline"]
    live_only = [c for c in ("context", "kubeconfig") if cells.get(c)]
    if phase_dumps and live_only:
        raise fail(f"{shown} has dumps ({', '.join(phase_dumps)}) and {' and '.join(live_only)}, which are for "
                   "live grading; give one or the other")
    if not phase_dumps and not namespace:
        raise fail(f"{shown} has neither a namespace (live grading) nor a dump ({', '.join(rubric.phases)})")
    kubeconfig = cells.get("kubeconfig") or None
    return RosterEntry(
        student_id=sid,
        name=cells.get("name", ""),
        line=line,
        namespace=namespace,
        context=cells.get("context") or None,
        kubeconfig=str(_path(base, kubeconfig)) if kubeconfig else None,
        dumps=dumps,
    )


def _path(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


__all__ = ["RosterEntry", "Roster", "BadRow", "load_roster", "pick_row", "STUDENT_ID", "NAMESPACE", "RESERVED_NAMES"]
