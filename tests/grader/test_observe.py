"""``labgrade observe``: the class followed live, its ledgers, the dashboard (also in a real browser)."""
from __future__ import annotations

import copy
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from grader import rubric as rubric_mod
from grader.classroom import ledger as ledger_mod, roster as roster_mod
from grader.classroom.observe import Observer, load_or_create_key
from tests.standin.fixtures import make_standin  # noqa: F401 - pytest fixture

pytest.importorskip("aiohttp")

ROOT = Path(__file__).resolve().parents[2]
CORRECT = ROOT / "examples" / "service-discovery" / "correct" / "built.yaml"
RUBRIC = rubric_mod.load("service-discovery")
BUILD_STEPS = ("step1", "step2", "step3", "step4", "step5")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_batch", ROOT / "bench" / "batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def until(predicate, seconds: float = 20.0) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "not within the time"
        time.sleep(0.05)


def broken(objects: list[dict], namespace: str) -> list[dict]:
    """``namespace`` with deployment1 scaled to 5 (step 1 not done there)."""
    out = copy.deepcopy(objects)
    for o in out:
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "deployment1" and o["metadata"]["namespace"] == namespace:
            o["spec"]["replicas"] = 5
    return out


@pytest.fixture
def klass(make_standin, tmp_path):
    namespaces = ["s000", "s001", "s002"]
    good = _bench().class_cluster(CORRECT, namespaces)
    server = make_standin(broken(good, "s001"))
    server.bookmark_interval = 0.3
    server.kubeconfig_path(tmp_path)
    roster_path = tmp_path / "roster.csv"
    roster_path.write_text("student_id,name,namespace,kubeconfig\n" +
                           "".join(f"{ns},学生 {ns},{ns},kubeconfig\n" for ns in namespaces), encoding="utf-8")
    roster = roster_mod.load_roster(roster_path, RUBRIC)
    key = load_or_create_key(tmp_path / "observer.key")
    return server, good, roster, key, tmp_path


def _row(snap: dict, sid: str) -> dict:
    return next(r for r in snap["students"] if r["id"] == sid)


def test_the_observer_grades_each_student_and_regrades_only_the_one_who_changed(klass):
    server, good, roster, key, tmp = klass
    obs = Observer(RUBRIC, roster, tmp / "ledgers", key).start()
    try:
        until(lambda: all(s.rounds >= 1 for s in obs.students))
        snap = obs.snapshot()
        assert all(_row(snap, "s000")["steps"][s] == "done" for s in BUILD_STEPS)
        assert _row(snap, "s001")["steps"]["step1"] != "done"
        failed = {f["check"]: f["students"] for f in snap["most_failed"]}
        assert failed["deployment1-replicas"] == 1  # s001's; the others are at the cleanup already
        assert failed["deployments-deleted"] == 2
        rounds = {s.student_id: s.rounds for s in obs.students}
        lists = len([r for r in server.requests if "limit" in r.query])

        server.set_objects(good)  # s001 fixes deployment1
        until(lambda: _row(obs.snapshot(), "s001")["steps"]["step1"] == "done")
        assert {s.student_id: s.rounds for s in obs.students}["s000"] == rounds["s000"]  # nobody else re-graded
        assert len([r for r in server.requests if "limit" in r.query]) == lists  # from the watches, no LIST
        assert server.requests_matching("GET", r"^/api/v1/pods$")  # cluster-wide
        assert not server.requests_matching("GET", r"^/api/v1/namespaces/s00\d/pods$")
    finally:
        obs.stop()

    # the observer's ledger of s001: signed with its key, bound to s001
    book = ledger_mod.Ledger(str(tmp / "ledgers" / "s001.jsonl"), key)
    records = book.records()
    assert {r.step for r in records} >= set(BUILD_STEPS)
    assert all(r.namespace == "s001" for r in records)
    with pytest.raises(Exception):
        ledger_mod.Ledger(str(tmp / "ledgers" / "s001.jsonl"), b"someone-elses-key-123").records()


def test_a_students_error_row_masks_every_credential(klass, monkeypatch):
    from grader import redact

    server, good, roster, key, tmp = klass
    obs = Observer(RUBRIC, roster, tmp / "ledgers", key)
    secret = "s3cr3t-token-of-the-teacher-0123456789"
    redact.register(secret)
    student = obs.students[0]

    def boom():
        raise RuntimeError(f"GET /api/v1/pods with Authorization: Bearer {secret} failed")

    monkeypatch.setattr(obs._sessions[student.student_id], "round", boom)
    obs.grade(student)
    assert student.error is not None and "internal grader error: RuntimeError" in student.error.en
    assert secret not in student.error.en and secret not in student.error.zh and "[redacted]" in student.error.en


def test_a_restarted_observer_keeps_what_its_ledgers_recorded(klass):
    server, good, roster, key, tmp = klass
    server.set_objects(good)
    obs = Observer(RUBRIC, roster, tmp / "ledgers", key).start()
    try:
        until(lambda: all(s.rounds >= 1 for s in obs.students))
        assert all(_row(obs.snapshot(), "s002")["steps"][s] == "done" for s in BUILD_STEPS)
    finally:
        obs.stop()
    # s002 tears the lab down while nobody is watching
    server.set_objects([o for o in good if o["metadata"].get("namespace") != "s002" or o["kind"] == "Namespace"])
    again = Observer(RUBRIC, roster, tmp / "ledgers", load_or_create_key(tmp / "observer.key")).start()
    try:
        until(lambda: all(s.rounds >= 1 for s in again.students))
        row = _row(again.snapshot(), "s002")
        assert all(row["steps"][s] == "done" for s in BUILD_STEPS)  # from the ledger, though the objects are gone
    finally:
        again.stop()


def _observe_args(*argv: str):
    import argparse

    from grader.classroom import observe_cli

    parser = argparse.ArgumentParser()
    observe_cli.add_parser(parser.add_subparsers())
    return parser.parse_args(["observe", *argv])


def test_a_variant_rubric_is_observed_against_each_students_own_values(make_standin, tmp_path, monkeypatch):
    """s001 builds their own variant, s002 the preview's values (the first choice,
    ``aaaa``): only s001 passes, and only s001's ledger records it."""
    from grader import variants
    from grader.classroom import observe_cli
    from tests.builders import base_cluster, service_port
    from tests.grader.test_variants import SECRET, WEB

    monkeypatch.setenv(variants.SECRET_ENV, SECRET)
    own = rubric_mod.template(WEB).rubric("s001").variant.as_dict()
    cluster = base_cluster()
    for ns, values in (("s001", own), ("s002", {"suffix": "aaaa", "replicas": 2})):
        web = f"web-{values['suffix']}"
        cluster.deployment(web, replicas=values["replicas"], labels={"app": web}, image="httpd", namespace=ns)
        cluster.service(web, ports=[service_port(80)], selector={"app": web}, namespace=ns)
    make_standin(cluster.objects()).kubeconfig_path(tmp_path)
    (tmp_path / "roster.csv").write_text("student_id,name,namespace,kubeconfig\n"
                                         "s001,A,s001,kubeconfig\ns002,B,s002,kubeconfig\n", encoding="utf-8")
    args = _observe_args(str(tmp_path / "roster.csv"), "--rubric", WEB, "--ledgers", str(tmp_path / "ledgers"),
                         "--key-file", str(tmp_path / "observer.key"))
    obs = observe_cli.build(args).start()
    try:
        until(lambda: all(s.rounds >= 1 for s in obs.students))
        snap = obs.snapshot()
    finally:
        obs.stop()
    assert (_row(snap, "s001")["earned"], _row(snap, "s002")["earned"]) == (30, 0)
    # the class's most-failed list names the check as the rubric does, not by s002's own values
    assert snap["most_failed"][0]["check"] == "web-exists"
    assert snap["most_failed"][0]["title"] == {"zh": "web-⟨suffix⟩ 已创建", "en": "web-⟨suffix⟩ exists"}
    key = load_or_create_key(tmp_path / "observer.key")
    assert [r.step for r in ledger_mod.Ledger(str(tmp_path / "ledgers" / "s001.jsonl"), key).records()] == ["step1", "step2"]
    assert ledger_mod.Ledger(str(tmp_path / "ledgers" / "s002.jsonl"), key).records() == []


def test_a_variant_rubric_without_the_course_secret_is_refused_before_anything_is_signed(tmp_path, monkeypatch):
    from grader import variants
    from grader.classroom import observe_cli
    from grader.errors import InputError
    from tests.grader.test_variants import WEB

    monkeypatch.delenv(variants.SECRET_ENV, raising=False)
    (tmp_path / "roster.csv").write_text("student_id,name,namespace\ns001,A,s001\n", encoding="utf-8")
    args = _observe_args(str(tmp_path / "roster.csv"), "--rubric", WEB, "--ledgers", str(tmp_path / "ledgers"),
                         "--key-file", str(tmp_path / "observer.key"))
    with pytest.raises(InputError, match=variants.SECRET_ENV):
        observe_cli.build(args)
    assert not (tmp_path / "ledgers").exists() and not (tmp_path / "observer.key").exists()


def test_the_key_file_is_created_private_and_reused(tmp_path):
    path = tmp_path / "k"
    key = load_or_create_key(path)
    assert len(key) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key


# -- the dashboard -------------------------------------------------------------------------

def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read()


def test_the_dashboard_serves_the_page_the_state_and_events(klass):
    from grader.classroom.observe_web import Dashboard

    server, good, roster, key, tmp = klass
    obs = Observer(RUBRIC, roster, tmp / "ledgers", key).start()
    board = Dashboard(obs).start()
    try:
        until(lambda: all(s.rounds >= 1 for s in obs.students))
        page = _get(board.url).decode()
        assert "EventSource" in page and "http" not in page.split("<script>")[1].split("fetch(")[0]  # no CDN
        state = json.loads(_get(board.url + "state"))
        assert state["schema"] == "labgrade.observe/v1" and len(state["students"]) == 3
        assert _row(state, "s000")["name"] == "学生 s000"
        detail = json.loads(_get(board.url + "student/s001"))
        assert any(c["status"] == "failed" for s in detail["steps"] for c in s["checks"])
        with urllib.request.urlopen(board.url + "events", timeout=10) as resp:
            first = b""
            while b"\n\n" not in first:
                first += resp.read1(65536)
        assert first.startswith(b"event: state\ndata: {")
    finally:
        board.stop()
        obs.stop()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class Browser:
    """Headless Chromium driven over the DevTools protocol (websocket-client, already a dependency of the
    kubernetes client): the page runs its real script, EventSource included."""

    def __init__(self, binary: str, url: str):
        import websocket

        self.profile = tempfile.mkdtemp(prefix="labgrade-chromium-")
        self.proc = subprocess.Popen([binary, "--headless=new", "--no-sandbox", "--disable-gpu",
                                      "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
                                      url], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        ws_url = None
        end = time.monotonic() + 30
        while ws_url is None and time.monotonic() < end:
            line = self.proc.stderr.readline()
            if "DevTools listening on " in line:
                ws_url = line.split("DevTools listening on ", 1)[1].strip()
        assert ws_url, "chromium did not start"
        port = ws_url.split(":")[2].split("/")[0]
        page = None
        while page is None and time.monotonic() < end:
            pages = json.loads(_get(f"http://127.0.0.1:{port}/json"))
            page = next((p for p in pages if p.get("type") == "page" and p.get("url", "").startswith(url)), None)
            time.sleep(0.1)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=10, suppress_origin=True)
        self.n = 0

    def eval(self, expression: str):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": "Runtime.evaluate",
                                 "params": {"expression": expression, "returnByValue": True}}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                return msg["result"]["result"].get("value")

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.mark.skipif(_chromium() is None, reason="no chromium (apt-get install chromium)")
def test_in_a_real_browser_the_grid_changes_when_a_students_namespace_does(klass):
    from grader.classroom.observe_web import Dashboard

    server, good, roster, key, tmp = klass
    obs = Observer(RUBRIC, roster, tmp / "ledgers", key).start()
    board = Dashboard(obs).start()
    until(lambda: all(s.rounds >= 1 for s in obs.students))
    browser = Browser(_chromium(), board.url)
    try:
        cell = "document.getElementById('cell-s001-step1')"
        until(lambda: browser.eval(f"{cell} && {cell}.dataset.state") == "todo", 30)
        assert browser.eval(f"{cell}.textContent") == "not yet"  # the browser's language (headless: en-US)
        assert browser.eval("document.getElementById('cell-s000-step1').dataset.state") == "done"

        server.set_objects(good)  # s001 fixes deployment1: the open page follows
        until(lambda: browser.eval(f"{cell}.dataset.state") == "done", 30)
        assert browser.eval(f"{cell}.textContent") == "done"
        browser.eval("document.getElementById('lang').click()")
        assert browser.eval(f"{cell}.textContent") == "完成"
        assert browser.eval("document.getElementById('row-s001').children[0].textContent") == "s001 学生 s001"
        assert browser.eval("document.getElementById('score-head').textContent") == "已完成步骤得分"  # not 总分
        assert "labgrade batch" in browser.eval("document.getElementById('score-head').title")
        browser.eval("document.getElementById('row-s001').children[0].click()")
        until(lambda: "已完成步骤得分：" in (browser.eval("document.getElementById('detail').textContent") or ""), 30)
    finally:
        browser.close()
        board.stop()
        obs.stop()


def _pwned_kubeconfig(server, folder: Path, marker: Path) -> Path:
    import sys

    import yaml

    out = json.dumps({"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential",
                      "status": {"token": server.token}})
    code = f"open({str(marker)!r}, 'w').write('ran'); print({out!r})"
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": sys.executable,
                     "args": ["-c", code], "interactiveMode": "Never"}}
    config = {"apiVersion": "v1", "kind": "Config",
              "clusters": [{"name": "c", "cluster": {"server": server.url}}],
              "users": [{"name": "mallory", "user": user}],
              "contexts": [{"name": "c", "context": {"cluster": "c", "user": "mallory"}}], "current-context": "c"}
    path = folder / "kc-mallory"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_roster_kubeconfig_with_an_exec_plugin_is_not_run_by_the_observer(make_standin, tmp_path):
    """As in batch: a kubeconfig named by the roster is whoever wrote it's file;
    its credential command runs only with --allow-exec-credentials."""
    from grader.errors import InputError

    server = make_standin(_bench().class_cluster(CORRECT, ["s000"]))
    marker = tmp_path / "PWNED"
    _pwned_kubeconfig(server, tmp_path, marker)
    roster_path = tmp_path / "roster.csv"
    roster_path.write_text("student_id,namespace,kubeconfig\nmallory,s000,kc-mallory\n", encoding="utf-8")
    roster = roster_mod.load_roster(roster_path, RUBRIC)
    key = load_or_create_key(tmp_path / "observer.key")
    with pytest.raises(InputError) as refused:
        Observer(RUBRIC, roster, tmp_path / "ledgers", key)
    assert "--allow-exec-credentials" in str(refused.value)
    assert not marker.exists()
    obs = Observer(RUBRIC, roster, tmp_path / "ledgers", key, allow_exec_credentials=True)
    try:
        assert marker.exists()  # the teacher trusted the roster's files
    finally:
        obs.stop()
    import argparse

    from grader.classroom import observe_cli

    parser = argparse.ArgumentParser()
    observe_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["observe", str(roster_path), "--rubric", "service-discovery", "--ledgers", "l",
                              "--key-file", "k", "--allow-exec-credentials"])
    assert args.allow_exec_credentials


def test_a_page_on_another_site_cannot_read_the_dashboard_by_dns_rebinding(klass):
    """A page the teacher opens (evil.example, whose DNS answer turns to
    127.0.0.1 after it loaded) reaches the dashboard as same-origin: the class's
    names, namespaces and evidence. On a loopback address the dashboard answers
    only requests addressed to the loopback host (the browser sends evil's Host)."""
    import http.client

    from grader.classroom.observe_web import Dashboard

    server, good, roster, key, tmp = klass
    obs = Observer(RUBRIC, roster, tmp / "ledgers", key)
    board = Dashboard(obs).start()
    try:
        def get(path: str, host: str) -> tuple[int, bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", board.port, timeout=10)
            try:
                conn.request("GET", path, headers={"Host": host})
                resp = conn.getresponse()
                return resp.status, resp.read()
            finally:
                conn.close()

        for path in ("/", "/state", "/student/s000", "/events"):
            status, body = get(path, f"evil.example:{board.port}")
            assert status == 403 and b"s000" not in body, path
        for host in (f"127.0.0.1:{board.port}", f"localhost:{board.port}", "localhost"):
            status, body = get("/state", host)
            assert status == 200 and b"s000" in body, host
    finally:
        board.stop()
        obs.stop()


# -- a roster namespace that does not exist --------------------------------------------------

NO_NAMESPACE = {"zh": "命名空间 s131 不存在（请检查名单中的 namespace 列）",
                "en": "namespace s131 does not exist (check the roster's namespace column)"}


@pytest.fixture
def typo(make_standin, tmp_path):
    """s000 built the lab; the roster's s131 is a namespace the cluster does not have."""
    bench = _bench()
    good = bench.class_cluster(CORRECT, ["s000"])
    both = bench.class_cluster(CORRECT, ["s000", "s131"])
    server = make_standin(good)
    server.bookmark_interval = 0.3
    server.kubeconfig_path(tmp_path)
    roster_path = tmp_path / "roster.csv"
    roster_path.write_text("student_id,name,namespace,kubeconfig\ns000,A,s000,kubeconfig\ns131,B,s131,kubeconfig\n",
                           encoding="utf-8")
    roster = roster_mod.load_roster(roster_path, RUBRIC)
    return server, good, both, roster, load_or_create_key(tmp_path / "observer.key"), tmp_path


def test_a_roster_namespace_that_does_not_exist_is_an_error_row_until_it_is_created(typo):
    from grader.classroom.observe_web import Dashboard
    from tests.standin.objects import namespace

    server, good, both, roster, key, tmp = typo
    obs = Observer(RUBRIC, roster, tmp / "ledgers", key).start()
    board = Dashboard(obs).start()
    try:
        until(lambda: all(s.rounds >= 1 for s in obs.students))
        state = json.loads(_get(board.url + "state"))
        row = _row(state, "s131")
        assert row["error"] == NO_NAMESPACE  # as batch's error row, both languages
        assert row["earned"] is None and set(row["steps"].values()) == {"error"}  # not 0, not "not yet"
        assert sum(state["histogram"]["counts"]) == 1  # s000 alone: no 0 for s131 in the distribution
        assert _row(state, "s000")["error"] is None
        detail = json.loads(_get(board.url + "student/s131"))
        assert detail["error"] == NO_NAMESPACE and detail["steps"] == []
        assert not ledger_mod.Ledger(str(tmp / "ledgers" / "s131.jsonl"), key).records()
        assert server.requests_matching("GET", r"^/api/v1/namespaces$")  # the watch's LIST, not a GET per student
        assert not server.requests_matching("GET", r"^/api/v1/namespaces/s131$")

        # the teacher creates it: the Namespace's watch event re-grades s131, no restart
        server.set_objects(good + [namespace("s131")])
        until(lambda: _row(obs.snapshot(), "s131")["error"] is None)
        row = _row(obs.snapshot(), "s131")
        assert row["earned"] == 0 and row["steps"]["step1"] == "todo"
        assert json.loads(_get(board.url + "student/s131"))["error"] is None

        # the student builds the lab, then deletes the whole namespace: the ledger speaks for the steps
        server.set_objects(both)
        until(lambda: all(_row(obs.snapshot(), "s131")["steps"][s] == "done" for s in BUILD_STEPS))
        server.set_objects(good)
        until(lambda: next(iter(obs.clusters.values())).namespace_exists("s131") is False)
        rounds = next(s for s in obs.students if s.student_id == "s131").rounds
        until(lambda: next(s for s in obs.students if s.student_id == "s131").rounds > rounds)
        row = _row(obs.snapshot(), "s131")
        assert row["error"] is None and all(row["steps"][s] == "done" for s in BUILD_STEPS)
    finally:
        board.stop()
        obs.stop()


def test_when_the_observer_may_not_list_namespaces_a_missing_one_is_graded_as_ever(typo):
    """No ``list namespaces`` (deploy/observe.yaml's watcher role does not grant it):
    the observer cannot tell, so it says nothing, as batch does."""
    server, good, both, roster, key, tmp = typo
    server.faults.add("GET", r"^/api/v1/namespaces$", times=None, status=403)
    obs = Observer(RUBRIC, roster, tmp / "ledgers", key).start()
    try:
        until(lambda: all(s.rounds >= 1 for s in obs.students))
        row = _row(obs.snapshot(), "s131")
        assert row["error"] is None and row["earned"] == 0 and row["steps"]["step1"] == "todo"
        assert all(_row(obs.snapshot(), "s000")["steps"][s] == "done" for s in BUILD_STEPS)  # default Namespace: a GET
    finally:
        obs.stop()


@pytest.mark.skipif(_chromium() is None, reason="no chromium (apt-get install chromium)")
def test_in_a_real_browser_a_missing_namespace_is_an_error_row_and_its_detail_says_why(typo):
    from grader.classroom.observe_web import Dashboard

    server, good, both, roster, key, tmp = typo
    obs = Observer(RUBRIC, roster, tmp / "ledgers", key).start()
    board = Dashboard(obs).start()
    until(lambda: all(s.rounds >= 1 for s in obs.students))
    browser = Browser(_chromium(), board.url)
    try:
        row = "document.getElementById('row-s131')"
        until(lambda: browser.eval(f"{row} && {row}.lastChild.textContent") == NO_NAMESPACE["en"], 30)
        assert browser.eval("document.getElementById('cell-s131-step1').textContent") == "error"
        browser.eval(f"{row}.children[0].click()")
        until(lambda: NO_NAMESPACE["en"] in (browser.eval("document.getElementById('detail').textContent") or ""), 30)
        browser.eval("document.getElementById('lang').click()")
        assert browser.eval(f"{row}.lastChild.textContent") == NO_NAMESPACE["zh"]
        assert browser.eval("document.getElementById('cell-s131-step1').textContent") == "出错"
    finally:
        browser.close()
        board.stop()
        obs.stop()


# -- what the dashboard's number is -------------------------------------------------------------

def test_the_dashboards_points_are_the_recorded_steps_and_say_so_beside_the_gradebooks(klass):
    """s001's step 1 is half done (deployment1 at 5 replicas): the gradebook counts
    the checks of step 1 that pass, the dashboard counts whole steps its ledger
    records. The two numbers differ, so the dashboard's is not labelled "Total"."""
    from grader.classroom.batch import Batch
    from grader.classroom.observe_state import SCORE_LABEL

    server, good, roster, key, tmp = klass
    obs = Observer(RUBRIC, roster, tmp / "ledgers", key).start()
    try:
        until(lambda: all(s.rounds >= 1 for s in obs.students))
        snap = obs.snapshot()
        detail = obs.detail("s001")
    finally:
        obs.stop()
    entry = next(e for e in roster.entries if e.student_id == "s001")
    (tmp / "out").mkdir()
    gradebook = Batch(RUBRIC, roster, tmp / "out").grade_one(entry).report.earned
    row = _row(snap, "s001")
    recorded = sum(s.points for s in RUBRIC.steps if s.id in BUILD_STEPS and row["steps"][s.id] == "done")
    assert row["earned"] == recorded == detail["earned"]
    assert gradebook > row["earned"]  # step 1's passing checks: points in the gradebook, not on the dashboard
    for where in (snap["score"], detail["score"]):
        assert where["basis"] == "recorded-steps"
        assert where["label"] == {"zh": SCORE_LABEL.zh, "en": SCORE_LABEL.en} != {"zh": "总分", "en": "Total"}
        assert "labgrade batch" in where["note"]["zh"] and "labgrade batch" in where["note"]["en"]
