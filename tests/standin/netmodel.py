"""The cluster's data plane, read from the same objects the API serves.

CoreDNS and kube-proxy do not look at Deployments or labels: they follow
Services and their EndpointSlices (only ready endpoints, by default).  The
stand-in's DNS answers and its emulated ``wget`` follow the same objects, so
a Service whose selector matches nothing, or whose pods are not ready, fails
here exactly as it would in the student's cluster.

EndpointSlices are used when the resource is enabled and the Service has
any (label ``kubernetes.io/service-name``); otherwise the legacy Endpoints
object, which is what an old dump may carry.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from tests.standin.store import Snapshot

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True)
class Endpoint:
    ip: str
    hostname: str | None
    ready: bool
    ports: tuple[tuple[str, int, str], ...]  # (name, port, protocol)
    target: tuple[str, str] | None  # (namespace, pod name) from targetRef

    @property
    def dns_label(self) -> str:
        """CoreDNS's endpointHostname: the hostname if set, else the dashed IP."""
        if self.hostname:
            return self.hostname
        return self.ip.replace(":", "-") if ":" in self.ip else self.ip.replace(".", "-")


@dataclass(frozen=True)
class Route:
    """Where a TCP connection to ip:port ends up."""

    outcome: str  # "connected" | "refused" | "timeout"
    pod: Obj | None = None
    port: int | None = None


def is_headless(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") in ("None",)


def image_repo(image: str) -> str:
    """``docker.io/library/httpd:2.4@sha256:..`` -> ``httpd``."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0].lower()


def image_tag(image: str) -> str:
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1].lower() if ":" in last else "latest"


class ClusterNetwork:
    """Indexes over one snapshot: Service by name and IP, Pod by IP, endpoints of a Service."""

    def __init__(self, snap: Snapshot, *, slices_enabled: bool = True):
        self.snap = snap
        self.slices_enabled = slices_enabled
        self.services = {(s["metadata"]["namespace"], s["metadata"]["name"]): s for s in snap.objects("services")}
        self.service_by_ip: dict[str, Obj] = {}
        for svc in self.services.values():
            spec = svc.get("spec") or {}
            for ip in spec.get("clusterIPs") or [spec.get("clusterIP")]:
                if ip and ip != "None":
                    self.service_by_ip[ip] = svc
        self.pod_by_ip: dict[str, Obj] = {}
        for pod in snap.objects("pods"):
            status = pod.get("status") or {}
            ips = [p.get("ip") for p in status.get("podIPs") or []] or [status.get("podIP")]
            for ip in ips:
                if ip and not (pod.get("spec") or {}).get("hostNetwork"):
                    self.pod_by_ip.setdefault(ip, pod)
        self.namespaces = {n["metadata"]["name"] for n in snap.objects("namespaces")}
        self.namespaces |= {ns for ns, _ in self.services}
        # A Service's slices by (namespace, service-name label): a class on one
        # cluster asks for a thousand namespaces' endpoints, each once per question.
        self.slices: dict[tuple[str | None, str | None], list[Obj]] = {}
        for sl in snap.objects("endpointslices"):
            meta = sl["metadata"]
            owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
            self.slices.setdefault((meta.get("namespace"), owner), []).append(sl)

    def pod(self, namespace: str, name: str) -> Obj | None:
        return self.snap.get("pods", namespace, name)

    def endpoints(self, svc: Obj, *, ready_only: bool = True) -> list[Endpoint]:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        found: list[Endpoint] = []
        slices = self.slices.get((ns, name), []) if self.slices_enabled else []
        if slices:
            for sl in slices:
                ports = tuple((p.get("name") or "", int(p.get("port") or 0), p.get("protocol") or "TCP")
                              for p in sl.get("ports") or [])
                for ep in sl.get("endpoints") or []:
                    ready = (ep.get("conditions") or {}).get("ready")
                    ref = ep.get("targetRef") or {}
                    target = (ref.get("namespace") or ns, ref["name"]) if ref.get("kind") == "Pod" and ref.get("name") else None
                    for ip in ep.get("addresses") or []:
                        found.append(Endpoint(ip, ep.get("hostname"), ready is None or bool(ready), ports, target))
        else:
            eps = self.snap.get("endpoints", ns, name)
            for subset in (eps or {}).get("subsets") or []:
                ports = tuple((p.get("name") or "", int(p.get("port") or 0), p.get("protocol") or "TCP")
                              for p in subset.get("ports") or [])
                for key, ready in (("addresses", True), ("notReadyAddresses", False)):
                    for addr in subset.get(key) or []:
                        ref = addr.get("targetRef") or {}
                        target = (ref.get("namespace") or ns, ref["name"]) if ref.get("kind") == "Pod" and ref.get("name") else None
                        found.append(Endpoint(addr["ip"], addr.get("hostname"), ready, ports, target))
        return [e for e in found if e.ready] if ready_only else found

    # Data plane ------------------------------------------------------------

    def route(self, ip: str, port: int) -> Route:
        """Follow a TCP connect like kube-proxy (iptables mode) and the pod network would."""
        svc = self.service_by_ip.get(ip)
        if svc is not None:
            svc_port = next((p for p in (svc.get("spec") or {}).get("ports") or []
                             if int(p.get("port", 0)) == port and (p.get("protocol") or "TCP") == "TCP"), None)
            if svc_port is None:
                return Route("timeout")  # no rule for this port: the virtual IP answers nothing
            name = svc_port.get("name") or ""
            for ep in self.endpoints(svc):
                target_port = next((p for n, p, proto in ep.ports if n == name and proto == "TCP"), None)
                if target_port is None:
                    continue
                return self.route_to_pod(ep.ip, target_port)
            return Route("refused")  # kube-proxy REJECTs a Service without endpoints
        return self.route_to_pod(ip, port)

    def route_to_pod(self, ip: str, port: int) -> Route:
        pod = self.pod_by_ip.get(ip)
        if pod is None:
            return Route("timeout")
        if (pod.get("status") or {}).get("phase") != "Running":
            return Route("refused", pod, port)
        return Route("connected", pod, port)


def dashed_to_ip(label: str) -> str | None:
    """``10-244-1-5`` -> ``10.244.1.5``; None when it is not an address."""
    for candidate in (label.replace("-", "."), label.replace("-", ":")):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
