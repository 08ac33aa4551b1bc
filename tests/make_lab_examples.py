"""Write the example cases of the chapter's other two labs, ``service-expose``
and ``headless-dns``, under ``examples/<lab>/<case>/``.

Run ``python -m tests.make_lab_examples`` from the repository root after
changing a case; ``--check`` only reports drift (the test suite does the
same).  Each case is the model answer with one typical mistake.  Their
steps are mostly probes (wget from a pod, DNS questions), which a plain dump
cannot answer, so a case is what ``labgrade collect`` writes: a bundle
(``built.yaml``, ``kind: Snapshot``) of the objects plus the probe results.
The probes are answered by the stand-in's cluster model (its CoreDNS and
busybox ``wget`` read the same objects), extended here with what these labs
need and it lacks: NodePorts on the node IPs and SRV records.

``expected.yaml`` holds the verdicts the generator *declares* for the case
(the model answer's, with the mistake's changes), never the grader's own
output, so ``labgrade test-rubric`` is a real test of the rubric.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from grader import engine, kinds, reads, rubric as rubric_mod
from grader.sources import bundle
from grader.outcome import SourceInfo
from grader.view import DnsResult, ExecResult, build_view
from tests.builders import LAB_START, Cluster, base_cluster, dump_yaml, service_port
from tests.standin.coredns import DnsModel
from tests.standin.exec_model import PodShell
from tests.standin.netmodel import ClusterNetwork, is_headless
from tests.standin.store import ObjectStore
from tests.workload_builders import statefulset, with_endpoint_hostnames

ROOT = Path(__file__).resolve().parents[1] / "examples"


# -- the simulated data plane ---------------------------------------------------

class Plane:
    """Exec and DNS answers for one cluster state, from the stand-in's model."""

    def __init__(self, objects: list[dict]):
        self.objects = objects
        self.network = ClusterNetwork(ObjectStore(objects).current)
        self.dns_model = DnsModel(self.network)
        self.shell = PodShell(lambda: (self.network, self.dns_model))

    def _nodeport(self, argv: list[str]) -> list[str]:
        """kube-proxy's NodePort rule: <any node IP>:<nodePort> goes where the ClusterIP:port goes."""
        nodes = {p["status"].get("hostIP") for p in self.network.snap.objects("pods")}
        out = []
        for a in argv:
            m = re.match(r"^http://([\d.]+):(\d+)(/.*)?$", a)
            if m and m.group(1) in nodes:
                for svc in self.network.services.values():
                    for p in svc["spec"].get("ports") or []:
                        if p.get("nodePort") == int(m.group(2)):
                            a = f"http://{svc['spec']['clusterIP']}:{p['port']}{m.group(3) or ''}"
            out.append(a)
        return out

    def exec(self, namespace: str, pod: str, argv: list[str], *, container: str | None = None,
             timeout: float = 10.0) -> ExecResult:
        pod_obj = self.network.pod(namespace, pod)
        name = container or pod_obj["spec"]["containers"][0]["name"]
        reply = self.shell(namespace, pod, name, self._nodeport(list(argv)))
        failure = "not-found" if reply.runtime_error else None
        return ExecResult(tuple(argv), reply.stdout.decode(), reply.stderr.decode(), reply.exit_code, failure,
                          0.0, pod, namespace, container)

    def dns(self, qname: str, rdtype: str = "A") -> DnsResult:
        name = qname.lower().rstrip(".")
        if rdtype == "SRV":
            return self._srv(qname, name)
        result = self.dns_model.lookup(name, rdtype)
        rcode = "NXDOMAIN" if result.rcode == 3 else ("SERVFAIL" if result.rcode == 2 else "NOERROR")
        answers = tuple(sorted(text for t, text in result.records if t == rdtype))
        return DnsResult(qname, rdtype, rcode, answers, None, "10.96.0.10:53")

    def _srv(self, qname: str, name: str) -> DnsResult:
        """CoreDNS's SRV for ``_port._proto.svc.ns.svc.zone``: one record per
        ready endpoint behind a headless Service, one for a ClusterIP one."""
        m = re.match(r"^_([a-z0-9-]+)\._(tcp|udp)\.([a-z0-9-]+)\.([a-z0-9-]+)\.svc\.cluster\.local$", name)
        svc = self.network.services.get((m.group(4), m.group(3))) if m else None
        port = next((p for p in (svc or {}).get("spec", {}).get("ports") or []
                     if p.get("name") == m.group(1) and p.get("protocol", "TCP").lower() == m.group(2)), None) if m else None
        if svc is None or port is None:
            return DnsResult(qname, "SRV", "NXDOMAIN", (), None, "10.96.0.10:53")
        base = f"{m.group(3)}.{m.group(4)}.svc.cluster.local."
        if is_headless(svc):
            eps = self.network.endpoints(svc)
            answers = tuple(sorted(f"0 {100 // max(len(eps), 1)} {port['port']} {e.dns_label}.{base}" for e in eps))
        else:
            answers = (f"0 100 {port['port']} {base}",)
        return DnsResult(qname, "SRV", "NOERROR" if answers else "NXDOMAIN", answers, None, "10.96.0.10:53")


def collect(lab: str, objects: list[dict], namespace: str = "default") -> dict:
    """What ``labgrade collect`` would write for this cluster: the kinds
    the rubric reads, listed in the lab namespace, graded once with probes
    answered by the model, then bundled with the probe results."""
    rubric = rubric_mod.load(lab)
    plane = Plane(objects)  # the data plane sees the whole cluster
    listed, _ = kinds.plan(reads.rubric_reads(rubric), namespace)
    mine = [o for o in objects if o["kind"] in listed and o["metadata"].get("namespace") == namespace]
    view = build_view(mine, kinds=listed, location="model", phase="built", live=True,
                      exec_runner=plane.exec, dns_runner=plane.dns)
    src = engine.StaticSource(view, SourceInfo("built", "live", "model"), live=False)
    engine.grade(rubric, {"built": src}, namespace=namespace, options=engine.Options(poll=False))
    doc = bundle.to_bundle(view, phase="built", namespace=namespace)
    doc["metadata"]["collectedAt"] = "2026-11-20T09:30:00Z"
    for p in doc["probes"]:
        p["duration"] = 0.0
    return doc


# -- the labs ------------------------------------------------------------------------

HTTPD = {"app": "httpd"}
WEB = {"app": "web"}


def _np(c: Cluster, name: str, node_port: int) -> None:
    """``kubectl expose --type=NodePort``: the apiserver allocates a nodePort."""
    svc = c.must("Service", name, "default")
    svc["spec"]["type"] = "NodePort"
    svc["spec"]["externalTrafficPolicy"] = "Cluster"
    for p in svc["spec"]["ports"]:
        p["nodePort"] = node_port


@dataclass(frozen=True)
class Expose:
    replicas: int = 2
    image: str = "httpd"
    selector: dict = field(default_factory=lambda: dict(HTTPD))
    target_port: int = 80
    nodeport: bool = True
    clientpod_state: str = "Ready"


def service_expose(lab: Expose) -> list[dict]:
    c = base_cluster()
    c.clock.set(LAB_START)
    c.deployment("httpd", replicas=lab.replicas, image=lab.image, labels=HTTPD)
    c.clock.advance(40)
    c.service("httpd-svc", selector=lab.selector, ports=[service_port(80, lab.target_port)])
    c.clock.advance(60)
    c.service("httpd-nodeport", selector=HTTPD, ports=[service_port(80, 80)])
    if lab.nodeport:
        _np(c, "httpd-nodeport", 30080)
    c.clock.advance(60)
    c.bare_pod("clientpod", image="busybox", args=["sleep", "3600"], state=lab.clientpod_state)
    c.clock.advance(120)
    return c.objects()


@dataclass(frozen=True)
class Headless:
    replicas: int = 3
    headless: bool = True
    port_name: str | None = "http"
    selector: dict = field(default_factory=lambda: dict(WEB))
    normal_service: bool = True
    #: The pods come from a StatefulSet governed by web-headless (web-0, web-1, ...).
    statefulset: bool = False


def headless_dns(lab: Headless) -> list[dict]:
    c = base_cluster()
    c.clock.set(LAB_START)
    extra = []
    if lab.statefulset:
        extra.append(statefulset(c, "web", replicas=lab.replicas, service_name="web-headless"))
    else:
        c.deployment("web", replicas=lab.replicas, image="httpd", labels=WEB)
    c.clock.advance(40)
    c.service("web-headless", selector=lab.selector, headless=lab.headless,
              ports=[service_port(80, 80, name=lab.port_name)])
    c.clock.advance(60)
    if lab.normal_service:
        c.service("web-svc", selector=WEB, ports=[service_port(80, 80, name="http")])
    c.clock.advance(120)
    return with_endpoint_hostnames(c.objects() + extra)


P, F, S = "passed", "failed", "skipped"

EXPOSE_CORRECT = {
    "httpd-exists": P, "httpd-replicas": P, "httpd-image": P, "httpd-pods": P,
    "svc-exists": P, "svc-ports": P, "svc-backends": P,
    "nodeport-exists": P, "nodeport-type": P, "nodeport-backends": P,
    "clientpod-running": P, "wget-by-service-name": P, "wget-by-nodeport": P,
}
HEADLESS_CORRECT = {
    "web-exists": P, "web-replicas": P, "web-pods": P,
    "headless-exists": P, "headless-shape": P, "headless-backends": P,
    "web-svc-exists": P, "web-svc-cluster-ip": P,
    "dns-headless-pod-ips": P, "dns-srv-named-port": P, "dns-pod-name": P, "dns-normal-service": P,
}


@dataclass(frozen=True)
class Case:
    lab: str
    name: str
    build: Callable[[], list[dict]]
    verdicts: dict[str, str]
    earned: float | None
    zh: str
    en: str


CASES = [
    Case("service-expose", "correct", lambda: service_expose(Expose()), {}, 100,
         "标准答案：httpd Deployment（2 副本），ClusterIP 服务 httpd-svc 与 NodePort 服务 httpd-nodeport（nodePort 30080），clientpod 通过服务名和 <节点IP>:30080 都能取回 httpd 页面。",
         "The model answer: an httpd Deployment (2 replicas), ClusterIP service httpd-svc and NodePort service httpd-nodeport (nodePort 30080); from clientpod both the service name and <node-ip>:30080 return httpd's page."),
    Case("service-expose", "wrong-target-port", lambda: service_expose(Expose(target_port=8080)),
         {"svc-ports": F, "wget-by-service-name": F}, None,
         "httpd-svc 的 targetPort 写成了 8080（httpd 监听 80）：服务名可以解析，但连接被拒绝。",
         "httpd-svc's targetPort is 8080 (httpd listens on 80): the name resolves but the connection is refused."),
    Case("service-expose", "no-nodeport", lambda: service_expose(Expose(nodeport=False)),
         {"nodeport-type": F, "wget-by-nodeport": F}, None,
         "第二个服务忘了 --type=NodePort，仍是 ClusterIP，没有 nodePort。",
         "The second service was created without --type=NodePort: still ClusterIP, no nodePort."),
    Case("service-expose", "selector-typo", lambda: service_expose(Expose(selector={"app": "httdp"})),
         {"svc-backends": F, "wget-by-service-name": S}, None,
         "httpd-svc 的 selector 拼错成 app=httdp，没有端点。",
         "httpd-svc's selector is misspelt app=httdp: it has no endpoints."),
    Case("service-expose", "wrong-image", lambda: service_expose(Expose(image="nginx")),
         {"httpd-image": F, "wget-by-service-name": F, "wget-by-nodeport": F}, None,
         "Deployment 用了 nginx 镜像：页面不是 httpd 的。",
         "The Deployment runs nginx: the page is not httpd's."),
    Case("service-expose", "one-replica", lambda: service_expose(Expose(replicas=1)),
         {"httpd-replicas": F}, None,
         "Deployment 只有 1 个副本（要求 2 个）。", "The Deployment has 1 replica (2 asked)."),
    Case("service-expose", "clientpod-crashloop", lambda: service_expose(Expose(clientpod_state="CrashLoopBackOff")),
         {"clientpod-running": F, "wget-by-service-name": S, "wget-by-nodeport": S}, None,
         "clientpod 没有给 sleep 命令，busybox 立即退出并不断重启，无法在其中执行 wget。",
         "clientpod was started without a sleep command: busybox exits at once and restarts, so wget cannot run in it."),
    Case("headless-dns", "correct", lambda: headless_dns(Headless()), {}, 100,
         "标准答案：web Deployment（3 副本），headless 服务 web-headless（命名端口 http:80），普通服务 web-svc。",
         "The model answer: a web Deployment (3 replicas), headless service web-headless (named port http:80) and a normal service web-svc."),
    Case("headless-dns", "statefulset", lambda: headless_dns(Headless(statefulset=True)), {}, 100,
         "也是正确答案：用 StatefulSet web（serviceName: web-headless）代替 Deployment；Pod 名为 web-0、web-1、web-2，域名形如 web-0.web-headless.default.svc.cluster.local。",
         "Also a right answer: a StatefulSet web (serviceName: web-headless) instead of a Deployment; its pods web-0..web-2 are named like web-0.web-headless.default.svc.cluster.local."),
    Case("headless-dns", "not-headless", lambda: headless_dns(Headless(headless=False)),
         {"headless-shape": F, "dns-headless-pod-ips": F, "dns-srv-named-port": F}, None,
         "web-headless 忘了 clusterIP: None：DNS 回答的是 ClusterIP，而不是 Pod 自己的 IP。",
         "web-headless lacks clusterIP: None: DNS answers its ClusterIP, not the pods' own IPs."),
    Case("headless-dns", "unnamed-port", lambda: headless_dns(Headless(port_name=None)),
         {"headless-shape": F, "dns-srv-named-port": F}, None,
         "web-headless 的端口没有名字：没有 _http._tcp 的 SRV 记录。",
         "web-headless's port has no name: there is no _http._tcp SRV record."),
    Case("headless-dns", "selector-typo", lambda: headless_dns(Headless(selector={"app": "wbe"})),
         {"headless-backends": F, "dns-headless-pod-ips": S, "dns-srv-named-port": S, "dns-pod-name": S}, None,
         "web-headless 的 selector 拼错成 app=wbe：没有端点，DNS 中没有记录。",
         "web-headless's selector is misspelt app=wbe: no endpoints, so no DNS records."),
    Case("headless-dns", "two-replicas", lambda: headless_dns(Headless(replicas=2)),
         {"web-replicas": F}, None,
         "web 只有 2 个副本（要求 3 个）。", "web has 2 replicas (3 asked)."),
    Case("headless-dns", "no-normal-service", lambda: headless_dns(Headless(normal_service=False)),
         {"web-svc-exists": F, "web-svc-cluster-ip": S, "dns-normal-service": S}, None,
         "忘了创建普通服务 web-svc，无法对比 ClusterIP 的解析。",
         "The normal service web-svc was never created, so there is no ClusterIP answer to compare."),
]


def expected(case: Case) -> dict:
    base = EXPOSE_CORRECT if case.lab == "service-expose" else HEADLESS_CORRECT
    unknown = set(case.verdicts) - set(base)
    if unknown:
        raise ValueError(f"{case.name}: unknown checks {sorted(unknown)}")
    out: dict = {"namespace": "default", "verdicts": {k: case.verdicts.get(k, v) for k, v in base.items()}}
    if case.earned is not None:
        out["earned"] = case.earned
    return out


def files(case: Case) -> dict[str, str]:
    head = f"# What the grader must say about {case.lab}/{case.name}; generated by tests/make_lab_examples.py.\n"
    return {
        "built.yaml": dump_yaml(collect(case.lab, case.build())),
        "expected.yaml": head + yaml.safe_dump(expected(case), sort_keys=False, allow_unicode=True),
        "README.md": f"# {case.name}\n\n{case.zh}\n\n{case.en}\n",
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report files that differ")
    args = ap.parse_args(argv)
    drift = []
    for case in CASES:
        folder = ROOT / case.lab / case.name
        for name, text in files(case).items():
            path = folder / name
            if args.check:
                if not path.exists() or path.read_text(encoding="utf-8") != text:
                    drift.append(str(path))
            else:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for d in drift:
        print(f"differs: {d}")
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main())
