"""Small builders for cluster objects shaped like ``kubectl get -o json`` items.

They fill in what the controllers would (ownerReferences, ready conditions,
EndpointSlices of the ready pods), so a test states only what it is about.
:func:`lab_cluster` is the Service-discovery lab done right; tests derive
the mistakes from it.
"""
from __future__ import annotations

import hashlib
import uuid
from typing import Any, Iterable

Obj = dict[str, Any]
CREATED = "2024-06-01T08:00:00Z"


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _meta(kind: str, name: str, namespace: str | None, labels: dict | None = None, **extra: Any) -> Obj:
    meta: Obj = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta.update({"uid": _uid(kind, namespace or "", name), "resourceVersion": "1", "creationTimestamp": CREATED})
    if labels:
        meta["labels"] = dict(labels)
    meta.update(extra)
    return meta


def owner_ref(owner: Obj) -> Obj:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def namespace(name: str, *, created: str = CREATED) -> Obj:
    meta = _meta("Namespace", name, None, {"kubernetes.io/metadata.name": name})
    meta["creationTimestamp"] = created
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta, "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"}}


def pod(name: str, namespace: str = "default", *, image: str = "httpd", labels: dict | None = None,
        ip: str | None = None, node: str | None = "node-1", phase: str = "Running", ready: bool = True,
        owner: Obj | None = None, hostname: str | None = None, subdomain: str | None = None,
        container: str | None = None, command: list[str] | None = None) -> Obj:
    """A pod; ``phase="Pending", node=None`` for an unscheduled one."""
    cname = container or image.split("/")[-1].split(":")[0].split("@")[0]
    spec: Obj = {"containers": [{"name": cname, "image": image, **({"command": command} if command else {})}],
                 "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}
    if node:
        spec["nodeName"] = node
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    meta = _meta("Pod", name, namespace, labels)
    if owner is not None:
        meta["ownerReferences"] = [owner_ref(owner)]
    running = phase == "Running"
    status: Obj = {"phase": phase, "conditions": [
        {"type": "Ready", "status": "True" if running and ready else "False"},
        {"type": "ContainersReady", "status": "True" if running and ready else "False"},
        {"type": "PodScheduled", "status": "True" if node else "False"}]}
    if ip and node:
        status.update({"podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "172.18.0.3"})
    if node:
        state = {"running": {"startedAt": CREATED}} if running else {"waiting": {"reason": "ContainerCreating"}}
        image_id = f"docker.io/library/{image}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"
        status["containerStatuses"] = [{"name": cname, "image": image, "imageID": image_id if running else "",
                                        "ready": running and ready,
                                        "restartCount": 0, "started": running, "state": state}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status}


def deployment(name: str, replicas: int, *, image: str = "httpd", namespace: str = "default",
               labels: dict | None = None, first_ip: int = 10, subnet: str = "10.244.1") -> list[Obj]:
    """A Deployment with its ReplicaSet and ready pods, linked by ownerReferences."""
    labels = dict(labels or {"app": name})
    pod_hash = hashlib.sha256(name.encode()).hexdigest()[:10]
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": image.split(":")[0].split("/")[-1], "image": image}]}}
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta("Deployment", name, namespace, labels),
           "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template},
           "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                      "updatedReplicas": replicas, "observedGeneration": 1}}
    rs_labels = {**labels, "pod-template-hash": pod_hash}
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": _meta("ReplicaSet", f"{name}-{pod_hash}", namespace, rs_labels, ownerReferences=[owner_ref(dep)]),
          "spec": {"replicas": replicas, "selector": {"matchLabels": rs_labels},
                   "template": {**template, "metadata": {"labels": rs_labels}}},
          "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}}
    pods = [pod(f"{rs['metadata']['name']}-{hashlib.sha256(f'{name}{i}'.encode()).hexdigest()[:5]}", namespace,
                image=image, labels=rs_labels, ip=f"{subnet}.{first_ip + i}", owner=rs)
            for i in range(replicas)]
    return [dep, rs, *pods]


def service(name: str, namespace: str = "default", *, selector: dict | None = None, cluster_ip: str | None = "10.96.100.1",
            ports: Iterable[int] = (80,), headless: bool = False, type: str = "ClusterIP",
            external_name: str | None = None) -> Obj:
    spec: Obj = {"type": "ExternalName" if external_name else type}
    if external_name:
        spec["externalName"] = external_name
    else:
        ip = "None" if headless else cluster_ip
        ports = list(ports)
        spec.update({"clusterIP": ip, "clusterIPs": [ip], "ipFamilies": ["IPv4"], "ports": []})
        for port in ports:
            entry: Obj = {"port": port, "targetPort": port, "protocol": "TCP"}
            if len(ports) > 1:  # the API requires names once there are several ports
                entry = {"name": f"p{port}", **entry}
            spec["ports"].append(entry)
    if selector is not None:
        spec["selector"] = dict(selector)
    return {"apiVersion": "v1", "kind": "Service", "metadata": _meta("Service", name, namespace), "spec": spec,
            "status": {"loadBalancer": {}}}


def selects(selector: dict | None, obj: Obj) -> bool:
    labels = obj["metadata"].get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _pod_ready(p: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in (p.get("status") or {}).get("conditions") or [])


def endpoint_slice(svc: Obj, pods: Iterable[Obj]) -> Obj:
    """The slice the EndpointSlice controller writes for ``svc`` over ``pods`` (with IPs)."""
    name, ns = svc["metadata"]["name"], svc["metadata"]["namespace"]
    endpoints = []
    for p in pods:
        if not (p.get("status") or {}).get("podIP"):
            continue
        ep: Obj = {"addresses": [p["status"]["podIP"]],
                   "conditions": {"ready": _pod_ready(p), "serving": _pod_ready(p), "terminating": False},
                   "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]},
                   "nodeName": p["spec"].get("nodeName")}
        if p["spec"].get("hostname") and p["spec"].get("subdomain") == name:
            ep["hostname"] = p["spec"]["hostname"]
        endpoints.append(ep)
    ports = [{k: v for k, v in (("name", sp.get("name", "")), ("port", sp["targetPort"]), ("protocol", sp.get("protocol", "TCP")))}
             for sp in svc["spec"].get("ports") or []]
    labels = {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    suffix = hashlib.sha256(name.encode()).hexdigest()[:5]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": _meta("EndpointSlice", f"{name}-{suffix}", ns, labels, ownerReferences=[owner_ref(svc)]),
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports}


def endpoints(svc: Obj, pods: Iterable[Obj]) -> Obj:
    """The legacy Endpoints object for ``svc`` over ``pods``."""
    name, ns = svc["metadata"]["name"], svc["metadata"]["namespace"]
    ready, not_ready = [], []
    for p in pods:
        if not (p.get("status") or {}).get("podIP"):
            continue
        addr = {"ip": p["status"]["podIP"], "nodeName": p["spec"].get("nodeName"),
                "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}}
        if p["spec"].get("hostname") and p["spec"].get("subdomain") == name:
            addr["hostname"] = p["spec"]["hostname"]
        (ready if _pod_ready(p) else not_ready).append(addr)
    subset: Obj = {"ports": [{k: v for k, v in (("name", sp.get("name", "")), ("port", sp["targetPort"]),
                                                ("protocol", sp.get("protocol", "TCP"))) if v != ""}
                             for sp in svc["spec"].get("ports") or []]}
    if ready:
        subset["addresses"] = ready
    if not_ready:
        subset["notReadyAddresses"] = not_ready
    return {"apiVersion": "v1", "kind": "Endpoints", "metadata": _meta("Endpoints", name, ns),
            "subsets": [subset] if ready or not_ready else []}


def with_endpoints(objects: list[Obj]) -> list[Obj]:
    """Add the Endpoints and EndpointSlice of every selector Service, as the controllers would."""
    pods = [o for o in objects if o["kind"] == "Pod"]
    out = list(objects)
    for svc in [o for o in objects if o["kind"] == "Service" and (o["spec"].get("selector"))]:
        ns = svc["metadata"]["namespace"]
        backends = [p for p in pods if p["metadata"]["namespace"] == ns and selects(svc["spec"]["selector"], p)]
        out += [endpoints(svc, backends), endpoint_slice(svc, backends)]
    return out


def kube_system() -> list[Obj]:
    """The kube-dns Service and one CoreDNS pod (which serves port-forwarded DNS)."""
    dns_labels = {"k8s-app": "kube-dns"}
    svc = service("kube-dns", "kube-system", selector=dns_labels, cluster_ip="10.96.0.10", ports=(53,))
    coredns = pod("coredns-5dd5756b68-x7k2p", "kube-system", image="registry.k8s.io/coredns/coredns:v1.11.1",
                  labels=dns_labels, ip="10.244.0.2", container="coredns")
    return [namespace("kube-system"), svc, coredns]


def kubernetes_service() -> list[Obj]:
    svc = service("kubernetes", cluster_ip="10.96.0.1", ports=(443,))
    svc["metadata"]["labels"] = {"component": "apiserver", "provider": "kubernetes"}
    eps = {"apiVersion": "v1", "kind": "Endpoints", "metadata": _meta("Endpoints", "kubernetes", "default"),
           "subsets": [{"addresses": [{"ip": "172.18.0.2"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}]}
    return [svc, eps]


def lab_cluster(ns: str = "default", *, headless_service2: bool = True) -> list[Obj]:
    """The Service-discovery lab after steps 1-5, done the usual way.

    deployment1 (2 httpd pods) and deployment2 (3) share ``tier=web``, which
    service1 selects; the first pod of each is labelled ``svc2=yes`` for the
    headless service2; ``clientpod`` runs busybox for the wget of step 5.
    """
    d1 = deployment("deployment1", 2, namespace=ns, labels={"app": "deployment1", "tier": "web"}, first_ip=10)
    d2 = deployment("deployment2", 3, namespace=ns, labels={"app": "deployment2", "tier": "web"}, first_ip=20)
    for first in (d1[2], d2[2]):
        first["metadata"]["labels"]["svc2"] = "yes"
    objects = [namespace(ns) if ns != "default" else namespace("default"), *kubernetes_service(), *kube_system(),
               *d1, *d2,
               service("service1", ns, selector={"tier": "web"}, cluster_ip="10.96.100.1"),
               service("service2", ns, selector={"svc2": "yes"}, cluster_ip="10.96.100.2", headless=headless_service2),
               pod("clientpod", ns, image="busybox:1.36", ip="10.244.1.50", command=["sleep", "3600"])]
    if ns != "default":
        objects.insert(0, namespace("default"))
    return with_endpoints(objects)
