"""Read a running cluster through the official ``kubernetes`` client.

One grading pass is one LIST per kind in the lab namespace (in parallel),
plus a GET of the ``default`` namespace and, when the lab lives elsewhere,
of the ``kubernetes`` Service: at most eight requests.  Responses are kept
as the API's raw JSON (``_preload_content=False``), the same shape a
``kubectl -o json`` dump has, so live and offline grading see identical
objects.

The grader is read-only: it sends GETs, plus the two websocket upgrades a
rubric asks for (pods/exec of an argv list, pods/portforward to CoreDNS).
Everything that goes wrong on the grader's side (RBAC, a kind the cluster
does not serve, throttling, an unreachable server) becomes a per-kind
reason that the checks report as ``error``, never as lost points; when no
request reached the server at all, :attr:`LiveSource.unreachable` is the one
line that says where and why (grader/sources/unreachable.py).

Every request has a wall-clock deadline enforced on its socket
(grader/sources/deadline.py: ``REQUEST_DEADLINE`` per LIST with its pages and
retries), exec and port-forward have theirs (grader/sources/exec_ws.py), and every
credential the kubeconfig loaded is registered with grader/redact.py, which
every report passes, so no library's error text can carry the token out.
"""
from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from grader import kinds, redact
from grader.clock import iso, utc_now
from grader.errors import InputError
from grader.i18n import Text
from grader.outcome import SourceInfo
from grader.sources.apiread import (  # noqa: F401 - re-exported: callers read them as live.X
    MAX_BODY, REQUEST_DEADLINE, REQUEST_TIMEOUT, KindFailure, ListBudget, Retry, bounded, explain_failure, one_line, read_capped,
)
from grader.sources.unreachable import Unreachable, server_of
from grader.view import ClusterView, DnsResult, ExecResult, Obj, ProbeError, build_view

# The kinds a source lists when no rubric says (from grader/kinds.py), with
# the generated client's names for them (API class, list method, apiVersion):
# kept for callers and tests written when each kind had its own method.
LISTS: dict[str, tuple[str, str, str]] = {
    k.kind: (f"{(k.group.split('.')[0] or 'core').capitalize()}{k.version.capitalize()}Api",
             "list_namespaced_" + re.sub(r"(?<!^)(?=[A-Z])", "_", k.kind).lower(), k.api_version)
    for k in map(kinds.lookup, kinds.plan(kinds.DEFAULT_READS, "")[0]) if k is not None
}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
PAGE = 500  # objects a LIST page asks for (kubectl's --chunk-size)


def _unreachable(server: str, causes: list[str | None]) -> "Unreachable | None":
    """Every request of a pass failed before an HTTP answer (or with 401)."""
    if causes and all(c is not None for c in causes):
        first = next(c for c in causes if c != "network") if any(c != "network" for c in causes) else "network"
        return Unreachable(server, first)  # type: ignore[arg-type]
    return None


def api_client(kubeconfig: str | None = None, context: str | None = None, *,
               allow_exec_credentials: bool = True) -> Any:
    """An ApiClient configured like kubectl: ``--kubeconfig``, else
    ``KUBECONFIG`` (a colon-separated list is merged), else
    ``~/.kube/config``, else the in-cluster service account.

    The file is read by :mod:`grader.sources.kubeconfig` first (a malformed one is
    one line with file and line), ``allow_exec_credentials=False`` refuses
    exec plugins and auth-providers before the client could run them, and
    credential files outside the kubeconfig's folder before the client could
    send them to the file's server; every credential loaded is registered
    for redaction."""
    from grader.sources import kube_import

    client, config = kube_import.client_and_config()  # only these: a cold `labgrade grade` is mostly imports
    from kubernetes.config.config_exception import ConfigException

    from grader.sources import deadline, kubeconfig as kc

    cfg = client.Configuration()
    paths = kc.files(kubeconfig)
    where = ", ".join(paths) or kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
    docs = [(p, kc.parse(p)) for p in paths]
    if not allow_exec_credentials:
        for path, doc in docs:
            found = kc.credential_commands(path, doc)
            if found:
                raise InputError(path, found[0].refusal())
            foreign = kc.foreign_credential_files(path, doc)
            if foreign:
                raise InputError(path, foreign[0])
    for path, doc in docs:
        kc.check_files(path, doc)
        kc.register_secrets(path, doc)
    kc.bound_exec_plugins()
    try:
        if paths or kubeconfig:
            config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=cfg)
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            where = "in-cluster config"
            config.load_incluster_config(client_configuration=cfg)
        else:
            raise InputError("kubeconfig", "no kubeconfig (set KUBECONFIG or --kubeconfig) and not running in a pod")
    except ConfigException as exc:
        raise InputError(where, f"cannot use it: {one_line(str(exc))}") from None
    except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise InputError(where, f"cannot read it: {one_line(str(exc))}") from None
    kc.harden(cfg)
    import urllib3

    cfg.retries = urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False)
    cfg.connection_pool_maxsize = 8
    return deadline.install(client.ApiClient(cfg))


@dataclass
class LiveSource:
    """A live cluster as a grading source: each ``view()`` is one fresh pass."""

    api: Any
    namespace: str
    phase: str
    location: str = "live"
    retry: Retry = field(default_factory=Retry)
    dns_server: str | None = None  # "ip[:port]": ask this server directly (in-cluster)
    live: bool = True
    passes: int = 0
    last_view: ClusterView | None = None
    _coredns_pod: str | None = None  # found once per source, not once per question
    _dns_tunnel: Any = field(default=None, repr=False, compare=False)
    #: What the rubric's checks read (grader/kinds.py syntax); None: the defaults.
    reads: tuple[str, ...] | None = None
    #: Set by :meth:`view` when no request of the pass reached the API
    #: server (or all got 401): the one line ``grade``, ``check`` and batch show.
    unreachable: Unreachable | None = None

    def __post_init__(self) -> None:
        from grader.sources import deadline

        deadline.install(self.api)  # a client made elsewhere (batch) gets request deadlines too

    @property
    def server(self) -> str:
        return server_of(self.api)

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(self.phase, "live", self.location)

    # -- reading --------------------------------------------------------------
    def _list(self, kind: str) -> list[Obj]:
        """One paginated LIST of ``kind`` in the lab namespace (see :meth:`_pages`)."""
        return [item for body in self._pages(kind) for item in body.get("items") or []]

    def _pages(self, kind: str) -> Iterator[dict[str, Any]]:
        """The pages of one paginated LIST of ``kind`` in the lab namespace, by
        its REST path from grader/kinds.py (any kind the cluster serves, custom
        resources included, through the same client, auth and retries), each
        parsed, its items stamped with apiVersion and kind. All pages count
        against one :class:`ListBudget`; a list still paging when the
        deadline passes is a list that does not end, not a server that does
        not answer. The pass and the watches' LIST both read here."""
        info = kinds.lookup(kind)
        if info is None:
            raise KindFailure(Text(f"labgrade 不认识 {kind} 类型（在评分标准的 kinds: 中声明它）",
                                   f"labgrade does not know kind {kind} (declare it under the rubric's kinds:)"))
        token = None
        budget = ListBudget(kind)
        while True:
            query: list[tuple[str, Any]] = [("limit", PAGE)]
            if token:
                query.append(("continue", token))
            try:
                data = self.retry.call(lambda: self._raw_get(info.collection_path(self.namespace), query))
            except Exception:
                from grader.sources.deadline import current

                bound = current()
                if budget.pages and bound is not None and bound.expired:  # it answered, page after page
                    raise budget.unfinished(bound.seconds) from None
                raise
            budget.page(data)
            body = json.loads(data)
            page = body.get("items") or []
            for item in page:
                item.setdefault("apiVersion", info.api_version)
                item.setdefault("kind", kind)
            yield body
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                return
            budget.follow(token, len(page))

    def _raw_get(self, path: str, query: list[tuple[str, Any]] | None = None) -> bytes:
        """A GET of ``path`` with the client's auth, as raw JSON bytes; a
        non-2xx answer raises ApiException like the generated methods do."""
        from kubernetes.client.exceptions import ApiException

        request = self.api.param_serialize(method="GET", resource_path=path, query_params=query or [],
                                           header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
        from grader.sources.deadline import DeadlineExceeded, current

        bound = current()
        timeout: Any = REQUEST_TIMEOUT
        if bound is not None:
            left = bound.left()
            if left <= 0:
                raise DeadlineExceeded(bound.seconds)
            timeout = (min(REQUEST_TIMEOUT[0], left), min(REQUEST_TIMEOUT[1], left))
        resp = self.api.call_api(*request, _request_timeout=timeout)
        try:
            data = read_capped(resp.response, MAX_BODY, path)
        except Exception:
            if bound is not None and bound.expired:
                raise DeadlineExceeded(bound.seconds) from None
            raise
        resp.data = data
        if not 200 <= resp.status <= 299:
            raise ApiException.from_response(http_resp=resp, body=None, data=None)
        return data

    def _get_one(self, read: kinds.Read) -> list[Obj]:
        """One named object (``Service:default/kubernetes``); absent is an
        empty list, not an error: the check decides what absence means."""
        from kubernetes.client.exceptions import ApiException

        info = kinds.lookup(read.kind)
        if info is None:
            raise KindFailure(Text(f"labgrade 不认识 {read.kind} 类型", f"labgrade does not know kind {read.kind}"))
        try:
            data = self.retry.call(lambda: self._raw_get(info.object_path(read.namespace, read.name or "")))
        except ApiException as exc:
            if exc.status == 404:
                return []
            raise
        obj = json.loads(data)
        obj.setdefault("apiVersion", info.api_version)
        obj.setdefault("kind", read.kind)
        return [obj]

    def view(self) -> ClusterView:
        self.passes += 1
        lists, gets = kinds.plan(self.reads or kinds.DEFAULT_READS, self.namespace)
        jobs: dict[str, Callable[[], list[Obj]]] = {kind: (lambda k=kind: self._list(k)) for kind in lists}
        for read in gets:
            jobs[f"{read.kind}@{read.namespace or ''}/{read.name}"] = lambda r=read: self._get_one(r)
        objects: list[Obj] = []
        listed: set[str] = set()
        errors: dict[str, Text] = {}
        causes: list[str | None] = []
        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
            futures = {name: pool.submit(bounded, fn, REQUEST_DEADLINE) for name, fn in jobs.items()}
            for name, fut in futures.items():
                kind = name.split("@")[0]
                try:
                    objects.extend(fut.result())
                    listed.add(kind)
                    causes.append(None)
                except Exception as exc:  # noqa: BLE001 - every failure becomes a reported reason
                    from kubernetes.client.exceptions import ApiException

                    from grader.sources.unreachable import cause

                    info = kinds.lookup(kind)
                    if info is not None and info.optional and isinstance(exc, ApiException) and exc.status == 404:
                        causes.append(None)
                        continue  # not served: the checks fall back to Endpoints
                    causes.append(None if isinstance(exc, KindFailure) else cause(exc))
                    errors.setdefault(kind, explain_failure(exc, kind, self.server))
        self.unreachable = _unreachable(self.server, causes)
        if self.unreachable is not None:  # one line for the whole pass, the same under every check
            errors = {kind: self.unreachable.text for kind in errors}
        self.last_view = build_view(
            objects, kinds=listed, location=self.location, phase=self.phase, live=True,
            collected_at=iso(utc_now()),
            kind_errors=errors, exec_runner=self.exec, dns_runner=self.dns,
        )
        return self.last_view

    # -- probes -----------------------------------------------------------------
    def exec(self, namespace: str, pod: str, argv: list[str], *, container: str | None = None,
             timeout: float = 15.0) -> ExecResult:
        from grader.sources.exec_ws import run_exec

        if not DNS_LABEL.match(namespace) or not DNS_LABEL.match(pod):
            raise ProbeError(Text("Pod 或命名空间名称不合法，不执行命令", "invalid pod or namespace name; nothing was run"))
        return run_exec(self.api, namespace, pod, argv, container=container, timeout=timeout)

    def dns(self, qname: str, rdtype: str = "A") -> DnsResult:
        from grader.sources.dns_probe import query_server

        if self.dns_server:
            return query_server(self.dns_server, qname, rdtype)
        if self._dns_tunnel is None:  # one port-forward for all the questions of this source (grader/sources/dns_tunnel.py)
            import weakref

            from grader.sources.dns_probe import prefetch
            from grader.sources.dns_tunnel import DnsTunnel, coredns_pod

            prefetch()  # the DNS codec's import overlaps the tunnel's opening

            me = weakref.ref(self)  # no cycle: the tunnel closes as soon as the source is dropped
            retry = self.retry
            self._dns_tunnel = DnsTunnel(self.api, lambda: coredns_pod(me()._raw_get, retry))  # type: ignore[union-attr]
            weakref.finalize(self, self._dns_tunnel.close)
        return self._dns_tunnel.query(qname, rdtype)
