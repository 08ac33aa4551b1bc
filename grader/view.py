"""ClusterView: the one read-only window the checks have on a cluster.

A view is the state of one cluster at one moment, already fetched: the
objects as plain dicts in the API's own JSON shape (camelCase, exactly what
``kubectl get -o json`` prints), so a live run and a dump of the same cluster
give the checks identical input and identical verdicts.  Probes (exec, DNS)
go through the view too, so a check never talks to the API itself: a live
view runs them, a snapshot view answers from recorded results or says it
cannot.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from grader import kinds as kind_table
from grader.i18n import Text

Obj = dict[str, Any]

# The kinds the first rubric reads, in bundle order; every kind labgrade
# knows (and whether it is namespaced) lives in grader/kinds.py.
KINDS = tuple(k.kind for k in kind_table.BUILTIN if k.kind in {kind_table.parse_read(r).kind for r in kind_table.DEFAULT_READS})
CLUSTER_SCOPED = frozenset(k.kind for k in kind_table.BUILTIN if not k.namespaced)


class MissingKind(Exception):
    """The source holds no objects of a kind at all, so absence proves nothing.

    Raised by :meth:`ClusterView.objects`; the engine turns it into an
    ``error`` outcome (never lost points) with ``reason``.
    """

    def __init__(self, kind: str, reason: Text):
        super().__init__(f"{kind}: {reason.en}")
        self.kind = kind
        self.reason = reason


class ProbeUnavailable(Exception):
    """A probe cannot run on this source (a dump has no live cluster)."""

    def __init__(self, reason: Text):
        super().__init__(reason.en)
        self.reason = reason


class ProbeError(Exception):
    """A probe was attempted and the grader's side of it broke (403 on
    pods/exec, API unreachable): an ``error`` outcome, not the student's fault."""

    def __init__(self, reason: Text):
        super().__init__(reason.en)
        self.reason = reason


@dataclass(frozen=True)
class ExecResult:
    """What one command run in a pod gave back.

    ``exit_code`` is None when the command never produced one: ``failure``
    then says why (``not-found`` for a missing binary, ``timeout``, or a
    runtime message).
    """

    argv: tuple[str, ...]
    stdout: str
    stderr: str
    exit_code: int | None
    failure: str | None = None
    duration: float = 0.0
    pod: str = ""
    namespace: str = ""
    container: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "exec",
            "namespace": self.namespace,
            "pod": self.pod,
            "container": self.container,
            "argv": list(self.argv),
            "stdout": self.stdout,
            "stderr": self.stderr,
            "exitCode": self.exit_code,
            "failure": self.failure,
            "duration": round(self.duration, 3),
        }


@dataclass(frozen=True)
class DnsResult:
    """What the cluster DNS answered for one name.

    ``rcode`` is the DNS response code name (NOERROR, NXDOMAIN, ...) or
    None when no answer came (``failure`` says why).
    """

    qname: str
    rdtype: str
    rcode: str | None
    answers: tuple[str, ...] = ()
    failure: str | None = None
    server: str = ""
    duration: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "dns",
            "qname": self.qname,
            "rdtype": self.rdtype,
            "rcode": self.rcode,
            "answers": list(self.answers),
            "failure": self.failure,
            "server": self.server,
            "duration": round(self.duration, 3),
        }


def exec_key(namespace: str, pod: str, argv: Iterable[str]) -> str:
    return "exec " + namespace + "/" + pod + " " + "\x1f".join(argv)


def dns_key(qname: str, rdtype: str) -> str:
    return f"dns {qname.lower().rstrip('.')} {rdtype.upper()}"


@dataclass
class ClusterView:
    """Objects of one moment, indexed for the checks.

    ``kinds`` are the kinds the source really listed (even if it found none
    of them); a kind outside it raises :class:`MissingKind` when asked for,
    because "no Deployments in a dump that never listed Deployments" must
    not read as "the student deleted them".

    ``lab_namespace``: set on a dump's view for the grading, where kinds the
    table marks ``lab_only`` (Secrets) count as listed in that namespace
    alone: the dump recipe lists them there only, so a Secret of another
    namespace that is not in the dump is not claimed gone.
    """

    objects_by_kind: dict[str, list[Obj]]
    kinds: frozenset[str]
    location: str = ""
    phase: str = ""
    collected_at: str | None = None
    live: bool = False
    probes: dict[str, ExecResult | DnsResult] = field(default_factory=dict)
    kind_errors: dict[str, Text] = field(default_factory=dict)
    exec_runner: Callable[..., ExecResult] | None = None
    dns_runner: Callable[[str, str], DnsResult] | None = None
    lab_namespace: str | None = None
    _by_uid: dict[str, Obj] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for kind, items in self.objects_by_kind.items():
            items.sort(key=_sort_key)
            for obj in items:
                uid = obj.get("metadata", {}).get("uid")
                if uid:
                    self._by_uid[uid] = obj

    # -- objects -----------------------------------------------------------
    def has(self, kind: str) -> bool:
        return kind in self.kinds and kind not in self.kind_errors

    def objects(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """All objects of ``kind`` (in ``namespace`` when given), sorted by
        namespace then name so that every report is deterministic."""
        if kind in self.kind_errors:
            raise MissingKind(kind, self.kind_errors[kind])
        if kind not in self.kinds and getattr(kind_table.lookup(kind), "lab_only", False):
            raise MissingKind(
                kind,
                Text(
                    f"输入中没有任何 {kind} 列表，无法判断（按 labgrade dump-command 打印的命令，从实验命名空间导出 {kind.lower()}）",
                    f"the input holds no list of {kind}s, so nothing can be concluded "
                    f"(dump the lab namespace's {kind.lower()} as `labgrade dump-command` prints)",
                ),
            )
        if kind not in self.kinds:
            raise MissingKind(
                kind,
                Text(
                    f"输入中没有任何 {kind} 对象，无法判断（导出时请按 README 的命令包含 {kind.lower()}，并使用 -A）",
                    f"the input holds no {kind} objects at all, so nothing can be concluded "
                    f"(include {kind.lower()} in the kubectl command, with -A, as the README shows)",
                ),
            )
        items = self.objects_by_kind.get(kind, [])
        if self.lab_namespace is not None and not self.live and getattr(kind_table.lookup(kind), "lab_only", False):
            if namespace is not None and namespace != self.lab_namespace:
                raise MissingKind(
                    kind,
                    Text(
                        f"导出文件只列出命名空间 {self.lab_namespace} 的 {kind}，无法判断命名空间 {namespace} 中的",
                        f"the dump lists the {kind}s of namespace {self.lab_namespace} only, "
                        f"so it cannot show those of namespace {namespace}",
                    ),
                )
            namespace = self.lab_namespace
        if namespace is None or not kind_table.is_namespaced(kind):
            return list(items)
        return [o for o in items if o.get("metadata", {}).get("namespace") == namespace]

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        for obj in self.objects(kind, namespace):
            if obj.get("metadata", {}).get("name") == name:
                return obj
        return None

    def by_uid(self, uid: str | None) -> Obj | None:
        return self._by_uid.get(uid) if uid else None

    # -- probes ------------------------------------------------------------
    def _probe(self, key: str, run: Callable[[], Any] | None, kind: type, what: Text) -> Any:
        """Run the probe live (and record it for a bundle), or answer from a
        recording; a dump without one cannot say, which is not the student's fault."""
        if run is not None:
            self.probes[key] = result = run()
            return result
        recorded = self.probes.get(key)
        if isinstance(recorded, kind):
            return recorded
        raise ProbeUnavailable(
            Text(f"需要{what.zh}，导出文件无法检查此项（用 labgrade grade 连接集群，或用 labgrade collect 收集）",
                 f"needs {what.en}, which a dump cannot show (grade against the cluster, or record it with labgrade collect)")
        )

    def exec(self, namespace: str, pod: str, argv: list[str], *, container: str | None = None,
             timeout: float = 10.0) -> ExecResult:
        runner = self.exec_runner
        run = (lambda: runner(namespace, pod, argv, container=container, timeout=timeout)) if runner else None
        return self._probe(exec_key(namespace, pod, argv), run, ExecResult,
                           Text("在运行中的集群里执行命令", "a command run in a live cluster"))

    def dns(self, qname: str, rdtype: str = "A") -> DnsResult:
        runner = self.dns_runner
        run = (lambda: runner(qname, rdtype)) if runner else None
        return self._probe(dns_key(qname, rdtype), run, DnsResult, Text("查询集群 DNS", "a query to the cluster DNS"))


def _sort_key(obj: Obj) -> tuple[str, str, str]:
    meta = obj.get("metadata", {})
    return (meta.get("namespace") or "", meta.get("name") or "", meta.get("uid") or "")


def build_view(objects: Iterable[Obj], *, kinds: Iterable[str] = (), **kw: Any) -> ClusterView:
    """Group ``objects`` by kind; ``kinds`` adds kinds that were listed but
    came back empty (a typed ``PodList`` with no items)."""
    grouped: dict[str, list[Obj]] = {}
    for obj in objects:
        grouped.setdefault(obj["kind"], []).append(obj)
    return ClusterView(grouped, frozenset(grouped) | frozenset(kinds), **kw)
