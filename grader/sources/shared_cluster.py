"""A class on one cluster: read it once, grade every namespace from memory.

Many courses give each student a namespace on one shared cluster. Grading
them one by one costs eight requests per student (a LIST per kind in their
namespace, plus the ``default`` namespace and the ``kubernetes`` Service),
each on a fresh connection pool: a thousand students is eight thousand
requests and as many TLS handshakes. Here the whole cluster is read with one
cluster-wide LIST per kind (paginated with ``limit``/``continue`` exactly as
kubectl pages, so a big cluster never answers one huge body), the objects
are partitioned by namespace in memory, and each student's view is cut from
that: the same objects, in the same shape, that the per-namespace path
would have listed, so the verdicts are identical.

Only the probes stay per student: the wget in their clientpod (one
pods/exec each) and their DNS questions, which all go through one
pipelined port-forward to CoreDNS for the whole cluster
(:mod:`grader.sources.dns_tunnel`), or to ``--dns-server``. One ApiClient (one
keep-alive connection pool) serves the cluster.

A check that fails on the first look is re-polled as before: from the
second look on, that student's namespace is listed again on its own (the
class read is a snapshot; only a minority of students ever need a second
look). If a cluster-wide LIST is refused (a grader bound with per-namespace
RoleBindings only) the class falls back, student by student, to the
per-namespace path, which needs no cluster-wide rights.
"""
from __future__ import annotations

import functools
import gc
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from grader.clock import iso, utc_now
from grader.i18n import Text
from grader import kinds
from grader.sources.apiread import REQUEST_DEADLINE, KindFailure, ListBudget, Retry, bounded, explain_failure
from grader.sources.gcpause import paused_gc
from grader.sources.live import PAGE, LiveSource  # PAGE: kubectl's --chunk-size, as every LIST pages
from grader.view import ClusterView, DnsResult, Obj, ProbeError, build_view

POOL_PER_JOB = 8  # a re-polled student lists eight things in parallel
#: A class-wide LIST asks for no page after this long (each page has the
#: REQUEST_DEADLINE of any request): a class of a thousand is 13 pages of pods.
CLUSTER_LIST_SECONDS = 60.0


@dataclass(frozen=True)
class ClusterRead:
    """Every kind the rubric reads, for the whole cluster, at one moment.

    ``by_namespace[ns][kind]`` holds a namespace's objects, ``cluster_scoped
    [kind]`` the objects of cluster-scoped kinds (Namespaces, Nodes);
    ``requests`` counts the LIST pages it took. ``kind_errors`` are kinds
    that could not be listed cluster-wide.
    """

    reads: tuple[str, ...]
    by_namespace: dict[str, dict[str, list[Obj]]]
    cluster_scoped: dict[str, list[Obj]]
    kinds: frozenset[str]
    kind_errors: dict[str, Text]
    collected_at: str
    requests: int
    seconds: float

    @property
    def complete(self) -> bool:
        """Could every kind be listed? Otherwise students use the per-namespace path."""
        return not self.kind_errors

    @functools.cached_property
    def namespace_names(self) -> frozenset[str] | None:
        """The cluster's namespaces, when the read listed them (None when not)."""
        if "Namespace" not in self.kinds:
            return None
        return frozenset(o["metadata"].get("name") or "" for o in self.cluster_scoped.get("Namespace", []))

    @functools.cached_property
    def _by_name(self) -> dict[tuple[str, str], dict[str, list[Obj]]]:
        """(kind, namespace) -> name -> objects, built on the first single-object
        read: every student reads the ``default`` Namespace and the
        ``kubernetes`` Service, and scanning a thousand namespaces for one
        name per student made the class's cut quadratic."""
        index: dict[tuple[str, str], dict[str, list[Obj]]] = {}
        for ns, per_kind in self.by_namespace.items():
            for kind, objs in per_kind.items():
                names = index.setdefault((kind, ns), {})
                for o in objs:
                    names.setdefault(o["metadata"].get("name"), []).append(o)
        for kind, objs in self.cluster_scoped.items():
            names = index.setdefault((kind, ""), {})
            for o in objs:
                names.setdefault(o["metadata"].get("name"), []).append(o)
        return index

    def _named(self, read: kinds.Read) -> list[Obj]:
        ns = (read.namespace or "") if kinds.is_namespaced(read.kind) else ""
        return list(self._by_name.get((read.kind, ns), {}).get(read.name, ()))

    def objects_in(self, namespace: str) -> tuple[list[Obj], set[str]]:
        """What the per-namespace path fetches for a lab in ``namespace``
        (its LISTs there, then the single objects, e.g. the ``default``
        Namespace and the ``kubernetes`` Service), and the kinds it covers."""
        lists, gets = kinds.plan(self.reads, namespace)
        out: list[Obj] = []
        listed: set[str] = set()
        for kind in lists:
            if kind not in self.kinds:
                continue
            listed.add(kind)
            if kinds.is_namespaced(kind):
                out.extend(self.by_namespace.get(namespace, {}).get(kind, []))
            else:
                out.extend(self.cluster_scoped.get(kind, []))
        for read in gets:
            if read.kind in self.kinds:
                listed.add(read.kind)
                out.extend(self._named(read))
        return out, listed

    def coredns_pod(self) -> str:
        """The CoreDNS pod a port-forward goes to, from the pods already listed
        (the per-namespace path needs a LIST for it)."""
        from grader.sources.dns_probe import COREDNS_SELECTOR, DNS_NAMESPACE

        key, _, value = COREDNS_SELECTOR.partition("=")
        running = sorted(
            p["metadata"]["name"] for p in self.by_namespace.get(DNS_NAMESPACE, {}).get("Pod", [])
            if (p["metadata"].get("labels") or {}).get(key) == value
            and (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
        )
        if not running:
            raise ProbeError(Text("集群中没有运行中的 CoreDNS Pod（kube-system, k8s-app=kube-dns）",
                                  "no running CoreDNS pod in kube-system (k8s-app=kube-dns)"))
        return running[0]

    def view_for(self, namespace: str, **kw: Any) -> ClusterView:
        objects, listed = self.objects_in(namespace)
        return build_view(objects, kinds=listed, collected_at=self.collected_at, live=True,
                          kind_errors=dict(self.kind_errors), **kw)


def raw_getter(api: Any) -> Callable[[str, list[tuple[str, Any]]], bytes]:
    """GET a path with the client's auth, pool, deadlines and body cap, as raw
    JSON bytes: the live source's own request (no client model classes)."""
    helper = LiveSource(api, "", "")
    return lambda path, query: helper._raw_get(path, query)


#: How far into a LIST page its own metadata is looked for (the list's
#: metadata is a resourceVersion, a continue token and a count).
PEEK_BYTES = 4096
#: How long a page's parse waits for the next page's request to start.
AHEAD_WAIT = 0.05


def peek_continue(page: bytes) -> str | None:
    """The ``continue`` token of a LIST page, read from its head before the
    page is parsed, or None if it is not there to be read cheaply.

    The API server writes a list's ``metadata`` before its ``items`` (Go
    encodes struct fields in order: kind, apiVersion, metadata, items), so
    the token is in the first few hundred bytes. This is a guess to start the
    next request early, never the truth: the caller uses it only when the
    parsed page says the same."""
    head = page[:PEEK_BYTES]
    at = head.find(b'"metadata":')
    if at < 0 or b'"items"' in head[:at]:
        return None
    try:
        meta, _ = json.JSONDecoder().raw_decode(head[at + len(b'"metadata":'):].decode("utf-8", "ignore").lstrip())
    except ValueError:
        return None
    token = meta.get("continue") if isinstance(meta, dict) else None
    return token if isinstance(token, str) and token else None


def read_cluster(api: Any, reads: tuple[str, ...] | None = None, retry: Retry | None = None) -> ClusterRead:
    """One cluster-wide LIST per kind the reads name (in parallel, each paginated,
    each page under the live source's request deadline and body cap).

    The collector is paused meanwhile, as for a dump (:mod:`grader.sources.gcpause`):
    the pages become hundreds of thousands of dicts that nothing frees."""
    from kubernetes.client.exceptions import ApiException

    reads = tuple(reads or kinds.DEFAULT_READS)
    retry = retry or Retry()
    get = raw_getter(api)
    started = time.monotonic()
    pages = [0]
    pages_lock = threading.Lock()

    def fetch(info: kinds.Kind, token: str | None, started: threading.Event | None = None) -> bytes:
        if started is not None:
            started.set()
        query: list[tuple[str, Any]] = [("limit", PAGE)]
        if token:
            query.append(("continue", token))
        data = bounded(lambda: retry.call(lambda: get(info.collection_path(None), query)), REQUEST_DEADLINE)
        with pages_lock:
            pages[0] += 1
        return data

    def list_all(info: kinds.Kind) -> list[Obj]:
        items: list[Obj] = []
        # Each page has its own deadline; the whole LIST is bounded by the budget
        # (bytes, items, no token twice, and the time to ask for another page).
        budget = ListBudget(info.kind, CLUSTER_LIST_SECONDS)
        data = fetch(info, None)
        while True:
            budget.page(data)
            # The next page is asked for while this one is parsed (a big kind is a
            # chain of pages: 13 of pods for a class of 1000, each waiting on the last).
            peeked = peek_continue(data)
            ahead = None
            if peeked and budget.may_follow(peeked):
                started = threading.Event()
                ahead = pool.submit(fetch, info, peeked, started)
                # json.loads holds the interpreter lock for the whole page: let the
                # request go out first (it lets the lock go once it waits on the socket).
                started.wait(AHEAD_WAIT)
            body = json.loads(data)
            page = body.get("items") or []
            for item in page:
                item.setdefault("apiVersion", info.api_version)
                item.setdefault("kind", info.kind)
                items.append(item)
            token = (body.get("metadata") or {}).get("continue")
            if not token:
                return items
            try:
                budget.follow(token, len(page))
            except KindFailure:
                if ahead is not None:
                    ahead.cancel()
                raise
            data = ahead.result() if ahead is not None and token == peeked else fetch(info, token)

    wanted = list(dict.fromkeys(kinds.parse_read(r).kind for r in reads))
    by_namespace: dict[str, dict[str, list[Obj]]] = {}
    cluster_scoped: dict[str, list[Obj]] = {}
    listed: set[str] = set()
    errors: dict[str, Text] = {}
    infos = {kind: kinds.lookup(kind) for kind in wanted}
    for kind, info in infos.items():
        if info is None:
            errors[kind] = Text(f"labgrade 不认识 {kind} 类型", f"labgrade does not know kind {kind}")
    todo = {kind: info for kind, info in infos.items() if info is not None}
    # One worker per kind, and one for each kind's next page.
    with paused_gc(), ThreadPoolExecutor(max_workers=max(2, 2 * len(todo)),
                                         thread_name_prefix="labgrade-class-list") as pool:
        futures = {kind: pool.submit(list_all, info) for kind, info in todo.items()}
        for kind, fut in futures.items():
            try:
                items = fut.result()
            except Exception as exc:  # noqa: BLE001 - every failure becomes a reported reason
                if todo[kind].optional and isinstance(exc, ApiException) and exc.status == 404:
                    continue  # not served: the checks fall back (EndpointSlice -> Endpoints)
                errors[kind] = explain_failure(exc, kind)
                continue
            listed.add(kind)
            if not todo[kind].namespaced:
                cluster_scoped[kind] = items
                continue
            for obj in items:
                ns = obj["metadata"].get("namespace") or ""
                by_namespace.setdefault(ns, {}).setdefault(kind, []).append(obj)
    return ClusterRead(reads, by_namespace, cluster_scoped, frozenset(listed), errors, iso(utc_now()), pages[0],
                       round(time.monotonic() - started, 3))


class _RepolledNamespace(LiveSource):
    """The per-namespace path for a student's second look, asking DNS
    through the cluster's shared tunnel instead of a port-forward of its own."""

    shared_dns: Callable[[str, str], DnsResult] | None = None

    def dns(self, qname: str, rdtype: str = "A") -> DnsResult:
        if self.shared_dns is not None:
            return self.shared_dns(qname, rdtype)
        return super().dns(qname, rdtype)


@dataclass
class SharedClusterSource:
    """One student's namespace on a shared cluster, as an engine Source.

    The first ``view()`` is cut from the class read; any later one (a
    re-poll of a failing check) lists the namespace afresh.
    """

    cluster: "SharedCluster"
    namespace: str
    phase: str
    location: str = "live"
    live: bool = True
    passes: int = 0
    last_view: ClusterView | None = None
    _again: LiveSource | None = field(default=None, repr=False)

    @property
    def info(self):
        from grader.outcome import SourceInfo

        return SourceInfo(self.phase, "live", self.location)

    def view(self) -> ClusterView:
        self.passes += 1
        if self.passes == 1:
            read = self.cluster.read()
            self.last_view = read.view_for(self.namespace, location=self.location, phase=self.phase,
                                           exec_runner=self._repoll().exec, dns_runner=self.cluster.dns)
        else:
            self.last_view = self._repoll().view()
        return self.last_view

    def namespace_exists(self) -> bool | None:
        """Does this student's namespace exist, as the class read tells: yes
        when it holds anything or is among the listed Namespaces, no when
        Namespaces were listed without it, None when the read cannot tell."""
        read = self.cluster.read()
        if read.by_namespace.get(self.namespace):
            return True
        names = read.namespace_names
        return None if names is None else self.namespace in names

    def _repoll(self) -> LiveSource:
        if self._again is None:
            src = _RepolledNamespace(self.cluster.api, self.namespace, self.phase, location=self.location,
                                     retry=self.cluster.retry, dns_server=self.cluster.dns_server,
                                     reads=self.cluster.reads)
            src.shared_dns = self.cluster.dns
            self._again = src
        return self._again


class SharedCluster:
    """One cluster that many roster rows share: one connection pool, one
    class read (taken when the first of its students is graded), one DNS tunnel."""

    def __init__(self, api: Any, *, reads: tuple[str, ...] | None = None, dns_server: str | None = None,
                 retry: Retry | None = None):
        self.api = api
        self.reads = reads
        self.dns_server = dns_server
        self.retry = retry or Retry()
        self._lock = threading.Lock()
        self._read: ClusterRead | None = None
        self._tunnel: Any = None
        self._froze = False
        #: In a forked grading process: DNS questions go to the parent's tunnel.
        self._dns_via: Callable[[str, str], DnsResult] | None = None

    def read(self) -> ClusterRead:
        with self._lock:  # the other workers wait for the one read instead of each making it
            if self._read is None:
                # The class read is most of the process's objects and lives until the
                # end: moved out of the collector's sight (before the collector is back,
                # or its first pass would walk all of it), the collections that every
                # student's reports set off walk only what is new (at 1000 students
                # the collector's time fell from 4.0 to 1.7 s). Reference counting
                # still frees it (parsed JSON holds no cycles); close() hands
                # everything back to the collector.
                with paused_gc():
                    self._read = read_cluster(self.api, self.reads, self.retry)
                    gc.freeze()
                self._froze = True
            return self._read

    def source(self, namespace: str, phase: str, location: str) -> SharedClusterSource:
        return SharedClusterSource(self, namespace, phase, location)

    def dns(self, qname: str, rdtype: str = "A") -> DnsResult:
        if self.dns_server:
            from grader.sources.dns_probe import query_server

            return query_server(self.dns_server, qname, rdtype)
        if self._dns_via is not None:
            return self._dns_via(qname, rdtype)
        with self._lock:
            if self._tunnel is None:
                from grader.sources.dns_tunnel import DnsTunnel

                read = self._read
                self._tunnel = DnsTunnel(self.api, read.coredns_pod if read is not None and "Pod" in read.kinds
                                         else self._find_coredns)
            tunnel = self._tunnel
        return tunnel.query(qname, rdtype)

    def _find_coredns(self) -> str:
        from grader.sources.dns_tunnel import coredns_pod

        return coredns_pod(raw_getter(self.api), self.retry)

    def before_fork(self) -> None:
        """No keep-alive connection may be inherited: two processes would write one socket."""
        self.api.rest_client.pool_manager.clear()

    def after_fork(self, dns: Callable[[str, str], DnsResult]) -> None:
        """In the forked child: a pool of its own, and DNS asked of the parent
        (whose tunnel, if open, stays the parent's: dropped here, not closed)."""
        self._lock = threading.Lock()
        self.api.rest_client.pool_manager.clear()
        self._tunnel = None
        self._dns_via = dns

    @property
    def tunnels_opened(self) -> int:
        return self._tunnel.opened if self._tunnel is not None else 0

    def close(self) -> None:
        if self._tunnel is not None:
            self._tunnel.close()
        self.api.close()
        if self._froze:
            self._froze = False
            gc.unfreeze()


def pool_size(jobs: int) -> int:
    """Connections the one pool keeps: enough for every worker re-polling at
    once, and for the class read (a page and the next one of each kind)."""
    return max(16, min(128, jobs * POOL_PER_JOB))


ClusterKey = tuple[str | None, str | None]  # (kubeconfig, context)


class SharedClusters:
    """The clusters of a roster that two or more rows share, each read once.

    ``counts`` says how many rows use each (kubeconfig, context); a cluster
    with one student keeps the per-namespace path (a class read would list
    every namespace to grade one). ``configuration(key)`` gives the loaded
    kubeconfig (the batch caches it and turns a bad one into the students'
    error rows).
    """

    def __init__(self, counts: dict[ClusterKey, int], configuration: Callable[[ClusterKey], Any], *,
                 jobs: int = 8, dns_server: str | None = None, reads: tuple[str, ...] | None = None):
        self.counts = counts
        self.reads = reads
        self._configuration = configuration
        self.jobs = jobs
        self.dns_server = dns_server
        self._lock = threading.Lock()
        self._clusters: dict[ClusterKey, SharedCluster] = {}
        self._locks: dict[ClusterKey, threading.Lock] = {}

    def shared(self, key: ClusterKey) -> bool:
        return self.counts.get(key, 0) >= 2

    def get(self, key: ClusterKey) -> SharedCluster | None:
        """The cluster of ``key`` read once, or None: not shared, or not
        readable cluster-wide (the students then take the per-namespace path,
        which reports whatever is wrong per student)."""
        if not self.shared(key):
            return None
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            cluster = self._clusters.get(key)
            if cluster is None:
                import copy

                from grader.sources.kube_import import client_and_config

                client, _ = client_and_config()
                cfg = copy.deepcopy(self._configuration(key))
                cfg.connection_pool_maxsize = pool_size(self.jobs)
                cluster = self._clusters[key] = SharedCluster(client.ApiClient(cfg), reads=self.reads,
                                                                   dns_server=self.dns_server)
        return cluster if cluster.read().complete else None

    def clusters(self) -> dict[ClusterKey, SharedCluster]:
        with self._lock:
            return dict(self._clusters)

    def close(self) -> None:
        for cluster in self.clusters().values():
            cluster.close()
