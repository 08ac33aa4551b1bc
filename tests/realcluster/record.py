"""Record the Service-discovery example cases from real clusters.

    python -m tests.realcluster record-examples [--out DIR] [--write] [CASE ...]

Each case gets a fresh cluster (so its ``-A`` dumps hold one student's cluster, as the examples
do), is performed with kubectl, and is dumped by the real kubectl before the lab (baseline), after
steps 1-5 (built) and after step 6 (cleaned). The dumps are graded offline and the verdicts are
compared with the project's ``examples/service-discovery/<case>/expected.yaml``; every
difference is printed. By default the recording goes to ``--out`` (a temporary folder) and the
examples are left alone; ``--write`` replaces the case's dumps, expected.yaml (marked ``source:
recorded`` with the cluster's Kubernetes version) and README.md in ``examples/service-discovery/``,
and regenerates the folder's index README. A case whose verdicts differ from its expected.yaml is
not written. These cases are the bundled examples; ``tests/make_examples.py`` only generates the
cases a real cluster cannot show on demand (a crash-looping clientpod, a dual-stack cluster),
marked ``source: hand-built``.
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


def case_correct_other_namespace(lab) -> None:
    """Correct in lab-42, service2 a plain ClusterIP Service, deployment1 from a registry mirror and
    deployment2 pinned by digest (as a class behind a firewall does)."""
    from tests.make_examples import MIRROR_HTTPD, PINNED_HTTPD

    lab.step1_2(d1=(2, MIRROR_HTTPD), d2=(3, PINNED_HTTPD))
    lab.step3()
    _settle_deployments(lab, 5)
    lab.step4(headless=False)
    lab.step5()
    lab.wait_settled(6)


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


def case_rollout_in_progress(lab) -> None:
    """deployment1 frozen mid-rollout, on demand: with minReadySeconds 300 the new ReplicaSet's pod
    is ready (kwok) but not available for five minutes, so with maxSurge 1 / maxUnavailable 0 (25% of
    2 replicas) the controller cannot scale the old ReplicaSet down: 2 old + 1 new pods, all ready."""
    lab.build_correct()
    lab.k("patch", "deployment", "deployment1", "-p", '{"spec":{"minReadySeconds":300}}')
    lab.k("rollout", "restart", "deployment/deployment1")
    lab.c.wait_for(lambda: len([r for r in lab.get("replicasets")["items"]
                                if r["metadata"]["name"].startswith("deployment1-")
                                and r.get("status", {}).get("readyReplicas")]) == 2, 90,
                   "deployment1's second ReplicaSet to have a ready pod")
    lab.wait_settled(7)


CASES = {
    # name: (namespace, perform, cleanup)
    "correct": ("default", case_correct, _std_cleanup),
    "correct-other-namespace": ("lab-42", case_correct_other_namespace, _std_cleanup),
    "wrong-replicas": ("default", case_wrong_replicas, _std_cleanup),
    "wrong-image": ("default", case_wrong_image, _std_cleanup),
    "service2-all-pods": ("default", case_service2_all_pods, _std_cleanup),
    "selector-matches-nothing": ("default", case_selector_matches_nothing, _std_cleanup),
    "hand-written-endpoints": ("default", case_hand_written_endpoints, _std_cleanup),
    "hand-written-endpoints-with-targetref": ("default", case_hand_written_endpoints_with_targetref, _std_cleanup),
    "bare-pods": ("default", case_bare_pods, cleanup_bare_pods),
    "service2-bare-pod": ("default", case_service2_bare_pod, cleanup_service2_bare_pod),
    "never-built": ("default", case_never_built, lambda lab: None),
    # kubernetes-recreated-before-built stays hand-built: its point is grading without a baseline, by the
    # kubernetes Service's age against the default namespace's (more than 300 s), and a cluster started for
    # the recording is seconds old. case_kubernetes_recreated_before_built records it (without that point).
    "leftovers": ("default", case_leftovers, cleanup_leftovers),
    "kubernetes-recreated": ("default", case_kubernetes_recreated, cleanup_delete_svc_all),
    "rollout-in-progress": ("default", case_rollout_in_progress, _std_cleanup),
}


#: What each recorded case is, for its README (English, Chinese).
DESCRIPTIONS = {
    "correct": ("The model answer: deployment1 (2 replicas, httpd) and deployment2 (3 replicas, httpd) whose pods "
                "share app=httpd; service1 selects app=httpd (5 endpoints); the first pod of each deployment is "
                "labelled svc2=yes and the headless service2 selects them; clientpod runs busybox `sleep 3600`; step 6 "
                "deletes all of it.",
                "标准答案：deployment1（2 副本，httpd）和 deployment2（3 副本，httpd），Pod 都带 app=httpd；service1 选择 "
                "app=httpd（5 个端点）；两个 Deployment 各自的第一个 Pod 打上 svc2=yes，headless 服务 service2 选择它们；"
                "clientpod 运行 busybox；第 6 步全部删除。"),
    "correct-other-namespace": ("Also correct, done in namespace lab-42 and dumped as JSON (kubectl get -o json). "
                                "deployment1 pulls httpd:2.4 from the swr.cn-north-4.myhuaweicloud.com mirror, "
                                "deployment2 a digest-pinned docker.io/library/httpd@sha256:…; service2 is a plain "
                                "ClusterIP service.",
                                "同样正确，但在 lab-42 命名空间中完成，导出为 JSON。deployment1 使用镜像仓库 "
                                "swr.cn-north-4.myhuaweicloud.com 的 httpd:2.4，deployment2 用 digest 固定的 "
                                "docker.io/library/httpd@sha256:…；service2 是普通 ClusterIP 服务。"),
    "wrong-replicas": ("deployment1 runs 3 replicas instead of 2; everything else is right.",
                       "deployment1 有 3 个副本而不是 2 个，其余都正确。"),
    "wrong-image": ("deployment2 runs nginx instead of httpd; everything else is right.",
                    "deployment2 的镜像是 nginx 而不是 httpd，其余都正确。"),
    "service2-all-pods": ("service2 selects app=httpd, so all 5 pods back it instead of one pod of each deployment.",
                          "service2 选择 app=httpd，后端是全部 5 个 Pod，而不是每个 Deployment 各一个。"),
    "selector-matches-nothing": ("service1's selector is app=web and matches no pod.",
                                 "service1 的 selector 是 app=web，没有匹配任何 Pod。"),
    "hand-written-endpoints": ("service2 has no selector; the student wrote an Endpoints object listing the two right "
                               "pods' IPs (no targetRef), which the mirroring controller turned into an EndpointSlice.",
                               "service2 没有 selector，学生手写了 Endpoints，列出两个正确 Pod 的 IP（没有 targetRef）。"),
    "hand-written-endpoints-with-targetref": ("As hand-written-endpoints, but the Endpoints carry nodeName and a "
                                              "targetRef (with uid) to the right pods, as copied from kubectl get "
                                              "endpoints -o yaml.",
                                              "同上，但手写的 Endpoints 带有 nodeName 和指向正确 Pod 的 targetRef。"),
    "bare-pods": ("No deployment2: three bare pods (kubectl run deployment2-pod1..3) with its labels stand in for it; "
                  "service2 selects deployment1's first pod and deployment2-pod1.",
                  "没有创建 deployment2，而是用 kubectl run 创建了 3 个带相同标签的裸 Pod。"),
    "service2-bare-pod": ("service2's second backend is a bare pod httpd-pod labelled svc2=yes, not a pod of "
                          "deployment2.",
                          "service2 的第二个后端是手工创建并打上 svc2=yes 标签的裸 Pod httpd-pod。"),
    "never-built": ("The student never did steps 1-5: all three dumps show the cluster as it was.",
                    "学生没有做第 1-5 步：所有导出都是实验前的集群。"),
    "leftovers": ("Step 6 only half done: deployment2 (with its ReplicaSet and 3 pods) and service1 stay.",
                  "第 6 步只做了一半：deployment2（及其 ReplicaSet 和 3 个 Pod）和 service1 还在。"),
    "rollout-in-progress": ("The built dump was taken mid-rollout of deployment1 (kubectl rollout restart with "
                            "minReadySeconds 300, so the rollout waits): one pod of the new ReplicaSet is ready beside "
                            "the old two. service1 routes to 6 pods, all ready pods of both deployments; deployment1 "
                            "has 3 ready pods, more than its spec.replicas of 2.",
                            "导出 built 时 deployment1 正在滚动更新（kubectl rollout restart，minReadySeconds 为 300，"
                            "滚动更新停在中途）：新 ReplicaSet 的一个 Pod 已就绪，旧的两个还在运行；deployment1 有 3 个就绪 Pod。"),
    "kubernetes-recreated": ("Step 6 used kubectl delete svc --all, deleting the kubernetes Service too; the API "
                             "server re-created it with a new uid (the cleaned dump waits for it and its Endpoints).",
                             "第 6 步用了 kubectl delete svc --all，连 kubernetes 服务也删了；API server 以新的 uid 重建了它。"),
}


def kubernetes_version(cluster: Cluster) -> str:
    import json

    status, body = cluster.api_get("/version")
    return json.loads(body)["gitVersion"] if status == 200 else "unknown"


def case_readme(name: str, version: str) -> str:
    en, zh = DESCRIPTIONS[name]
    return (f"# {name}\n\nsource: recorded (Kubernetes {version}, kwok fake nodes; "
            f"`python -m tests.realcluster record-examples --write {name}`)\n\n{zh}\n\n{en}\n")


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
        version = kubernetes_version(cluster)
    report = lab.grade_dumps("report", f"built={built}", f"cleaned={cleaned}", baseline=baseline)
    got = verdicts(report)
    (out / "expected.yaml").write_text(
        f"# What the grader must say about {name}; recorded from a real cluster by "
        f"python -m tests.realcluster record-examples.\n"
        + yaml.safe_dump({"source": "recorded", "kubernetes": version, "namespace": ns, "verdicts": got},
                         sort_keys=False, allow_unicode=True))
    (out / "README.md").write_text(case_readme(name, version), encoding="utf-8")
    return got


def write_case(name: str, recorded: Path) -> None:
    """Make ``recorded`` the bundled example ``name``: its dumps, expected.yaml and README.md."""
    target = EXAMPLES / name
    target.mkdir(parents=True, exist_ok=True)
    for f in target.iterdir():
        if f.stem in ("baseline", "built", "cleaned") and f.suffix in (".yaml", ".json"):
            f.unlink()
    for f in recorded.iterdir():
        if (f.stem in ("baseline", "built", "cleaned") and f.suffix in (".yaml", ".json")) or f.name in (
                "expected.yaml", "README.md"):
            shutil.copy2(f, target / f.name)


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
            write_case(name, out / name)
        elif args.write:
            print(f"    {name}: not written (verdicts differ; decide with the lead)")
    if args.write:
        from tests import make_examples

        (EXAMPLES / "README.md").write_text(make_examples.index_readme(), encoding="utf-8", newline="\n")
    print(f"recorded in {out}")
    return 1 if differs else 0
