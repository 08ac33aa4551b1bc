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
reason that the checks report as ``error``, never as lost points.  Nothing
here ever formats a request header, so the bearer token cannot leak into a
report.
"""
from __future__ import annotations

import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from grader import kinds
from grader.clock import iso, utc_now
from grader.errors import InputError
from grader.i18n import Text
from grader.outcome import SourceInfo
from grader.view import ClusterView, DnsResult, ExecResult, Obj, ProbeError, build_view

# The kinds a source lists when no rubric says (from grader/kinds.py); kept
# as a name for callers that ask "did this view list anything at all".
LISTS: dict[str, kinds.Kind] = {k: kinds.lookup(k) for k in kinds.plan(kinds.DEFAULT_READS, "")[0]}  # type: ignore[misc]
RETRY_STATUSES = {429, 500, 502, 503, 504}
REQUEST_TIMEOUT = (5.0, 20.0)  # connect, read
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class KindFailure(Exception):
    def __init__(self, reason: Text):
        super().__init__(reason.en)
        self.reason = reason


def api_client(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """An ApiClient configured like kubectl: ``--kubeconfig``, else
    ``KUBECONFIG`` (a colon-separated list is merged), else
    ``~/.kube/config``, else the in-cluster service account."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    default_file = Path(os.path.expanduser("~/.kube/config"))
    where = kubeconfig or os.environ.get("KUBECONFIG") or str(default_file)
    try:
        if kubeconfig or os.environ.get("KUBECONFIG") or default_file.exists():
            config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=cfg)
        elif os.environ.get("KUBERNETES_SERVICE_HOST"):
            where = "in-cluster config"
            config.load_incluster_config(client_configuration=cfg)
        else:
            raise InputError("kubeconfig", "no kubeconfig (set KUBECONFIG or --kubeconfig) and not running in a pod")
    except ConfigException as exc:
        raise InputError(where, f"cannot use it: {_one_line(str(exc))}") from None
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(where, f"cannot read it: {_one_line(str(exc))}") from None
    import urllib3

    cfg.retries = urllib3.Retry(total=0, connect=0, read=0, redirect=0, status=0, raise_on_status=False)
    cfg.connection_pool_maxsize = 8
    return client.ApiClient(cfg)


def _one_line(s: str, limit: int = 300) -> str:
    s = " ".join(s.split())
    return s if len(s) <= limit else s[:limit] + "…"


def _status_reason(exc: Any) -> tuple[int, str]:
    """Status code and the server's own message, from an ApiException."""
    message = exc.reason or ""
    try:
        body = json.loads(exc.body) if exc.body else {}
        message = body.get("message") or message
    except (ValueError, TypeError, AttributeError):
        pass
    return int(exc.status or 0), _one_line(str(message))


@dataclass
class Retry:
    """Back off on 429/5xx and broken connections, honouring Retry-After,
    within a small budget so a sick API server cannot stall a class."""

    attempts: int = 4
    base: float = 0.25
    cap: float = 8.0
    sleep: Callable[[float], None] = time.sleep

    def call(self, fn: Callable[[], Any]) -> Any:
        from kubernetes.client.exceptions import ApiException
        import urllib3

        for attempt in range(self.attempts):
            last = attempt == self.attempts - 1
            try:
                return fn()
            except ApiException as exc:
                if exc.status not in RETRY_STATUSES or last:
                    raise
                delay = self._retry_after(exc) or self.base * 2 ** attempt
            except (urllib3.exceptions.HTTPError, OSError):
                if last:
                    raise
                delay = self.base * 2 ** attempt
            self.sleep(min(delay, self.cap))
        raise AssertionError("unreachable")

    @staticmethod
    def _retry_after(exc: Any) -> float | None:
        value = (exc.headers or {}).get("Retry-After") if exc.headers else None
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


def explain_failure(exc: BaseException, what: str) -> Text:
    """A student-safe, token-free reason for a request that failed."""
    from kubernetes.client.exceptions import ApiException

    if isinstance(exc, ApiException):
        code, message = _status_reason(exc)
        if code == 401:
            return Text(f"读取 {what} 时认证失败（401）：凭据无效或已过期", f"unauthorized reading {what} (401): the credentials were rejected")
        if code == 403:
            return Text(f"没有权限读取 {what}（403 RBAC）：{message}", f"forbidden to read {what} (403, RBAC; see deploy/rbac.yaml): {message}")
        if code == 404:
            return Text(f"集群不提供 {what}（404）", f"the cluster does not serve {what} (404)")
        return Text(f"读取 {what} 失败（{code}）：{message}", f"reading {what} failed ({code}): {message}")
    return Text(f"无法连接 API server 读取 {what}：{_one_line(type(exc).__name__)}",
                f"cannot reach the API server to read {what}: {_one_line(type(exc).__name__ + ': ' + str(exc), 200)}")


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
    #: What the rubric's checks read (grader/kinds.py syntax); None: the defaults.
    reads: tuple[str, ...] | None = None

    @property
    def info(self) -> SourceInfo:
        return SourceInfo(self.phase, "live", self.location)

    # -- reading --------------------------------------------------------------
    def _list(self, kind: str) -> list[Obj]:
        """One paginated LIST of ``kind`` in the lab namespace, by its REST
        path from grader/kinds.py: any kind the cluster serves, custom
        resources included, through the same client, auth and retries."""
        info = kinds.lookup(kind)
        if info is None:
            raise KindFailure(Text(f"labgrade 不认识 {kind} 类型（在评分标准的 kinds: 中声明它）",
                                   f"labgrade does not know kind {kind} (declare it under the rubric's kinds:)"))
        items: list[Obj] = []
        token = None
        while True:
            query: list[tuple[str, Any]] = [("limit", 500)]
            if token:
                query.append(("continue", token))
            body = json.loads(self.retry.call(lambda: self._raw_get(info.collection_path(self.namespace), query)))
            for item in body.get("items") or []:
                item.setdefault("apiVersion", info.api_version)
                item.setdefault("kind", kind)
                items.append(item)
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                return items

    def _raw_get(self, path: str, query: list[tuple[str, Any]] | None = None) -> bytes:
        """A GET of ``path`` with the client's auth, as raw JSON bytes; a
        non-2xx answer raises ApiException like the generated methods do."""
        from kubernetes.client.exceptions import ApiException

        request = self.api.param_serialize(method="GET", resource_path=path, query_params=query or [],
                                           header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
        resp = self.api.call_api(*request, _request_timeout=REQUEST_TIMEOUT)
        data = resp.read()
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
        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
            futures = {name: pool.submit(fn) for name, fn in jobs.items()}
            for name, fut in futures.items():
                kind = name.split("@")[0]
                try:
                    objects.extend(fut.result())
                    listed.add(kind)
                except Exception as exc:  # noqa: BLE001 - every failure becomes a reported reason
                    from kubernetes.client.exceptions import ApiException

                    info = kinds.lookup(kind)
                    if info is not None and info.optional and isinstance(exc, ApiException) and exc.status == 404:
                        continue  # not served: the checks fall back to Endpoints
                    errors.setdefault(kind, exc.reason if isinstance(exc, KindFailure) else explain_failure(exc, kind))
        self.last_view = build_view(
            objects, kinds=listed, location=self.location, phase=self.phase, live=True,
            collected_at=iso(utc_now()),
            kind_errors=errors, exec_runner=self.exec, dns_runner=self.dns,
        )
        return self.last_view

    # -- probes -----------------------------------------------------------------
    def exec(self, namespace: str, pod: str, argv: list[str], *, container: str | None = None,
             timeout: float = 15.0) -> ExecResult:
        from grader.exec_ws import run_exec

        if not DNS_LABEL.match(namespace) or not DNS_LABEL.match(pod):
            raise ProbeError(Text("Pod 或命名空间名称不合法，不执行命令", "invalid pod or namespace name; nothing was run"))
        return run_exec(self.api, namespace, pod, argv, container=container, timeout=timeout)

    def dns(self, qname: str, rdtype: str = "A") -> DnsResult:
        from grader.dns_probe import find_coredns_pod, query_server, query_via_portforward

        if self.dns_server:
            return query_server(self.dns_server, qname, rdtype)
        if self._coredns_pod is None:
            self._coredns_pod = find_coredns_pod(self.api, self.retry)
        return query_via_portforward(self.api, qname, rdtype, pod=self._coredns_pod)
