"""The Service-discovery lab performed with kubectl on the real control plane, graded live and from dumps.

Each test is one student: a fresh namespace, the six steps of the seed lab (or one of the mistakes a
class makes), then ``labgrade grade`` against the live cluster (built phase, then the cleaned phase
with the built state kept in ``--state``), and the same states dumped by the real kubectl
(``-o yaml`` and ``-o json``) and graded offline. Every check's verdict is asserted, and the live
and dump verdicts must agree (the live-only probes are skipped on a dump).
"""

from __future__ import annotations

import itertools
import json

import pytest

from tests.realcluster_tests.lab import LIVE_ONLY, Lab, example_verdicts, offline_view, service_manifest, verdicts

_seq = itertools.count()


def expected_live(case: str, **overrides: str) -> dict[str, str]:
    """The example's verdicts with the live-only probes as a live cluster must answer them."""
    want = example_verdicts(case)
    for k in LIVE_ONLY:
        if want.get(k) == "skipped":
            want[k] = "passed"
    want.update(overrides)
    return want


@pytest.fixture
def lab(real_cluster, tmp_path, request):
    name = request.node.name.replace("test_", "").replace("_", "-")[:40].strip("-")
    ns = real_cluster.new_namespace(f"{name}-{next(_seq)}")
    lab = Lab(real_cluster, ns, tmp_path)
    lab.baseline_dump = lab.dump("baseline")
    out = lab.baseline()
    lab.state.write_text(out.read_text())  # the live runs keep their phases next to the baseline
    return lab


def grade_everything(lab: Lab, cleanup) -> dict:
    """Live built -> dumps -> cleanup -> live cleaned (built from --state) -> dumps; returns all verdicts."""
    built_live = verdicts(lab.grade_live("live-built", "--phase", "built"))
    built_yaml, built_json = lab.dump("built", "yaml"), lab.dump("built", "json")
    cleanup()
    cleaned_live = lab.grade_live("live-cleaned", "--phase", "cleaned")
    cleaned_yaml, cleaned_json = lab.dump("cleaned", "yaml"), lab.dump("cleaned", "json")
    from_yaml = verdicts(lab.grade_dumps("dump-yaml", f"built={built_yaml}", f"cleaned={cleaned_yaml}",
                                         baseline=lab.baseline_dump))
    from_json = verdicts(lab.grade_dumps("dump-json", f"built={built_json}", f"cleaned={cleaned_json}",
                                         baseline=lab.baseline_dump))
    return {"built_live": built_live, "live": verdicts(cleaned_live), "yaml": from_yaml, "json": from_json,
            "report": cleaned_live}


def assert_all(results: dict, want: dict[str, str]) -> None:
    assert results["live"] == want
    built = {k: v for k, v in want.items() if not k.endswith("-deleted") and k != "kubernetes-service-intact"}
    assert {k: v for k, v in results["built_live"].items() if k in built} == built
    assert results["yaml"] == offline_view(want)
    assert results["json"] == offline_view(want)


def cleanup_properly(lab: Lab):
    def run():
        lab.step6()
        lab.wait_gone()
    return run


def test_correct_lab(lab):
    firsts = lab.build_correct()
    # The student's own step 5, as typed: busybox wget by the first pod's DNS name under service2.
    ip = firsts[0]["status"]["podIP"]
    r = lab.wget(f"http://{ip.replace('.', '-')}.service2.{lab.ns}.svc.cluster.local")
    assert r.returncode == 0 and "<h1>It works!</h1>" in r.stdout, r.stderr
    results = grade_everything(lab, cleanup_properly(lab))
    assert_all(results, expected_live("correct"))
    assert results["report"]["totals"]["earned"] == 100


def test_wrong_replicas_fixed_with_scale(lab):
    lab.step1_2(d1=(3, "httpd"))
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_rollout("deployment2")
    lab.wait_settled(6)
    # graded while wrong: deployment1 has 3 replicas
    wrong = verdicts(lab.grade_live("wrong", "--phase", "built", "--no-poll", state=False))
    assert wrong["deployment1-replicas"] == "failed"
    assert wrong["deployment1-pods"] == "passed" and wrong["service1-endpoints"] == "passed"
    lab.k("scale", "deployment/deployment1", "--replicas=2")
    lab.wait_rollout("deployment1")
    lab.wait_settled(5)
    lab.step4()
    lab.step5()
    lab.wait_settled(6)
    assert_all(grade_everything(lab, cleanup_properly(lab)), expected_live("correct"))


def test_wrong_image_fixed_with_set_image(lab):
    lab.step1_2(d2=(3, "nginx"))
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_rollout("deployment2")
    lab.wait_settled(5)
    wrong = verdicts(lab.grade_live("wrong", "--phase", "built", "--no-poll", state=False))
    assert wrong["deployment2-image"] == "failed"
    lab.k("set", "image", "deployment/deployment2", "httpd=httpd")
    lab.wait_rollout("deployment2")
    lab.wait_settled(5)
    rs = [r for r in lab.get("replicasets")["items"] if r["metadata"]["name"].startswith("deployment2-")]
    assert len(rs) == 2, "a real rollout leaves the old ReplicaSet behind, scaled to 0"
    assert sorted(r["spec"]["replicas"] for r in rs) == [0, 3]
    lab.step4()
    lab.step5()
    lab.wait_settled(6)
    assert_all(grade_everything(lab, cleanup_properly(lab)), expected_live("correct"))


def test_image_typo_fixed_with_the_command_the_grader_gives(lab):
    """`kubectl create deployment --image=httdp` names the container httdp: the failure names it
    and gives the `kubectl set image` that the real kubectl accepts (httpd=httpd it refuses)."""
    import re

    lab.k("create", "deployment", "deployment1", "--image=httdp", "--replicas=2")
    lab.wait_rollout("deployment1")
    report = lab.grade_live("typo", "--phase", "built", "--no-poll", state=False)
    check = next(c for s in report["steps"] for c in s["checks"] if c["id"] == "deployment1-image")
    assert check["status"] == "failed"
    command = re.search(r"fix it with (kubectl set image \S+ \S+)$", check["message"]["en"]).group(1)
    assert command == "kubectl set image deployment/deployment1 httdp=httpd"
    assert lab.k("set", "image", "deployment/deployment1", "httpd=httpd", check=False).returncode != 0
    lab.k(*command.split()[1:])
    lab.wait_rollout("deployment1")
    lab.wait_settled(2)
    fixed = verdicts(lab.grade_live("fixed", "--phase", "built", "--no-poll", state=False))
    assert fixed["deployment1-image"] == "passed"


def test_wrong_image_left_wrong(lab):
    lab.step1_2(d2=(3, "nginx"))
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_rollout("deployment2")
    lab.wait_settled(5)
    lab.step4()
    lab.step5()
    lab.wait_settled(6)
    assert_all(grade_everything(lab, cleanup_properly(lab)), expected_live("wrong-image"))


def test_bare_pods_instead_of_deployment2(lab):
    lab.apply(__import__("tests.realcluster_tests.lab", fromlist=["x"]).deployment_manifest("deployment1", 2, "httpd"))
    for i in range(3):
        lab.k("run", f"deployment2-{i}", "--image=httpd", "--labels=app=httpd,deployment=deployment2",
              "--restart=Never")
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_settled(5)
    first1 = lab.pods_of("deployment1")[0]["metadata"]["name"]
    lab.k("label", "pod", first1, "deployment2-0", "svc2=yes")
    from tests.realcluster_tests.lab import service_manifest
    lab.apply(service_manifest("service2", {"svc2": "yes"}, headless=True))
    lab.step5()
    lab.wait_settled(6)

    def cleanup():
        lab.k("delete", "deployment", "deployment1", "--wait=false")
        lab.k("delete", "pod", "deployment2-0", "deployment2-1", "deployment2-2", "clientpod", "--wait=false")
        lab.k("delete", "service", "service1", "service2", "--wait=false")
        lab.wait_gone()

    results = grade_everything(lab, cleanup)
    # Live, the wget probe needs service2-endpoints (skipped here): it is skipped, not passed.
    want = expected_live("bare-pods", **{"clientpod-wget-service2": "skipped"})
    # deployments-deleted fails as in the example: deployment2 was never a Deployment to delete.
    assert_all(results, want)


def test_service2_without_selector_and_hand_written_endpoints(lab):
    lab.step1_2()
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_rollout("deployment2")
    lab.wait_settled(5)
    from tests.realcluster_tests.lab import service_manifest
    ips = [lab.pods_of("deployment1")[0]["status"]["podIP"], lab.pods_of("deployment2")[0]["status"]["podIP"]]
    lab.apply(service_manifest("service2", None, headless=True),
              {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "service2"},
               "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 80}]}]})
    lab.step5()
    lab.wait_settled(6)
    results = grade_everything(lab, cleanup_properly(lab))
    assert_all(results, expected_live("hand-written-endpoints", **{"clientpod-wget-service2": "skipped"}))


def test_service2_over_all_pods(lab):
    lab.step1_2()
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_rollout("deployment2")
    lab.wait_settled(5)
    from tests.realcluster_tests.lab import service_manifest
    lab.apply(service_manifest("service2", {"app": "httpd"}, headless=True))
    lab.step5()
    lab.wait_settled(6)
    results = grade_everything(lab, cleanup_properly(lab))
    assert_all(results, expected_live("service2-all-pods", **{"clientpod-wget-service2": "skipped"}))


def test_service2_by_relabelling_app_leaves_released_pods_running(lab):
    """``kubectl label pod <first pod> app=service2 --overwrite``: each ReplicaSet releases its
    relabelled pod (no ownerReferences, generateName and pod-template-hash kept) and starts a
    replacement. service2 then routes to no Deployment's pods, and after ``kubectl delete
    deployment`` the two released pods keep running: step 6 counted them as deleted."""
    lab.step1_2()
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_rollout("deployment2")
    lab.wait_settled(5)
    firsts = [lab.pods_of("deployment1")[0], lab.pods_of("deployment2")[0]]
    released = sorted(p["metadata"]["name"] for p in firsts)
    for name in released:
        lab.k("label", "pod", name, "app=service2", "--overwrite")
    lab.apply(service_manifest("service2", {"app": "service2"}, headless=True))
    lab.step5()
    lab.wait_settled(8)  # 5 deployment pods, the 2 released ones, clientpod
    for name in released:
        meta = lab.get("pod", name)["metadata"]
        assert not meta.get("ownerReferences") and meta["generateName"].endswith(f"-{meta['labels']['pod-template-hash']}-")

    def cleanup():
        lab.step6()
        lab.c.wait_for(lambda: sorted(p["metadata"]["name"] for p in lab.get("pods")["items"]) == released, 90,
                       "only the released pods to be left")

    results = grade_everything(lab, cleanup)
    assert_all(results, expected_live("correct", **{"service2-endpoints": "failed", "clientpod-wget-service2": "skipped",
                                                    "pods-deleted": "failed"}))
    checks = {c["id"]: c for s in results["report"]["steps"] for c in s["checks"]}
    assert all(n in checks["pods-deleted"]["message"]["en"] for n in released)
    built = json.loads((lab.dir / "live-built.json").read_text())
    s2 = next(c for s in built["steps"] for c in s["checks"] if c["id"] == "service2-endpoints")
    assert "released by deployment1" in s2["message"]["en"] and "bare pod" not in s2["message"]["en"]


def test_clientpod_forgotten_in_the_cleanup_grades_the_cleaned_phase(lab):
    """grade --state after building, then everything deleted but clientpod, then grade --state
    again (no --phase): the leftover made it regrade 'built' (steps 1-4 lost, step 6 not graded)."""
    lab.build_correct()
    assert lab.grade_live("first")["totals"]["earned"] == 85
    lab.k("delete", "deployment", "deployment1", "deployment2")
    lab.k("delete", "service", "service1", "service2")
    lab.c.wait_for(lambda: [p["metadata"]["name"] for p in lab.get("pods")["items"]] == ["clientpod"], 90,
                   "only clientpod to be left")
    report = lab.grade_live("second")
    assert report["notes"][0]["en"].startswith("grading phase 'cleaned' (after the cleanup): the cleanup has begun")
    want = expected_live("correct", **{"pods-deleted": "failed"})
    assert verdicts(report) == want
    assert 99 <= report["totals"]["earned"] < 100


def test_namespace_deleted_as_cleanup(lab):
    lab.build_correct()

    def cleanup():
        lab.c.kubectl("delete", "namespace", lab.ns, "--wait=false")
        lab.c.wait_for(lambda: lab.c.kubectl("get", "namespace", lab.ns, check=False).returncode != 0, 120,
                       f"namespace {lab.ns} to be deleted")

    results = grade_everything(lab, cleanup)
    assert_all(results, expected_live("correct"))


def test_collect_bundles_then_grade_offline(lab):
    from tests.realcluster_tests.lab import run_labgrade

    lab.build_correct()
    built = lab.dir / "built.bundle.json"
    r = run_labgrade("collect", "--rubric", "service-discovery", "-n", lab.ns, "--phase", "built",
                     "-o", str(built), "--kubeconfig", str(lab.kubeconfig))
    assert r.returncode == 0, r.stderr
    lab.step6()
    lab.wait_gone()
    cleaned = lab.dir / "cleaned.bundle.json"
    r = run_labgrade("collect", "--rubric", "service-discovery", "-n", lab.ns, "--phase", "cleaned",
                     "-o", str(cleaned), "--kubeconfig", str(lab.kubeconfig))
    assert r.returncode == 0, r.stderr
    report = lab.grade_dumps("bundles", f"built={built}", f"cleaned={cleaned}", baseline=lab.baseline_dump)
    # A bundle keeps the probes' results: the live-only checks are graded offline too.
    assert verdicts(report) == expected_live("correct")


def _ledger_steps(path) -> set[str]:
    import json

    try:
        return {json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()}
    except (OSError, ValueError, KeyError):
        return set()


def test_self_check_watch_and_ledger_across_a_real_cleanup(lab):
    """`labgrade check --watch` runs while the student works; its ledger then grades the whole lab."""
    import signal
    import subprocess

    from tests.realcluster_tests.lab import labgrade_argv, run_labgrade

    ledger = lab.dir / "ledger.jsonl"
    env = dict(__import__("os").environ, LABGRADE_KEY="realcluster-test-key", NO_COLOR="1", LANG="en_US.UTF-8")
    watch = subprocess.Popen(labgrade_argv("check", "--rubric", "service-discovery", "-n", lab.ns, "--ledger", str(ledger),
                                           "--kubeconfig", str(lab.kubeconfig), "--no-color", "--watch",
                                           "--interval", "1"),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        lab.build_correct()
        built_steps = {"step1", "step2", "step3", "step4", "step5"}
        lab.c.wait_for(lambda: built_steps <= _ledger_steps(ledger), 90, "the watch to record steps 1-5")
        assert "step6" not in _ledger_steps(ledger)
        lab.step6()
        lab.wait_gone()
        lab.c.wait_for(lambda: "step6" in _ledger_steps(ledger), 90, "the watch to record step 6")
    finally:
        watch.send_signal(signal.SIGINT)
        try:
            out, _ = watch.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            watch.kill()
            out, _ = watch.communicate()
    assert watch.returncode in (0, 130), out.decode(errors="replace")[-2000:]
    report = lab.dir / "ledger-report.json"
    r = run_labgrade("grade", "--rubric", "service-discovery", "-n", lab.ns, "--ledger", str(ledger),
                     "--json", str(report), "--no-color", env={"LABGRADE_KEY": "realcluster-test-key"})
    assert r.returncode == 0, r.stdout + r.stderr
    assert verdicts(report) == expected_live("correct")


def test_grader_inside_the_netns_asks_coredns_directly(lab):
    """`labgrade grade` run where the cluster's addresses are (the harness's run), --dns-server at kube-dns."""
    import json

    from tests.realcluster_tests.lab import labgrade_argv

    lab.build_correct()
    out = lab.dir / "netns.json"
    r = lab.c.netns_run(labgrade_argv("grade", "--rubric", "service-discovery", "-n", lab.ns, "--phase", "built",
                                      "--dns-server", "10.96.0.10", "--json", str(out), "--no-color", "-q"),
                        timeout=240, env={"NO_COLOR": "1"})
    assert r.returncode == 0, r.stdout + r.stderr
    got = verdicts(json.loads(out.read_text()))
    want = {k: v for k, v in expected_live("correct").items()
            if not k.endswith("-deleted") and k != "kubernetes-service-intact"}
    assert {k: v for k, v in got.items() if k in want} == want


@pytest.fixture
def default_lab(real_cluster, tmp_path):
    """A student working in `default`, where the `kubernetes` Service lives."""
    lab = Lab(real_cluster, "default", tmp_path)
    lab.baseline_dump = lab.dump("baseline")
    lab.state.write_text(lab.baseline().read_text())
    yield lab
    for kind in ("deployment", "service", "pod"):
        names = [o["metadata"]["name"] for o in lab.get(kind)["items"] if o["metadata"]["name"] != "kubernetes"]
        if names:
            lab.k("delete", kind, *names, "--wait=false", check=False)


def test_delete_svc_all_during_the_lab_recreates_kubernetes(default_lab, real_cluster):
    lab = default_lab
    before = lab.get("service", "kubernetes")["metadata"]
    lab.build_correct()
    lab.k("delete", "svc", "--all")  # the mistake: service1, service2 and kubernetes go
    after = real_cluster.wait_for(lambda: lab.k("get", "service", "kubernetes", "-o", "json", check=False).stdout,
                                  90, "the API server to re-create the kubernetes Service")
    after = __import__("json").loads(after)["metadata"]
    assert after["uid"] != before["uid"]  # re-created by the real API server, not restored
    assert after["creationTimestamp"] >= before["creationTimestamp"]
    from tests.realcluster_tests.lab import service_manifest
    lab.step3()
    lab.apply(service_manifest("service2", {"svc2": "yes"}, headless=True))
    lab.wait_settled(6)
    results = grade_everything(lab, cleanup_properly(lab))
    assert_all(results, expected_live("kubernetes-recreated"))
