"""A big class on one cluster, graded by forked processes (:mod:`grader.classroom.processes`).

Every test runs ``Batch.run`` for real against the stand-in API server (in
this process: the children reach it over TCP like any client), with
``procs=2`` forced on a class small enough to read: the same verdicts as
one process, one LIST per kind and one port-forward for the class, and
what happens when a child dies, fails or is told to stop.
"""
from __future__ import annotations

import os
import re
import signal
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.classroom import batch, processes, roster as roster_mod
from grader.classroom.results_folder import ResultsFolder
from grader.errors import InputError
from grader.i18n import Text
from grader.report import gradebook, json_report
from grader.sources.dns_tunnel import DnsTunnel
from grader.view import ProbeError
from tests.grader.test_shared_cluster import RUBRIC, _bench, _class, _lists, _roster, _verdicts, CORRECT
from tests.standin.fixtures import make_standin  # noqa: F401 - pytest fixture

NAMESPACES = [f"s{i:03d}" for i in range(6)]


def _run(roster: Path, out: Path, *, procs: int, progress=None, jobs: int = 4) -> batch.BatchResult:
    options = batch.BatchOptions(jobs=jobs, resume=False, poll=False, procs=procs)
    return batch.Batch(RUBRIC, roster_mod.load_roster(roster, RUBRIC), out, options, progress=progress).run()


@pytest.fixture
def pids(tmp_path, monkeypatch):
    """student id -> the pid that graded them (written by the grading process itself)."""
    folder = tmp_path / "pids"
    folder.mkdir()
    real = batch.Batch.grade_one

    def grade_one(self, entry):
        (folder / entry.student_id).write_text(str(os.getpid()))
        return real(self, entry)

    monkeypatch.setattr(batch.Batch, "grade_one", grade_one)
    return lambda: {p.name: int(p.read_text()) for p in folder.iterdir()}


def _report(out: Path, student: str):
    return json_report.from_json((out / student / "report.json").read_bytes())


def test_two_processes_grade_the_class_as_one_does_with_one_read_and_one_port_forward(make_standin, tmp_path, pids):
    objects = [o for o in _bench().class_cluster(CORRECT, NAMESPACES)  # s001 deleted deployment2 and its pods
               if not (o["metadata"].get("namespace") == "s001" and "deployment2" in str(o["metadata"]))]
    server = make_standin(objects)
    server.kubeconfig_path(tmp_path)
    roster = _roster(tmp_path / "roster.csv", [{"student_id": ns, "namespace": ns, "kubeconfig": "kubeconfig"}
                                               for ns in NAMESPACES])
    server.clear_requests()

    split = _run(roster, tmp_path / "split", procs=2)

    graders = pids()
    assert os.getpid() not in graders.values() and len(set(graders.values())) == 2
    assert [r.student_id for r in split.results] == NAMESPACES  # roster order, whoever graded whom
    assert {r.student_id: r.report.earned for r in split.results if r.student_id != "s001"} == \
        dict.fromkeys(set(NAMESPACES) - {"s001"}, 85)
    assert sorted(_lists(server)) == sorted({"/api/v1/namespaces", "/apis/apps/v1/deployments",
                                             "/apis/apps/v1/replicasets", "/api/v1/pods", "/api/v1/services",
                                             "/api/v1/endpoints", "/apis/discovery.k8s.io/v1/endpointslices"})
    execs = sorted(r.path for r in server.requests if r.path.endswith("/exec"))
    assert execs == [f"/api/v1/namespaces/{ns}/pods/clientpod/exec" for ns in NAMESPACES if ns != "s001"]
    # the children's DNS questions went through the parent's one tunnel
    assert len([r for r in server.requests if r.path.endswith("/portforward")]) == 1
    assert server.writes == []

    server.clear_requests()
    alone = _run(roster, tmp_path / "alone", procs=1)
    assert sorted(r.path for r in server.requests if r.path.endswith("/exec")) == execs
    assert all(pid == os.getpid() for student, pid in pids().items())
    for ns in NAMESPACES:
        assert _verdicts(_report(tmp_path / "split", ns)) == _verdicts(_report(tmp_path / "alone", ns))
    for name in ("gradebook.csv", "canvas.csv", "summary.md"):
        assert (tmp_path / "split" / name).read_bytes() == (tmp_path / "alone" / name).read_bytes()
    untimed = [re.sub(r' (time|timestamp)="[^"]*"', "", (tmp_path / out / "junit.xml").read_text()) for out in ("split", "alone")]
    assert untimed[0] == untimed[1]
    assert [r.report.earned for r in alone.results] == [r.report.earned for r in split.results]


def test_each_students_class_junit_suite_is_rendered_once_by_the_process_that_graded_them(
        make_standin, tmp_path, monkeypatch):
    """The class junit.xml is joined at the end, not rendered there: a thousand
    suites were a third of a second of one core after the grading."""
    server = make_standin(_bench().class_cluster(CORRECT, NAMESPACES))
    server.kubeconfig_path(tmp_path)
    roster = _roster(tmp_path / "roster.csv", [{"student_id": ns, "namespace": ns, "kubeconfig": "kubeconfig"}
                                               for ns in NAMESPACES])
    made = tmp_path / "suites"
    made.mkdir()
    real = gradebook.class_suite

    def class_suite(lab, result, lang="en"):
        (made / f"{result.student_id}.{os.getpid()}").touch()
        return real(lab, result, lang)

    monkeypatch.setattr(gradebook, "class_suite", class_suite)
    monkeypatch.setattr(processes, "class_suite", class_suite)

    _run(roster, tmp_path / "out", procs=2)

    rendered = [name.split(".") for name in sorted(p.name for p in made.iterdir())]
    assert [student for student, _ in rendered] == NAMESPACES  # each once
    assert str(os.getpid()) not in {pid for _, pid in rendered}
    root = ET.fromstring((tmp_path / "out" / "junit.xml").read_bytes())
    assert [s.find("properties/property[@name='student']").get("value") for s in root] == NAMESPACES


def test_a_grading_process_that_dies_leaves_its_students_as_error_rows_and_the_class_goes_on(
        make_standin, tmp_path, monkeypatch):
    _, _, roster = _class(make_standin, tmp_path, NAMESPACES)
    real = batch.Batch.grade_one

    def grade_one(self, entry):
        if entry.student_id == "s003":  # killed (out of memory, say) in the middle of a student
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, entry)

    monkeypatch.setattr(batch.Batch, "grade_one", grade_one)

    result = _run(roster, tmp_path / "out", procs=2, jobs=2)

    by_id = {r.student_id: r for r in result.results}
    assert len(by_id) == len(NAMESPACES)
    assert by_id["s003"].error is not None and "signal 9" in by_id["s003"].error.en
    assert "评分进程意外结束" in by_id["s003"].error.zh
    assert "signal 9" in (tmp_path / "out" / "s003" / "error.txt").read_text(encoding="utf-8")
    # the other child's share (every second row) was graded whole
    assert all(by_id[ns].report.earned == 85 for ns in NAMESPACES[0::2])
    assert (tmp_path / "out" / "gradebook.csv").exists()

    monkeypatch.setattr(batch.Batch, "grade_one", real)  # the next run resumes: only the error rows again
    again = batch.Batch(RUBRIC, roster_mod.load_roster(roster, RUBRIC), tmp_path / "out",
                        batch.BatchOptions(jobs=2, poll=False, procs=2)).run()
    assert again.errors == 0 and {r.report.earned for r in again.results} == {85}
    assert again.resumed.count(True) == sum(1 for r in result.results if r.ok)


def test_a_grading_process_that_hangs_is_stopped_and_its_students_are_error_rows(make_standin, tmp_path, monkeypatch):
    """A deadlock no request deadline reaches (a lock a fork copied held) must
    not hang the class: a child silent for the stall time is killed."""
    _, _, roster = _class(make_standin, tmp_path, NAMESPACES)
    real = batch.Batch.grade_one

    def grade_one(self, entry):
        if entry.student_id == "s003":
            threading.Event().wait(60)  # hung; the child is killed long before
        return real(self, entry)

    monkeypatch.setattr(batch.Batch, "grade_one", grade_one)
    monkeypatch.setattr(processes, "stall_seconds", lambda rubric: 1.0)

    result = _run(tmp_path / "roster.csv", tmp_path / "out", procs=2)

    by_id = {r.student_id: r for r in result.results}
    assert not by_id["s003"].ok and "said nothing for 1 s and was stopped" in by_id["s003"].error.en
    assert "没有任何回应" in by_id["s003"].error.zh
    assert all(by_id[ns].ok and by_id[ns].report.earned == 85 for ns in NAMESPACES if ns != "s003")
    assert (tmp_path / "out" / "s003" / "error.txt").exists()


def test_a_class_stopped_and_continued_is_not_taken_for_hung_processes(make_standin, tmp_path, monkeypatch):
    """Ctrl-Z stops the parent and its grading processes together (one process
    group) and fg continues them: the time stopped is nobody's silence, so the
    children are not killed for it and every student is graded."""
    import time

    _, _, roster = _class(make_standin, tmp_path, NAMESPACES)
    monkeypatch.setattr(processes, "stall_seconds", lambda rubric: 2.0)
    monkeypatch.setattr(processes, "AWAY_SECONDS", 1.0)
    children: list[int] = []
    real_init = processes._Child.__init__

    def init(self, pid, conn, share):
        children.append(pid)
        real_init(self, pid, conn, share)

    monkeypatch.setattr(processes._Child, "__init__", init)

    class StoppedOnce:
        stopped = False

        def start(self, total): pass
        def tick(self): pass
        def stopping(self, running): pass
        def finish(self): pass

        def done(self, result, *, resumed):
            if not self.stopped:  # the whole group stopped for longer than the stall time
                self.stopped = True
                for pid in children:
                    os.kill(pid, signal.SIGSTOP)
                time.sleep(3.0)
                for pid in children:
                    os.kill(pid, signal.SIGCONT)

    progress = StoppedOnce()
    result = _run(tmp_path / "roster.csv", tmp_path / "out", procs=2, jobs=2, progress=progress)

    assert progress.stopped and len(children) == 2
    assert result.errors == 0, [r.error.en for r in result.results if r.error]
    assert {r.report.earned for r in result.results} == {85}


def test_a_child_that_cannot_write_its_results_fails_the_class_with_one_line(make_standin, tmp_path, monkeypatch):
    _, _, roster = _class(make_standin, tmp_path, NAMESPACES)
    real = ResultsFolder.write_student

    def write_student(self, result, *inputs):
        if result.student_id == "s002":
            raise InputError(str(self.out / "s002"), "cannot create the student's folder: No space left on device")
        return real(self, result, *inputs)

    monkeypatch.setattr(ResultsFolder, "write_student", write_student)

    with pytest.raises(InputError) as err:
        _run(roster, tmp_path / "out", procs=2)
    assert str(err.value) == f"{tmp_path / 'out' / 's002'}: cannot create the student's folder: No space left on device"


class _InterruptOnFirst:
    """A progress meter on which Ctrl-C lands as the first student is reported."""

    def __init__(self):
        self.reported: list[str] = []
        self.stopping_with: int | None = None

    def start(self, total):
        pass

    def done(self, result, resumed):
        self.reported.append(result.student_id)
        if len(self.reported) == 1:
            raise KeyboardInterrupt

    def tick(self):
        pass

    def stopping(self, running):
        self.stopping_with = running

    def finish(self):
        pass


def test_ctrl_c_lets_the_children_finish_their_students_and_keeps_every_graded_one(make_standin, tmp_path):
    _, _, roster = _class(make_standin, tmp_path, NAMESPACES)
    progress = _InterruptOnFirst()

    with pytest.raises(batch.BatchInterrupted) as stopped:
        _run(roster, tmp_path / "out", procs=2, jobs=2, progress=progress)

    assert not stopped.value.abandoned and stopped.value.total == len(NAMESPACES)
    assert progress.stopping_with is not None
    saved = sorted(p.parent.name for p in (tmp_path / "out").glob("*/report.json"))
    assert stopped.value.finished == len(progress.reported) == len(saved)
    assert sorted(progress.reported) == saved
    assert not (tmp_path / "out" / "gradebook.csv").exists()  # an interrupted class writes no class files


def test_the_parents_tunnel_failing_reaches_each_students_dns_check_as_in_one_process(
        make_standin, tmp_path, monkeypatch):
    _, _, roster = _class(make_standin, tmp_path, NAMESPACES[:4])

    def broken(self, qname, rdtype="A"):
        raise ProbeError(Text("端口转发中断", "the port-forward broke"))

    monkeypatch.setattr(DnsTunnel, "query", broken)

    split = _run(roster, tmp_path / "split", procs=2)
    alone = _run(roster, tmp_path / "alone", procs=1)

    for ns in NAMESPACES[:4]:
        verdicts = _verdicts(_report(tmp_path / "split", ns))
        assert verdicts == _verdicts(_report(tmp_path / "alone", ns))
        assert any(status == "error" and "the port-forward broke" in message
                   for status, _, message in verdicts.values())
    assert [r.report.earned for r in split.results] == [r.report.earned for r in alone.results]


def test_how_many_processes():
    cores = os.cpu_count() or 1
    assert processes.procs_for(None, jobs=8, students=processes.MIN_STUDENTS - 1) == 1  # a fork does not pay
    linux = sys.platform.startswith("linux")
    assert processes.procs_for(None, jobs=8, students=1000) == (max(1, min(cores, 8, processes.MAX_PROCS)) if linux else 1)
    assert processes.procs_for(None, jobs=1, students=1000) == 1  # one thread: one process
    assert processes.procs_for(3, jobs=8, students=2) == 2  # never more than students
    assert processes.procs_for(1, jobs=8, students=1000) == 1


@pytest.mark.parametrize("procs", [0, processes.MAX_PROCS + 1])
def test_procs_out_of_range_is_one_line(tmp_path, procs):
    roster = _roster(tmp_path / "roster.csv", [{"student_id": "a", "namespace": "a"}])
    with pytest.raises(InputError, match=r"^--procs: must be between 1 and 8"):
        batch.Batch(RUBRIC, roster_mod.load_roster(roster, RUBRIC), tmp_path / "out",
                    batch.BatchOptions(procs=procs))


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc/self/task")
def test_a_fork_waits_for_threads_that_have_ended_to_leave_the_process():
    """An OS thread Python no longer counts (here one started below the
    threading module, as a joined thread still running its C exit handlers
    is) is waited for: a fork in its last moments can copy a lock it holds."""
    import _thread

    finished = threading.Event()

    def last_moments():
        threading.Event().wait(0.3)
        finished.set()

    _thread.start_new_thread(last_moments, ())
    processes.settle_threads(timeout=5)  # longer only if this test process has a thread of its own below Python
    assert finished.is_set()


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux's /proc/self/task")
def test_a_thread_that_never_leaves_delays_a_fork_only_by_the_bound():
    import _thread

    release = threading.Event()
    _thread.start_new_thread(release.wait, (30,))
    try:
        processes.settle_threads(timeout=0.05)
        assert not release.is_set()  # returned while the thread is still there
    finally:
        release.set()
