"""Workloads the builders in tests/builders.py do not make (a StatefulSet),
shaped the way their controllers leave them, and the endpoint hostnames the
endpoint controllers add for pods with ``hostname`` and ``subdomain``."""
from __future__ import annotations

from tests.builders import Cluster, owner_ref, stable_uid

WEB = {"app": "web"}


def statefulset(c: Cluster, name: str, *, replicas: int, image: str = "httpd", ready: int | None = None,
                spec_replicas: int | None = None, service_name: str | None = None) -> dict:
    """A StatefulSet with ``replicas`` pods ``<name>-<ordinal>`` (``ready``
    of them Ready), each with ``hostname`` and ``subdomain`` (its governing
    ``service_name``, default ``name``) as the controller sets them."""
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": name, "namespace": "default", "uid": stable_uid("sts", name), "generation": 1},
           "spec": {"replicas": replicas if spec_replicas is None else spec_replicas, "serviceName": service_name or name,
                    "selector": {"matchLabels": dict(WEB)},
                    "template": {"metadata": {"labels": dict(WEB)},
                                 "spec": {"containers": [{"name": "web", "image": image}]}}},
           "status": {"replicas": replicas, "readyReplicas": replicas if ready is None else ready}}
    for i in range(replicas):
        state = "Ready" if ready is None or i < ready else "NotReady"
        pod = c.bare_pod(f"{name}-{i}", image=image, labels=dict(WEB), state=state)
        pod["metadata"]["ownerReferences"] = [owner_ref(sts)]
        pod["spec"].update(hostname=f"{name}-{i}", subdomain=service_name or name)
    return sts


def with_endpoint_hostnames(objects: list[dict]) -> list[dict]:
    """What the endpoint controllers write and the builders do not: an
    endpoint's ``hostname`` when its pod sets ``hostname`` and a
    ``subdomain`` equal to the Service's name (how StatefulSet pods get
    ``web-0.<service>`` DNS names)."""
    pods = {o["metadata"]["uid"]: o for o in objects if o["kind"] == "Pod"}
    for o in objects:
        if o["kind"] == "EndpointSlice":
            service = (o["metadata"].get("labels") or {}).get("kubernetes.io/service-name")
            for ep in o.get("endpoints") or []:
                pod = pods.get((ep.get("targetRef") or {}).get("uid"))
                if pod and pod["spec"].get("hostname") and pod["spec"].get("subdomain") == service:
                    ep["hostname"] = pod["spec"]["hostname"]
        elif o["kind"] == "Endpoints":
            for subset in o.get("subsets") or []:
                for addr in (subset.get("addresses") or []) + (subset.get("notReadyAddresses") or []):
                    pod = pods.get((addr.get("targetRef") or {}).get("uid"))
                    if pod and pod["spec"].get("hostname") and pod["spec"].get("subdomain") == o["metadata"]["name"]:
                        addr["hostname"] = pod["spec"]["hostname"]
    return objects


def network_policy(name: str, *, pod_selector: dict | None, ingress: list[dict] | None = None,
                   namespace: str = "default") -> dict:
    """A NetworkPolicy as the apiserver stores it (``policyTypes`` defaulted
    to Ingress, each port's protocol to TCP); ``pod_selector=None`` leaves the
    field out, which only a hand-made dump can do."""
    spec: dict = {"policyTypes": ["Ingress"]}
    if pod_selector is not None:
        spec["podSelector"] = pod_selector
    if ingress is not None:
        spec["ingress"] = [{**rule, "ports": [{"protocol": "TCP", **p} for p in rule.get("ports", [])]}
                           if "ports" in rule else rule for rule in ingress]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace, "uid": stable_uid("netpol", namespace, name),
                         "generation": 1},
            "spec": spec}


def pod_disruption_budget(name: str, *, selector: dict | None, min_available: int = 1,
                          namespace: str = "default") -> dict:
    """A policy/v1 PodDisruptionBudget (its selector: ``{}`` every pod of the namespace, absent none)."""
    spec: dict = {"minAvailable": min_available}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace, "uid": stable_uid("pdb", namespace, name), "generation": 1},
            "spec": spec}
