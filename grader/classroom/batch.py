"""Grade a whole class from a roster: concurrently, resumably, one student's
broken cluster or dump never stopping the rest.

The roster (:mod:`grader.classroom.roster`) says where each student's work
is: dumps, or a namespace on a live cluster. Each row is one grading run,
the same as ``labgrade grade`` (:mod:`grader.run`), with two loaders of the
batch's own: rows pointing at one class dump share one parse
(:mod:`grader.sources.dump_cache`), and rows on one shared cluster share
one LIST per kind (:mod:`grader.sources.shared_cluster`). A live cluster is
graded as phase ``--phase`` (the rubric's first by default); with
``state_dir`` each live row keeps a state file, and the phase is the one
the cluster shows, as ``grade --state`` does.

Whether a dump exists and parses, or a cluster answers, is the student's
own row: an ``error`` with the reason, and the batch goes on. Results go to
the results folder (:mod:`grader.classroom.results_folder`). A student is
not regraded when their ``report.json`` loads, is for the same lab, rubric
version, student, namespace and sources as this run would use, and holds
no ``error`` check (an error means the grader could not look, which is
worth another try), and its dumps are the versions it was made from (a dump
replaced at the same path is graded again); ``resume=False`` regrades everyone, and a row with a
state file is always graded (its phase is the cluster's, known only by
looking).
"""
from __future__ import annotations

import os
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from grader import redact, run as one_run
from grader.classroom import processes
from grader.classroom.meter import ProgressMeter
from grader.classroom.results_folder import ResultsFolder
from grader.classroom.roster import Roster, RosterEntry, missing_namespace
from grader.errors import InputError
from grader.i18n import Text
from grader.outcome import GradeReport, SourceInfo, Status
from grader.report.gradebook import StudentResult
from grader.report.safe import for_terminal
from grader.rubric import Rubric

MAX_JOBS = 64


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
    #: Keep each live row's phases in ``STATE_DIR/<student_id>.state.yaml``
    #: (a folder that outlives the run: a Job's PersistentVolumeClaim).
    state_dir: str | None = None
    #: Processes that grade a big class on a shared cluster (None: one per
    #: core from :data:`~grader.classroom.processes.MIN_STUDENTS` students;
    #: 1: this process only). ``jobs`` is the threads of them all.
    procs: int | None = None


class _Checked:
    """A live source that refuses to grade a cluster it could not read at all:
    a down cluster or a namespace the grader may not see would otherwise be
    a report full of ``error`` checks, which the gradebook would show as a
    score. The student becomes an error row instead, and is retried on resume."""

    def __init__(self, inner: Any):
        self.inner = inner
        self._looked = False

    @property
    def info(self) -> SourceInfo:
        return self.inner.info

    @property
    def phase(self) -> str:
        return self.inner.phase

    @phase.setter
    def phase(self, value: str) -> None:  # the phase a run infers is the source's
        self.inner.phase = value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def view(self):
        view = self.inner.view()
        unreachable = getattr(self.inner, "unreachable", None)
        if unreachable is not None:  # the one line: server and cause
            raise StudentError(unreachable.text)
        from grader.kinds import is_namespaced

        # None of the kinds the rubric lists in the student's namespace could be read.
        if not any(view.has(kind) for kind in view.kinds if is_namespaced(kind)):
            reason = next(iter(view.kind_errors.values()), None) or Text("无法读取集群", "could not read the cluster")
            raise StudentError(reason)
        if not self._looked:
            _namespace_exists(self.inner)
            self._looked = True
        return view


def _namespace_exists(source: Any) -> None:
    """A roster namespace that does not exist is an error row, not 0/100
    (a typo in the roster, or the student's namespace was never made).
    One GET; a grader not allowed to read namespaces cannot tell: no error.
    A student on a shared cluster has no client of their own: the class
    read answers (its Namespace LIST, or objects in the namespace), else
    one GET through the class's client."""
    api, ns = getattr(source, "api", None), getattr(source, "namespace", None)
    from_class_read = getattr(source, "namespace_exists", None)  # a SharedClusterSource (it needs the client)
    if from_class_read is not None and ns:
        known = from_class_read()
        if known is True:
            return
        if known is False:
            raise _no_namespace(ns)
        api = source.cluster.api
    if api is None or not ns:
        return
    try:
        from grader.sources.kube_import import client_and_config

        client, _ = client_and_config()
        from kubernetes.client.exceptions import ApiException

        client.CoreV1Api(api).read_namespace(ns, _request_timeout=5)
    except ApiException as exc:
        if exc.status == 404:
            raise _no_namespace(ns) from None
    except Exception:  # noqa: BLE001 - cannot tell: grade as usual
        return


def _no_namespace(ns: str) -> StudentError:
    return StudentError(missing_namespace(ns))


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
                 options: BatchOptions = BatchOptions(), *, progress: ProgressMeter | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 rubric_for: Callable[[str], Rubric] | None = None):
        from grader.reads import rubric_reads
        from grader.sources.client_pool import ClientPool
        from grader.sources.dump_cache import DumpCache  # rows sharing a dump: parsed once
        from grader.sources.shared_cluster import SharedClusters  # rows sharing a cluster: one LIST per kind for them all

        self.rubric = rubric
        # Per-student variants: each row's own rubric (same steps and points, its own values).
        self.rubric_for = rubric_for or (lambda student_id: rubric)
        self.roster = roster
        self.folder = ResultsFolder(Path(out), options.lang)
        self.out = self.folder.out
        self.options = options
        self.progress = progress
        self.clock = clock
        self.stop = threading.Event()
        #: Students' class junit suites rendered by forked grading processes (by student id).
        self.junit_suites: dict[str, Any] = {}
        self.apis = ClientPool(frozenset(e.kubeconfig for e in roster.entries if e.kubeconfig),
                               options.allow_exec_credentials)
        self.shared = SharedClusters(self._cluster_counts(), lambda key: self.apis.configuration(*key),
                                     jobs=options.jobs, dns_server=options.dns_server, reads=rubric_reads(rubric))
        self.dumps = DumpCache.for_roster(rubric, roster.entries)
        phase = options.phase or rubric.phases[0]
        if phase not in rubric.phases:
            raise InputError("--phase", f"unknown phase {phase!r}; this rubric's phases: {', '.join(rubric.phases)}")
        self.live_phase = phase
        if not 1 <= options.jobs <= MAX_JOBS:
            raise InputError("--jobs", f"must be between 1 and {MAX_JOBS}, got {options.jobs}")
        if options.procs is not None and not 1 <= options.procs <= processes.MAX_PROCS:
            raise InputError("--procs", f"must be between 1 and {processes.MAX_PROCS}, got {options.procs}")

    # -- where a student's work is ---------------------------------------------------
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

    def state_file(self, entry: RosterEntry) -> str | None:
        if not self.options.state_dir or not entry.live:
            return None
        return str(Path(self.options.state_dir) / f"{entry.student_id}.state.yaml")

    def where(self, entry: RosterEntry) -> one_run.Where:
        """The run ``labgrade grade`` would make for this row."""
        state = self.state_file(entry)
        kubeconfig, context = self._cluster_key(entry)
        return one_run.Where(
            dumps=tuple((phase, str(path)) for phase, path in entry.dumps.items() if phase != "baseline"),
            baseline=str(entry.dumps["baseline"]) if "baseline" in entry.dumps else None,
            state=state, namespace=entry.namespace, student=entry.student_id,
            # With a state file the phase is the cluster's, as for grade --state.
            phase=self.options.phase or (None if state else self.live_phase),
            say_phase=self.options.phase is not None,
            kubeconfig=kubeconfig, context=context, dns_server=self.options.dns_server, poll=self.options.poll,
            look_elsewhere=not entry.live,
        )

    def _loaders(self, entry: RosterEntry, opened: list) -> one_run.Loaders:
        """The batch's own loaders: the dump cache, and the shared cluster's
        read (cut to this namespace) or a client of the pool; API clients
        this row opens go to ``opened``, to be closed after grading."""
        def dumps(paths: list[str], rubric: Rubric, namespace: str | None) -> list:
            return self.dumps.load_all([Path(p) for p in paths], namespace)

        def live(where: one_run.Where, namespace: str, phase: str, rubric: Rubric) -> _Checked:
            from grader.sources import assemble

            location = self._live_location(entry)
            shared = self.shared.get(self._cluster_key(entry))
            if shared is not None:  # the class read, cut to this namespace; the probes stay the student's
                return _Checked(shared.source(namespace, phase, location))
            api = self.apis.client(where.kubeconfig, where.context)
            opened.append(api)
            return _Checked(assemble.live_source(where, namespace, phase, rubric, api=api, location=location))

        return one_run.Loaders(dumps=dumps, live=live)

    def expected_sources(self, entry: RosterEntry) -> set[tuple[str, str, str]]:
        """(phase, kind, location) of every source a grading of ``entry`` uses."""
        out = {(phase, "snapshot", str(path)) for phase, path in entry.dumps.items()}
        if entry.live:
            out.add((self.live_phase, "live", self._live_location(entry)))
        return out

    # -- one student ------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopped()

    def grade_one(self, entry: RosterEntry) -> StudentResult:
        """Grade ``entry`` and write its files; never raises but _Stopped."""
        if self.stop.is_set():
            raise _Stopped()
        opened: list = []
        inputs = self.inputs(entry)  # before reading: a dump changed meanwhile is seen as changed on resume
        try:
            rubric = self.rubric_for(entry.student_id)
            graded = one_run.grade(rubric, self.where(entry), self._loaders(entry, opened), sleep=self._sleep)
            result = StudentResult(entry.student_id, entry.name, report=graded.report)
        except _Stopped:
            raise
        except StudentError as exc:
            result = StudentResult(entry.student_id, entry.name, error=exc.reason)
        except InputError as exc:  # this row's dump, kubeconfig or state file: the student's row, not the class's
            result = StudentResult(entry.student_id, entry.name, error=Text(str(exc), str(exc)))
        except Exception as exc:  # noqa: BLE001 - a bug must not take the class down
            # Masked before it is cut: a credential across the cut would no longer be found whole.
            detail = for_terminal(redact.text(f"{type(exc).__name__}: {exc}"), 300)
            result = StudentResult(entry.student_id, entry.name,
                                   error=Text(f"评分程序内部错误：{detail}", f"internal grader error: {detail}"))
        finally:
            for api in opened:
                api.close()
        if result.error is not None:  # the reason reaches gradebook.csv, junit.xml, summary.md, error.txt
            result = StudentResult(result.student_id, result.name, result.report, redact.text_pair(result.error))
        if self.stop.is_set() and result.report is None:
            raise _Stopped()  # an error caused by the interruption is not the student's
        self.folder.write_student(result, inputs)
        return result

    def grade_row(self, entry: RosterEntry) -> StudentResult:
        """One row alone (an Indexed Job's pod): graded, its folder written,
        no class files (the other pods write their own rows)."""
        self.folder.create()
        try:
            return self.grade_one(entry)
        finally:
            self.shared.close()

    def student_dir(self, student_id: str) -> Path:
        return self.folder.student_dir(student_id)

    # -- resume -------------------------------------------------------------------
    @staticmethod
    def inputs(entry: RosterEntry) -> dict[str, Any]:
        """phase -> the version of the row's dump (path, mtime and size, as the
        dump cache keys it), JSON-shaped; None for a dump that cannot be stat'ed."""
        import json

        from grader.sources.dump_cache import file_key

        out: dict[str, Any] = {}
        for phase, path in sorted(entry.dumps.items()):
            try:
                out[phase] = file_key(Path(path))
            except OSError:
                out[phase] = None
        return json.loads(json.dumps(out))

    def resumable(self, entry: RosterEntry) -> GradeReport | None:
        """The earlier report of ``entry`` if it stands for what this run would do."""
        if self.state_file(entry) is not None:
            return None
        report = self.folder.earlier_report(entry.student_id)
        if report is None:
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
        if entry.dumps and self.folder.earlier_inputs(entry.student_id) != self.inputs(entry):
            return None  # a dump replaced since (or a report from before inputs.json): grade it again
        return report

    # -- the class ----------------------------------------------------------------
    def run(self) -> BatchResult:
        started = self.clock()
        self.folder.create()
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
            self.folder.refresh_student(results[i])
            if progress:
                progress.done(results[i], resumed=True)
        if todo:
            def done(i: int, result: StudentResult) -> None:
                results[i] = result
                if progress:
                    progress.done(result, resumed=False)

            try:
                split = processes.split_for(self, todo)
                if split is not None:  # a big class on one cluster: one process per core
                    try:
                        split.run(todo, done)
                    except processes.Interrupted as exc:
                        raise BatchInterrupted(exc.finished, len(entries), exc.abandoned) from None
                else:
                    self.grade_all(todo, done)
            finally:
                self.shared.close()
        final = [r for r in results if r is not None]
        assert len(final) == len(entries)
        files = self.folder.write_class(self.rubric, final, self.junit_suites)
        if progress:
            progress.finish()
        return BatchResult(final, resumed, round(self.clock() - started, 3), files)

    def grade_all(self, todo: list[int], done: Callable[[int, StudentResult], None]) -> None:
        """Grade the roster rows ``todo`` with ``options.jobs`` threads; ``done(i, result)``
        is called on this thread as each ends, in roster order among those ending together."""
        entries = self.roster.entries
        pool = ThreadPoolExecutor(max_workers=min(self.options.jobs, len(todo)), thread_name_prefix="labgrade-batch")
        # Each future reports itself on a queue as it ends: ``wait()`` over
        # every pending future per completion is quadratic (a thousand
        # students: half a million lock round trips on the main thread).
        finished: queue.SimpleQueue[Future] = queue.SimpleQueue()
        futures: dict[Future, int] = {}
        for i in todo:
            fut = pool.submit(self.grade_one, entries[i])
            futures[fut] = i
            fut.add_done_callback(finished.put)
        pending = set(futures)
        progress = self.progress
        finished_count = 0
        try:
            while pending:
                try:
                    ended = [finished.get(timeout=0.25)]
                except queue.Empty:
                    ended = []
                while True:
                    try:
                        ended.append(finished.get_nowait())
                    except queue.Empty:
                        break
                pending.difference_update(ended)
                for fut in sorted(ended, key=futures.__getitem__):
                    # Handed on and dropped: a finished report kept here would be walked
                    # by every later pass of the cyclic collector (a worker process
                    # keeps none; this process's caller keeps what it needs).
                    i = futures.pop(fut)
                    try:
                        result = fut.result()
                    except _Stopped:  # asked to stop (a worker process told by its parent): not graded
                        continue
                    finished_count += 1
                    done(i, result)
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
                raise BatchInterrupted(finished_count + self._finished(futures), len(entries), abandoned=True) from None
            raise BatchInterrupted(finished_count + self._finished(futures), len(entries), abandoned=False) from None
        except BaseException:
            self.stop.set()  # e.g. the results disk is full: let the other workers end soon
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _finished(futures: dict[Future, int]) -> int:
        return sum(1 for f in futures if f.done() and not f.cancelled() and f.exception() is None)


__all__ = ["BatchOptions", "Batch", "BatchResult", "BatchInterrupted", "StudentError", "MAX_JOBS"]
