"""StandIn: a read-mostly Kubernetes API server on 127.0.0.1 for the test suite.

The grader's live mode talks to clusters through the official ``kubernetes``
client; tests point that same client at a StandIn through a generated
kubeconfig.  The server runs aiohttp on its own event loop in a background
thread, so synchronous tests (and the synchronous client) simply call it.

Every request is recorded (``.requests``) before anything else happens,
so a test can count LISTs, prove the grader never writes (every write verb
is answered 405 and listed in ``.writes``), and see what exec asked for.
State can be swapped between grading phases with :meth:`StandIn.set_objects`;
``.faults`` injects errors, delays, dropped connections and hung execs;
``.latency`` slows every request for benchmarks.

Held against a real kube-apiserver v1.36 (tests/realcluster_tests/test_standin_contract.py: the
same requests to both over the same objects): list shapes and item fields, paging and continue
tokens, 404 Status bodies, discovery, /version, wget by DNS name over exec and DNS over
port-forward agree. Known differences, kept on purpose:

- It serves the objects it is given: loaded from a ``kubectl get -o yaml|json`` dump they have no
  ``metadata.managedFields`` (kubectl drops them), while a real list always carries them.
- A missing binary is worded as containerd does; the real cluster's kwok nodes say
  ``fork/exec bin/wget: no such file or directory``, and kwok cannot report an exec's non-zero
  exit code at all (an internal error with "exit status N"), which the stand-in does report.
- Selectors: it serves the ones labgrade sends (equalities of labels, of ``metadata.name`` and
  ``metadata.namespace``, joined by commas) and answers 400 to any other, valid or not
  (tests/standin/selectors.py).
- Its shell knows ``2>&1``, ``>&2`` and ``/dev/null`` redirections only (``>&2`` was missing and
  was found by that test).
- Fixed from that test: on exec v4 (the kubelet's own stream) a v1.36 kubelet's status has no
  ``metadata`` (k8s.io/cri-streaming marshals a Status type of its own); the stand-in now follows
  its ``version`` there, and keeps ``"metadata": {}`` for older kubelets and on v5.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple

import yaml
from aiohttp import web

from tests.standin import discovery
from tests.standin import status as st
from tests.standin.coredns import DnsModel
from tests.standin.exec_model import ExecHandler, ExecReply, PodShell
from tests.standin.exec_ws import ExecRecord, _bare, serve_exec
from tests.standin.faults import Fault, Faults
from tests.standin.netmodel import ClusterNetwork
from tests.standin.portforward_ws import serve_portforward
from tests.standin.resources import BY_KIND, RESOURCES, Resource, resource_for
from tests.standin.store import ObjectStore, Snapshot

Obj = dict[str, Any]
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
STREAM_SUBRESOURCES = ("exec", "portforward")
# Paths the system:public-info-viewer role opens to anonymous users.
PUBLIC_PATHS = ("/version", "/healthz", "/livez", "/readyz")


class RecordedRequest(NamedTuple):
    """One request as received; ``query`` maps each parameter to all its values."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


@dataclass(frozen=True)
class Target:
    """A parsed resource URL."""

    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def resource(self) -> Resource | None:
        return resource_for(self.group, self.version, self.plural)


_GROUP_PATH = re.compile(r"^/apis/(?P<group>[^/]+)/(?P<version>[^/]+)/(?P<rest>.+)$")
_CORE_PATH = re.compile(r"^/api/(?P<version>v1)/(?P<rest>.+)$")


def parse_resource_path(path: str) -> Target | None:
    m = _CORE_PATH.match(path) or _GROUP_PATH.match(path)
    if not m:
        return None
    group = m.groupdict().get("group") or ""
    parts = m.group("rest").split("/")
    namespace = None
    if parts[0] == "namespaces" and len(parts) >= 3:
        namespace, parts = parts[1], parts[2:]
    if len(parts) > 3:
        return None
    plural, name, sub = (parts + [None, None])[:3]
    return Target(group, m.group("version"), plural, namespace, name, sub)


class StandIn:
    """A stand-in API server; use as a context manager or call start()/stop().

    :param objects: items as ``kubectl get -o json`` prints them (``List``s are flattened).
    :param token: the bearer token the kubeconfig carries and the server requires.
    :param version: the Kubernetes version served on ``/version``; from 1.30 on,
        exec offered ``v5.channel.k8s.io`` goes through the stream translator.
    :param exec_handler: ``(namespace, pod, container, argv) -> ExecReply``;
        defaults to :class:`PodShell` (busybox-like wget against this cluster).
    :param disabled: resources the cluster does not serve (plural or kind,
        e.g. ``{"endpointslices"}``): 404 and absent from discovery.
    :param latency: seconds added to every request (benchmarks).
    :param anonymous: with no token at all, act like ``--anonymous-auth=true``
        (403 for everything but /version and health) instead of 401.
    :param dns_pod_labels: pods with these labels serve DNS on port 53 via port-forward.
    :param pods_mode: CoreDNS ``pods`` option: insecure, verified or disabled.
    :param time_scale: factor on the seconds commands would really take (wget -T).
    :param tls: ``(cert_pem_path, key_pem_path, ca_pem_path)`` to serve https, as a
        real API server does (the in-cluster config of the client only speaks https).
    """

    def __init__(self, objects: Iterable[Obj] = (), token: str = "test-token", *, version: str = "1.30.2",
                 exec_v5: bool | None = None, exec_handler: ExecHandler | None = None,
                 disabled: Iterable[str] = (), latency: float = 0.0, anonymous: bool = False,
                 user: str = "system:serviceaccount:labgrade:grader",
                 dns_pod_labels: dict[str, str] | None = None, pods_mode: str = "insecure",
                 time_scale: float = 0.0, tls: tuple[str, str, str] | None = None):
        self.token = token
        self.tls = tls
        self.version = version
        self._exec_v5 = exec_v5
        self.exec_handler = exec_handler
        self.latency = latency
        self.bookmark_interval = 1.0  # seconds between watch BOOKMARKs while nothing changes (tests/standin/watch.py)
        self.watch_timeout = 1800.0  # a watch without timeoutSeconds ends after this long
        self.anonymous = anonymous
        self.user = user
        self.dns_pod_labels = dict(dns_pod_labels if dns_pod_labels is not None else {"k8s-app": "kube-dns"})
        self.pods_mode = pods_mode
        self.faults = Faults()
        self.default_exec = PodShell(lambda: (self.network, self.dns), time_scale)
        self.handler_errors: list[BaseException] = []
        self._store = ObjectStore(objects)
        self._disabled: set[str] = set()
        self.disable(*disabled)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._exec_log: list[ExecRecord] = []
        self._sessions: set[asyncio.BaseTransport] = set()
        self._world_cache: tuple[Any, ClusterNetwork, DnsModel] | None = None
        self._dns_serial = 1718000000
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.host = "127.0.0.1"
        self.port: int | None = None

    # Lifecycle ----------------------------------------------------------------

    def start(self) -> "StandIn":
        if self._thread is not None:
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="standin-apiserver", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._astart(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._astop(), self._loop).result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()
            self._thread = self._loop = None

    def __enter__(self) -> "StandIn":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _astart(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        ssl_context = None
        if self.tls is not None:
            import ssl

            ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_context.load_cert_chain(self.tls[0], self.tls[1])
        site = web.TCPSite(self._runner, self.host, 0, ssl_context=ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _astop(self) -> None:
        for transport in list(self._sessions):  # hung execs, clients that never close
            transport.abort()
        if self._runner is not None:
            await self._runner.cleanup()
        await self._loop.shutdown_default_executor()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("StandIn is not started")
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def kubeconfig_path(self, tmp_path: Path | str, *, token: str | None = None, filename: str = "kubeconfig") -> Path:
        """Write a kubeconfig (context ``standin``) for this server; ``token=""`` writes a user without credentials."""
        token = self.token if token is None else token
        config = {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "standin", "cluster": {"server": self.url,
                                                         **({"certificate-authority": self.tls[2]} if self.tls else {})}}],
            "users": [{"name": "standin", "user": {"token": token} if token else {}}],
            "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "standin", "namespace": "default"}}],
            "current-context": "standin",
        }
        path = Path(tmp_path) / filename
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path

    # State -----------------------------------------------------------------------

    def set_objects(self, objects: Iterable[Obj]) -> None:
        """Replace the whole cluster state (a new resourceVersion); old continue tokens stay valid."""
        self._store.replace(objects)

    def compact(self) -> None:
        """Forget old states, as an etcd compaction does: old continue tokens get 410 Expired."""
        self._store.compact()

    def snapshot(self) -> Snapshot:
        return self._store.current

    @property
    def ignored_objects(self) -> list[Obj]:
        """Objects of kinds the stand-in does not serve, from the last set_objects."""
        return list(self._store.ignored)

    def disable(self, *resources: str) -> None:
        """Stop serving resources (plural or kind), like a cluster without that API."""
        for name in resources:
            self._disabled.add(BY_KIND[name].plural if name in BY_KIND else name)

    def enable(self, *resources: str) -> None:
        for name in resources:
            self._disabled.discard(BY_KIND[name].plural if name in BY_KIND else name)

    @property
    def enabled_resources(self) -> list[Resource]:
        return [r for r in RESOURCES if r.plural not in self._disabled]

    @property
    def exec_v5(self) -> bool:
        """Does exec offered v5 go through the 1.30+ stream translator?"""
        if self._exec_v5 is not None:
            return self._exec_v5
        major, minor = (int(x) for x in self.version.split(".")[:2])
        return (major, minor) >= (1, 30)

    def _world(self) -> tuple[ClusterNetwork, DnsModel]:
        snap = self._store.current
        key = (snap.resource_version, frozenset(self._disabled), self.pods_mode)
        cached = self._world_cache
        if cached is None or cached[0] != key:
            network = ClusterNetwork(snap, slices_enabled="endpointslices" not in self._disabled)
            dns = DnsModel(network, pods_mode=self.pods_mode, serial=self._dns_serial)
            cached = self._world_cache = (key, network, dns)
        return cached[1], cached[2]

    @property
    def network(self) -> ClusterNetwork:
        return self._world()[0]

    @property
    def dns(self) -> DnsModel:
        """The CoreDNS model of the current state (also what port-forwarded DNS answers from)."""
        return self._world()[1]

    # Records -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self._exec_log.clear()

    def requests_matching(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Requests with this method (any if None) whose path matches the regex ``path`` (searched)."""
        return [r for r in self.requests
                if (method is None or r.method == method.upper()) and (path is None or re.search(path, r.path))]

    @property
    def writes(self) -> list[RecordedRequest]:
        """Every write attempt (exec and port-forward excluded): a read-only grader leaves this empty."""
        return [r for r in self.requests if r.method in WRITE_METHODS and not _is_stream(r.path)]

    @property
    def exec_log(self) -> list[ExecRecord]:
        with self._lock:
            return list(self._exec_log)

    def _record_exec(self, record: ExecRecord) -> None:
        with self._lock:
            self._exec_log.append(record)

    @contextlib.contextmanager
    def _tracking(self, request: web.Request) -> Iterator[None]:
        """Remember a streaming session so stop() can cut it instead of waiting for it."""
        transport = request.transport
        if transport is not None:
            self._sessions.add(transport)
        try:
            yield
        finally:
            self._sessions.discard(transport)

    def _serves_dns(self, pod: Obj) -> bool:
        labels = pod["metadata"].get("labels") or {}
        running = (pod.get("status") or {}).get("phase") == "Running"
        return running and all(labels.get(k) == v for k, v in self.dns_pod_labels.items())

    async def _run_exec_handler(self, namespace: str, pod: str, container: str, argv: list[str]) -> ExecReply:
        handler = self.exec_handler or self.default_exec
        loop = asyncio.get_running_loop()
        try:
            reply = await loop.run_in_executor(None, handler, namespace, pod, container, argv)
            if not isinstance(reply, ExecReply):
                raise TypeError(f"exec_handler returned {type(reply).__name__}, not ExecReply")
        except Exception as e:  # surfaced to the test through handler_errors and the status
            self.handler_errors.append(e)
            return ExecReply(exit_code=None, status=_bare(st.internal_error(f"stand-in exec handler raised {e!r}")))
        return reply

    # HTTP --------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        query: dict[str, list[str]] = {}
        for k, v in request.query.items():
            query.setdefault(k, []).append(v)
        with self._lock:
            self._requests.append(RecordedRequest(request.method, request.path, query, headers))
        if self.latency:
            await asyncio.sleep(self.latency)
        fault = self.faults.take(request.method, request.path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.hang:  # never answer, not even the upgrade: until the client gives up
                with self._tracking(request):
                    while request.transport is not None and not request.transport.is_closing():
                        await asyncio.sleep(0.2)
                raise _Dropped()
            if fault.drop:
                return self._drop(request)
            if fault.status:
                return self._fault_response(request, fault)
        try:
            self._authenticate(request)
            response = await self._route(request, hang=bool(fault and fault.exec_hang), fault=fault)
        except st.ApiError as e:
            response = _status_response(e.body, e.headers)
        if fault is not None and fault.drip and isinstance(response, web.Response):
            return await self._drip(request, response, fault.drip)
        return response

    async def _drip(self, request: web.Request, response: web.Response, every: float) -> web.StreamResponse:
        """Send ``response`` one byte every ``every`` seconds: each byte is
        well within any per-read timeout, the whole never within reason."""
        body = response.body if isinstance(response.body, bytes) else b""
        stream = web.StreamResponse(status=response.status, headers={
            k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "transfer-encoding")})
        stream.content_length = len(body)
        with self._tracking(request):
            try:
                await stream.prepare(request)
                for i in range(len(body)):
                    await stream.write(body[i:i + 1])
                    await asyncio.sleep(every)
            except (ConnectionError, RuntimeError):
                pass
        return stream

    def _authenticate(self, request: web.Request) -> None:
        auth = request.headers.get("Authorization")
        if auth is None and self.anonymous:
            if request.path.rstrip("/") in PUBLIC_PATHS:
                return
            target = parse_resource_path(request.path)
            if target is None or target.resource is None:
                body = st.status(403, f'forbidden: User "system:anonymous" cannot {request.method.lower()} path "{request.path}"', details={})
                raise st.ApiError(body)
            raise st.ApiError(_forbidden_for(target, request.method, "system:anonymous"))
        # The API server's bearer authenticator reads the scheme case-insensitively
        # (the client's in-cluster config sends "bearer <token>").
        scheme, _, token = (auth or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.token:
            raise st.ApiError(st.unauthorized())

    async def _route(self, request: web.Request, hang: bool, fault: Fault | None = None) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        target = parse_resource_path(path)
        if target is not None and target.plural == "pods" and target.subresource in STREAM_SUBRESOURCES \
                and target.namespace and target.name and target.resource and "pods" not in self._disabled:
            if target.subresource == "exec":
                return await serve_exec(self, request, target.namespace, target.name, hang=hang, fault=fault)
            return await serve_portforward(self, request, target.namespace, target.name, fault=fault)
        if request.method not in ("GET", "HEAD"):  # writes (and anything else) are refused
            raise st.ApiError(st.method_not_allowed())
        if target is None:
            return self._non_resource(path)
        res = target.resource
        if res is None or res.plural in self._disabled or (target.namespace is not None and not res.namespaced):
            raise st.ApiError(st.no_such_path())
        if request.query.get("watch") in ("true", "1"):
            if target.name is not None:
                raise st.ApiError(st.bad_request("watch a collection (with a fieldSelector), not one object"))
            from tests.standin.watch import serve_watch

            return await serve_watch(self, request, res, target.namespace)
        if target.name is None:
            if fault is not None and fault.endless_pages:
                return self._endless_page(res, target.namespace, dict(request.query), fault)
            return _json(self._store.list(res, target.namespace, dict(request.query)))
        if target.subresource not in (None, "status"):
            raise st.ApiError(st.no_such_path())
        if res.namespaced and target.namespace is None:
            raise st.ApiError(st.no_such_path())
        obj = self._store.current.get(res.plural, target.namespace, target.name)
        if obj is None:
            raise st.ApiError(st.not_found(res.group, res.plural, target.name))
        return _json(obj)

    def _endless_page(self, res: Resource, namespace: str | None, query: dict[str, str], fault: Fault) -> web.Response:
        """A first page of the list (whatever continue token was sent) that asks for one more page, forever."""
        query.pop("continue", None)
        body = self._store.list(res, namespace, query)
        body.setdefault("metadata", {})["continue"] = (
            "standin-endless" if fault.endless_pages == "same" else f"standin-endless-{fault.hits}")
        return _json(body)

    def _non_resource(self, path: str) -> web.StreamResponse:
        enabled = self.enabled_resources
        groups = discovery.groups(enabled)
        if path == "/version":
            return _json(discovery.version_info(self.version))
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        if path == "/api":
            return _json(discovery.api_versions(f"{self.host}:{self.port}"))
        if path == "/api/v1":
            return _json(discovery.resource_list("v1", enabled))
        if path == "/apis":
            return _json(discovery.api_group_list(enabled))
        m = re.match(r"^/apis/([^/]+)(?:/(v1))?$", path)
        if m and m.group(1) in groups:
            if m.group(2):
                return _json(discovery.resource_list(f"{m.group(1)}/v1", enabled))
            return _json(discovery.api_group(m.group(1)))
        raise st.ApiError(st.no_such_path())

    def _fault_response(self, request: web.Request, fault: Fault) -> web.StreamResponse:
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        if fault.plain_text:
            text = fault.message or "Too many requests, please try again later.\n"
            return web.Response(status=fault.status, text=text, headers=headers)
        target = parse_resource_path(request.path.rstrip("/"))
        retry = int(fault.retry_after) if str(fault.retry_after).isdigit() else 1
        if target is not None and target.resource is not None:
            if fault.status == 403 and fault.message is None:
                return _status_response(_forbidden_for(target, request.method, self.user), headers)
            body = st.for_code(fault.status, message=fault.message, group=target.group, plural=target.plural,
                               name=target.name, retry_after=retry)
        else:
            body = st.for_code(fault.status, message=fault.message, retry_after=retry)
        return _status_response(body, headers)

    @staticmethod
    def _drop(request: web.Request) -> web.StreamResponse:
        """Close the TCP connection with no response at all (a crashed LB, a reset)."""
        if request.transport is not None:
            request.transport.abort()
        raise _Dropped()


class _Dropped(web.HTTPException):
    """Ends a handler whose connection is already gone; aiohttp writes nothing."""

    status_code = 499


def _is_stream(path: str) -> bool:
    target = parse_resource_path(path.rstrip("/"))
    return target is not None and target.plural == "pods" and target.subresource in STREAM_SUBRESOURCES


def _verb(target: Target, method: str) -> str:
    if target.subresource in STREAM_SUBRESOURCES:
        return "create"
    if method in ("GET", "HEAD"):
        return "get" if target.name else "list"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())


def _forbidden_for(target: Target, method: str, user: str) -> dict:
    return st.forbidden(user, _verb(target, method), target.group, target.plural, target.namespace,
                        target.name, target.subresource)


def _common_headers() -> dict[str, str]:
    return {"Audit-Id": str(uuid.uuid4()), "Cache-Control": "no-cache, private"}


def _json(body: Any) -> web.Response:
    return web.Response(body=json.dumps(body, separators=(",", ":")).encode(), content_type="application/json",
                        headers=_common_headers())


def _status_response(body: dict, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=body["code"], body=st.dumps(body), content_type="application/json",
                        headers={**_common_headers(), **(headers or {})})
