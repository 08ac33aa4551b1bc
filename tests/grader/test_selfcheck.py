"""``labgrade check``: a student works through the lab with the self-check
running; steps are recorded once, the cleanup is judged against what the
ledger saw while building, and ``--watch`` redraws until Ctrl-C."""
from __future__ import annotations

import copy
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from checks import k8s
from grader import rubric
from grader.classroom import check_cli, check_screen, ledger, ledger_report, selfcheck
from grader.cli import _Parser
from grader.errors import InputError
from grader.i18n import Text
from grader.outcome import CheckResult, Outcome, SourceInfo, Status, StepResult
from grader.view import KINDS, DnsResult, ExecResult, build_view
from tests.builders import LAB_START, base_cluster
from tests.make_examples import CORRECT, run_lab, variant

ROOT = Path(__file__).resolve().parents[2]
ESC = re.compile(r"\x1b")
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
T0 = datetime(2026, 11, 20, 10, 30, tzinfo=timezone.utc)


# -- a cluster as the live source sees it ------------------------------------------------

def live_view(objects: list[dict], namespace: str = "default"):
    """What one live pass returns: the lab namespace's objects, the default
    namespace and the kubernetes Service, and probes that behave like
    busybox wget and CoreDNS on that state."""
    objects = copy.deepcopy(objects)
    keep = [o for o in objects
            if o["metadata"].get("namespace") == namespace
            or (o["kind"] == "Namespace" and o["metadata"]["name"] == "default")
            or (o["kind"] == "Service" and o["metadata"]["name"] == "kubernetes" and o["metadata"].get("namespace") == "default")]
    view = build_view(keep, kinds=KINDS, location="live", phase="built", live=True)
    view.exec_runner = lambda ns, pod, argv, container=None, timeout=10: _wget(view, ns, pod, argv)
    view.dns_runner = lambda qname, rdtype="A": _dns(view, namespace, qname, rdtype)
    return view


def _wget(view, ns, pod, argv):
    client = view.get("Pod", ns, pod)
    if client is None or not k8s.pod_ready(client):
        return ExecResult(tuple(argv), "", f'pods "{pod}" not found', None, failure="not-found", pod=pod, namespace=ns)
    return ExecResult(tuple(argv), "<html><body><h1>It works!</h1></body></html>\n", "", 0, pod=pod, namespace=ns)


def _dns(view, ns, qname, rdtype):
    svc = view.get("Service", ns, qname.split(".")[0])
    if svc is None:
        return DnsResult(qname, rdtype, "NXDOMAIN")
    if svc["spec"].get("clusterIP") == "None":
        ips = sorted(b.ip for b in k8s.service_backends(view, svc)[0] if b.ready)
    else:
        ips = [svc["spec"]["clusterIP"]]
    return DnsResult(qname, rdtype, "NOERROR", tuple(ips))


class Rounds:
    """A live source whose cluster moves on one state per round (and stays
    at the last one)."""

    live = True
    info = SourceInfo("built", "live", "fake cluster")

    def __init__(self, *states: list[dict], namespace: str = "default"):
        self.states = list(states)
        self.namespace = namespace
        self.passes = 0

    def view(self):
        state = self.states[min(self.passes, len(self.states) - 1)]
        self.passes += 1
        return state(self) if callable(state) else live_view(state, self.namespace)


class Clock:
    def __init__(self, start: datetime = T0, step: timedelta = timedelta(minutes=6)):
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        moment = self.now
        self.now += self.step
        return moment


def deployment1(replicas: int) -> list[dict]:
    c = base_cluster()
    c.clock.set(LAB_START)
    c.deployment("deployment1", replicas=replicas, image="httpd", labels={"app": "httpd", "deploy": "deployment1"})
    return c.objects()


@pytest.fixture(scope="module")
def lab() -> rubric.Rubric:
    return rubric.load("service-discovery")


@pytest.fixture(scope="module")
def dumps():
    return run_lab(CORRECT)


def session(lab, source, path: Path, key: bytes | None = None, clock=None) -> selfcheck.Session:
    return selfcheck.Session(lab, source, ledger.Ledger(str(path), key), "default", now=clock or Clock())


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def states(progress: selfcheck.Progress) -> dict[str, str]:
    return {s.step.id: s.state for s in progress.steps}


# -- rounds and the ledger -------------------------------------------------------------------

def test_step1_converges_on_the_second_round_and_is_recorded_once(lab, tmp_path):
    path = tmp_path / "ledger.jsonl"
    s = session(lab, Rounds(deployment1(1), deployment1(2)), path, key=b"k")

    first = s.round()
    assert states(first)["step1"] == selfcheck.TODO
    assert first.next_step.step.id == "step1"
    assert records(path) == []

    second = s.round()
    assert states(second)["step1"] == selfcheck.DONE and second.steps[0].new
    assert second.earned == 15
    third = s.round()
    assert not third.steps[0].new

    (record,) = records(path)
    assert record["step"] == "step1" and record["lab"] == "service-discovery" and record["namespace"] == "default"
    assert record["at"] == "2026-11-20T10:36:00Z"
    view = live_view(deployment1(2))
    dep = view.get("Deployment", "default", "deployment1")
    pods = k8s.pods_of(view, dep)
    assert record["uids"] == {
        "Deployment/deployment1": k8s.uid(dep),
        **{f"Pod/{k8s.name(p)}": k8s.uid(p) for p in pods},
        "Namespace/default": k8s.uid(view.get("Namespace", None, "default")),
        "Service/default/kubernetes": k8s.uid(view.get("Service", "default", "kubernetes")),
    }
    assert len(pods) == 2
    assert [(c["id"], c["status"], c["earned"]) for c in record["checks"]] == [
        ("deployment1-exists", "passed", 3.0), ("deployment1-replicas", "passed", 5.0),
        ("deployment1-image", "passed", 4.0), ("deployment1-pods", "passed", 3.0)]
    assert record["probes"] == [] and record["prev"] is None and len(record["hmac"]) == 64


def test_the_whole_lab_then_cleanup_shows_six_steps_with_their_history(lab, dumps, tmp_path):
    path = tmp_path / "ledger.jsonl"
    clock = Clock(datetime(2026, 11, 20, 10, 30, tzinfo=timezone.utc), timedelta(minutes=12))
    s = session(lab, Rounds(dumps.baseline, dumps.built, dumps.cleaned), path, key=b"k", clock=clock)

    start = s.round()  # 10:30, nothing built yet
    assert set(states(start).values()) == {selfcheck.TODO}
    built = s.round()  # 10:42
    assert [st.state for st in built.steps] == [selfcheck.DONE] * 5 + [selfcheck.TODO]
    assert built.earned == 85
    cleaned = s.round()  # 10:54: steps 1-5 are gone from the cluster, the ledger remembers them
    assert [st.state for st in cleaned.steps] == [selfcheck.DONE] * 6
    assert cleaned.next_step is None

    text = check_screen.render(cleaned, "en", tz=timezone.utc)
    assert re.search(r"^step1 .* done at 10:42 +15/15$", text, re.M)
    assert re.search(r"^step6 .* done at 10:54 +15/15$", text, re.M)
    assert "Points so far: 100/100" in text and "All steps are done!" in text

    recs = records(path)
    assert [r["step"] for r in recs] == ["step1", "step2", "step3", "step4", "step5", "step6"]
    step5 = recs[4]
    assert "Pod/clientpod" in step5["uids"] and "Service/service2" in step5["uids"]
    assert {p["type"] for p in step5["probes"]} == {"exec", "dns"}
    wget = next(p for p in step5["probes"] if p["type"] == "exec")
    assert wget["pod"] == "clientpod" and wget["argv"][0] == "wget" and "It works!" in wget["stdout"]

    final = ledger_report.report_from_ledger(lab, str(path), b"k")
    assert final.earned == cleaned.earned == 100
    assert [st.status for st in final.steps] == [Status.PASSED] * 6


def test_a_cleanup_before_anything_was_built_is_not_recorded(lab, dumps, tmp_path):
    """An empty namespace 'passes' every cleanup check; it counts only
    after steps 1-5 are done."""
    path = tmp_path / "ledger.jsonl"
    progress = session(lab, Rounds(dumps.baseline), path).round()
    step6 = progress.steps[5]
    assert step6.result.status is Status.PASSED  # what the checks alone say
    assert step6.state == selfcheck.TODO and step6.waiting
    assert records(path) == []


def test_deleting_the_kubernetes_service_is_caught_by_the_uid_the_ledger_recorded(lab, tmp_path):
    dumps = run_lab(variant(deletes_kubernetes_service=True))
    path = tmp_path / "ledger.jsonl"
    s = session(lab, Rounds(dumps.built, dumps.cleaned), path)
    s.round()
    after = s.round()
    step6 = after.steps[5]
    assert step6.state == selfcheck.TODO
    intact = next(c for c in step6.result.checks if c.id == "kubernetes-service-intact")
    assert intact.status is Status.FAILED
    assert "the same uid as before the lab" in intact.outcome.expected.en
    assert any("it was deleted and re-created" in w.en for w in after.warnings)
    text = check_screen.render(after, "en")
    assert "Next: step6" in text
    lines = text.splitlines()
    hint = next(i for i, line in enumerate(lines) if line.startswith("  Hint: Never run"))
    assert lines[hint + 1].strip() == "kubectl delete svc --all"  # a command gets its own line
    assert "! the kubernetes service has another uid than when step1 was done" in text
    # in local time, as the table shows "done at", not the record's UTC stamp
    step1_at = ledger.parse_at(records(path)[0]["at"]).astimezone().strftime("%Y-%m-%d %H:%M")
    assert f"when step1 was done ({step1_at})" in " ".join(text.split())
    assert [r["step"] for r in records(path)] == ["step1", "step2", "step3", "step4", "step5"]


def test_a_copied_ledger_from_another_cluster_is_refused(lab, dumps, tmp_path):
    path = tmp_path / "ledger.jsonl"
    session(lab, Rounds(dumps.built), path).round()  # a classmate's ledger

    def other_cluster(src):
        view = live_view(dumps.built)
        view.get("Namespace", None, "default")["metadata"]["uid"] = "0b7c1a52-0000-4000-8000-00000000beef"
        return view

    with pytest.raises(InputError) as err:
        session(lab, Rounds(other_cluster), path).round()
    assert str(err.value).startswith(f"{path}:1: record 1 was made in another cluster")


def test_a_ledger_of_another_namespace_is_refused(lab, dumps, tmp_path):
    path = tmp_path / "ledger.jsonl"
    session(lab, Rounds(dumps.built), path).round()
    other = selfcheck.Session(lab, Rounds(dumps.built, namespace="lab-42"), ledger.Ledger(str(path), None), "lab-42")
    with pytest.raises(InputError, match=r"record 1 is for namespace 'default', but this check grades namespace 'lab-42'"):
        other.round()


def test_an_unreachable_cluster_shows_errors_and_records_nothing(lab, tmp_path):
    def down(src):
        reason = Text("无法连接 API server", "cannot reach the API server to read Deployment: ConnectionRefusedError")
        return build_view([], kinds=(), live=True, kind_errors={k: reason for k in KINDS})

    path = tmp_path / "ledger.jsonl"
    progress = session(lab, Rounds(down), path).round()
    assert set(states(progress).values()) == {selfcheck.ERROR}
    text = check_screen.render(progress, "en")
    assert "cannot reach the API server" in text
    assert "This check could not be evaluated; no points were taken." in text
    assert "Hint:" not in text
    assert records(path) == []


# -- the table --------------------------------------------------------------------------------

def two_steps_done(lab, dumps, tmp_path):
    """Deployments done, the services not yet."""
    built = [o for o in dumps.built if not (o["kind"] in ("Service", "Endpoints", "EndpointSlice")
                                             and o["metadata"]["name"].startswith("service"))]
    built = [o for o in built if o["metadata"]["name"] != "clientpod"]
    return session(lab, Rounds(built), tmp_path / "ledger.jsonl").round()


def test_the_table_in_english_shows_states_points_and_the_next_hint(lab, dumps, tmp_path):
    text = check_screen.render(two_steps_done(lab, dumps, tmp_path), "en", tz=timezone.utc)
    lines = text.splitlines()
    assert lines[0] == "Service discovery (service-discovery) · namespace default · updated 10:30:00"
    assert re.match(r"^Step +Title +State +Points$", lines[2])
    assert re.match(r"^step2 +Create deployment2 \(3 replicas, image httpd\) +done at 10:30 +15/15$", lines[5])
    assert re.match(r"^step3 +Create service1 over all pods of both deployments +not yet +-/20$", lines[6])
    assert "Points so far: 30/100 (a step counts once it is done)" in lines
    i = lines.index("Next: step3  Create service1 over all pods of both deployments")
    assert lines[i + 1] == "  service1 exists: no Service service1 in namespace default"
    assert lines[i + 2].startswith("  Hint: Create the Service from YAML with a selector on a label both")
    assert re.search(r": 2 steps recorded \(unsigned\)$", " ".join(text.split()))


def test_the_table_in_chinese(lab, dumps, tmp_path):
    text = check_screen.render(two_steps_done(lab, dumps, tmp_path), "zh", tz=timezone.utc)
    lines = text.splitlines()
    assert lines[0] == "Service服务发现 (service-discovery) · 命名空间 default · 更新于 10:30:00"
    assert re.match(r"^步骤 +内容 +状态 +得分$", lines[2])
    assert re.match(r"^step1 +创建deployment1（2副本，httpd镜像） +10:30 完成 +15/15$", lines[4])
    assert re.match(r"^step3 +创建service1（后端为两个deployment的所有Pod） +未完成 +-/20$", lines[6])
    assert "目前得分：30/100（步骤完成后计分）" in lines
    i = lines.index("下一步：step3  创建service1（后端为两个deployment的所有Pod）")
    assert lines[i + 1] == "  service1 已创建：命名空间 default 中没有 Service service1"
    assert lines[i + 2] == "  提示：用 YAML 创建 Service，selector 选中两个 Deployment 共有的标签"


def test_columns_line_up_with_chinese_text(lab, dumps, tmp_path):
    from grader.report.console import cell_width

    lines = check_screen.render(two_steps_done(lab, dumps, tmp_path), "zh").splitlines()
    rows = [line for line in lines if line.startswith("step")][:6]
    ends = {cell_width(row) for row in rows}
    assert len(ends) == 1  # the points column ends in the same column on every row


def test_hostile_strings_cannot_drive_the_terminal(lab, dumps, tmp_path):
    progress = two_steps_done(lab, dumps, tmp_path)
    nxt = progress.next_step
    evil = Text("\x1b[2J\x1b]0;pwned\x07服务\u202eFAKE", "\x1b[2J\x1b]0;pwned\x07svc\u202eFAKE\r")
    check = CheckResult("service1-exists", "service.exists", evil, evil, 4, 0, Outcome(Status.FAILED, evil))
    bad = selfcheck.StepState(nxt.step, nxt.state, StepResult(nxt.step.id, nxt.step.phase, evil, 20, (check,)), None, 0)
    steps = tuple(bad if s is nxt else s for s in progress.steps)
    hostile = selfcheck.Progress(evil, "lab\x1b[31m", "default\x07", progress.at, steps, 100, (evil,),
                                 "/tmp/\x1b]0;x\x07.jsonl", 2, False)
    for lang in ("en", "zh"):
        text = check_screen.render(hostile, lang)
        assert not ESC.search(text) and not UNSAFE.search(text.replace("\n", ""))
        assert "\\u202e" in text


# -- the command and the screen --------------------------------------------------------------

def parse(*argv: str):
    parser = _Parser(prog="labgrade")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    check_cli.add_parser(sub)
    return parser.parse_args(["check", *argv])


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


def interrupt_on(n: int):
    calls = []

    def sleep(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) >= n:
            raise KeyboardInterrupt

    sleep.calls = calls
    return sleep


@pytest.fixture
def cluster(monkeypatch):
    """Point ``check`` at a fake cluster instead of a kubeconfig."""
    holder = {}

    def live_source(args, namespace, phase, rubric=None):
        return holder["source"]

    monkeypatch.setattr("grader.sources.assemble.live_source", live_source)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("LABGRADE_KEY", raising=False)
    return holder


def test_watch_on_a_terminal_redraws_in_place_and_ctrl_c_leaves_the_last_table(lab, cluster, tmp_path):
    cluster["source"] = Rounds(deployment1(1), deployment1(2))
    out = Terminal()
    sleep = interrupt_on(2)
    args = parse("--rubric", "service-discovery", "--watch", "--interval", "2", "--ledger", str(tmp_path / "l.jsonl"),
                 "--lang", "en")
    assert check_cli.run(args, out=out, sleep=sleep) == 0
    assert sleep.calls == [2.0, 2.0]
    raw = out.getvalue()
    assert raw.startswith("\x1b[?25l\x1b[H\x1b[2J")  # the screen is cleared once, before the first frame
    assert raw.count("\x1b[2J") == 1
    assert raw.count("\x1b[H") == 3  # two rounds, and the last frame drawn whole again on Ctrl-C
    assert raw.endswith("\x1b[J\x1b[?25h")  # cursor shown again
    frames = raw.split("\x1b[H")[1:]
    last = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", frames[-1])
    assert re.search(r"^step1 .*done at \d\d:\d\d +15/15$", last, re.M)
    assert "every 2 s · Ctrl-C to stop" in last
    first = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", frames[0])
    assert re.search(r"^step1 .*not yet +-/15$", first, re.M)
    # each line is cleared to its end as it is rewritten: no stale text from a longer frame
    body = frames[1].split("\x1b[J")[0]
    assert all(line.endswith("\x1b[K") for line in body.split("\n")[:-1])


def test_watch_with_no_color_prints_plain_tables_without_escape_codes(lab, cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    cluster["source"] = Rounds(deployment1(1), deployment1(2))
    out = Terminal()
    args = parse("--rubric", "service-discovery", "--watch", "--ledger", str(tmp_path / "l.jsonl"), "--lang", "zh")
    assert check_cli.run(args, out=out, sleep=interrupt_on(2)) == 0
    raw = out.getvalue()
    assert not ESC.search(raw)
    assert raw.count("步骤   内容") == 2  # one table per round
    assert "每 5 秒刷新" in raw


def test_output_to_a_pipe_is_plain_even_with_colour_allowed(lab, cluster, tmp_path):
    cluster["source"] = Rounds(deployment1(2))
    out = Pipe()
    assert check_cli.run(parse("--rubric", "service-discovery", "--ledger", str(tmp_path / "l.jsonl")), out=out) == 0
    assert not ESC.search(out.getvalue())
    assert out.getvalue().count("Step   Title") == 1


def test_a_single_check_on_a_terminal_is_coloured_but_never_moves_the_cursor(lab, cluster, tmp_path):
    cluster["source"] = Rounds(deployment1(2))
    out = Terminal()
    assert check_cli.run(parse("--rubric", "service-discovery", "--ledger", str(tmp_path / "l.jsonl"),
                               "--lang", "en"), out=out) == 0
    raw = out.getvalue()
    assert "\x1b[32m" in raw
    assert not re.search(r"\x1b\[(H|2J|K|J|\?25)", raw)


def test_flags_are_checked(cluster, tmp_path):
    with pytest.raises(InputError, match="--interval: only goes with --watch"):
        check_cli.run(parse("--rubric", "service-discovery", "--interval", "3"), out=Pipe())
    with pytest.raises(InputError, match="must be at least 1 second"):
        parse("--rubric", "service-discovery", "--watch", "--interval", "0.1")
    with pytest.raises(InputError, match="its folder does not exist"):
        check_cli.run(parse("--rubric", "service-discovery", "--ledger", str(tmp_path / "no" / "l.jsonl")), out=Pipe())


def test_a_signed_ledger_rejected_before_the_cluster_is_touched(lab, cluster, tmp_path, monkeypatch, dumps):
    path = tmp_path / "l.jsonl"
    session(lab, Rounds(dumps.built), path, key=b"k").round()
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + lines[2] + lines[1] + "".join(lines[3:]))
    monkeypatch.setenv("LABGRADE_KEY", "k")
    cluster["source"] = source = Rounds(dumps.built)
    with pytest.raises(InputError, match=r"l.jsonl:2: record 2 is out of place \(the records were reordered\)"):
        check_cli.run(parse("--rubric", "service-discovery", "--ledger", str(path)), out=Pipe())
    assert source.passes == 0


class InterruptedTerminal(Terminal):
    """A terminal where Ctrl-C lands while the second frame is being written."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        if self.flushes == 2:
            raise KeyboardInterrupt


def test_ctrl_c_during_a_redraw_leaves_that_frame_whole_on_screen():
    frames = iter(["round one\nstep1  not yet", "round two\nstep1  done at 10:42"])
    out = InterruptedTerminal()
    assert check_screen.watch(lambda: next(frames), check_screen.LiveScreen(out, rows=lambda: 40), 5, lambda s: None) == 0
    raw = out.getvalue()
    assert raw.endswith("\x1b[H" + "round two\x1b[K\nstep1  done at 10:42\x1b[K\n" + "\x1b[J\x1b[?25h")


def test_a_frame_taller_than_the_terminal_is_cut_so_home_stays_home():
    out = Terminal()
    screen = check_screen.LiveScreen(out, rows=lambda: 8)
    screen.draw("\n".join(f"line {i}" for i in range(20)))
    assert out.getvalue().count("\x1b[K\n") == 7 and "line 7" not in out.getvalue()


CHILD = """
import sys
sys.path.insert(0, {root!r})
sys.path.insert(0, {here!r})
import grader.sources.assemble
from grader.classroom import check_cli
from test_selfcheck import Rounds, deployment1, parse

source = Rounds(deployment1(1), deployment1(2))
grader.sources.assemble.live_source = lambda args, ns, phase, rubric=None: source
args = parse("--rubric", "service-discovery", "--watch", "--interval", "1", "--ledger", {ledger!r}, "--lang", "en")
sys.exit(check_cli.run(args))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_ctrl_c_in_a_real_terminal_exits_0_with_the_table_on_screen(tmp_path):
    import fcntl
    import pty
    import select
    import struct
    import termios

    script = tmp_path / "child.py"
    script.write_text(CHILD.format(root=str(ROOT), here=str(Path(__file__).parent), ledger=str(tmp_path / "l.jsonl")))
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 110, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "LABGRADE_KEY")}
    child = subprocess.Popen([sys.executable, str(script)], stdin=slave, stdout=slave, stderr=slave,
                             env=env, close_fds=True, start_new_session=True)
    os.close(slave)
    seen = b""

    def read_until(predicate, timeout: float = 60) -> None:
        """Keep draining the terminal (a full pty would block the child's
        writes) until ``predicate`` holds or the child has exited."""
        nonlocal seen
        deadline = time.monotonic() + timeout
        while not predicate() and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:  # EIO: the child is gone and everything was read
                    return

    try:
        read_until(lambda: re.search(rb"done at \d\d:\d\d", seen) is not None)  # the second round's table
        assert re.search(rb"done at \d\d:\d\d", seen), seen.decode(errors="replace")
        child.send_signal(signal.SIGINT)
        read_until(lambda: child.poll() is not None, timeout=30)
        read_until(lambda: seen.endswith(b"\x1b[?25h"), timeout=5)
        assert child.wait(timeout=5) == 0, seen.decode(errors="replace")
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)
    text = seen.decode("utf-8", errors="replace")
    assert "Traceback" not in text, text
    assert text.endswith("\x1b[?25h")
    last = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text.split("\x1b[H")[-1])
    assert re.search(r"step1 .*done at \d\d:\d\d +15/15", last)
    assert "Points so far: 15/100" in last


# -- against the stand-in API server -----------------------------------------------------------

def test_end_to_end_against_the_stand_in(lab, dumps, tmp_path, monkeypatch):
    """Built cluster -> check -> the student cleans up -> check -> the
    instructor's report from the ledger shows all six steps."""
    standin = pytest.importorskip("tests.standin.server")
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("LABGRADE_KEY", "class-of-2026")
    path = tmp_path / "ledger.jsonl"
    with standin.StandIn(dumps.built) as server:
        kubeconfig = server.kubeconfig_path(tmp_path)
        args = parse("--rubric", "service-discovery", "--kubeconfig", str(kubeconfig), "--ledger", str(path),
                     "--lang", "en")
        out = Pipe()
        assert check_cli.run(args, out=out) == 0
        assert out.getvalue().count("done at") == 5, out.getvalue()
        assert [(e.pod, e.argv[0]) for e in server.exec_log] == [("clientpod", "wget")]
        assert not server.writes  # read-only, apart from pods/exec and port-forward

        server.set_objects(dumps.cleaned)
        out = Pipe()
        assert check_cli.run(args, out=out) == 0
        assert out.getvalue().count("done at") == 6
        assert "All steps are done!" in out.getvalue()

    report = ledger_report.report_from_ledger(lab, str(path), b"class-of-2026")
    assert [s.status for s in report.steps] == [Status.PASSED] * 6
    assert report.earned == 100
    step5 = next(r for r in records(path) if r["step"] == "step5")
    assert any(p["type"] == "exec" and p["exitCode"] == 0 and "It works!" in p["stdout"] for p in step5["probes"])


def test_watch_on_a_live_cluster_says_it_redraws_on_each_change(lab, dumps, tmp_path, monkeypatch):
    """A live --watch follows the namespace by WATCH: its footer must not claim a fixed period."""
    standin = pytest.importorskip("tests.standin.server")
    from grader.sources import watch

    def ctrl_c(self, seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(watch.WatchedSource, "sleep", ctrl_c)
    monkeypatch.setenv("NO_COLOR", "1")
    with standin.StandIn(dumps.built) as server:
        args = parse("--rubric", "service-discovery", "--kubeconfig", str(server.kubeconfig_path(tmp_path)),
                     "--ledger", str(tmp_path / "l.jsonl"), "--watch", "--lang", "zh")
        out = Pipe()
        assert check_cli.run(args, out=out) == 0
    assert "集群有变化时刷新 · 按 Ctrl-C 停止" in out.getvalue()
    assert "秒刷新" not in out.getvalue()


def test_an_unreachable_cluster_shows_the_one_line_instead_of_a_next_step(lab, tmp_path):
    """check told a student with a down cluster "next: step 1". When no
    request reached the API server the screen shows that line (server and
    cause) where the next step would be, and nothing is recorded."""
    from grader.sources.unreachable import Unreachable

    class Down:
        live = True
        info = SourceInfo("built", "live", "live")
        unreachable = Unreachable("https://127.0.0.1:6443", "refused")

        def view(self):
            reason = Text("无法连接 API server", "cannot reach the API server")
            return build_view([], kinds=(), live=True, kind_errors={k: reason for k in KINDS})

    path = tmp_path / "ledger.jsonl"
    book = ledger.Ledger(str(path), None)
    progress = selfcheck.Session(lab, Down(), book, "default").round()
    for lang in ("en", "zh"):
        text = check_screen.render(progress, lang, width=300)
        assert ("! " + Down.unreachable.line(lang)) in text.splitlines()
        assert "Next:" not in text and "下一步" not in text
    assert records(path) == []
