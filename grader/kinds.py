"""One table of the Kubernetes kinds labgrade knows, and how to reach them.

Everything that names kinds derives from here: the live source's LIST paths,
the dump loader's recognition of typed lists, the order of objects in a
bundle, ``labgrade dump-command`` (the ``kubectl get`` line a student runs)
and the RBAC the grader needs.  A rubric may name any other kind a cluster
serves (a custom resource) by declaring it under ``kinds:``; it then joins
this table for that run through :func:`register`.

A *read* is what a check declares it looks at (``reads=`` on registration):
``Pod`` lists pods in the lab namespace; ``Namespace:default`` or
``Service:default/kubernetes`` GETs one object, so that a lab outside
``default`` still sees the ``kubernetes`` Service without listing
``default``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class Kind:
    """One kind, as discovery would describe it.

    ``keep`` are the top-level fields the checks read, so a dump must keep
    them (``kubectl get -o yaml`` does; a hand-trimmed dump may not).
    ``optional``: an older cluster may not serve it and the checks fall back
    (EndpointSlice -> Endpoints), so a 404 is not an error.
    ``lab_only``: a dump lists it in the lab namespace only (Secrets: a
    student's dump must not carry every token of the cluster), so a dump
    proves its absence there and nowhere else.
    """

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool = True
    keep: tuple[str, ...] = ("metadata", "spec", "status")
    optional: bool = False
    short: str = ""
    lab_only: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """The name ``kubectl get`` takes: the plain plural for built-in
        kinds (what the course teaches), ``plural.group`` for a custom
        resource, whose plural alone may be ambiguous."""
        builtin = any(k is self or k == self for k in BUILTIN)
        return self.plural if builtin or not self.group else f"{self.plural}.{self.group}"

    def collection_path(self, namespace: str | None) -> str:
        """The REST path of the collection (``/apis/apps/v1/namespaces/ns/deployments``)."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def object_path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace)}/{name}"


#: The built-in kinds, in the order kubectl lists them in a multi-kind ``get``
#: and a bundle keeps them: owners before what they own.
BUILTIN: tuple[Kind, ...] = (
    Kind("Namespace", "", "v1", "namespaces", namespaced=False, short="ns"),
    Kind("Node", "", "v1", "nodes", namespaced=False, short="no"),
    Kind("Deployment", "apps", "v1", "deployments", short="deploy"),
    Kind("StatefulSet", "apps", "v1", "statefulsets", short="sts"),
    Kind("DaemonSet", "apps", "v1", "daemonsets", short="ds"),
    Kind("ReplicaSet", "apps", "v1", "replicasets", short="rs"),
    Kind("ControllerRevision", "apps", "v1", "controllerrevisions", keep=("metadata", "revision")),
    Kind("Job", "batch", "v1", "jobs"),
    Kind("CronJob", "batch", "v1", "cronjobs", short="cj"),
    Kind("Pod", "", "v1", "pods", short="po"),
    Kind("Service", "", "v1", "services", short="svc"),
    Kind("Endpoints", "", "v1", "endpoints", keep=("metadata", "subsets"), short="ep"),
    Kind("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices",
         keep=("metadata", "addressType", "endpoints", "ports"), optional=True),
    Kind("ConfigMap", "", "v1", "configmaps", keep=("metadata", "data", "binaryData"), short="cm"),
    Kind("Secret", "", "v1", "secrets", keep=("metadata", "type", "data"), lab_only=True),
    Kind("ServiceAccount", "", "v1", "serviceaccounts", keep=("metadata", "secrets", "imagePullSecrets"), short="sa"),
    Kind("Role", "rbac.authorization.k8s.io", "v1", "roles", keep=("metadata", "rules")),
    Kind("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings", keep=("metadata", "roleRef", "subjects")),
    Kind("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False,
         keep=("metadata", "rules", "aggregationRule")),
    Kind("ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings", namespaced=False,
         keep=("metadata", "roleRef", "subjects")),
    Kind("LimitRange", "", "v1", "limitranges", keep=("metadata", "spec"), short="limits"),
    Kind("ResourceQuota", "", "v1", "resourcequotas", short="quota"),
    Kind("PersistentVolume", "", "v1", "persistentvolumes", namespaced=False, short="pv"),
    Kind("StorageClass", "storage.k8s.io", "v1", "storageclasses", namespaced=False,
         keep=("metadata", "provisioner", "parameters", "reclaimPolicy", "volumeBindingMode", "allowVolumeExpansion"),
         short="sc"),
    Kind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", short="pvc"),
    Kind("Ingress", "networking.k8s.io", "v1", "ingresses", short="ing"),
    Kind("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", short="netpol"),
    Kind("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers", short="hpa"),
)

#: What a source reads when nobody said (the first rubric's kinds, plus the
#: ``default`` namespace and the ``kubernetes`` Service): the behaviour
#: before checks declared their reads, kept for callers that pass no rubric.
DEFAULT_READS: tuple[str, ...] = (
    "Deployment", "ReplicaSet", "Pod", "Service", "Endpoints", "EndpointSlice",
    "Namespace:default", "Service:default/kubernetes",
)

_TABLE: dict[str, Kind] = {k.kind: k for k in BUILTIN}
_EXTRA: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add a kind a rubric declares (a custom resource). Registering the
    same definition twice is fine; a conflicting one is an error."""
    known = lookup(kind.kind)
    if known is None:
        _EXTRA[kind.kind] = kind
        return kind
    # what a declaration can say: a built-in kind declared as the table has it
    # (as lint once advised for a Secret) is the same kind
    if (known.kind, known.group, known.version, known.plural, known.namespaced) != \
            (kind.kind, kind.group, kind.version, kind.plural, kind.namespaced):
        raise ValueError(f"kind {kind.kind} is already known as {known.api_version} {known.plural}")
    return known


def lookup(name: str) -> Kind | None:
    """A kind by its name, plural or short name, any case (``pods``, ``po``, ``Pod``)."""
    found = _TABLE.get(name) or _EXTRA.get(name)
    if found is not None:
        return found
    low = name.lower()
    for k in (*_TABLE.values(), *_EXTRA.values()):
        if low in (k.kind.lower(), k.plural, k.short):
            return k
    return None


def known() -> tuple[Kind, ...]:
    return BUILTIN + tuple(_EXTRA.values())


def names() -> tuple[str, ...]:
    return tuple(k.kind for k in known())


def is_namespaced(kind: str) -> bool:
    k = lookup(kind)
    return True if k is None else k.namespaced


def order(kind: str) -> int:
    """Where ``kind`` goes in a bundle: the table's order, unknown kinds last."""
    for i, k in enumerate(known()):
        if k.kind == kind:
            return i
    return len(known())


def item_kind(list_kind: str) -> str | None:
    """The kind of the items of a typed list (``PodList`` -> ``Pod``); None
    for a plain ``List``, whose items name their own kind."""
    if not list_kind.endswith("List") or list_kind == "List":
        return None
    base = list_kind[: -len("List")]
    k = lookup(base)
    return k.kind if k is not None and k.kind == base else base


# -- reads --------------------------------------------------------------------

@dataclass(frozen=True)
class Read:
    """One thing a check looks at: a whole kind in the lab namespace, or one
    named object (``namespace`` None for a cluster-scoped one)."""

    kind: str
    namespace: str | None = None
    name: str | None = None

    @property
    def is_list(self) -> bool:
        return self.name is None


def parse_read(text: str) -> Read:
    """``Pod`` | ``Namespace:default`` | ``Service:default/kubernetes``."""
    kind, sep, rest = text.partition(":")
    if not sep:
        return Read(kind)
    ns, slash, name = rest.partition("/")
    return Read(kind, ns, name) if slash else Read(kind, None, ns)


def plan(reads: Iterable[str], namespace: str) -> tuple[tuple[str, ...], tuple[Read, ...]]:
    """What a source must fetch for ``reads`` in lab ``namespace``: the kinds
    to LIST there, and the single objects to GET that those lists do not
    already cover (``Service:default/kubernetes`` when the lab is in
    ``default`` comes with the Service list)."""
    lists: list[str] = []
    gets: list[Read] = []
    parsed = [parse_read(r) for r in reads]
    for r in parsed:
        if r.is_list and r.kind not in lists:
            lists.append(r.kind)
    for r in parsed:
        if r.is_list:
            continue
        covered = r.kind in lists and (r.namespace == namespace or not is_namespaced(r.kind))
        if not covered and r not in gets:
            gets.append(r)
    lists.sort(key=order)
    return tuple(lists), tuple(gets)


def dump_command(reads: Iterable[str], namespace: str = "NAMESPACE") -> str:
    """The ``kubectl get`` that dumps what ``reads`` need, with ``-A``: a
    dump that never listed a kind cannot prove something was deleted.

    A ``lab_only`` kind (Secret) is dumped from lab ``namespace`` alone, by
    ``kubectl get --raw`` of its collection: the API's typed ``SecretList``
    names its kind even when it is empty (after the cleanup), where
    ``kubectl get secrets -n NS -o yaml`` prints an untyped empty ``List``
    that proves nothing.  Both go into one folder (``--snapshot DIR``): a
    file per command, so no shell has to append one output to another."""
    lists, gets = plan(reads, "")
    wanted = list(lists) + [g.kind for g in gets if g.kind not in lists]
    resources = []
    apart: list[Kind] = []
    for kind in sorted(dict.fromkeys(wanted), key=order):
        k = lookup(kind)
        if k is not None and k.lab_only:
            apart.append(k)
        else:
            resources.append(k.resource if k is not None else kind.lower())
    if not apart:
        return f"kubectl get {','.join(resources)} -A -o yaml"
    lines = ["mkdir DIR"]
    if resources:
        lines.append(f"kubectl get {','.join(resources)} -A -o yaml > DIR/cluster.yaml")
    lines += [f"kubectl get --raw {k.collection_path(namespace)} > DIR/{k.plural}.json" for k in apart]
    return "\n".join(lines)
