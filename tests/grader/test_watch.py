"""LIST then WATCH instead of polling: the stand-in's watch stream, the grader's watches, and ``check --watch``."""
from __future__ import annotations

import copy
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grader.sources.live import LiveSource, api_client
from grader.sources.watch import Backoff, ClusterWatch, WatchedSource
from tests.standin.fixtures import load_dump, make_standin  # noqa: F401 - pytest fixture

ROOT = Path(__file__).resolve().parents[2]
CORRECT = ROOT / "examples" / "service-discovery" / "correct"


def built() -> list[dict]:
    return load_dump(CORRECT / "built.yaml")


def without(objects: list[dict], kind: str, name: str) -> list[dict]:
    return [o for o in objects if not (o["kind"] == kind and o["metadata"]["name"] == name)]


def until(predicate, seconds: float = 10.0) -> float:
    """Wait for ``predicate()`` (a liveness bound, not a timing assertion: fails only past ``seconds``)."""
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < seconds, "not within the time"
        time.sleep(0.02)
    return time.monotonic() - start


# -- the stand-in's watch stream, through the official client ---------------------------

def test_the_standin_streams_changes_bookmarks_and_gone_to_the_official_client(make_standin, tmp_path):
    from kubernetes import client, watch

    server = make_standin(built())
    server.bookmark_interval = 0.2
    core = client.CoreV1Api(api_client(str(server.kubeconfig_path(tmp_path))))
    listed = core.list_namespaced_service("default")
    rv = listed.metadata.resource_version
    events: list[tuple[str, str]] = []

    def follow() -> None:
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_service, "default", resource_version=rv,
                           allow_watch_bookmarks=True, timeout_seconds=3):
            events.append((ev["type"], ev["object"].metadata.name if ev["type"] != "BOOKMARK" else ""))
            if ev["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=follow)
    t.start()
    time.sleep(0.5)
    server.set_objects(without(built(), "Service", "service1"))
    t.join(10)
    assert ("BOOKMARK", "") in events and events[-1] == ("DELETED", "service1")

    server.compact()  # rv is gone now: the stream says 410 Expired
    raw = core.api_client.call_api(*core.api_client.param_serialize(
        method="GET", resource_path="/api/v1/namespaces/default/services",
        query_params=[("watch", "1"), ("resourceVersion", rv)], auth_settings=["BearerToken"]))
    line = raw.read().decode()
    assert '"type": "ERROR"' in line and '"code": 410' in line and "too old resource version" in line


# -- the grader's watches ---------------------------------------------------------------

def test_a_change_comes_through_the_watch_and_idle_costs_no_requests(make_standin, tmp_path):
    server = make_standin(built())
    server.bookmark_interval = 0.3
    src = LiveSource(api_client(str(server.kubeconfig_path(tmp_path))), "default", "built")
    server.clear_requests()
    cw = ClusterWatch(src).start()
    try:
        assert cw.wait_synced(10)
        assert cw.view().get("Service", "default", "service1") is not None
        lists = [r for r in server.requests if "watch" not in r.query and "limit" in r.query]
        assert sorted(r.path for r in lists) == sorted(
            f"/api{'s/apps' if k in ('deployments', 'replicasets') else ('s/discovery.k8s.io' if k == 'endpointslices' else '')}"
            f"/v1/namespaces/default/{k}" for k in ("deployments", "replicasets", "pods", "services", "endpoints",
                                                      "endpointslices"))

        until(lambda: all(k.watches for k in cw.kinds.values()))  # every stream open (LISTed is not yet WATCHing)
        before = len(server.requests)
        time.sleep(1.0)  # idle: bookmarks (every 0.3 s) on the open streams, no request at all
        assert len(server.requests) == before

        generation = cw.generation
        server.set_objects(without(built(), "Service", "service1"))
        until(lambda: cw.view().get("Service", "default", "service1") is None)
        assert cw.generation > generation
        assert len([r for r in server.requests if "watch" not in r.query and "limit" in r.query]) == len(lists)  # no re-LIST
    finally:
        cw.stop()


def test_gone_relists_and_errors_back_off_then_resume(make_standin, tmp_path):
    server = make_standin(built())
    src = LiveSource(api_client(str(server.kubeconfig_path(tmp_path))), "default", "built")
    delays: list[float] = []

    class Recorded(Backoff):
        def next(self) -> float:
            delays.append(super().next())
            return 0.05

    cw = ClusterWatch(src, backoff=Recorded, watch_seconds=1).start()  # streams end often: each resume is from the last version seen
    try:
        assert cw.wait_synced(10)
        services = cw.kinds["Service"]
        # The next reconnects fail (slowly, so the change below happens while the watch is away) ...
        fault = server.faults.add("GET", r"/namespaces/default/services$", times=2, status=503, delay=0.4)
        until(lambda: fault.hits >= 1, 10)
        # ... and meanwhile the version it holds is compacted away
        server.set_objects(without(built(), "Service", "service2"))
        server.compact()
        until(lambda: "default/service2" not in services.objects, 10)
        assert len(delays) >= 2  # it backed off on each 503
        assert services.relists_on_gone == 1  # resumed from the old version: 410, so a fresh LIST
        server.set_objects(built())
        until(lambda: "default/service2" in services.objects, 10)
    finally:
        cw.stop()


def test_a_list_without_end_is_an_error_for_its_kind_not_a_cache_that_grows(make_standin, tmp_path, monkeypatch):
    from grader.sources import apiread

    monkeypatch.setattr(apiread, "MAX_LIST_ITEMS", 50)
    server = make_standin(built())
    server.faults.add("GET", r"/namespaces/default/pods$", times=None, endless_pages="new")
    src = LiveSource(api_client(str(server.kubeconfig_path(tmp_path))), "default", "built")
    cw = ClusterWatch(src, backoff=lambda: Backoff(base=5.0)).start()
    try:
        assert cw.wait_synced(10)  # every kind synced or failed
        pods = cw.kinds["Pod"]
        assert not pods.synced and "listed more than 50 Pod objects" in pods.error.en
        assert cw.kinds["Service"].synced
    finally:
        cw.stop()


def test_a_list_still_paging_at_the_deadline_says_so_as_a_pass_does(make_standin, tmp_path, monkeypatch):
    """The server answers every page, so the watches' LIST that runs out of
    time is a list that does not end, not 'no answer' (the pass's own LIST,
    test_deadlines, says the same)."""
    from tests.standin.fixtures import shorten_request_deadline

    shorten_request_deadline(monkeypatch, 1.0)
    server = make_standin(built())
    server.faults.add("GET", r"/namespaces/default/pods$", times=None, endless_pages="new", delay=0.2)
    src = LiveSource(api_client(str(server.kubeconfig_path(tmp_path))), "default", "built")
    cw = ClusterWatch(src, backoff=lambda: Backoff(base=5.0)).start()
    try:
        assert cw.wait_synced(10)
        pods = cw.kinds["Pod"]
        assert not pods.synced and "list of Pod did not end within 1 s" in pods.error.en, pods.error.en
        assert cw.kinds["Service"].synced
    finally:
        cw.stop()


def test_a_dripped_list_or_get_is_cut_at_the_request_deadline(make_standin, tmp_path, monkeypatch):
    """The watches' LIST and the single GETs of each re-grade had no deadline, only the
    socket's per-read timeout, which a byte a second never trips: check --watch hung."""
    from tests.standin.fixtures import shorten_request_deadline

    shorten_request_deadline(monkeypatch, 1.0)
    server = make_standin(built())
    server.faults.add("GET", r"/namespaces/default/pods$", times=None, drip=0.2)
    server.faults.add("GET", r"^/api/v1/namespaces/default$", times=None, drip=0.2)
    src = LiveSource(api_client(str(server.kubeconfig_path(tmp_path))), "default", "built")
    cw = ClusterWatch(src, backoff=lambda: Backoff(base=5.0)).start()
    try:
        assert cw.wait_synced(10)
        assert not cw.kinds["Pod"].synced and "timed out" in cw.kinds["Pod"].error.en
        started = time.monotonic()
        view = cw.view()
        assert time.monotonic() - started < 5
        assert "Namespace" in view.kind_errors and view.has("Service")
    finally:
        cw.stop()


def test_backoff_doubles_to_a_cap_with_jitter_and_resets():
    b = Backoff(base=0.5, cap=4.0, rand=lambda: 1.0)
    assert [b.next() for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    b.reset()
    assert b.next() == 0.5
    assert Backoff(rand=lambda: 0.0).next() == 0.25  # jitter: between half and all of it


def test_the_watched_source_grades_from_the_cache_with_live_probes(make_standin, tmp_path):
    from grader import engine, rubric as rubric_mod

    server = make_standin(built())
    src = WatchedSource(LiveSource(api_client(str(server.kubeconfig_path(tmp_path))), "default", "built"))
    try:
        server.clear_requests()
        report = engine.grade(rubric_mod.load("service-discovery"), {"built": src}, options=engine.Options(poll=False))
        assert report.earned == 85
        plain_lists = [r for r in server.requests if "watch" not in r.query and r.path.endswith(
            ("/pods", "/services", "/deployments", "/replicasets", "/endpoints", "/endpointslices"))
            and "kube-system" not in r.path]
        assert plain_lists == []  # the round came from the watches
        assert server.requests_matching("GET", r"/exec$")  # the probes are live
    finally:
        src.close()


def test_a_broken_watch_makes_the_next_round_a_plain_pass_until_it_is_back(make_standin, tmp_path):
    """check --watch kept drawing its cache, "updated" every minute, after
    the API server went away: it said nothing of it, where a one-shot check
    says "cannot reach the API server". A broken watch wakes the screen and
    its rounds are plain passes (the cluster as it is now) until a watch is
    open again; then the cache serves again, without a LIST per round."""
    class Quick(Backoff):
        def next(self) -> float:
            return 0.2

    server = make_standin(built())
    live = LiveSource(api_client(str(server.kubeconfig_path(tmp_path))), "default", "built")
    # streams end every second, so a reconnect meets the fault below
    src = WatchedSource(live, ClusterWatch(live, backoff=Quick, watch_seconds=1))
    try:
        until(lambda: all(k.watches for k in src.watch.kinds.values()))
        src.view()
        assert src.unreachable is None and not src.watch.lost
        seen = src.watch.generation
        server.faults.add("GET", r"/namespaces/default/services$", times=3, status=503)  # the service watch breaks ...
        server.set_objects(without(built(), "Service", "service2"))
        until(lambda: src.watch.lost)
        assert src.watch.generation > seen  # ... which wakes the screen
        server.clear_requests()
        view = src.view()  # a plain pass: the cluster now
        assert view.get("Service", "default", "service2") is None
        assert server.requests_matching("GET", r"/namespaces/default/pods$")
        until(lambda: not src.watch.lost, 15)  # the fault is spent: the watch is back
        server.clear_requests()
        src.view()
        assert not server.requests_matching("GET", r"/namespaces/default/pods$")  # from the cache again

        server.stop()  # the API server goes away
        until(lambda: src.watch.lost, 15)
        src.view()
        assert src.unreachable is not None and "cannot reach the API server" in src.unreachable.line("en")
    finally:
        src.close()


# -- labgrade check --watch, end to end ----------------------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_check_watch_redraws_on_a_change_without_polling(make_standin, tmp_path):
    server = make_standin(built())
    kubeconfig = server.kubeconfig_path(tmp_path)
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120", "LANG": "en_US.UTF-8"}
    proc = subprocess.Popen([sys.executable, "-m", "grader.cli", "check", "--rubric", "service-discovery", "--watch",
                             "--kubeconfig", str(kubeconfig), "--ledger", str(tmp_path / "ledger.jsonl"), "--lang", "en"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    lines: list[tuple[float, str]] = []
    reader = threading.Thread(target=lambda: [lines.append((time.monotonic(), ln)) for ln in proc.stdout], daemon=True)
    reader.start()
    try:
        until(lambda: any("step1" in ln for _, ln in lines), 30)
        time.sleep(1.0)
        frames_before = sum(1 for _, ln in lines if "step1" in ln)
        idle_from = len(server.requests)
        time.sleep(1.0)  # idle: a watched round waits for a change (or IDLE_RECHECK, a minute)
        assert sum(1 for _, ln in lines if "step1" in ln) == frames_before  # no change, no new round
        assert len(server.requests) - idle_from <= 1  # idle costs (almost) nothing

        broken = copy.deepcopy(built())
        for obj in broken:
            if obj["kind"] == "Deployment" and obj["metadata"]["name"] == "deployment1":
                obj["spec"]["replicas"] = 5
        lists_before = len([r for r in server.requests if "limit" in r.query])
        server.set_objects(broken)
        until(lambda: sum(1 for _, ln in lines if "step1" in ln) > frames_before, 10)
        # redrawn by the watch event, not by a poll: no LIST between the change and the new frame
        assert len([r for r in server.requests if "limit" in r.query]) == lists_before
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read()[-2000:]
