"""Live grading through the real kubernetes client against the stand-in API
server: the same verdicts as the dumps, the probes a dump cannot run, at
most eight LISTs a pass, no write ever, and errors that cost no points."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

pytest.importorskip("aiohttp")

from grader import engine, rubric  # noqa: E402
from grader.sources import bundle, snapshot
from grader.cli import main  # noqa: E402
from grader.sources.live import LiveSource, Retry, api_client  # noqa: E402
from grader.outcome import SourceInfo, Status  # noqa: E402
from tests.standin.exec_model import ExecReply  # noqa: E402
from tests.standin.fixtures import load_dump, make_standin  # noqa: E402,F401

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "service-discovery"
RUBRIC = rubric.load("service-discovery")
LIVE_CHECKS = {"clientpod-wget-service2", "service1-dns", "service2-dns"}
NO_POLL = engine.Options(poll=False)


def objects(case: str, phase: str) -> list[dict]:
    for suffix in (".yaml", ".json"):
        p = EXAMPLES / case / f"{phase}{suffix}"
        if p.exists():
            return load_dump(p)
    raise FileNotFoundError(case)


def expected(case: str) -> dict:
    return yaml.safe_load((EXAMPLES / case / "expected.yaml").read_text(encoding="utf-8"))


def live(server, tmp_path: Path, namespace: str, phase: str = "built") -> LiveSource:
    api = api_client(str(server.kubeconfig_path(tmp_path)), None)
    return LiveSource(api, namespace, phase, retry=Retry(sleep=lambda s: None))


def verdicts(report) -> dict[str, str]:
    return {c.id: c.status.value for _, c in report.checks()}


def built_checks() -> set[str]:
    return {c.id for s in RUBRIC.steps if s.phase == "built" for c in s.checks}


@pytest.mark.parametrize("case", sorted(p.name for p in EXAMPLES.iterdir() if (p / "expected.yaml").exists()))
def test_live_verdicts_equal_the_dump_verdicts(make_standin, tmp_path, case):
    exp = expected(case)
    server = make_standin(objects(case, "built"))
    report = engine.grade(RUBRIC, {"built": live(server, tmp_path, exp["namespace"])}, namespace=exp["namespace"], options=NO_POLL)
    got = verdicts(report)
    for cid in built_checks() - LIVE_CHECKS:
        assert got[cid] == exp["verdicts"][cid], cid
    assert server.writes == []


def test_correct_submission_live_runs_wget_and_dns_and_earns_the_built_points(make_standin, tmp_path):
    server = make_standin(objects("correct", "built"))
    report = engine.grade(RUBRIC, {"built": live(server, tmp_path, "default")}, options=NO_POLL)
    by = {c.id: c for _, c in report.checks()}
    wget = by["clientpod-wget-service2"]
    assert wget.status is Status.PASSED, wget.outcome
    assert "It works!" in wget.outcome.observed.en
    assert ".service2.default.svc.cluster.local" in wget.outcome.observed.en
    assert by["service1-dns"].status is Status.PASSED and by["service2-dns"].status is Status.PASSED
    assert report.earned == 85  # all of steps 1-5
    execs = server.exec_log
    assert len(execs) == 1 and list(execs[0].argv[:6]) == ["wget", "-q", "-O", "-", "-T", "5"]


def test_one_pass_is_at_most_eight_gets(make_standin, tmp_path):
    server = make_standin(objects("correct-other-namespace", "built"))
    src = live(server, tmp_path, "lab-42")
    server.clear_requests()
    src.view()
    reqs = server.requests
    assert len(reqs) <= 8
    assert {r.method for r in reqs} == {"GET"}


def test_cluster_ip_service2_is_reached_by_the_pod_dns_name(make_standin, tmp_path):
    server = make_standin(objects("correct-other-namespace", "built"))
    report = engine.grade(RUBRIC, {"built": live(server, tmp_path, "lab-42")}, namespace="lab-42", options=NO_POLL)
    wget = next(c for _, c in report.checks() if c.id == "clientpod-wget-service2")
    assert wget.status is Status.PASSED, wget.outcome
    assert ".lab-42.pod.cluster.local" in wget.outcome.observed.en


def test_missing_wget_in_clientpod_is_a_clear_failure(make_standin, tmp_path):
    server = make_standin(objects("correct", "built"), exec_handler=lambda ns, pod, c, argv: ExecReply.not_found(argv[0]))
    report = engine.grade(RUBRIC, {"built": live(server, tmp_path, "default")}, options=NO_POLL)
    wget = next(c for _, c in report.checks() if c.id == "clientpod-wget-service2")
    assert wget.status is Status.FAILED and "no wget" in wget.outcome.message.en


def test_a_hung_wget_is_bounded_by_the_timeout(make_standin, tmp_path):
    server = make_standin(objects("correct", "built"), exec_handler=lambda ns, pod, c, argv: ExecReply(hang=True))
    src = live(server, tmp_path, "default")
    result = src.exec("default", "clientpod", ["wget", "-q", "-O", "-", "http://x"], timeout=0.5)
    assert result.failure == "timeout" and result.exit_code is None and result.duration < 5


@pytest.mark.parametrize("v5", [True, False])
def test_exit_codes_and_streams_on_both_protocols(make_standin, tmp_path, v5):
    reply = ExecReply(stdout=b"out", stderr=b"wget: bad address 'x'\n", exit_code=1)
    server = make_standin(objects("correct", "built"), exec_v5=v5, exec_handler=lambda ns, pod, c, argv: reply)
    result = live(server, tmp_path, "default").exec("default", "clientpod", ["wget", "http://x"], timeout=5)
    assert (result.exit_code, result.stdout, result.stderr) == (1, "out", "wget: bad address 'x'\n")


def test_forbidden_pods_are_errors_that_cost_nothing(make_standin, tmp_path):
    server = make_standin(objects("correct", "built"))
    server.faults.add("GET", r"/pods$", times=None, status=403, message='pods is forbidden: User "x" cannot list')
    report = engine.grade(RUBRIC, {"built": live(server, tmp_path, "default")}, options=NO_POLL)
    by = {c.id: c for _, c in report.checks()}
    assert by["deployment1-pods"].status is Status.ERROR
    assert "403" in by["deployment1-pods"].outcome.message.en
    assert report.earned + report.ungraded == 100  # nothing lost: every point earned or not graded


def test_throttling_and_dropped_connections_are_retried(make_standin, tmp_path):
    server = make_standin(objects("correct", "built"))
    server.faults.add("GET", r"/deployments$", times=2, status=429, retry_after=1)
    server.faults.add("GET", r"/services$", times=1, drop=True)
    report = engine.grade(RUBRIC, {"built": live(server, tmp_path, "default")}, options=NO_POLL)
    assert verdicts(report)["deployment1-exists"] == "passed"
    assert verdicts(report)["service1-exists"] == "passed"


def test_a_cluster_without_endpointslices_falls_back_to_endpoints(make_standin, tmp_path):
    server = make_standin(objects("service2-all-pods", "built"), disabled={"endpointslices"})
    report = engine.grade(RUBRIC, {"built": live(server, tmp_path, "default")}, options=NO_POLL)
    c = next(c for _, c in report.checks() if c.id == "service2-endpoints")
    assert c.status is Status.FAILED and "(Endpoints)" in c.outcome.observed.en


def test_unreachable_api_server_gives_errors_and_a_report(tmp_path):
    from tests.standin.server import StandIn

    server = StandIn([]).start()
    cfg = server.kubeconfig_path(tmp_path)
    server.stop()
    api = api_client(str(cfg), None)
    src = LiveSource(api, "default", "built", retry=Retry(attempts=2, sleep=lambda s: None))
    report = engine.grade(RUBRIC, {"built": src}, options=NO_POLL)
    assert report.earned == 0
    assert {c.status for _, c in report.checks() if _.phase == "built"} <= {Status.ERROR, Status.SKIPPED}
    assert all(not c.outcome.graded for _, c in report.checks())


def test_two_runs_with_state_catch_a_recreated_kubernetes_service(make_standin, tmp_path, capsys):
    server = make_standin(objects("kubernetes-recreated", "built"))
    cfg = str(server.kubeconfig_path(tmp_path))
    state = tmp_path / "state.yaml"
    common = ["grade", "--rubric", "service-discovery", "--kubeconfig", cfg, "--state", str(state), "--no-poll", "--no-color"]
    assert main(common + ["--json", str(tmp_path / "built.json")]) == 0
    server.set_objects(objects("kubernetes-recreated", "cleaned"))
    assert main(common + ["--json", str(tmp_path / "final.json")]) == 0
    final = json.loads((tmp_path / "final.json").read_text(encoding="utf-8"))
    checks = {c["id"]: c for s in final["steps"] for c in s["checks"]}
    assert checks["kubernetes-service-intact"]["status"] == "failed"
    assert checks["deployment1-exists"]["status"] == "passed"  # graded from the kept state
    assert checks["clientpod-wget-service2"]["status"] == "passed"  # its recorded probe
    assert server.writes == []


def test_collect_then_grade_offline_gives_the_live_verdicts(make_standin, tmp_path, capsys):
    server = make_standin(objects("correct", "built"))
    cfg = str(server.kubeconfig_path(tmp_path))
    out = tmp_path / "bundle.yaml"
    assert main(["collect", "--rubric", "service-discovery", "--kubeconfig", cfg, "-o", str(out), "--no-poll"]) == 0
    snap = snapshot.load(out)
    assert snap.phase == "built" and len(snap.probes) == 3
    offline = engine.grade(RUBRIC, {"built": engine.StaticSource(snap.view(), SourceInfo("built", "snapshot", str(out)))})
    online = engine.grade(RUBRIC, {"built": live(server, tmp_path, "default")}, options=NO_POLL)
    assert verdicts(offline) == verdicts(online)
    assert verdicts(offline)["clientpod-wget-service2"] == "passed"


def test_the_token_never_reaches_a_report(make_standin, tmp_path):
    secret = "s3cr3t-token-value"
    server = make_standin(objects("correct", "built"), token=secret)
    # Retry-After: the grader's retries wait what the server asks, not their 1.75 s of backoff.
    server.faults.add("GET", r"/pods$", times=None, status=500, message="etcd timeout", retry_after="0.01")
    out = tmp_path / "r.json"
    junit = tmp_path / "r.xml"
    main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(server.kubeconfig_path(tmp_path)),
          "--no-poll", "--json", str(out), "--junit", str(junit), "-q"])
    assert secret not in out.read_text(encoding="utf-8") and secret not in junit.read_text(encoding="utf-8")
