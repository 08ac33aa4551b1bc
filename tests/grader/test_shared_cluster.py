"""A class on one cluster: one LIST per kind for the class, the probes per student.

Everything goes through ``labgrade batch``'s real path against the stand-in
API server, and the verdicts are compared with grading each namespace on
its own (the path students on their own clusters keep).
"""
from __future__ import annotations

import csv
import importlib.util
import json
import threading
import time
import types
from pathlib import Path

import pytest

from grader import engine, rubric as rubric_mod
from grader.classroom import batch, roster as roster_mod
from grader.sources import shared_cluster
from grader.sources.live import LiveSource, api_client
from grader.report import json_report
from tests.standin.fixtures import make_standin  # noqa: F401 - pytest fixture

ROOT = Path(__file__).resolve().parents[2]
CORRECT = ROOT / "examples" / "service-discovery" / "correct" / "built.yaml"
RUBRIC = rubric_mod.load("service-discovery")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_batch", ROOT / "bench" / "batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _roster(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _class(make_standin, tmp_path, namespaces, **standin_kw):
    server = make_standin(_bench().class_cluster(CORRECT, namespaces), **standin_kw)
    kubeconfig = server.kubeconfig_path(tmp_path)
    roster = _roster(tmp_path / "roster.csv", [{"student_id": ns, "namespace": ns, "kubeconfig": "kubeconfig"}
                                               for ns in namespaces])
    return server, kubeconfig, roster


def _run(roster: Path, out: Path, **kw) -> batch.BatchResult:
    options = batch.BatchOptions(jobs=kw.pop("jobs", 4), resume=False, poll=kw.pop("poll", False), **kw)
    return batch.Batch(RUBRIC, roster_mod.load_roster(roster, RUBRIC), out, options).run()


def _verdicts(report) -> dict[str, tuple[str, float, str]]:
    return {c.id: (c.status.value, c.earned, c.outcome.message.en) for _, c in report.checks()}


def _lists(server) -> list[str]:
    return [r.path for r in server.requests if r.method == "GET" and not r.path.endswith(("/exec", "/portforward"))]


def test_a_shared_cluster_is_listed_once_per_kind_and_probed_per_student(make_standin, tmp_path):
    namespaces = ["s000", "s001", "s002", "s003", "s004"]
    server, kubeconfig, roster = _class(make_standin, tmp_path, namespaces)
    server.clear_requests()

    result = _run(roster, tmp_path / "out")

    assert result.errors == 0 and {r.report.earned for r in result.results} == {85}
    lists = _lists(server)
    # one cluster-wide LIST per kind, not one per kind per student (limit set: paginated like kubectl)
    assert sorted(lists) == sorted({"/api/v1/namespaces", "/apis/apps/v1/deployments", "/apis/apps/v1/replicasets",
                                    "/api/v1/pods", "/api/v1/services", "/api/v1/endpoints",
                                    "/apis/discovery.k8s.io/v1/endpointslices"})
    assert all(r.query.get("limit") == ["500"] for r in server.requests if r.path in lists)
    execs = [r.path for r in server.requests if r.path.endswith("/exec")]
    assert sorted(execs) == [f"/api/v1/namespaces/{ns}/pods/clientpod/exec" for ns in namespaces]
    # every student's DNS questions through one port-forward (the CoreDNS pod came from the pod LIST)
    assert len([r for r in server.requests if r.path.endswith("/portforward")]) == 1
    assert server.writes == []
    # a live student's folder: their reports, and no record of dump versions (there are no dumps)
    assert sorted(p.name for p in (tmp_path / "out" / "s000").iterdir()) == [
        "junit.xml", "report.html", "report.json", "results.json"]

    # the same verdicts as grading each namespace on its own
    for ns in namespaces[:2]:
        alone = engine.grade(RUBRIC, {"built": LiveSource(api_client(str(kubeconfig)), ns, "built")},
                             namespace=ns, options=engine.Options(poll=False))
        shared = json_report.from_json((tmp_path / "out" / ns / "report.json").read_bytes())
        assert _verdicts(shared) == _verdicts(alone)


def test_each_student_sees_only_their_namespace_and_a_broken_one_fails_alone(make_standin, tmp_path):
    namespaces = ["s000", "s001", "s002"]
    objects = _bench().class_cluster(CORRECT, namespaces)
    # s001 deleted deployment2 and its pods: only s001 loses those points
    objects = [o for o in objects if not (o["metadata"].get("namespace") == "s001"
                                          and "deployment2" in json.dumps(o["metadata"]))]
    server = make_standin(objects)
    server.kubeconfig_path(tmp_path)
    roster = _roster(tmp_path / "roster.csv", [{"student_id": ns, "namespace": ns, "kubeconfig": "kubeconfig"}
                                               for ns in namespaces])

    result = _run(roster, tmp_path / "out")

    earned = {r.student_id: r.report.earned for r in result.results}
    assert earned["s000"] == earned["s002"] == 85 and earned["s001"] < 85
    s001 = json_report.from_json((tmp_path / "out" / "s001" / "report.json").read_bytes())
    assert _verdicts(s001)["deployment2-exists"][0] == "failed"


def test_pages_are_followed_with_continue(make_standin, tmp_path, monkeypatch):
    monkeypatch.setattr(shared_cluster, "PAGE", 4)
    server, _, roster = _class(make_standin, tmp_path, ["s000", "s001", "s002"])
    server.clear_requests()

    result = _run(roster, tmp_path / "out")

    assert result.errors == 0 and {r.report.earned for r in result.results} == {85}
    pods = [r for r in server.requests if r.path == "/api/v1/pods"]
    assert len(pods) > 2 and all(r.query.get("limit") == ["4"] for r in pods)
    assert [bool(r.query.get("continue")) for r in pods] == [False] + [True] * (len(pods) - 1)


def test_the_next_page_is_asked_for_while_this_one_is_parsed(make_standin, tmp_path, monkeypatch):
    """A big kind is a chain of pages; each waited on its parse before the next
    request went out. Parsing a page here waits for the next page's request to
    reach the server: it never does unless it was sent before the parse."""
    monkeypatch.setattr(shared_cluster, "PAGE", 4)
    server, _, roster = _class(make_standin, tmp_path, ["s000", "s001", "s002"])
    server.clear_requests()
    real_loads = json.loads
    ahead: list[bool] = []

    def loads(data, *a, **kw):
        body = real_loads(data, *a, **kw)
        token = (body.get("metadata") or {}).get("continue") if isinstance(body, dict) else None
        if token and body.get("kind") == "PodList":
            asked = threading.Event()
            for _ in range(500):
                if any(r.path == "/api/v1/pods" and r.query.get("continue") == [token] for r in server.requests):
                    asked.set()
                    break
                threading.Event().wait(0.01)
            ahead.append(asked.is_set())
        return body

    monkeypatch.setattr(shared_cluster, "json", types.SimpleNamespace(loads=loads, JSONDecoder=json.JSONDecoder))
    result = _run(roster, tmp_path / "out")

    assert result.errors == 0 and {r.report.earned for r in result.results} == {85}
    assert len(ahead) > 2 and all(ahead)
    pods = [r for r in server.requests if r.path == "/api/v1/pods"]
    tokens = [r.query.get("continue", [None])[0] for r in pods]
    assert len(set(tokens)) == len(tokens)  # each page once: no page asked for twice


@pytest.mark.parametrize("page, token", [
    (b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"eyJ2Ijo5fQ",'
     b'"remainingItemCount":3},"items":[]}', "eyJ2Ijo5fQ"),
    (b'{"kind":"PodList","metadata":{"resourceVersion":"9"},"items":[]}', None),  # the last page
    (b'{"items":[{"metadata":{"name":"p","continue":"x"}}],"metadata":{"continue":"y"}}', None),  # items first
    (b'{"kind":"PodList","metadata":{"continue":"eyJ2Ijo5f', None),  # cut short
    (b'{"kind":"PodList","metadata":{"continue":7},"items":[]}', None),
    (b'{"kind":"PodList","metadata": {"continue": "abc"},"items":[]}', "abc"),
    (b'{"kind":"PodList","items":[]}', None),
])
def test_the_continue_token_is_peeked_only_from_a_list_metadata_before_its_items(page, token):
    assert shared_cluster.peek_continue(page) == token


def test_a_refused_cluster_wide_list_falls_back_to_each_namespace(make_standin, tmp_path):
    server, _, roster = _class(make_standin, tmp_path, ["s000", "s001"])
    server.faults.add("GET", r"^/api/v1/pods$", times=None, status=403)  # RoleBindings per namespace only
    server.clear_requests()

    result = _run(roster, tmp_path / "out")

    assert result.errors == 0 and {r.report.earned for r in result.results} == {85}
    paths = _lists(server)
    assert "/api/v1/namespaces/s000/pods" in paths and "/api/v1/namespaces/s001/pods" in paths


@pytest.mark.parametrize("endless", ["same", "new"])
def test_a_cluster_wide_list_without_end_is_refused_and_falls_back_to_each_namespace(make_standin, tmp_path,
                                                                                    monkeypatch, endless):
    """Each page has its own deadline, so only the LIST's budget ends a server that
    hands out continue tokens forever (the batch waited on it without end)."""
    from grader.sources import shared_cluster

    monkeypatch.setattr(shared_cluster, "CLUSTER_LIST_SECONDS", 1.0)
    server, _, roster = _class(make_standin, tmp_path, ["s000", "s001"])
    server.faults.add("GET", r"^/api/v1/pods$", times=None, endless_pages=endless, delay=0.05)
    server.clear_requests()

    started = time.monotonic()
    result = _run(roster, tmp_path / "out")

    assert time.monotonic() - started < 30
    assert result.errors == 0 and {r.report.earned for r in result.results} == {85}
    assert "/api/v1/namespaces/s000/pods" in _lists(server)
    assert len([p for p in _lists(server) if p == "/api/v1/pods"]) <= (3 if endless == "same" else 40)  # (the next page is asked for while one is parsed)


@pytest.mark.parametrize("endless, seconds, asked", [
    ("same", shared_cluster.CLUSTER_LIST_SECONDS, 2),  # the second page repeats the first's token: no third
    ("new", 0.0, 1),  # out of time at the first page: no second
])
def test_no_page_is_asked_for_ahead_that_the_lists_budget_refuses(make_standin, tmp_path, monkeypatch,
                                                                  endless, seconds, asked):
    """The next page is asked for while this one is parsed, but not a page at a
    continue token already followed, nor after the class-wide LIST's time: the
    budget ends that LIST, and the page would be asked for nothing (and waited
    for, up to its deadline, before the class read ends)."""
    monkeypatch.setattr(shared_cluster, "CLUSTER_LIST_SECONDS", seconds)
    server, kubeconfig, _ = _class(make_standin, tmp_path, ["s000"])
    server.faults.add("GET", r"^/api/v1/pods$", times=None, endless_pages=endless)
    server.clear_requests()

    read = shared_cluster.read_cluster(api_client(str(kubeconfig)), ("Pod",))

    assert "Pod" in read.kind_errors and "Pod" not in read.kinds
    assert len([p for p in _lists(server) if p == "/api/v1/pods"]) == asked


def test_a_student_alone_on_a_cluster_keeps_the_namespace_path(make_standin, tmp_path):
    server = make_standin(_bench().class_cluster(CORRECT, ["s000"]))
    server.kubeconfig_path(tmp_path)
    roster = _roster(tmp_path / "roster.csv", [{"student_id": "s000", "namespace": "s000", "kubeconfig": "kubeconfig"}])
    server.clear_requests()

    assert _run(roster, tmp_path / "out").results[0].report.earned == 85
    assert "/api/v1/pods" not in _lists(server) and "/api/v1/namespaces/s000/pods" in _lists(server)


def test_a_failing_check_is_repolled_from_the_students_namespace_only(make_standin, tmp_path, monkeypatch):
    namespaces = ["s000", "s001"]
    objects = _bench().class_cluster(CORRECT, namespaces)
    objects = [o for o in objects if not (o["kind"] == "Pod" and o["metadata"].get("namespace") == "s001"
                                          and o["metadata"]["name"] == "clientpod")]  # step 5 polls until its deadline
    server = make_standin(objects)
    server.kubeconfig_path(tmp_path)
    roster = _roster(tmp_path / "roster.csv", [{"student_id": ns, "namespace": ns, "kubeconfig": "kubeconfig"}
                                               for ns in namespaces])
    clock = [0.0]  # polling until the step's deadline, on a clock that needs no waiting
    real_grade = engine.grade

    def grade(*a, **kw):
        kw["options"] = engine.Options(poll=True, clock=lambda: clock[0],
                                       sleep=lambda s: clock.__setitem__(0, clock[0] + s))
        return real_grade(*a, **kw)

    monkeypatch.setattr(engine, "grade", grade)
    server.clear_requests()
    result = _run(roster, tmp_path / "out", poll=True)

    earned = {r.student_id: r.report.earned for r in result.results}
    assert earned["s000"] == 85 and earned["s001"] < 85
    paths = _lists(server)
    assert paths.count("/api/v1/pods") == 1  # the class read, once
    assert "/api/v1/namespaces/s001/pods" in paths and not any("/namespaces/s000/" in p for p in paths)


def test_the_dns_tunnel_pipelines_questions_from_many_threads_and_reopens(make_standin, tmp_path):
    from tests.standin.objects import lab_cluster

    from grader.sources.dns_tunnel import DnsTunnel

    server = make_standin(lab_cluster())
    api = api_client(str(server.kubeconfig_path(tmp_path)))
    read = shared_cluster.read_cluster(api)
    tunnel = DnsTunnel(api, read.coredns_pod)
    want = server.dns
    names = [f"service{i % 2 + 1}.default.svc.cluster.local" for i in range(40)] + ["nope.default.svc.cluster.local"]
    answers: dict[int, object] = {}

    def ask(i: int) -> None:
        answers[i] = tunnel.query(names[i], "A")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(names))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert tunnel.opened == 1
    assert answers[40].rcode == "NXDOMAIN"
    for i in range(40):
        r = answers[i]
        assert r.rcode == "NOERROR" and r.failure is None and r.answers, r
    assert answers[0].answers != answers[1].answers  # each answer went to the thread that asked it
    assert want is not None

    tunnel.close()  # a tunnel cut under the grader is reopened by the next question
    again = tunnel.query(names[0], "A")
    assert again.rcode == "NOERROR" and tunnel.opened == 2
    tunnel.close()
    api.close()


def test_pool_size_grows_with_jobs():
    assert shared_cluster.pool_size(1) == 16 and shared_cluster.pool_size(8) == 64 and shared_cluster.pool_size(64) == 128


def test_a_student_who_built_nothing_is_graded_zero_without_hunting_the_cluster_for_the_lab(make_standin, tmp_path):
    """An empty namespace on the shared cluster is a 0, not an internal error
    (the shared source has no client of its own to look elsewhere with), and
    no cluster-wide LIST by name is spent on a "grade with -n" hint: the
    roster names the namespace."""
    namespaces = ["s000", "s001"]
    objects = [o for o in _bench().class_cluster(CORRECT, namespaces) if o["metadata"].get("namespace") != "s001"]
    server = make_standin(objects)
    server.kubeconfig_path(tmp_path)
    roster = _roster(tmp_path / "roster.csv", [{"student_id": ns, "namespace": ns, "kubeconfig": "kubeconfig"}
                                               for ns in namespaces])
    server.clear_requests()

    result = _run(roster, tmp_path / "out")

    by_id = {r.student_id: r for r in result.results}
    assert by_id["s001"].ok and by_id["s001"].report.earned == 0
    assert by_id["s000"].report.earned == 85
    assert not any("fieldSelector" in r.query for r in server.requests), "no hunt for the lab elsewhere"
    assert not by_id["s001"].report.notes


def _class_with_a_ghost(make_standin, tmp_path):
    """Two students on a shared cluster and a third whose roster namespace was never made."""
    server = make_standin(_bench().class_cluster(CORRECT, ["s000", "s001"]))
    server.kubeconfig_path(tmp_path)
    roster = _roster(tmp_path / "roster.csv", [{"student_id": ns, "namespace": ns, "kubeconfig": "kubeconfig"}
                                               for ns in ("s000", "s001", "ghost")])
    server.clear_requests()
    return server, roster


def test_a_roster_namespace_missing_from_a_shared_cluster_is_an_error_row(make_standin, tmp_path):
    """On a shared cluster a namespace that does not exist was graded 0/100
    (the existence check needed the student's own client, which a shared
    source does not have): the class read's Namespace LIST answers, with no
    request of its own."""
    server, roster = _class_with_a_ghost(make_standin, tmp_path)

    result = _run(roster, tmp_path / "out")

    by_id = {r.student_id: r for r in result.results}
    assert not by_id["ghost"].ok and by_id["ghost"].report is None
    assert by_id["ghost"].error.en == "namespace ghost does not exist (check the roster's namespace column)"
    assert by_id["s000"].report.earned == by_id["s001"].report.earned == 85
    assert not any(r.path.startswith("/api/v1/namespaces/ghost") and not r.path.endswith(("/exec", "/portforward"))
                   and r.path.count("/") == 4 for r in server.requests)
    with open(tmp_path / "out" / "gradebook.csv", encoding="utf-8-sig") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert rows["ghost"]["status"] == "error" and rows["ghost"]["total"] == ""


def test_without_namespaces_in_the_class_read_an_empty_namespace_is_looked_up_once(make_standin, tmp_path,
                                                                                   monkeypatch):
    """A rubric that does not read Namespaces: the class read cannot tell, so
    an empty namespace is one GET through the class's client (a namespace
    with objects in the read needs none)."""
    monkeypatch.setattr(shared_cluster.ClusterRead, "namespace_names", property(lambda self: None))
    server, roster = _class_with_a_ghost(make_standin, tmp_path)

    result = _run(roster, tmp_path / "out")

    by_id = {r.student_id: r for r in result.results}
    assert not by_id["ghost"].ok and "namespace ghost does not exist" in by_id["ghost"].error.en
    assert by_id["s000"].report.earned == 85
    gets = [r.path for r in server.requests if r.path in ("/api/v1/namespaces/ghost", "/api/v1/namespaces/s000",
                                                          "/api/v1/namespaces/s001")]
    assert gets == ["/api/v1/namespaces/ghost"]
