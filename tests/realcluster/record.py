"""Record the Service-discovery example cases from real clusters.

    python -m tests.realcluster record-examples [--out DIR] [--write] [CASE ...]

Each case gets a fresh cluster (so its ``-A`` dumps hold one student's cluster, as the examples
do), is performed with kubectl, and is dumped by the real kubectl before the lab (baseline), after
steps 1-5 (built) and after step 6 (cleaned). The dumps are graded offline and the verdicts are
compared with the project's ``examples/service-discovery/<case>/expected.yaml``; every
difference is printed. By default the recording goes to ``--out`` (a temporary folder) and the
examples are left alone; ``--write`` replaces the case's dumps and expected.yaml in
``examples/service-discovery/`` (only do that when tests/make_examples.py is retired for these
cases, or its drift test will fail). Cases a real cluster cannot show on demand (a crash-looping
clientpod) are not recorded: they stay hand-built.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

from tests.realcluster.cluster import REPO, Cluster

EXAMPLES = REPO / "examples" / "service-discovery"


def _lab(cluster: Cluster, ns: str, out: Path):
    from tests.realcluster_tests.lab import Lab

    if ns != "default":
        cluster.new_namespace(ns)
    return Lab(cluster, ns, out)


def _std_cleanup(lab) -> None:
    lab.step6()
    lab.wait_gone()


def _settle_deployments(lab, pods: int) -> None:
    lab.wait_rollout("deployment1")
    lab.wait_rollout("deployment2")
    lab.wait_settled(pods)


def case_correct(lab) -> None:
    lab.build_correct()


def case_wrong_replicas(lab) -> None:
    lab.step1_2(d1=(3, "httpd"))
    lab.step3()
    _settle_deployments(lab, 6)
    lab.step4()
    lab.step5()
    lab.wait_settled(7)


def case_wrong_image(lab) -> None:
    lab.step1_2(d2=(3, "nginx"))
    lab.step3()
    _settle_deployments(lab, 5)
    lab.step4()
    lab.step5()
    lab.wait_settled(6)


def case_service2_all_pods(lab) -> None:
    from tests.realcluster_tests.lab import service_manifest

    lab.step1_2()
    lab.step3()
    _settle_deployments(lab, 5)
    lab.apply(service_manifest("service2", {"app": "httpd"}, headless=True))
    lab.step5()
    lab.wait_settled(6)


def case_selector_matches_nothing(lab) -> None:
    from tests.realcluster_tests.lab import service_manifest

    lab.step1_2()
    lab.apply(service_manifest("service1", {"app": "web"}))
    _settle_deployments(lab, 5)
    lab.step4()
    lab.step5()
    lab.wait_settled(6)


def case_hand_written_endpoints(lab) -> None:
    from tests.realcluster_tests.lab import service_manifest

    lab.step1_2()
    lab.step3()
    _settle_deployments(lab, 5)
    ips = [lab.pods_of("deployment1")[0]["status"]["podIP"], lab.pods_of("deployment2")[0]["status"]["podIP"]]
    lab.apply(service_manifest("service2", None, headless=True),
              {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "service2"},
               "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"port": 80}]}]})
    lab.step5()
    lab.wait_settled(6)


def case_hand_written_endpoints_with_targetref(lab) -> None:
    """Endpoints copied from `kubectl get endpoints -o yaml`: nodeName and targetRefs to the right pods."""
    from tests.realcluster_tests.lab import service_manifest

    lab.step1_2()
    lab.step3()
    _settle_deployments(lab, 5)
    pods = [lab.pods_of("deployment1")[0], lab.pods_of("deployment2")[0]]
    lab.apply(service_manifest("service2", None, headless=True),
              {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "service2"},
               "subsets": [{"addresses": [{"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"],
                                           "targetRef": {"kind": "Pod", "name": p["metadata"]["name"],
                                                         "namespace": lab.ns, "uid": p["metadata"]["uid"]}}
                                          for p in pods], "ports": [{"port": 80, "protocol": "TCP"}]}]})
    lab.step5()
    lab.wait_settled(6)


def case_bare_pods(lab) -> None:
    from tests.realcluster_tests.lab import deployment_manifest, service_manifest

    lab.apply(deployment_manifest("deployment1", 2, "httpd"))
    for i in (1, 2, 3):
        lab.k("run", f"deployment2-pod{i}", "--image=httpd", "--labels=app=httpd,deployment=deployment2",
              "--restart=Never")
    lab.step3()
    lab.wait_rollout("deployment1")
    lab.wait_settled(5)
    lab.k("label", "pod", lab.pods_of("deployment1")[0]["metadata"]["name"], "deployment2-pod1", "svc2=yes")
    lab.apply(service_manifest("service2", {"svc2": "yes"}, headless=True))
    lab.step5()
    lab.wait_settled(6)


def cleanup_bare_pods(lab) -> None:
    lab.k("delete", "deployment", "deployment1", "--wait=false")
    lab.k("delete", "pod", "deployment2-pod1", "deployment2-pod2", "deployment2-pod3", "clientpod", "--wait=false")
    lab.k("delete", "service", "service1", "service2", "--wait=false")
    lab.wait_gone()


def case_service2_bare_pod(lab) -> None:
    from tests.realcluster_tests.lab import service_manifest

    lab.step1_2()
    lab.step3()
    _settle_deployments(lab, 5)
    lab.k("run", "httpd-pod", "--image=httpd", "--labels=svc2=yes", "--restart=Never")
    lab.k("label", "pod", lab.pods_of("deployment1")[0]["metadata"]["name"], "svc2=yes")
    lab.apply(service_manifest("service2", {"svc2": "yes"}, headless=True))
    lab.step5()
    lab.wait_settled(7)


def cleanup_service2_bare_pod(lab) -> None:
    lab.step6()
    lab.k("delete", "pod", "httpd-pod", "--wait=false")
    lab.wait_gone()


def case_never_built(lab) -> None:
    pass


def case_kubernetes_recreated_before_built(lab) -> None:
    lab.step1_2()
    _settle_deployments(lab, 5)
    uid = lab.get("service", "kubernetes")["metadata"]["uid"]
    lab.k("delete", "svc", "--all")
    lab.c.wait_for(lambda: lab.k("get", "service", "kubernetes", "-o", "jsonpath={.metadata.uid}", check=False).stdout
                   not in ("", uid), 90, "the re-created kubernetes Service")
    lab.step3()
    firsts = lab.label_first_pods()
    del firsts
    from tests.realcluster_tests.lab import service_manifest
    lab.apply(service_manifest("service2", {"svc2": "yes"}, headless=True))
    lab.step5()
    lab.wait_settled(6)


def cleanup_delete_svc_all(lab) -> None:
    """Step 6 with `kubectl delete svc --all`: the API server re-creates `kubernetes` (and its
    Endpoints) on its next reconcile, up to ~10 s later; the dump waits for both."""
    uid = lab.get("service", "kubernetes")["metadata"]["uid"]
    lab.k("delete", "service", "--all", "--wait=false")
    lab.k("delete", "deployment", "--all", "--wait=false")
    lab.k("delete", "pod", "clientpod", "--wait=false")
    lab.wait_gone()
    lab.c.wait_for(lambda: lab.k("get", "service", "kubernetes", "-o", "jsonpath={.metadata.uid}", check=False).stdout
                   not in ("", uid), 90, "the re-created kubernetes Service")
    lab.c.wait_for(lambda: lab.k("get", "endpoints", "kubernetes", check=False).returncode == 0, 90,
                   "the re-created kubernetes Endpoints")


def case_leftovers(lab) -> None:
    lab.build_correct()


def cleanup_leftovers(lab) -> None:
    """Only part of step 6: deployment2 (with its ReplicaSet and pods) and service1 stay."""
    lab.k("delete", "deployment", "deployment1", "--wait=false")
    lab.k("delete", "service", "service2", "--wait=false")
    lab.k("delete", "pod", "clientpod", "--wait=false")
    lab.c.wait_for(lambda: len(lab.pods()) == 3, 90, "deployment1's pods and clientpod to be gone")
    lab.wait_endpoints()


def case_kubernetes_recreated(lab) -> None:
    lab.build_correct()


CASES = {
    # name: (namespace, perform, cleanup)
    "correct": ("default", case_correct, _std_cleanup),
    "correct-other-namespace": ("lab-42", case_correct, _std_cleanup),
    "wrong-replicas": ("default", case_wrong_replicas, _std_cleanup),
    "wrong-image": ("default", case_wrong_image, _std_cleanup),
    "service2-all-pods": ("default", case_service2_all_pods, _std_cleanup),
    "selector-matches-nothing": ("default", case_selector_matches_nothing, _std_cleanup),
    "hand-written-endpoints": ("default", case_hand_written_endpoints, _std_cleanup),
    "hand-written-endpoints-with-targetref": ("default", case_hand_written_endpoints_with_targetref, _std_cleanup),
    "bare-pods": ("default", case_bare_pods, cleanup_bare_pods),
    "service2-bare-pod": ("default", case_service2_bare_pod, cleanup_service2_bare_pod),
    "never-built": ("default", case_never_built, lambda lab: None),
    "kubernetes-recreated-before-built": ("default", case_kubernetes_recreated_before_built, _std_cleanup),
    "leftovers": ("default", case_leftovers, cleanup_leftovers),
    "kubernetes-recreated": ("default", case_kubernetes_recreated, cleanup_delete_svc_all),
}


def record_case(name: str, out: Path) -> dict:
    from tests.realcluster_tests.lab import verdicts

    ns, perform, cleanup = CASES[name]
    out.mkdir(parents=True, exist_ok=True)
    fmt = "json" if (EXAMPLES / name / "built.json").exists() else "yaml"
    with Cluster() as cluster:
        lab = _lab(cluster, ns, out)
        baseline = lab.dump("baseline", fmt)
        perform(lab)
        built = lab.dump("built", fmt)
        cleanup(lab)
        cleaned = lab.dump("cleaned", fmt)
    report = lab.grade_dumps("report", f"built={built}", f"cleaned={cleaned}", baseline=baseline)
    got = verdicts(report)
    (out / "expected.yaml").write_text(
        f"# What the grader must say about {name}; recorded from a real cluster by tests/realcluster/record.py.\n"
        + yaml.safe_dump({"namespace": ns, "verdicts": got}, sort_keys=False, allow_unicode=True))
    return got


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.realcluster record-examples", description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="*", default=list(CASES))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--write", action="store_true", help="replace the dumps and expected.yaml in examples/")
    args = ap.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="real-examples-"))
    differs = 0
    for name in args.cases:
        if name not in CASES:
            print(f"record-examples: unknown case {name}; known: {', '.join(CASES)}", file=sys.stderr)
            return 2
        got = record_case(name, out / name)
        try:
            want = yaml.safe_load((EXAMPLES / name / "expected.yaml").read_text())["verdicts"]
        except OSError:
            want = {}
        diff = {k: (want.get(k), got.get(k)) for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)}
        differs += bool(diff)
        print(f"{name}: {'same verdicts as the hand-built example' if not diff else 'DIFFERS'}")
        for k, (w, g) in diff.items():
            print(f"    {k}: example says {w}, real cluster {g}")
        if args.write and not diff:
            for f in (out / name).iterdir():
                if f.stem in ("baseline", "built", "cleaned") and f.suffix in (".yaml", ".json"):
                    shutil.copy2(f, EXAMPLES / name / f.name)
        elif args.write:
            print(f"    {name}: not written (verdicts differ; decide with the lead)")
    print(f"recorded in {out}")
    return 1 if differs else 0
