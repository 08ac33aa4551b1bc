"""The API resources the stand-in serves, with what discovery says about them.

One table drives routing, list kinds and the discovery documents, so a
resource switched off (a cluster without EndpointSlices) disappears from
all three at once, as it would on a real cluster.
"""
from __future__ import annotations

from dataclasses import dataclass

_RW = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = _RW

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    def discovery_entry(self) -> dict:
        entry: dict = {"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                       "kind": self.kind, "verbs": list(self.verbs)}
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        return entry


RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",),
             verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    Resource("", "v1", "pods", "pod", "Pod", True, ("po",), ("all",)),
    Resource("", "v1", "services", "service", "Service", True, ("svc",), ("all",),
             verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
    Resource("", "v1", "endpoints", "endpoints", "Endpoints", True, ("ep",)),
    Resource("apps", "v1", "deployments", "deployment", "Deployment", True, ("deploy",), ("all",)),
    Resource("apps", "v1", "replicasets", "replicaset", "ReplicaSet", True, ("rs",), ("all",)),
    Resource("discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", True),
)

# Subresources listed in /api/v1 discovery next to their parent.
POD_SUBRESOURCES = (
    {"name": "pods/exec", "singularName": "", "namespaced": True, "kind": "PodExecOptions", "verbs": ["create", "get"]},
    {"name": "pods/portforward", "singularName": "", "namespaced": True, "kind": "PodPortForwardOptions",
     "verbs": ["create", "get"]},
)

BY_PLURAL = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND = {r.kind: r for r in RESOURCES}


def resource_for(group: str, version: str, plural: str) -> Resource | None:
    return BY_PLURAL.get((group, version, plural))


def resource_of_object(obj: dict) -> Resource | None:
    """The resource an object belongs to, judged by kind and API group (any version of the group)."""
    res = BY_KIND.get(obj.get("kind", ""))
    if res is None:
        return None
    api_version = obj.get("apiVersion", "")
    group = api_version.rpartition("/")[0]
    return res if group == res.group else None
