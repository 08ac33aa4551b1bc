"""A big class on one shared cluster, graded by one process per core.

Grading is CPU work under one interpreter lock: a thousand students cost
a thousand execs (TLS, websocket frames), their DNS answers, the verdicts
and four report files each, and in one process that is one core however
many ``--jobs`` threads wait on the network. So once the class read is in
memory (:mod:`grader.sources.shared_cluster`), the batch forks: each child
inherits the read (copy-on-write, never parsed again), grades its share of
the roster with its share of the threads and writes those students'
folders, and sends each result back to the parent as it ends. The parent
keeps the progress line, writes the class files, and relays the children's
DNS questions through its one tunnel per cluster, so the class still
makes one port-forward to CoreDNS however many processes grade it.

Children have their own connection pools (an inherited keep-alive socket
would be written by two processes); Ctrl-C reaches the parent only, which
tells the children to finish the students they are on, as the threads of
one process do. A child that dies leaves its unreported students as error
rows (``error.txt``, retried on resume), never a lost row or a lost class.
Only POSIX can fork, and only Linux does by default (macOS's system libraries
are not fork-safe in a process that has run threads: there ``--procs``
asks for it); elsewhere, and for small classes, the batch stays one process
(a fork and a second pool are worth it from about a hundred students).
"""
from __future__ import annotations

import itertools
import multiprocessing.connection as mpc
import os
import signal
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Callable

from grader.i18n import Text
from grader.report.gradebook import StudentResult, class_suite
from grader.sources.gcpause import paused_gc
from grader.view import DnsResult, ProbeError

#: Students on shared clusters below which the batch stays one process.
MIN_STUDENTS = 100
#: Processes at most, whatever the machine (each holds a connection pool).
MAX_PROCS = 8
#: A child waits this long for a relayed DNS answer: the tunnel's own bound
#: (two tries of its timeout) and a margin, then the question is an error.
RELAY_SECONDS = 2 * 5.0 + 5.0
#: A fork waits at most this long for ended threads to leave the process (see settle_threads).
SETTLE_SECONDS = 2.0
#: A grading process that says nothing (no result, no DNS question) for this
#: long, plus twice its rubric's re-poll deadlines, is hung, not slow: every
#: request it makes has its own deadline, so one student ends well within it.
STALL_FLOOR = 900.0
#: A turn of the parent's relay loop (a 0.25 s wait and a few messages) that
#: took longer than this was the parent not running: Ctrl-Z stops it and its
#: children together (one process group) until fg. That time is nobody's silence.
AWAY_SECONDS = 5.0


def stall_seconds(rubric: Any) -> float:
    """How long a grading process may be silent before the parent stops it."""
    return STALL_FLOOR + 2 * sum(step.deadline for step in rubric.steps)

Done = Callable[[int, StudentResult], None]


def procs_for(requested: int | None, jobs: int, students: int) -> int:
    """How many processes grade ``students`` shared-cluster rows: ``requested``
    if given (1: this process), else one per core for a class big enough."""
    if not hasattr(os, "fork"):
        return 1
    if requested is not None:
        return max(1, min(requested, jobs, students, MAX_PROCS))
    if students < MIN_STUDENTS or not sys.platform.startswith("linux"):
        return 1  # macOS forks a threaded process at its peril: there, only when asked
    return max(1, min(os.cpu_count() or 1, jobs, MAX_PROCS))


def split_for(batch: Any, todo: list[int]) -> "Split | None":
    """A :class:`Split` of ``todo`` over processes, or None to grade in this process.

    The class reads are taken here, before any fork, so that every child
    inherits them; a cluster that cannot be read cluster-wide (its students
    take the per-namespace path) does not count toward the split."""
    entries = batch.roster.entries
    keys: dict[Any, int] = {}
    for i in todo:
        if entries[i].live and batch.shared.shared(batch._cluster_key(entries[i])):
            key = batch._cluster_key(entries[i])
            keys[key] = keys.get(key, 0) + 1
    if procs_for(batch.options.procs, batch.options.jobs, sum(keys.values())) < 2:
        return None
    students = 0
    for key, count in keys.items():
        try:
            if batch.shared.get(key) is not None:
                students += count
        except Exception:  # noqa: BLE001 - a bad kubeconfig: its students' own error rows, in-process
            continue
    procs = procs_for(batch.options.procs, batch.options.jobs, students)
    return Split(batch, procs) if procs >= 2 else None


def settle_threads(timeout: float = SETTLE_SECONDS) -> None:
    """Wait (at most ``timeout``) until the threads that have ended have left the process.

    A thread that Python has joined still runs, as an OS thread, the C
    libraries' thread-exit handlers, and OpenSSL 3 takes a process-wide lock
    in its own (to forget the thread). A fork in that moment gives the child
    that lock held by nobody: the child's first TLS handshake waited on it
    for ever (a batch child hung in ``SSLContext()`` while its twin graded
    its half; the class read's pool threads had just ended). Linux lists a
    process's threads in ``/proc/self/task``: the fork waits until they are
    only the live Python threads. Elsewhere there is no list to read, and
    no wait."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if len(os.listdir("/proc/self/task")) <= threading.active_count():
                return
        except OSError:
            return
        time.sleep(0.002)


class Interrupted(Exception):
    """Ctrl-C during a split: ``finished`` students were reported and saved;
    ``abandoned`` if a second Ctrl-C killed the children instead of waiting."""

    def __init__(self, finished: int, abandoned: bool):
        super().__init__(f"interrupted after {finished} students")
        self.finished = finished
        self.abandoned = abandoned


class Split:
    """``todo`` dealt round-robin to ``procs`` forked children, each with
    ``ceil(jobs / procs)`` threads (``--jobs`` stays the class's concurrency)."""

    def __init__(self, batch: Any, procs: int):
        self.batch = batch
        self.procs = procs

    def run(self, todo: list[int], done: Done) -> None:
        """Grade ``todo``; Ctrl-C raises :class:`Interrupted` once the children have stopped."""
        batch = self.batch
        for cluster in batch.shared.clusters().values():
            cluster.before_fork()
        children: list[_Child] = []
        try:
            for n in range(self.procs):
                share = todo[n::self.procs]
                if share:
                    children.append(_Child.fork(batch, share, -(-batch.options.jobs // self.procs)))
        except BaseException:
            for child in children:
                child.kill()
            raise
        relay = _Relay(batch, children)
        # The parent grades nothing meanwhile: it unpickles results (no cycles in
        # them) and relays messages. The collector, paused, does not walk the
        # class's growing results again and again (a third of this process's CPU here).
        pause = paused_gc()
        pause.__enter__()
        try:
            relay.serve(done)
        except KeyboardInterrupt:
            if batch.progress:
                batch.progress.stopping(sum(len(c.unreported) for c in children))
            for child in children:
                child.tell(("stop",))
            try:
                relay.serve(done)
            except KeyboardInterrupt:
                for child in children:
                    child.kill()
                raise Interrupted(relay.reported, abandoned=True) from None
            raise Interrupted(relay.reported, abandoned=False) from None
        finally:
            pause.__exit__(None, None, None)
            relay.close()
            for child in children:
                child.reap()
        failure = next((c.failure for c in children if c.failure is not None), None)
        if failure is not None:  # e.g. the results disk is full: the class's error, as in one process
            raise failure
        for child in children:  # a child that died: its students are error rows, the class goes on
            for i in sorted(child.unreported):
                entry = batch.roster.entries[i]
                if child.stalled:
                    seconds = f"{stall_seconds(batch.rubric):g}"
                    reason = Text(f"评分进程 {seconds} 秒没有任何回应，已被停止，此学生未评分，重新运行即可续评",
                                  f"the grading process said nothing for {seconds} s and was stopped; this student was "
                                  "not graded, run again to resume")
                else:
                    why = child.ended_how()
                    reason = Text(f"评分进程意外结束（{why}），此学生未评分，重新运行即可续评",
                                  f"the grading process ended unexpectedly ({why}); this student was not graded, "
                                  "run again to resume")
                result = StudentResult(entry.student_id, entry.name, error=reason)
                batch.folder.write_student(result)
                done(i, result)


class _Child:
    """One forked grader, seen from the parent: its pid, its end of the pipe,
    the roster rows it has not reported yet."""

    def __init__(self, pid: int, conn: mpc.Connection, share: list[int]):
        self.pid = pid
        self.conn = conn
        self.unreported = set(share)
        self.failure: BaseException | None = None
        self.status: int | None = None
        self.finished = False
        self.heard = time.monotonic()  # its last message: a child silent too long is stopped
        self.stalled = False
        self._send = threading.Lock()

    @classmethod
    def fork(cls, batch: Any, share: list[int], jobs: int) -> "_Child":
        import multiprocessing

        parent_end, child_end = multiprocessing.Pipe(duplex=True)
        settle_threads()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            parent_end.close()
            _child_main(batch, share, jobs, child_end)
        child_end.close()
        return cls(pid, parent_end, share)

    def tell(self, message: tuple) -> None:
        with self._send:
            try:
                self.conn.send(message)
            except (OSError, EOFError, ValueError):
                pass  # a child that is gone: its rows become errors on reaping

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def reap(self) -> None:
        if self.status is None:
            _, self.status = os.waitpid(self.pid, 0)

    def ended_how(self) -> str:
        self.reap()
        code = os.waitstatus_to_exitcode(self.status)
        return f"signal {-code}" if code < 0 else f"exit {code}"


class _Relay:
    """The parent's side while the children grade: results to ``done``, DNS
    questions to the batch's one tunnel per cluster (asked on a pool of
    threads, as many as the class's ``--jobs``: each waits on the network)."""

    def __init__(self, batch: Any, children: list[_Child]):
        self.batch = batch
        self.children = children
        self.reported = 0
        self.stall = stall_seconds(batch.rubric)
        self.dns = ThreadPoolExecutor(max_workers=batch.options.jobs, thread_name_prefix="labgrade-dns-relay")

    def serve(self, done: Done) -> None:
        """Until every child has ended (reported all, failed, or died)."""
        progress = self.batch.progress
        open_conns = {c.conn: c for c in self.children if not c.finished}
        checked = time.monotonic()
        while open_conns:
            for conn in mpc.wait(list(open_conns), timeout=0.25):
                child = open_conns[conn]
                try:
                    message = conn.recv()
                except (EOFError, OSError):
                    child.finished = True  # died: what it did not report becomes error rows
                    del open_conns[conn]
                    continue
                child.heard = time.monotonic()
                what = message[0]
                if what == "done":
                    _, i, result, suite = message
                    child.unreported.discard(i)
                    self.reported += 1
                    self.batch.junit_suites[result.student_id] = suite
                    done(i, result)
                elif what == "dns":
                    self.dns.submit(self._answer, child, *message[1:])
                elif what == "end":
                    child.finished = True
                    del open_conns[conn]
                elif what == "fail":
                    from grader.errors import InputError

                    child.failure = InputError(*message[1:])
                    child.finished = True
                    del open_conns[conn]
                    for other in self.children:  # as one process does: the other workers end soon
                        other.tell(("stop",))
            now = time.monotonic()
            if now - checked > AWAY_SECONDS:  # stopped (Ctrl-Z) and continued: the children were stopped too
                for child in open_conns.values():
                    child.heard += now - checked
            checked = now
            for conn, child in list(open_conns.items()):
                if now - child.heard > self.stall:  # hung (a deadlock no deadline reaches): its rows become errors
                    child.stalled = child.finished = True
                    child.kill()
                    del open_conns[conn]
            if progress:
                progress.tick()

    def _answer(self, child: _Child, qid: int, key: Any, qname: str, rdtype: str) -> None:
        try:
            answer: DnsResult | Text = self.batch.shared.clusters()[key].dns(qname, rdtype)
        except ProbeError as exc:
            answer = exc.reason
        except Exception as exc:  # noqa: BLE001 - the child's question gets a reason, not silence
            answer = Text(f"DNS 查询失败：{type(exc).__name__}", f"the DNS question failed: {type(exc).__name__}")
        child.tell(("dns", qid, answer))

    def close(self) -> None:
        self.dns.shutdown(wait=False, cancel_futures=True)
        for child in self.children:
            child.conn.close()


class _ParentDns:
    """The child's side of the relay: ``ask`` blocks until the parent answers
    (or :data:`RELAY_SECONDS` pass); one reader thread hands answers out."""

    def __init__(self, conn: mpc.Connection, stop: threading.Event):
        self.conn = conn
        self.stop = stop
        self.lock = threading.Lock()
        self.ids = itertools.count(1)
        self.waiting: dict[int, Future] = {}
        threading.Thread(target=self._read, daemon=True, name="labgrade-dns-relay").start()

    def send(self, message: tuple) -> None:
        with self.lock:
            self.conn.send(message)

    def asker(self, key: Any) -> Callable[[str, str], DnsResult]:
        def ask(qname: str, rdtype: str = "A") -> DnsResult:
            fut: Future = Future()
            qid = next(self.ids)
            self.waiting[qid] = fut
            try:
                self.send(("dns", qid, key, qname, rdtype))
                answer = fut.result(timeout=RELAY_SECONDS)
            except FutureTimeout:
                answer = Text("批量评分的 DNS 转发没有回答", "no answer from the batch's DNS relay")
            except (OSError, EOFError):
                answer = Text("批量评分的 DNS 转发已关闭", "the batch's DNS relay is closed")
            finally:
                self.waiting.pop(qid, None)
            if isinstance(answer, Text):
                raise ProbeError(answer)
            return answer
        return ask

    def _read(self) -> None:
        while True:
            try:
                message = self.conn.recv()
            except (EOFError, OSError):  # the parent is gone: finish nothing more
                self.stop.set()
                return
            if message[0] == "stop":
                self.stop.set()
            elif message[0] == "dns":
                fut = self.waiting.get(message[1])
                if fut is not None and not fut.done():
                    fut.set_result(message[2])


def _child_main(batch: Any, share: list[int], jobs: int, conn: mpc.Connection) -> None:
    """Grade ``share`` and report each result; always ends the process."""
    import dataclasses

    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides, and tells
        batch.progress = None
        batch.options = dataclasses.replace(batch.options, jobs=jobs)
        parent = _ParentDns(conn, batch.stop)
        for key, cluster in batch.shared.clusters().items():
            cluster.after_fork(parent.asker(key))
        try:
            def done(i: int, result: StudentResult) -> None:
                # The class junit.xml's suite too, rendered here in parallel: the parent only joins them.
                parent.send(("done", i, result, class_suite(batch.rubric.lab, result, batch.folder.lang)))

            batch.grade_all(share, done)
            parent.send(("end",))
        except BaseException as exc:  # noqa: BLE001 - told to the parent, which raises it
            parent.send(("fail",) + _one_line(exc))
    except BaseException:  # noqa: BLE001 - the pipe itself is gone: the parent sees the exit
        code = 1
    finally:
        os._exit(code)


def _one_line(exc: BaseException) -> tuple[str, str, int | None]:
    """An exception as the (location, message, line) of the InputError the parent raises."""
    from grader.errors import InputError

    if isinstance(exc, InputError):
        return exc.location, exc.message, exc.line
    return "labgrade batch", f"a grading process failed: {type(exc).__name__}: {exc}", None


__all__ = ["procs_for", "split_for", "Split", "Interrupted", "MIN_STUDENTS", "MAX_PROCS"]
