"""Grade a whole class from a roster: concurrently, resumably, one student's
broken cluster or dump never stopping the rest.

The roster is a CSV file with a header. ``student_id`` is required; ``name``
is carried into the gradebook; each student's work is reached one of two
ways:

* **dumps**: a column per rubric phase (``built``, ``cleaned``) and
  optionally ``baseline``, each a dump path relative to the roster's folder.
  ``namespace`` then names the lab namespace inside the dumps (default: what
  a labgrade bundle recorded, else the rubric's), as ``grade -n`` does.
* **live**: ``namespace`` with no phase dump, and optionally ``context`` and
  ``kubeconfig`` (default: ``--context``/``--kubeconfig``, then ``KUBECONFIG``
  and ``~/.kube/config``). The cluster is graded as phase ``--phase`` (the
  rubric's first by default); a ``baseline`` dump may accompany it.

Other columns (email, section...) are ignored. Rows whose ``student_id``
starts with ``#`` and empty rows are skipped. The file may be UTF-8 (with or
without the BOM Excel writes), UTF-16 with a BOM, or GB18030/GBK (what Excel
on a Chinese Windows saves as "CSV"); comma, semicolon or tab separated.

Everything structural is checked before any grading starts, and the first
problem is one :class:`InputError` naming the roster file and line. Student
ids become folder names, so they are limited to ``[A-Za-z0-9._-]``, start
with a letter or digit, are at most 64 characters, are unique ignoring case
(Windows and macOS folders are case-insensitive), and cannot be a Windows
device name or one of the class files' names. Whether a dump exists and
parses, or a cluster answers, is the student's own row: an ``error`` with
the reason, and the batch goes on.

Results go to ``OUT/<student_id>/`` (``report.json``, ``junit.xml``,
Gradescope's ``results.json``; or ``error.txt`` for a student who could not
be graded) and ``OUT/`` (``gradebook.csv``, ``canvas.csv``, ``junit.xml``,
``summary.md``), all written atomically. A student is not regraded when
their ``report.json`` loads, is for the same lab, rubric version, student,
namespace and sources as this run would use, and holds no ``error`` check
(an error means the grader could not look, which is worth another try);
``resume=False`` regrades everyone.
"""
from __future__ import annotations

import csv
import io
import os
import re
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, TextIO

from grader import engine, redact
from grader.report import gradebook
from grader.errors import InputError
from grader.report.gradebook import StudentResult
from grader.i18n import Text
from grader.outcome import GradeReport, SourceInfo, Status
from grader.report import json_report, junit
from grader.report.safe import for_terminal
from grader.rubric import Rubric

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
CLASS_FILES = ("gradebook.csv", "canvas.csv", "junit.xml", "summary.md", "class.html")
STUDENT_FILES = ("report.json", "junit.xml", "results.json", "report.html")
ERROR_FILE = "error.txt"
LIVE_COLUMNS = ("namespace", "context", "kubeconfig")
MAX_JOBS = 64


# -- the roster ---------------------------------------------------------------

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


def load_roster(path: str | os.PathLike[str], rubric: Rubric) -> Roster:
    """Read and validate a roster; InputError (file:line: reason) on the first problem."""
    p = Path(path)
    where = str(p)
    try:
        raw = p.read_bytes()
    except IsADirectoryError:
        raise InputError(where, "is a folder, not a roster CSV file") from None
    except FileNotFoundError:
        raise InputError(where, "no such file") from None
    except OSError as exc:
        raise InputError(where, f"cannot read: {exc.strerror or exc}") from None
    text = _decode(raw, where)
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
        entries: list[RosterEntry] = []
        ids: dict[str, tuple[str, int]] = {}
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
            sid = cells.get("student_id", "")
            if sid.startswith("#"):
                continue
            entries.append(_entry(cells, sid, line, where, p.parent, ids, rubric, dump_columns))
    except csv.Error as exc:
        hint = "; a quote (\") opened here and never closed?" if "end of data" in str(exc) else ""
        raise InputError(where, f"not readable as CSV from here on ({exc}{hint})", line=last_line + 1) from None
    if not entries:
        raise InputError(where, "lists no students (only a header)")
    return Roster(p, tuple(entries))


def _entry(cells: dict[str, str], sid: str, line: int, where: str, base: Path,
           ids: dict[str, tuple[str, int]], rubric: Rubric, dump_columns: tuple[str, ...]) -> RosterEntry:
    def fail(message: str) -> InputError:
        return InputError(where, message, line=line)

    shown = for_terminal(sid, 80)
    if not sid:
        raise fail("empty student_id")
    if not STUDENT_ID.match(sid):
        raise fail(f"student_id {shown!r} cannot be a folder name: use letters, digits, '.', '_' and '-', "
                   "starting with a letter or digit, at most 64 characters")
    if _WINDOWS_DEVICES.match(sid) or sid.lower() in CLASS_FILES:
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


# -- grading one student --------------------------------------------------------

class StudentError(Exception):
    """This student cannot be graded now (unreadable dump, unreachable cluster)."""

    def __init__(self, reason: Text):
        super().__init__(reason.en)
        self.reason = reason


class _Stopped(Exception):
    """The batch was interrupted while this student was being graded."""


@dataclass(frozen=True)
class BatchOptions:
    jobs: int = 4
    lang: str = "en"
    resume: bool = True
    poll: bool = True
    phase: str | None = None  # the phase live clusters are graded as (default: the rubric's first)
    kubeconfig: str | None = None  # defaults for live rows without their own
    context: str | None = None
    dns_server: str | None = None
    #: Run exec credential plugins / auth-providers of roster-named kubeconfigs
    #: (off: whoever wrote the file would choose a command the grader runs).
    allow_exec_credentials: bool = False


@dataclass
class _Checked:
    """A live source that refuses to grade a cluster it could not read at all:
    a down cluster or a namespace the grader may not see would otherwise be
    a report full of ``error`` checks, which the gradebook would show as a
    score. The student becomes an error row instead, and is retried on resume."""

    inner: Any
    live: bool = True

    @property
    def info(self) -> SourceInfo:
        return self.inner.info

    def view(self):
        from grader.sources.live import LISTS

        view = self.inner.view()
        unreachable = getattr(self.inner, "unreachable", None)
        if unreachable is not None:  # the one line: server and cause
            raise StudentError(unreachable.text)
        if not any(view.has(kind) for kind in LISTS):
            reason = next(iter(view.kind_errors.values()), None) or Text("无法读取集群", "could not read the cluster")
            raise StudentError(reason)
        _namespace_exists(self.inner)
        return view


def _namespace_exists(source: Any) -> None:
    """A roster namespace that does not exist is an error row, not 0/100
    (a typo in the roster, or the student's namespace was never made).
    One GET; a grader not allowed to read namespaces cannot tell: no error."""
    api, ns = getattr(source, "api", None), getattr(source, "namespace", None)
    if api is None or not ns:
        return
    try:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        client.CoreV1Api(api).read_namespace(ns, _request_timeout=5)
    except ApiException as exc:
        if exc.status == 404:
            raise StudentError(Text(f"命名空间 {ns} 不存在（请检查名单中的 namespace 列）",
                                    f"namespace {ns} does not exist (check the roster's namespace column)")) from None
    except Exception:  # noqa: BLE001 - cannot tell: grade as usual
        return


class _ApiClients:
    """One loaded kubeconfig per (file, context), one ApiClient (its own
    connection pool) per student: a pool shared by all workers would be too
    small for their parallel LISTs, and loading a kubeconfig per student
    would re-parse it and rewrite its certificates each time."""

    def __init__(self, roster_kubeconfigs: frozenset[str] = frozenset(), allow_exec_credentials: bool = False) -> None:
        self._lock = threading.Lock()
        self._configs: dict[tuple[str | None, str | None], Any] = {}
        # Kubeconfigs named by the roster are the students' (or anyone's) files:
        # their exec plugins are refused unless the teacher allows them.
        self.roster_kubeconfigs = roster_kubeconfigs
        self.allow_exec_credentials = allow_exec_credentials

    def configuration(self, kubeconfig: str | None, context: str | None) -> Any:
        from grader.sources.live import api_client

        key = (kubeconfig, context)
        allow = self.allow_exec_credentials or kubeconfig not in self.roster_kubeconfigs
        with self._lock:
            if key not in self._configs:
                try:
                    base = api_client(kubeconfig, context, allow_exec_credentials=allow)
                except InputError as exc:  # a bad kubeconfig: every student using it gets this reason
                    self._configs[key] = exc
                else:
                    self._configs[key] = base.configuration
                    base.close()
            cfg = self._configs[key]
        if isinstance(cfg, InputError):
            raise cfg
        return cfg

    def client(self, kubeconfig: str | None, context: str | None) -> Any:
        from kubernetes import client

        return client.ApiClient(self.configuration(kubeconfig, context))


@dataclass
class BatchResult:
    results: list[StudentResult]
    resumed: list[bool]
    elapsed: float
    files: dict[str, Path]

    @property
    def errors(self) -> int:
        return sum(1 for r in self.results if not r.ok)


class BatchInterrupted(Exception):
    def __init__(self, finished: int, total: int, abandoned: bool):
        super().__init__(f"interrupted after {finished} of {total} students")
        self.finished = finished
        self.total = total
        self.abandoned = abandoned


class Batch:
    def __init__(self, rubric: Rubric, roster: Roster, out: str | os.PathLike[str],
                 options: BatchOptions = BatchOptions(), *, progress: "Progress | None" = None,
                 clock: Callable[[], float] = time.monotonic,
                 rubric_for: Callable[[str], Rubric] | None = None):
        self.rubric = rubric
        # Per-student variants: each row's own rubric (same steps and points, its own values).
        self.rubric_for = rubric_for or (lambda student_id: rubric)
        self.roster = roster
        self.out = Path(out)
        self.options = options
        self.progress = progress
        self.clock = clock
        self.stop = threading.Event()
        self.apis = _ApiClients(frozenset(e.kubeconfig for e in roster.entries if e.kubeconfig),
                                options.allow_exec_credentials)
        from grader.sources.dump_cache import DumpCache  # rows sharing a dump: parsed once
        from grader.reads import rubric_reads
        from grader.sources.shared_cluster import SharedClusters  # rows sharing a cluster: one LIST per kind for them all

        self.shared = SharedClusters(self._cluster_counts(), lambda key: self.apis.configuration(*key),
                                     jobs=options.jobs, dns_server=options.dns_server, reads=rubric_reads(rubric))
        self.dumps = DumpCache.for_roster(rubric, roster.entries)
        phase = options.phase or rubric.phases[0]
        if phase not in rubric.phases:
            raise InputError("--phase", f"unknown phase {phase!r}; this rubric's phases: {', '.join(rubric.phases)}")
        self.live_phase = phase
        if not 1 <= options.jobs <= MAX_JOBS:
            raise InputError("--jobs", f"must be between 1 and {MAX_JOBS}, got {options.jobs}")

    # -- sources -------------------------------------------------------------
    def _cluster_key(self, entry: RosterEntry) -> tuple[str | None, str | None]:
        return (entry.kubeconfig or self.options.kubeconfig, entry.context or self.options.context)

    def _cluster_counts(self) -> dict[tuple[str | None, str | None], int]:
        counts: dict[tuple[str | None, str | None], int] = {}
        for entry in self.roster.entries:
            if entry.live:
                counts[self._cluster_key(entry)] = counts.get(self._cluster_key(entry), 0) + 1
        return counts

    def _live_location(self, entry: RosterEntry) -> str:
        context = entry.context or self.options.context
        kubeconfig = entry.kubeconfig or self.options.kubeconfig
        where = "live" + (f" context {context}" if context else "")
        return where + (f" kubeconfig {kubeconfig}" if entry.kubeconfig else "")

    def expected_sources(self, entry: RosterEntry) -> set[tuple[str, str, str]]:
        """(phase, kind, location) of every source a grading of ``entry`` uses."""
        out = {(phase, "snapshot", str(path)) for phase, path in entry.dumps.items()}
        if entry.live:
            out.add((self.live_phase, "live", self._live_location(entry)))
        return out

    def _sources(self, entry: RosterEntry) -> tuple[dict[str, Any], str | None, Any]:
        from grader.sources import snapshot
        from grader.engine import StaticSource

        sources: dict[str, Any] = {}
        recorded_ns = None
        phases = [phase for phase in (*self.rubric.phases, "baseline") if entry.dumps.get(phase) is not None]
        try:  # only what the rubric reads in the student's namespace is kept
            snaps = self.dumps.load_all([entry.dumps[phase] for phase in phases], entry.namespace)
        except InputError as exc:
            raise StudentError(Text(str(exc), str(exc))) from None
        for phase, snap in zip(phases, snaps):
            path = entry.dumps[phase]
            recorded_ns = recorded_ns or snap.namespace
            sources[phase] = StaticSource(snap.view(location=str(path), phase=phase),
                                          SourceInfo(phase, "snapshot", str(path), snap.collected_at))
        api = None
        if entry.live:
            from grader.sources.live import LiveSource
            from grader.reads import rubric_reads

            try:
                shared = self.shared.get(self._cluster_key(entry))
            except InputError as exc:
                raise StudentError(Text(str(exc), str(exc))) from None
            if shared is not None:  # the class read, cut to this namespace; the probes stay the student's
                sources[self.live_phase] = _Checked(shared.source(entry.namespace or self.rubric.namespace,
                                                                  self.live_phase, self._live_location(entry)))
                return sources, recorded_ns, None
            try:
                api = self.apis.client(entry.kubeconfig or self.options.kubeconfig, entry.context or self.options.context)
            except InputError as exc:
                raise StudentError(Text(str(exc), str(exc))) from None
            live = LiveSource(api, entry.namespace or self.rubric.namespace, self.live_phase,
                              location=self._live_location(entry), dns_server=self.options.dns_server,
                              reads=rubric_reads(self.rubric))
            sources[self.live_phase] = _Checked(live)
        return sources, recorded_ns, api

    # -- one student ------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopped()

    def grade_one(self, entry: RosterEntry) -> StudentResult:
        """Grade ``entry`` and write its files; never raises but _Stopped."""
        if self.stop.is_set():
            raise _Stopped()
        api = None
        try:
            sources, recorded_ns, api = self._sources(entry)
            namespace = entry.namespace or recorded_ns or self.rubric.namespace
            options = engine.Options(poll=self.options.poll, sleep=self._sleep)
            rubric = self.rubric_for(entry.student_id)
            report = engine.grade(rubric, sources, namespace=namespace, student=entry.student_id, options=options)
            result = StudentResult(entry.student_id, entry.name, report=report)
        except _Stopped:
            raise
        except StudentError as exc:
            result = StudentResult(entry.student_id, entry.name, error=exc.reason)
        except Exception as exc:  # noqa: BLE001 - a bug must not take the class down
            detail = for_terminal(f"{type(exc).__name__}: {exc}", 300)
            result = StudentResult(entry.student_id, entry.name,
                                   error=Text(f"评分程序内部错误：{detail}", f"internal grader error: {detail}"))
        finally:
            if api is not None:
                api.close()
        if result.error is not None:  # the reason reaches gradebook.csv, junit.xml, summary.md, error.txt
            result = StudentResult(result.student_id, result.name, result.report, redact.text_pair(result.error))
        if self.stop.is_set() and result.report is None:
            raise _Stopped()  # an error caused by the interruption is not the student's
        self.write_student(result)
        return result

    def student_dir(self, student_id: str) -> Path:
        return self.out / student_id

    def write_student(self, result: StudentResult) -> None:
        folder = self.student_dir(result.student_id)
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise InputError(str(folder), f"cannot create the student's folder: {exc.strerror or exc}") from None
        lang = self.options.lang
        if result.report is not None:
            write_atomic(folder / "report.json", json_report.to_json(result.report))
            write_atomic(folder / "junit.xml", junit.to_junit_xml(result.report, lang))
            write_atomic(folder / "results.json", gradebook.gradescope_results(result.report, lang))
            write_atomic(folder / "report.html", _student_html(result.report, lang))  # linked from class.html
            (folder / ERROR_FILE).unlink(missing_ok=True)
        else:
            reason = result.error or Text("", "")
            # A dump's kind or name can hold ESC/OSC/bidi bytes: `cat error.txt` must not obey them.
            zh, en = (for_terminal(redact.text(t), 2000) for t in (reason.zh, reason.en))
            write_atomic(folder / ERROR_FILE, f"{zh}\n{en}\n" if zh != en else f"{en}\n")
            # A stale report would be taken for this run's on the next resume.
            for name in STUDENT_FILES:
                (folder / name).unlink(missing_ok=True)

    # -- resume -------------------------------------------------------------------
    def resumable(self, entry: RosterEntry) -> GradeReport | None:
        """The earlier report of ``entry`` if it stands for what this run would do."""
        try:
            report = json_report.from_json(self.student_dir(entry.student_id).joinpath("report.json").read_bytes())
        except (OSError, json_report.ReportFormatError):
            return None
        version = self.rubric_for(entry.student_id).version  # a variant's version names its values
        if (report.lab, report.rubric_version, report.student) != (self.rubric.lab, version, entry.student_id):
            return None
        if entry.namespace and report.namespace != entry.namespace:
            return None
        if {(s.phase, s.kind, s.location) for s in report.sources} != self.expected_sources(entry):
            return None
        if any(c.status is Status.ERROR for _, c in report.checks()):
            return None
        return report

    def _refresh_student(self, result: StudentResult) -> None:
        """A resumed student's junit.xml and results.json, rewritten only if
        they differ (another --lang, a file deleted): the report is the truth."""
        assert result.report is not None
        folder = self.student_dir(result.student_id)
        write_atomic(folder / "junit.xml", junit.to_junit_xml(result.report, self.options.lang), only_if_changed=True)
        write_atomic(folder / "results.json", gradebook.gradescope_results(result.report, self.options.lang),
                     only_if_changed=True)
        write_atomic(folder / "report.html", _student_html(result.report, self.options.lang), only_if_changed=True)
        (folder / ERROR_FILE).unlink(missing_ok=True)

    # -- the class ----------------------------------------------------------------
    def run(self) -> BatchResult:
        started = self.clock()
        if self.out.exists() and not self.out.is_dir():
            raise InputError(str(self.out), "exists and is not a folder")
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(str(self.out), f"cannot create: {exc.strerror or exc}") from None
        entries = self.roster.entries
        results: list[StudentResult | None] = [None] * len(entries)
        resumed = [False] * len(entries)
        progress = self.progress
        if progress:
            progress.start(len(entries))
        todo: list[int] = []
        for i, entry in enumerate(entries):
            report = self.resumable(entry) if self.options.resume else None
            if report is None:
                todo.append(i)
                continue
            results[i] = StudentResult(entry.student_id, entry.name, report=report)
            resumed[i] = True
            self._refresh_student(results[i])
            if progress:
                progress.done(results[i], resumed=True)
        if todo:
            try:
                self._grade_all(entries, todo, results)
            finally:
                self.shared.close()
        final = [r for r in results if r is not None]
        assert len(final) == len(entries)
        files = self.write_class(final)
        if progress:
            progress.finish()
        return BatchResult(final, resumed, round(self.clock() - started, 3), files)

    def _grade_all(self, entries: tuple[RosterEntry, ...], todo: list[int], results: list[StudentResult | None]) -> None:
        pool = ThreadPoolExecutor(max_workers=min(self.options.jobs, len(todo)), thread_name_prefix="labgrade-batch")
        futures: dict[Future, int] = {pool.submit(self.grade_one, entries[i]): i for i in todo}
        pending = set(futures)
        progress = self.progress
        try:
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=futures.__getitem__):
                    results[futures[fut]] = fut.result()
                    if progress:
                        progress.done(results[futures[fut]], resumed=False)
                if progress:
                    progress.tick()
        except KeyboardInterrupt:
            self.stop.set()
            running = sum(1 for f in pending if not f.cancel())
            if progress:
                progress.stopping(running)
            try:
                pool.shutdown(wait=True, cancel_futures=True)
            except KeyboardInterrupt:
                raise BatchInterrupted(self._finished(futures), len(entries), abandoned=True) from None
            raise BatchInterrupted(self._finished(futures), len(entries), abandoned=False) from None
        except BaseException:
            self.stop.set()  # e.g. the results disk is full: let the other workers end soon
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _finished(futures: dict[Future, int]) -> int:
        return sum(1 for f in futures if f.done() and not f.cancelled() and f.exception() is None)

    def write_class(self, results: list[StudentResult]) -> dict[str, Path]:
        lang = self.options.lang
        texts = {
            "gradebook.csv": gradebook.gradebook_csv(self.rubric, results, lang),
            "canvas.csv": gradebook.canvas_csv(self.rubric, results),
            "junit.xml": gradebook.class_junit(self.rubric.lab, results, lang),
            "summary.md": gradebook.summary_markdown(self.rubric, results, lang),
            "class.html": _class_html(self.rubric, results, lang),
        }
        files = {}
        for name, text in texts.items():
            files[name] = self.out / name
            write_atomic(files[name], text)
        return files


def _student_html(report: GradeReport, lang: str) -> str:
    from grader.report.html_report import to_html

    return to_html(report, lang)


def _class_html(rubric: Rubric, results: list[StudentResult], lang: str) -> str:
    from grader.report.class_html import to_class_html

    return to_class_html(rubric, results, lang)


def write_atomic(path: Path, text: str, *, only_if_changed: bool = False) -> None:
    """Write UTF-8 via a temporary file and a rename: a reader (an LMS, a
    resumed batch, a teacher's spreadsheet) never sees half a file."""
    data = text.encode("utf-8")
    if only_if_changed:
        try:
            if path.read_bytes() == data:
                return
        except OSError:
            pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(str(path), f"cannot write: {exc.strerror or exc}") from None


# -- progress -----------------------------------------------------------------------

class Progress:
    """Done/errors/ETA on stderr: one redrawn line on a terminal, one line per
    student otherwise (a CI log or ``2> file`` gets readable lines, not \\r soup)."""

    BAR = 24

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None, lang: str = "en",
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.lang = lang
        self.clock = clock
        self.total = self.done_count = self.errors = self.graded = 0
        self.started = 0.0
        self._last_draw = 0.0

    def start(self, total: int) -> None:
        self.total = total
        self.started = self.clock()

    def eta(self) -> float | None:
        """Seconds left, from the pace of students graded in this run."""
        left = self.total - self.done_count
        if not self.graded or not left:
            return None if left else 0.0
        return (self.clock() - self.started) / self.graded * left

    @staticmethod
    def _fmt(seconds: float | None) -> str:
        if seconds is None:
            return "?"
        seconds = int(round(seconds))
        return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds}s"

    def done(self, result: StudentResult, *, resumed: bool) -> None:
        self.done_count += 1
        if not resumed:
            self.graded += 1
        if not result.ok:
            self.errors += 1
        if self.tty:
            self._draw(force=self.done_count == self.total)
            return
        width = len(str(self.total))
        if result.report is not None:
            what = f"{_pts(result.report.earned)}/{_pts(result.report.points)}"
            if result.report.ungraded:
                what += f" ({_pts(result.report.ungraded)} not graded)"
            if resumed:
                what += " (earlier run)"
        else:
            what = "error: " + for_terminal((result.error or Text("", "")).get(self.lang), 200)
        eta = "" if resumed else f"  errors {self.errors}, ETA {self._fmt(self.eta())}"
        self._write(f"labgrade batch: [{self.done_count:>{width}}/{self.total}] {result.student_id}: {what}{eta}\n")

    def tick(self) -> None:
        if self.tty:
            self._draw()

    def _draw(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        filled = int(self.BAR * self.done_count / self.total) if self.total else self.BAR
        bar = "█" * filled + "░" * (self.BAR - filled)
        elapsed = max(now - self.started, 1e-9)
        rate = self.graded / elapsed
        self._write(f"\r\x1b[Klabgrade batch [{bar}] {self.done_count}/{self.total}  errors {self.errors}  "
                    f"{rate:.1f}/s  ETA {self._fmt(self.eta())}")

    def stopping(self, running: int) -> None:
        if self.tty:
            self._write("\n")
        self._write(f"labgrade batch: stopping; waiting for {running} student(s) being graded "
                    "(Ctrl-C again to abandon them)\n")

    def finish(self) -> None:
        elapsed = self.clock() - self.started
        if self.tty:
            self._draw(force=True)
            self._write("\n")
        self._write(f"labgrade batch: {self.done_count} students ({self.done_count - self.graded} from an earlier run), "
                    f"{self.errors} could not be graded, {elapsed:.1f} s\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass


def _pts(value: float) -> str:
    from grader.report.wording import points_str

    return points_str(value)


__all__ = [
    "RosterEntry",
    "Roster",
    "load_roster",
    "BatchOptions",
    "Batch",
    "BatchResult",
    "BatchInterrupted",
    "StudentError",
    "Progress",
    "write_atomic",
]
