"""Write the hand-built example dumps under ``examples/service-discovery/``.

Most bundled examples are recorded from a real cluster (``python -m
tests.realcluster record-examples --write``, the cases of
``tests/realcluster/record.py``); this file generates only the cases a real
(kwok-noded) cluster cannot show on demand (:data:`HAND_BUILT`), marked
``source: hand-built``, and the folder's index README.

Run ``python -m tests.make_examples`` from the repository root after changing
the builders or a case; ``--check`` only reports drift (the test suite does
the same, so committed hand-built examples never disagree with this file).

Every case is the model answer (:data:`CORRECT`) with one thing changed, so a
case fails exactly the checks its mistake breaks, and ``expected.yaml`` lists
the verdict the grader owes each check of the rubric.  A case folder holds:

* ``built.yaml`` — ``kubectl get namespaces,deployments,replicasets,pods,
  services,endpoints,endpointslices -A -o yaml`` after steps 1-5;
* ``cleaned.yaml`` — the same after step 6;
* ``baseline.yaml`` (some cases) — the same before the lab;
* ``expected.yaml`` — ``namespace:`` and ``verdicts:`` (check id -> verdict);
* ``README.md`` — what the student did, in Chinese and English.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from tests.builders import (
    LAB_START, Cluster, Obj, base_cluster, dump_json, dump_yaml, hex64, pod_ref, safe_suffix, service_port, stable_uid,
    to_list,
)

ROOT = Path(__file__).resolve().parents[1] / "examples" / "service-discovery"

MIRROR_HTTPD = "swr.cn-north-4.myhuaweicloud.com/library/httpd:2.4"
#: httpd:2.4 pinned by digest: the digest httpd:2.4 has in these dumps (made up, not Docker Hub's).
PINNED_HTTPD = "docker.io/library/httpd@sha256:" + hex64("image", "docker.io/library/httpd:2.4")

Verdict = Literal["passed", "failed", "skipped"]
PASSED: Verdict = "passed"
FAILED: Verdict = "failed"
SKIPPED: Verdict = "skipped"

#: The model answer's verdicts, in rubric order. Step 5's exec and DNS
#: checks need a live cluster, so grading a dump skips them.
CORRECT_VERDICTS: dict[str, Verdict] = {
    "deployment1-exists": PASSED, "deployment1-replicas": PASSED, "deployment1-image": PASSED, "deployment1-pods": PASSED,
    "deployment2-exists": PASSED, "deployment2-replicas": PASSED, "deployment2-image": PASSED, "deployment2-pods": PASSED,
    "service1-exists": PASSED, "service1-endpoints": PASSED, "service1-port": PASSED,
    "service2-exists": PASSED, "service2-endpoints": PASSED, "service2-port": PASSED,
    "clientpod-running": PASSED, "clientpod-wget-service2": SKIPPED, "service1-dns": SKIPPED, "service2-dns": SKIPPED,
    "deployments-deleted": PASSED, "pods-deleted": PASSED, "services-deleted": PASSED,
    "kubernetes-service-intact": PASSED,
}

Service2Backends = Literal["labelled", "all", "hand-written", "hand-written-with-targetref", "bare-pod"]


@dataclass(frozen=True)
class Lab:
    """What one student did, as the knobs a mistake turns. The defaults are
    the model answer."""

    namespace: str = "default"
    images: tuple[str, str] = ("httpd", "httpd:2.4")
    replicas: tuple[int, int] = (2, 3)
    #: Step 2 done with three Pod manifests carrying deployment2's labels.
    deployment2_as_bare_pods: bool = False
    service1_selector: dict[str, str] = field(default_factory=lambda: {"app": "httpd"})
    service2_headless: bool = True
    #: ``labelled``: one pod of each deployment labelled ``svc2=yes`` and
    #: selected. ``all``: service2 selects the app label (5 pods).
    #: ``hand-written*``: no selector, Endpoints written by hand (copied
    #: from ``kubectl get endpoints -o yaml`` for ``-with-targetref``).
    #: ``bare-pod``: deployment2's pod replaced by a hand-made labelled pod.
    service2_backends: Service2Backends = "labelled"
    clientpod_state: Literal["Ready", "CrashLoopBackOff"] = "Ready"
    #: kube-controller-manager's --max-endpoints-per-slice.
    max_endpoints_per_slice: int = 100
    #: Lab objects step 6 forgot: "deployment1", "deployment2", "service1", "service2".
    keep: tuple[str, ...] = ()
    #: The cleaned dump was taken while the clientpod was still terminating
    #: (``kubectl delete pod`` without waiting: busybox ``sleep`` ignores SIGTERM).
    clientpod_lingers: bool = True
    #: The cleaned dump was taken while the deployments' pods were terminating.
    deployment_pods_linger: bool = False
    #: Step 6 done with ``kubectl delete svc --all``.
    deletes_kubernetes_service: bool = False
    with_baseline: bool = False
    #: The student never did steps 1-5: both dumps show the cluster as it was.
    never_built: bool = False
    #: The built dump was taken mid-rollout of deployment1: one pod of a new
    #: ReplicaSet is ready beside the old two (maxSurge 25%).
    rollout_in_progress: bool = False
    #: A dual-stack cluster: every pod has an IPv4 and an IPv6 address and
    #: each Service has an EndpointSlice per family; the value is the
    #: Services' primary family (spec.ipFamilies[0]).
    dual_stack: Literal["", "IPv4", "IPv6"] = ""
    #: ``kubectl delete svc --all`` during step 3 (before the built dump):
    #: built and cleaned show the same, new, kubernetes Service.
    deletes_kubernetes_service_early: bool = False
    fmt: Literal["yaml", "json"] = "yaml"


@dataclass(frozen=True)
class Case:
    name: str
    lab: Lab
    #: Checks whose verdict differs from the model answer's.
    verdicts: dict[str, Verdict]
    zh: str
    en: str

    def expected(self) -> dict[str, Verdict]:
        unknown = set(self.verdicts) - set(CORRECT_VERDICTS)
        if unknown:
            raise ValueError(f"{self.name}: unknown check ids {sorted(unknown)}")
        return {check: self.verdicts.get(check, verdict) for check, verdict in CORRECT_VERDICTS.items()}


@dataclass
class Dumps:
    baseline: list[Obj]
    built: list[Obj]
    cleaned: list[Obj]


APP = {"app": "httpd"}
SVC2 = {"svc2": "yes"}
HTTP = [service_port(80, 80)]


def run_lab(lab: Lab) -> Dumps:
    """Steps 1-6 of the lab on a fresh cluster, as ``lab`` says the student did them."""
    c = base_cluster(max_endpoints_per_slice=lab.max_endpoints_per_slice)
    ns = lab.namespace
    c.clock.set("2026-11-20T08:13:40Z")
    if ns != "default":
        c.namespace(ns)  # the instructor hands out a namespace before the lab
    c.clock.set("2026-11-20T08:14:30Z")
    baseline = c.objects()
    c.clock.set(LAB_START)
    if lab.never_built:
        c.clock.advance(900)
        built = c.objects()
        c.clock.advance(303)
        return Dumps(baseline, built, c.objects())

    # Steps 1 and 2: two httpd deployments that share app=httpd.
    d1 = c.deployment("deployment1", namespace=ns, replicas=lab.replicas[0], image=lab.images[0],
                      labels={**APP, "deploy": "deployment1"})
    c.clock.advance(55)
    if lab.deployment2_as_bare_pods:
        pods2 = [c.bare_pod(f"deployment2-pod{i}", namespace=ns, image=lab.images[1], port=80, applied=True,
                            labels={**APP, "deploy": "deployment2"}) for i in range(1, lab.replicas[1] + 1)]
    else:
        pods2 = c.pods_of(c.deployment("deployment2", namespace=ns, replicas=lab.replicas[1], image=lab.images[1],
                                       labels={**APP, "deploy": "deployment2"}))
    c.clock.advance(70)

    # Step 3: service1 over every pod.
    c.service("service1", namespace=ns, selector=lab.service1_selector, ports=HTTP)
    c.clock.advance(95)
    if lab.deletes_kubernetes_service_early:
        c.recreate_kubernetes_service()

    # Step 4: service2 over the first pod of each.
    first1, first2 = c.pods_of(d1)[0], pods2[0]
    _service2(c, lab, first1, first2)
    c.clock.advance(120)

    # Step 5: a client pod to wget from.
    c.bare_pod("clientpod", namespace=ns, image="busybox", args=["sleep", "3600"], state=lab.clientpod_state)
    c.clock.advance(240)
    built = c.objects()

    # Step 6: clean up.
    c.clock.advance(300)
    if c.get("Pod", "clientpod", ns) is not None:
        c.delete_pod("clientpod", ns, linger=lab.clientpod_lingers)
    for name in ("deployment1", "deployment2"):
        if name not in lab.keep and c.get("Deployment", name, ns) is not None:
            c.delete_deployment(name, ns, pods_linger=lab.deployment_pods_linger)
    for pod in c.list("Pod", ns):
        if not pod["metadata"].get("ownerReferences") and pod["metadata"]["name"] != "clientpod":
            c.delete_pod(pod, ns, linger=False)  # the hand-made httpd pods stop at once
    if lab.deletes_kubernetes_service:
        for name in ("service1", "service2"):
            c.delete_service(name, ns)
        c.recreate_kubernetes_service()
    else:
        for name in ("service1", "service2"):
            if name not in lab.keep:
                c.delete_service(name, ns)
    c.clock.advance(3)
    cleaned = c.objects()
    if lab.rollout_in_progress:
        built = _mid_rollout(built, "deployment1")
    if lab.dual_stack:
        built, cleaned = _dual_stack(built, lab.dual_stack), _dual_stack(cleaned, lab.dual_stack)
    return Dumps(baseline, built, cleaned)


def _mid_rollout(objects: list[Obj], deployment: str) -> list[Obj]:
    """``objects`` with ``deployment`` mid-rollout: a second ReplicaSet (the
    new template) whose one pod is ready beside the old ones, and that pod
    among the endpoints of every Service selecting it."""
    import copy

    out = copy.deepcopy(objects)
    old_rs = next(o for o in out if o["kind"] == "ReplicaSet" and o["metadata"]["name"].startswith(deployment + "-"))
    old_pod = next(o for o in out if o["kind"] == "Pod" and o["metadata"]["name"].startswith(old_rs["metadata"]["name"]))
    new_hash = "7d9f8c6b5x"
    rs = copy.deepcopy(old_rs)
    rs["metadata"].update(name=f"{deployment}-{new_hash}", uid=stable_uid("rollout", "rs", deployment))
    rs["metadata"]["labels"]["pod-template-hash"] = new_hash
    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "2"
    rs["spec"]["replicas"] = 1
    rs["status"] = {**rs["status"], "replicas": 1, "readyReplicas": 1, "availableReplicas": 1, "fullyLabeledReplicas": 1}
    pod = copy.deepcopy(old_pod)
    ip = old_pod["status"]["podIP"].rsplit(".", 1)[0] + ".250"
    pod["metadata"].update(name=f"{rs['metadata']['name']}-q2x7z", uid=stable_uid("rollout", "pod", deployment),
                           generateName=f"{rs['metadata']['name']}-")
    pod["metadata"]["labels"] = {k: v for k, v in pod["metadata"]["labels"].items() if k != "svc2"}
    pod["metadata"]["labels"]["pod-template-hash"] = new_hash
    pod["metadata"]["ownerReferences"][0].update(name=rs["metadata"]["name"], uid=rs["metadata"]["uid"])
    pod["status"]["podIP"] = ip
    pod["status"]["podIPs"] = [{"ip": ip}]
    labels = pod["metadata"]["labels"]
    for o in out:
        if o["kind"] == "Service" and o["spec"].get("selector") and all(labels.get(k) == v for k, v in o["spec"]["selector"].items()):
            name = o["metadata"]["name"]
            for s in out:
                if s["kind"] == "EndpointSlice" and s["metadata"].get("labels", {}).get("kubernetes.io/service-name") == name:
                    s["endpoints"] = (s.get("endpoints") or []) + [{
                        "addresses": [ip], "conditions": {"ready": True, "serving": True, "terminating": False},
                        "nodeName": pod["spec"]["nodeName"], "targetRef": pod_ref(pod)}]
                    break
    return out + [rs, pod]


def _dual_stack(objects: list[Obj], primary: str) -> list[Obj]:
    """``objects`` on a dual-stack cluster: pods get an IPv6 address (listed
    first when IPv6 is primary), Services list both families with
    ``primary`` first, and each IPv4 EndpointSlice of a lab Service gets an
    IPv6 twin listing the same pods."""
    import copy

    out = copy.deepcopy(objects)
    v6: dict[str, str] = {}
    for o in out:
        ip4 = o.get("status", {}).get("podIP") if o["kind"] == "Pod" else None
        if ip4 and not o["spec"].get("hostNetwork"):
            a, b, c, d = ip4.split(".")
            ip6 = f"fd00:10:{int(b):x}:{int(c):x}::{int(d):x}"
            v6[ip4] = ip6
            both = [{"ip": ip4}, {"ip": ip6}]
            o["status"]["podIPs"] = both if primary == "IPv4" else both[::-1]
            o["status"]["podIP"] = o["status"]["podIPs"][0]["ip"]
    lab = ("service1", "service2")
    for o in list(out):
        if o["kind"] == "Service" and o["metadata"]["name"] in lab:
            other = "IPv6" if primary == "IPv4" else "IPv4"
            o["spec"]["ipFamilies"] = [primary, other]
            o["spec"]["ipFamilyPolicy"] = "PreferDualStack"
            ip4 = o["spec"].get("clusterIP")
            if ip4 and ip4 != "None":  # the apiserver allocates one ClusterIP per family, primary first
                a, b, c, d = ip4.split(".")
                ips = [ip4, f"fd00:10:96::{int(c):x}:{int(d):x}"]
                o["spec"]["clusterIPs"] = ips if primary == "IPv4" else ips[::-1]
                o["spec"]["clusterIP"] = o["spec"]["clusterIPs"][0]
        if (o["kind"] == "Endpoints" and primary == "IPv6" and o["metadata"]["name"] in lab):
            # The Endpoints controller lists each pod by the Service's primary family.
            for subset in o.get("subsets") or []:
                for key in ("addresses", "notReadyAddresses"):
                    for a in subset.get(key) or []:
                        a["ip"] = v6.get(a["ip"], a["ip"])
        if (o["kind"] == "EndpointSlice" and o.get("addressType") == "IPv4"
                and o["metadata"].get("labels", {}).get("kubernetes.io/service-name") in lab):
            twin = copy.deepcopy(o)
            twin["metadata"]["name"] = o["metadata"]["name"][:-5] + safe_suffix(5, "v6", o["metadata"]["name"])
            twin["metadata"]["uid"] = stable_uid("v6", o["metadata"]["uid"])
            twin["addressType"] = "IPv6"
            for ep in twin.get("endpoints") or []:
                ep["addresses"] = [v6.get(a, a) for a in ep["addresses"]]
            out.append(twin)
    return out


def _service2(c: Cluster, lab: Lab, first1: Obj, first2: Obj) -> None:
    ns = lab.namespace
    kind = lab.service2_backends
    if kind == "labelled":
        c.label_pod(first1, SVC2, ns)
        c.label_pod(first2, SVC2, ns)
        c.service("service2", namespace=ns, selector=SVC2, headless=lab.service2_headless, ports=HTTP)
    elif kind == "all":
        c.service("service2", namespace=ns, selector=APP, headless=lab.service2_headless, ports=HTTP)
    elif kind == "bare-pod":
        c.label_pod(first1, SVC2, ns)
        c.bare_pod("httpd-pod", namespace=ns, image="httpd", port=80, labels=SVC2, applied=True)
        c.service("service2", namespace=ns, selector=SVC2, headless=lab.service2_headless, ports=HTTP)
    else:
        c.service("service2", namespace=ns, selector=None, headless=lab.service2_headless, ports=HTTP)
        addresses = []
        for pod in (first1, first2):
            address: Obj = {"ip": pod["status"]["podIP"]}
            if kind == "hand-written-with-targetref":
                address.update(nodeName=pod["spec"]["nodeName"], targetRef=pod_ref(pod))
            addresses.append(address)
        c.endpoints("service2", namespace=ns, addresses=addresses, ports=[{"port": 80, "protocol": "TCP"}])


def _failed(*checks: str, skipped: tuple[str, ...] = ()) -> dict[str, Verdict]:
    return {**{c: FAILED for c in checks}, **{c: SKIPPED for c in skipped}}


#: The model answer.
CORRECT = Lab()


def variant(**changes: object) -> Lab:
    """The model answer with ``changes``: one mistake (or one harmless difference)."""
    return dataclasses.replace(CORRECT, **changes)  # type: ignore[arg-type]


CASES: tuple[Case, ...] = (
    Case(
        "correct", variant(with_baseline=True), {},
        "标准答案：在 default 命名空间创建 deployment1（2 副本，httpd）和 deployment2（3 副本，httpd:2.4），"
        "两者的 Pod 都带 app=httpd 标签；service1 选择 app=httpd（5 个端点）；"
        "给两个 Deployment 各自的第一个 Pod 打上 svc2=yes 标签，并创建选择它的 headless 服务 service2；"
        "clientpod 运行 busybox。清理后 clientpod 仍在终止中（带 deletionTimestamp），kubernetes 服务保持不变。"
        "附带实验前的 baseline.yaml。",
        "The model answer: in namespace default, deployment1 (2 replicas, httpd) and deployment2 (3 replicas, "
        "httpd:2.4) whose pods share app=httpd; service1 selects app=httpd (5 endpoints); the first pod of each "
        "deployment is labelled svc2=yes and the headless service2 selects it; clientpod runs busybox. After cleanup "
        "clientpod is still terminating (it has a deletionTimestamp) and the kubernetes service is untouched. "
        "Includes baseline.yaml from before the lab."),
    Case(
        "correct-other-namespace",
        variant(namespace="lab-42", images=(MIRROR_HTTPD, PINNED_HTTPD), service2_headless=False,
                max_endpoints_per_slice=3, clientpod_lingers=False, deployment_pods_linger=True, fmt="json"),
        {},
        "同样正确，但在 lab-42 命名空间中完成，导出为 JSON（kubectl get -o json）。"
        "deployment1 使用镜像仓库 swr.cn-north-4.myhuaweicloud.com 的 httpd:2.4，"
        "deployment2 用 digest 固定的 docker.io/library/httpd@sha256:…；service2 是普通 ClusterIP 服务；"
        "集群的 --max-endpoints-per-slice=3，所以 service1 的 5 个端点分在两个 EndpointSlice 中。"
        "清理后两个 Deployment 的 Pod 仍在终止中，它们的 ReplicaSet 已被删除。",
        "Also correct, done in namespace lab-42 and dumped as JSON (kubectl get -o json). deployment1 pulls "
        "httpd:2.4 from the swr.cn-north-4.myhuaweicloud.com mirror, deployment2 a digest-pinned "
        "docker.io/library/httpd@sha256:…; service2 is a plain ClusterIP service; the cluster runs "
        "--max-endpoints-per-slice=3, so service1's 5 endpoints span two EndpointSlices. In the cleaned dump the "
        "deployments' pods are still terminating, their ReplicaSets already gone."),
    Case(
        "wrong-replicas", variant(replicas=(3, 3)),
        _failed("deployment1-replicas"),
        "deployment1 有 3 个副本而不是 2 个，其余都正确（service1 有 6 个端点，正是两个 Deployment 的全部 Pod）。",
        "deployment1 runs 3 replicas instead of 2; everything else is right (service1 has 6 endpoints, exactly all "
        "pods of both deployments)."),
    Case(
        "wrong-image", variant(images=("httpd", "nginx:httpd")),
        _failed("deployment2-image"),
        "deployment2 的镜像是 nginx:httpd：那是 nginx 镜像的一个名为 httpd 的标签，不是 httpd 镜像。其余都正确。",
        "deployment2 runs nginx:httpd: the nginx image under a tag named httpd, not the httpd image. Everything else "
        "is right."),
    Case(
        "service2-all-pods", variant(service2_backends="all"),
        _failed("service2-endpoints"),
        "service2 选择的是 app=httpd 标签，所以后端是全部 5 个 Pod，而不是每个 Deployment 的一个 Pod。",
        "service2 selects the app=httpd label, so all 5 pods back it instead of one pod of each deployment."),
    Case(
        "selector-matches-nothing", variant(service1_selector={"app": "httdp"}),
        _failed("service1-endpoints"),
        "service1 的 selector 拼错了（app: httdp），没有匹配任何 Pod："
        "它的 EndpointSlice 是 endpoints 为 null 的占位对象，Endpoints 没有 subsets。",
        "service1's selector has a typo (app: httdp) and matches no pod: its EndpointSlice is a placeholder with "
        "null endpoints and its Endpoints has no subsets."),
    Case(
        "bare-pods", variant(deployment2_as_bare_pods=True),
        _failed("deployment2-exists", "deployments-deleted", skipped=("deployment2-replicas", "deployment2-image", "deployment2-pods",
                                                "service1-endpoints", "service2-endpoints")),
        "没有创建 deployment2，而是手工创建了 3 个带相同标签的裸 Pod（deployment2-pod1..3）。"
        "service1 因此有 5 个端点，其中 3 个是裸 Pod；service2 选中了 deployment1 的第一个 Pod 和 deployment2-pod1。"
        "依赖 deployment2 的检查因前置检查未通过而不得分；第 6 步删除 deployment2 不计分（它从未被创建）。",
        "No deployment2: three bare pods with its labels (deployment2-pod1..3) stand in for it. service1 thus has 5 "
        "endpoints, 3 of them bare pods; service2 selects deployment1's first pod and deployment2-pod1. The checks "
        "that need deployment2 are blocked by it (points lost); deleting deployment2 in step 6 earns nothing, as it "
        "never existed."),
    Case(
        "hand-written-endpoints", variant(service2_backends="hand-written", service2_headless=False),
        _failed("service2-endpoints"),
        "service2 没有 selector，学生手写了一个 Endpoints，列出两个正确 Pod 的 IP（没有 targetRef）；"
        "EndpointSlice 镜像控制器据此生成了镜像的 EndpointSlice。",
        "service2 has no selector; the student wrote an Endpoints object by hand listing the two right pods' IPs "
        "(no targetRef), and the mirroring controller made an EndpointSlice from it."),
    Case(
        "hand-written-endpoints-with-targetref",
        variant(service2_backends="hand-written-with-targetref", service2_headless=False),
        _failed("service2-endpoints"),
        "同上，但手写的 Endpoints 是从 kubectl get endpoints -o yaml 复制来的："
        "地址带有 nodeName 和指向正确 Pod 的 targetRef（uid 也对）。"
        "只有没有 selector 的 Service 和镜像控制器的 managed-by 标签能说明它是手写的。",
        "As above, but the Endpoints were copied from kubectl get endpoints -o yaml: the addresses carry nodeName "
        "and a targetRef to the right pods (uids included). Only the selector-less Service and the mirroring "
        "controller's managed-by label give it away."),
    Case(
        "service2-bare-pod", variant(service2_backends="bare-pod"),
        _failed("service2-endpoints"),
        "service2 的第二个后端不是 deployment2 的 Pod，而是手工创建并打上 svc2=yes 标签的裸 Pod httpd-pod。",
        "service2's second backend is not a pod of deployment2 but a hand-made bare pod httpd-pod labelled svc2=yes."),
    Case(
        "clientpod-crashloop", variant(clientpod_state="CrashLoopBackOff"),
        _failed("clientpod-running"),
        "clientpod 用 kubectl run clientpod --image=busybox 创建，没有给命令："
        "busybox 的 sh 立即退出，Pod 处于 CrashLoopBackOff，没有就绪。",
        "clientpod was started with kubectl run clientpod --image=busybox and no command: busybox's sh exits at "
        "once and the pod sits in CrashLoopBackOff, never ready."),
    Case(
        "kubernetes-recreated", variant(deletes_kubernetes_service=True, with_baseline=True),
        _failed("kubernetes-service-intact"),
        "第 6 步用了 kubectl delete svc --all，连 kubernetes 服务也删了。"
        "API server 几秒后重建了它：名字和 ClusterIP 不变，但 uid 是新的，creationTimestamp 比 default 命名空间晚了三天"
        "（它的 Endpoints 也是新的；EndpointSlice 没有 owner，保持不变）。附带 baseline.yaml。",
        "Step 6 used kubectl delete svc --all, which deleted the kubernetes service too. The API server re-created "
        "it seconds later with the same name and ClusterIP but a new uid and a creationTimestamp three days after "
        "the default namespace's (its Endpoints are new as well; its EndpointSlice has no owner and stays). "
        "Includes baseline.yaml."),
    Case(
        "never-built", variant(never_built=True),
        _failed("deployment1-exists", "deployment2-exists", "service1-exists", "service2-exists", "clientpod-running",
                "deployments-deleted", "pods-deleted", "services-deleted", "kubernetes-service-intact",
                skipped=("deployment1-replicas", "deployment1-image", "deployment1-pods", "deployment2-replicas",
                         "deployment2-image", "deployment2-pods", "service1-endpoints", "service1-port",
                         "service2-endpoints", "service2-port", "clientpod-wget-service2", "service1-dns",
                         "service2-dns")),
        "学生没有做第 1-5 步：两个导出文件都是实验前的集群。第 6 步没有可清理的对象，不得分。",
        "The student never did steps 1-5: both dumps show the cluster as it was before the lab. Step 6 had nothing "
        "to clean up and earns nothing."),
    Case(
        "kubernetes-recreated-before-built", variant(deletes_kubernetes_service_early=True),
        _failed("kubernetes-service-intact"),
        "第 3 步时学生用 kubectl delete svc --all 删掉了 kubernetes 服务，API server 随即重建了它。"
        "built 和 cleaned 两个导出中的 kubernetes 服务 uid 相同（都是重建后的），没有 baseline：只有创建时间能说明它被删过。",
        "During step 3 the student ran kubectl delete svc --all, deleting the kubernetes service, which the API "
        "server re-created at once. Both dumps show the same (new) uid and there is no baseline: only its creation "
        "time shows it was deleted."),
    Case(
        "rollout-in-progress", variant(rollout_in_progress=True),
        _failed("deployment1-replicas", "deployment1-pods"),
        "导出 built 时 deployment1 正在滚动更新：新 ReplicaSet 的一个 Pod 已就绪，旧的两个还在运行。"
        "service1 的后端是 6 个 Pod，恰好是两个 Deployment 的全部就绪 Pod（通过，并说明正在滚动更新）；"
        "deployment1 有 3 个就绪 Pod，多于 spec.replicas 的 2 个。",
        "The built dump was taken mid-rollout of deployment1: one pod of the new ReplicaSet is ready and the old "
        "two still run. service1 routes to 6 pods, exactly all ready pods of both deployments (passed, with a note "
        "on the rollout); deployment1 has 3 ready pods, more than its spec.replicas of 2."),
    Case(
        "dual-stack", variant(dual_stack="IPv6"),
        {},
        "双栈集群：每个 Pod 有 IPv4 和 IPv6 两个地址，service1 和 service2 的 ipFamilies 为 [IPv6, IPv4]，"
        "每个 Service 有两个 EndpointSlice（每个地址族一个），列出相同的 Pod。计数按 Pod（5 个和 2 个），不按地址。",
        "A dual-stack cluster: every pod has an IPv4 and an IPv6 address, service1 and service2 have ipFamilies "
        "[IPv6, IPv4], and each Service has two EndpointSlices (one per family) listing the same pods. Counts are "
        "of pods (5 and 2), not addresses."),
    Case(
        "leftovers", variant(keep=("deployment2", "service1")),
        _failed("deployments-deleted", "pods-deleted", "services-deleted"),
        "第 6 步只删了一部分：deployment2（连同它的 ReplicaSet 和 3 个 Pod）和 service1 还在，"
        "service1 现在只剩 deployment2 的 3 个端点。",
        "Step 6 was only half done: deployment2 (with its ReplicaSet and 3 pods) and service1 are still there, "
        "service1 now down to deployment2's 3 endpoints."),
)


def recorded_cases() -> tuple[str, ...]:
    """The cases recorded from a real cluster: tests/realcluster/record.py's, in its order."""
    from tests.realcluster.record import CASES as RECORDED

    return tuple(RECORDED)


#: Why each hand-built case cannot be recorded (kwok fake nodes, one IPv4 pod CIDR). Every hand-built
#: case also shows what kwok cannot: pods still terminating after step 6 (kwok deletes them at once).
WHY_HAND_BUILT = {
    "clientpod-crashloop": "kwok fake nodes run no container, so a pod never crash-loops",
    "dual-stack": "the test cluster is single-stack IPv4 (kwok hands out pod IPs from one IPv4 CIDR)",
    "kubernetes-recreated-before-built": ("without a baseline only the kubernetes Service's age (over 300 s younger "
                                          "than the default namespace) shows it was re-created, and a cluster started "
                                          "for a recording is seconds old"),
}


def hand_built() -> tuple[Case, ...]:
    """The cases this file generates: every case a real cluster cannot show (not recorded)."""
    recorded = set(recorded_cases())
    return tuple(c for c in CASES if c.name not in recorded)


def render_case(case: Case) -> dict[str, str]:
    """A case's files: name -> text."""
    dumps = run_lab(case.lab)
    dump, ext = (dump_json, "json") if case.lab.fmt == "json" else (dump_yaml, "yaml")
    files = {f"built.{ext}": dump(to_list(dumps.built)), f"cleaned.{ext}": dump(to_list(dumps.cleaned))}
    if case.lab.with_baseline:
        files[f"baseline.{ext}"] = dump(to_list(dumps.baseline))
    expected = {"namespace": case.lab.namespace, "verdicts": case.expected()}
    files["expected.yaml"] = (f"# What the grader must say about {case.name}; generated by tests/make_examples.py.\n"
                              + dump_yaml_ordered({"source": "hand-built", **expected}))
    why = WHY_HAND_BUILT.get(case.name, "a state a real cluster cannot show on demand")
    files["README.md"] = (f"# {case.name}\n\nsource: hand-built (`python -m tests.make_examples`; {why})\n\n"
                          f"{case.zh}\n\n{case.en}\n")
    return files


def dump_yaml_ordered(doc: object) -> str:
    """expected.yaml keeps rubric order, which reads better than sorted ids."""
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 30)


def index_readme(root: Path = ROOT) -> str:
    """The folder's README: what each case is, where it comes from and how to grade it. Recorded
    cases' rows come from their expected.yaml on disk (written by the recorder)."""
    version = "v1.36"
    rows = []
    for name in recorded_cases():
        try:
            doc = yaml.safe_load((root / name / "expected.yaml").read_text(encoding="utf-8"))
        except OSError:
            continue
        version = doc.get("kubernetes", version)
        rows.append((name, doc["namespace"], doc["verdicts"], f"recorded ({doc.get('kubernetes', '?')})"))
    for case in hand_built():
        rows.append((case.name, case.lab.namespace, case.expected(), "hand-built"))
    lines = [
        "# Service discovery: example cluster dumps",
        "",
        "Each folder is one student's cluster: `built` after steps 1-5, `cleaned` after step 6, sometimes a",
        "`baseline` from before the lab, and `expected.yaml` with the verdict the grader owes every check.",
        "The dumps are `kubectl get namespaces,deployments,replicasets,pods,services,endpoints,endpointslices -A`",
        "output. Do not edit them by hand.",
        "",
        "每个目录是一名学生的集群导出：`built` 为第 1-5 步之后，`cleaned` 为第 6 步之后，部分目录还有实验前的 `baseline`；",
        "`expected.yaml` 给出评分器对每项检查应有的结论。请勿手工修改。",
        "",
        "## Recorded and hand-built cases / 录制的与手工构造的用例",
        "",
        f"- **recorded** (`source: recorded` in expected.yaml): performed with kubectl on a real Kubernetes {version}",
        "  control plane (kube-apiserver, controllers, CoreDNS; kwok fake nodes) and dumped by the real kubectl.",
        "  Regenerate them all with `python -m tests.realcluster record-examples --write` (or name cases);",
        "  a case whose verdicts differ from its expected.yaml is reported and not written.",
        "- **hand-built** (`source: hand-built`): states a kwok cluster cannot show on demand (a crash-looping",
        "  clientpod, a dual-stack cluster, a kubernetes Service re-created long after the cluster was; also a clientpod still terminating after step 6, as kwok deletes pods",
        "  at once), made by `tests/builders.py`. Regenerate them (and this README) with `python -m tests.make_examples`;",
        "  the test suite fails on drift.",
        "",
        f"- **录制**：在真实的 Kubernetes {version} 控制面（kwok 模拟节点）上用 kubectl 完成并导出；",
        "  `python -m tests.realcluster record-examples --write` 重新生成。",
        "- **手工构造**：kwok 集群无法按需呈现的状态，由 `python -m tests.make_examples` 生成。",
        "",
        "```sh",
        "labgrade grade --rubric service-discovery \\",
        "  --snapshot built=examples/service-discovery/correct/built.yaml \\",
        "  --snapshot cleaned=examples/service-discovery/correct/cleaned.yaml \\",
        "  --baseline examples/service-discovery/correct/baseline.yaml",
        "```",
        "",
        "A case in another namespace also needs `-n` (`-n lab-42` for correct-other-namespace).",
        "不在 default 命名空间的用例需要加 `-n`（correct-other-namespace 为 `-n lab-42`）。",
        "",
        "| case | source | namespace | not passed |",
        "|---|---|---|---|",
    ]
    for name, ns, verdicts, source in rows:
        changed = ", ".join(f"{k}: {v}" for k, v in verdicts.items() if v != CORRECT_VERDICTS.get(k)) or "-"
        lines.append(f"| [{name}]({name}/README.md) | {source} | {ns} | {changed} |")
    return "\n".join(lines) + "\n"


def render_all() -> dict[str, str]:
    """Every file under examples/service-discovery/, by path relative to it."""
    files = {"README.md": index_readme()}
    for case in hand_built():
        for name, text in render_case(case).items():
            files[f"{case.name}/{name}"] = text
    return files


def on_disk(root: Path = ROOT) -> dict[str, str]:
    """The files this file owns on disk: the index README and every folder not recorded."""
    if not root.exists():
        return {}
    recorded = set(recorded_cases())
    return {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in recorded}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    args = parser.parse_args(argv)
    wanted = render_all()
    present = on_disk()
    stale = sorted(set(present) - set(wanted))
    changed = sorted(p for p, text in wanted.items() if present.get(p) != text)
    if args.check:
        for p in changed:
            print(f"out of date: {p}")
        for p in stale:
            print(f"not generated: {p}")
        return 1 if changed or stale else 0
    for p in stale:
        (ROOT / p).unlink()
    for p in changed:
        target = ROOT / p
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(wanted[p], encoding="utf-8", newline="\n")
    for d in sorted((d for d in ROOT.rglob("*") if d.is_dir()), reverse=True):
        if not any(d.iterdir()):
            d.rmdir()
    print(f"{len(changed)} written, {len(stale)} removed, {len(wanted) - len(changed)} unchanged under {ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
