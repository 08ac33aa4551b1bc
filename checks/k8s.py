"""Facts about Kubernetes objects that several checks share.

These read the API's JSON shape (what ``kubectl get -o json`` prints) and
follow the links the controllers themselves follow: ownerReferences by uid,
EndpointSlice ``targetRef``s, the pod Ready condition.  Names and labels are
only ever used to *find* candidates, never as proof.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grader.i18n import Text
from grader.outcome import Outcome, failed
from grader.view import ClusterView, Obj

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_CONTROLLER = "endpointslice-controller.k8s.io"
MIRROR_CONTROLLER = "endpointslicemirroring-controller.k8s.io"


def meta(obj: Obj) -> dict[str, Any]:
    return obj.get("metadata") or {}


def name(obj: Obj) -> str:
    return meta(obj).get("name", "")


def uid(obj: Obj) -> str:
    return meta(obj).get("uid", "")


def labels(obj: Obj) -> dict[str, str]:
    return meta(obj).get("labels") or {}


def spec(obj: Obj) -> dict[str, Any]:
    return obj.get("spec") or {}


def status(obj: Obj) -> dict[str, Any]:
    return obj.get("status") or {}


def is_terminating(obj: Obj) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def controller_ref(obj: Obj) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true``: the one owner that
    manages this object (a ReplicaSet for a Deployment's pod)."""
    for ref in meta(obj).get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def owner(view: ClusterView, obj: Obj, kind: str) -> Obj | None:
    """The controlling owner of ``obj`` if it is a ``kind`` that exists in
    the view with the referenced uid (a same-named re-created owner has
    another uid and does not count)."""
    ref = controller_ref(obj)
    if not ref or ref.get("kind") != kind:
        return None
    found = view.by_uid(ref.get("uid"))
    if found is not None and found.get("kind") == kind:
        return found
    return None


def owning_deployment(view: ClusterView, pod: Obj) -> Obj | None:
    rs = owner(view, pod, "ReplicaSet")
    return owner(view, rs, "Deployment") if rs is not None else None


def released_from(pod: Obj) -> str | None:
    """The Deployment whose ReplicaSet made ``pod`` and then let it go, or None.

    Relabelling a Deployment's pod out of its selector (``kubectl label pod
    <name> app=other --overwrite``) makes the ReplicaSet release it: its
    ownerReferences are removed and a replacement is started, but the pod
    keeps running. What still tells where it came from is its
    ``generateName`` ``<deployment>-<pod-template-hash>-`` beside the
    ``pod-template-hash`` label the ReplicaSet gave it."""
    if controller_ref(pod) is not None:
        return None
    generated = meta(pod).get("generateName")
    template_hash = labels(pod).get("pod-template-hash")
    if not isinstance(generated, str) or not template_hash or not generated.endswith(f"-{template_hash}-"):
        return None
    deployment = generated[: -len(template_hash) - 2]
    return deployment or None


def pods_of(view: ClusterView, deployment: Obj) -> list[Obj]:
    """Every pod whose owner chain leads, by uid, to ``deployment``
    (including pods of older ReplicaSets during a rollout)."""
    ns = meta(deployment).get("namespace")
    dep_uid = uid(deployment)
    rs_uids = {
        uid(rs)
        for rs in view.objects("ReplicaSet", ns)
        if (ref := controller_ref(rs)) and ref.get("kind") == "Deployment" and ref.get("uid") == dep_uid
    }
    return [
        p for p in view.objects("Pod", ns)
        if (ref := controller_ref(p)) and ref.get("kind") == "ReplicaSet" and ref.get("uid") in rs_uids
    ]


def pod_condition(pod: Obj, cond: str) -> bool:
    for c in status(pod).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == cond:
            return c.get("status") == "True"
    return False


def pod_ready(pod: Obj) -> bool:
    """Running, Ready and not on its way out: the pods a Service would route to."""
    return status(pod).get("phase") == "Running" and pod_condition(pod, "Ready") and not is_terminating(pod)


def routed(service: Obj, pod: Obj) -> bool:
    """Whether the endpoint controllers publish ``pod`` as a ready endpoint
    of ``service`` (given it is selected): a Ready pod, or, when the Service
    sets ``publishNotReadyAddresses`` (common on headless Services), any
    running or pending pod with an address, ready or not."""
    if pod_ready(pod):
        return True
    return bool(spec(service).get("publishNotReadyAddresses")) and not is_terminating(pod) \
        and status(pod).get("phase") not in ("Succeeded", "Failed") and bool(pod_ips(pod))


def pod_ip(pod: Obj) -> str | None:
    st = status(pod)
    return st.get("podIP") or next((i.get("ip") for i in st.get("podIPs") or [] if isinstance(i, dict)), None)


def pod_ips(pod: Obj) -> set[str]:
    st = status(pod)
    ips = {i.get("ip") for i in st.get("podIPs") or [] if isinstance(i, dict) and i.get("ip")}
    if st.get("podIP"):
        ips.add(st["podIP"])
    return ips


def ip_family(ip: str) -> str:
    """``IPv6`` for an address with a colon, else ``IPv4`` (the API's names)."""
    return "IPv6" if ":" in ip else "IPv4"


def primary_family(service: Obj) -> str:
    """The Service's primary IP family: ``spec.ipFamilies[0]``, else the
    family of its ClusterIP, else IPv4 (a dump from before dual-stack).
    DNS answers and the pod names under a headless Service follow it."""
    families = spec(service).get("ipFamilies") or []
    if families and families[0] in ("IPv4", "IPv6"):
        return families[0]
    ip = spec(service).get("clusterIP")
    if isinstance(ip, str) and ip not in ("", "None"):
        return ip_family(ip)
    return "IPv4"


def pod_ip_of(pod: Obj, family: str) -> str | None:
    """The pod's address of ``family`` (podIPs holds one per family)."""
    st = status(pod)
    ordered = [i.get("ip") for i in st.get("podIPs") or [] if isinstance(i, dict) and i.get("ip")]
    if st.get("podIP"):
        ordered.insert(0, st["podIP"])
    return next((ip for ip in ordered if isinstance(ip, str) and ip_family(ip) == family), None)


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in pod_spec.get("containers") or [] if isinstance(c, dict)]


# -- images -------------------------------------------------------------------

_DIGEST = re.compile(r"@[A-Za-z0-9_+.-]+:[0-9a-fA-F]{32,}$")


@dataclass(frozen=True)
class ImageRef:
    registry: str | None
    path: str  # e.g. "library/httpd"
    tag: str | None
    digest: str | None

    @property
    def repository(self) -> str:
        """The image's own name: the last path component (``httpd`` for
        ``docker.io/library/httpd:2.4`` or a mirror's ``.../library/httpd``)."""
        return self.path.rsplit("/", 1)[-1]


def parse_image(ref: str) -> ImageRef:
    """Split an image reference the way the container runtime does: an
    optional registry host (has a dot or a port, or is localhost), a path,
    a tag after the last colon of the last component, an optional digest."""
    s = ref.strip()
    digest = None
    m = _DIGEST.search(s)
    if m:
        digest = m.group(0)[1:]
        s = s[: m.start()]
    registry = None
    first, sep, rest = s.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, s = first, rest
    tag = None
    last = s.rsplit("/", 1)[-1]
    if ":" in last:
        s, tag = s.rsplit(":", 1)
    return ImageRef(registry, s, tag, digest)


# -- selectors ----------------------------------------------------------------

def selector_matches(selector: dict[str, str], obj_labels: dict[str, str]) -> bool:
    """A Service selector (a plain map): every key equal. An empty selector
    selects nothing for a Service (it means "endpoints are managed by hand")."""
    return bool(selector) and all(obj_labels.get(k) == v for k, v in selector.items())


def unselected(selector: dict[str, str], pods: list[Obj]) -> list[Obj]:
    """The live pods (not terminating, not finished) that ``selector`` leaves
    out. Ready endpoints alone cannot show them when they are not ready: a
    Service whose selector misses a workload whose pods are all unready
    (an image still pulling) routes to exactly the ready pods, yet will
    never route to that workload's pods once they are ready."""
    return [p for p in pods if not is_terminating(p) and status(p).get("phase") not in ("Succeeded", "Failed")
            and not selector_matches(selector, labels(p))]


# -- service backends ---------------------------------------------------------

@dataclass(frozen=True)
class Backend:
    """One address a Service routes (or would route) to."""

    ip: str
    ready: bool
    pod: Obj | None  # the Pod the address really belongs to, if any
    target_ref: bool  # the endpoint carried a targetRef (controller-made ones do)
    mirrored: bool  # came from hand-written Endpoints via the mirroring controller
    source: str  # "EndpointSlice" | "Endpoints"

    @property
    def label(self) -> str:
        return name(self.pod) if self.pod is not None else self.ip


def service_backends(view: ClusterView, service: Obj) -> tuple[list[Backend], str]:
    """The Service's endpoints as the data plane sees them.

    EndpointSlices are what kube-proxy and CoreDNS read, so they win; a dump
    without any slices falls back to the legacy Endpoints object.  The same
    pod listed twice (dual-stack slices, split slices) counts once. Returns
    the backends and the kind they were read from.
    """
    ns = meta(service).get("namespace")
    svc_name = name(service)
    if view.has("EndpointSlice"):
        slices = [
            s for s in view.objects("EndpointSlice", ns)
            if labels(s).get(SERVICE_NAME_LABEL) == svc_name and s.get("addressType") in ("IPv4", "IPv6")
        ]
        return _dedupe(_from_slices(view, ns, slices)), "EndpointSlice"
    ep = view.get("Endpoints", ns, svc_name)
    return _dedupe(_from_endpoints(view, ns, ep)), "Endpoints"


def _from_slices(view: ClusterView, ns: str | None, slices: list[Obj]) -> list[Backend]:
    out = []
    for s in slices:
        mirrored = labels(s).get(MANAGED_BY_LABEL) == MIRROR_CONTROLLER
        for ep in s.get("endpoints") or []:
            if not isinstance(ep, dict):
                continue
            cond = ep.get("conditions") or {}
            # The API says a nil `ready` is to be read as ready; terminating ones never are.
            ready = cond.get("ready") is not False and not cond.get("terminating")
            ref = ep.get("targetRef") if isinstance(ep.get("targetRef"), dict) else None
            for ip in ep.get("addresses") or []:
                out.append(Backend(ip, ready, _resolve_pod(view, ns, ref, ip), ref is not None, mirrored, "EndpointSlice"))
    return out


def _from_endpoints(view: ClusterView, ns: str | None, ep: Obj | None) -> list[Backend]:
    if ep is None:
        return []
    out = []
    for subset in ep.get("subsets") or []:
        if not isinstance(subset, dict):
            continue
        for key, ready in (("addresses", True), ("notReadyAddresses", False)):
            for addr in subset.get(key) or []:
                if not isinstance(addr, dict) or not addr.get("ip"):
                    continue
                ref = addr.get("targetRef") if isinstance(addr.get("targetRef"), dict) else None
                out.append(Backend(addr["ip"], ready, _resolve_pod(view, ns, ref, addr["ip"]), ref is not None, False, "Endpoints"))
    return out


def _resolve_pod(view: ClusterView, ns: str | None, ref: dict[str, Any] | None, ip: str) -> Obj | None:
    """The pod behind an address: by targetRef uid when there is one (and
    only if that pod really has the address), else by IP among live pods."""
    if ref is not None and ref.get("kind") == "Pod":
        pod = view.by_uid(ref.get("uid"))
        if pod is None and ref.get("name"):
            pod = view.get("Pod", ref.get("namespace") or ns, ref["name"])
        if pod is not None and ip in pod_ips(pod):
            return pod
        return None
    if not view.has("Pod"):
        return None
    matches = [p for p in view.objects("Pod", ns) if ip in pod_ips(p) and not is_terminating(p)]
    return matches[0] if len(matches) == 1 else None


def _dedupe(backends: list[Backend]) -> list[Backend]:
    seen: dict[str, Backend] = {}
    for b in backends:
        key = uid(b.pod) if b.pod is not None else "ip:" + b.ip
        prev = seen.get(key)
        if prev is None or (b.ready and not prev.ready):
            seen[key] = b
    return sorted(seen.values(), key=lambda b: (b.label, b.ip))


def count_en(n: int, noun: str) -> str:
    """``1 pod``, ``2 pods``: English counts in messages ("1 pods are ready" read wrong)."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def are_en(n: int) -> str:
    return "is" if n == 1 else "are"


def names_list(items: list[str], limit: int = 8, sep: str = ", ") -> str:
    """``a, b, c`` cut to ``limit`` names so evidence stays one readable line."""
    if len(items) <= limit:
        return sep.join(items) if items else "-"
    more = f"…（另有 {len(items) - limit} 个）" if sep == "、" else f"… (+{len(items) - limit})"
    return sep.join(items[:limit]) + sep + more


def names_zh(items: list[str], limit: int = 8) -> str:
    """``a、b、c``: a Chinese list takes the enumeration comma, not ``, ``."""
    return names_list(items, limit, "、")


def not_found(view: ClusterView, namespace: str, kind: str, wanted: str, notes: tuple[Text, ...] = ()) -> Outcome:
    """The failure for an object that should exist: what was asked for, and
    which objects of that kind the namespace does hold (often a typo)."""
    found = [name(o) for o in view.objects(kind, namespace)]
    return failed(
        Text(f"命名空间 {namespace} 中没有 {kind} {wanted}", f"no {kind} {wanted} in namespace {namespace}"),
        expected=Text(f"{kind} {wanted}", f"{kind} {wanted}"),
        observed=Text(f"该命名空间的 {kind}：{names_zh(found)}", f"{kind}s in the namespace: {names_list(found)}"),
        notes=notes,
    )
