"""Whose and which cluster's progress a ledger record is.

The hmac stops hand edits only from someone without the key, and
``labgrade check`` can sign only with ``LABGRADE_KEY`` in the student's own
environment: the key does not make the student's machine a witness. So
every record also names the student and the cluster it was made for, and
``grade --ledger`` compares them with the cluster the teacher can reach:

* ``student``: the id given to ``check --student``;
* ``cluster.ca``: the SHA-256 fingerprint of the certificate authority the
  kubeconfig trusts for the API server (a fake API server serving a dump of
  the real cluster has another CA), and ``cluster.server``;
* the uids of the ``default`` Namespace and the ``kubernetes`` Service, which
  every record already holds.

A record from another student or cluster is refused with one line. A record
that cannot be compared (the cluster unreachable, a record without these
fields, a cluster without a CA) is *unverified*, and the report says so per
step: a convenience for the student, not proof for the teacher.
"""
from __future__ import annotations

import hashlib
import ssl
from dataclasses import dataclass
from typing import Any, Mapping

from grader.errors import InputError
from grader.i18n import Text
from grader.view import ClusterView

STUDENT = "student"
CLUSTER = "cluster"


def ca_fingerprint(cfg: Any) -> str | None:
    """``sha256:<hex>`` of the first CA certificate ``cfg`` trusts, or None
    (plain http, or the system store)."""
    pem = None
    path = getattr(cfg, "ssl_ca_cert", None)
    if path:
        try:
            with open(path, encoding="ascii", errors="replace") as f:
                pem = f.read()
        except OSError:
            return None
    elif getattr(cfg, "ca_cert_data", None):
        data = cfg.ca_cert_data
        pem = data.decode("ascii", "replace") if isinstance(data, bytes) else str(data)
    if not pem or "-----BEGIN CERTIFICATE-----" not in pem:
        return None
    first = pem[pem.index("-----BEGIN CERTIFICATE-----"):]
    end = first.find("-----END CERTIFICATE-----")
    if end < 0:
        return None
    try:
        der = ssl.PEM_cert_to_DER_cert(first[: end + len("-----END CERTIFICATE-----")] + "\n")
    except ValueError:
        return None
    return "sha256:" + hashlib.sha256(der).hexdigest()


def cluster_of(api: Any) -> dict[str, str | None]:
    """The API server identity of an ApiClient: address and CA fingerprint."""
    from grader.sources.unreachable import server_of

    return {"server": server_of(api), "ca": ca_fingerprint(getattr(api, "configuration", None))}


def binding(student: str | None, api: Any | None) -> dict[str, Any]:
    """The fields ``labgrade check`` adds to every record it writes."""
    return {STUDENT: student, CLUSTER: cluster_of(api) if api is not None else None}


@dataclass(frozen=True)
class LiveIdentity:
    """What the teacher's own connection shows of the graded cluster."""

    uids: Mapping[str, str]
    ca: str | None
    server: str


def check(records: list[Any], path: str, live: LiveIdentity | None, student: str | None,
          namespace_key: str) -> dict[str, Text]:
    """Refuse a ledger of another student or cluster (InputError, one line);
    return, per step, why its first record could not be verified."""
    for r in records:
        said = r.data.get(STUDENT)
        # Ids compare as the roster and the variants compare them: S001 is s001.
        if student and said and str(said).strip().casefold() != student.strip().casefold():
            raise InputError(path, f"record {r.number} was made by student {said!r}, not {student!r}: "
                                   "a ledger belongs to one student", r.line)
        if live is None:
            continue
        ns_then, ns_now = r.uids.get(namespace_key), live.uids.get(namespace_key)
        if ns_then and ns_now and ns_then != ns_now:
            raise InputError(path, f"record {r.number} was made in another cluster than the one graded (its default "
                                   "namespace has another uid): a ledger belongs to one cluster", r.line)
        ca_then = (r.data.get(CLUSTER) or {}).get("ca") if isinstance(r.data.get(CLUSTER), dict) else None
        if ca_then and live.ca and ca_then != live.ca:
            raise InputError(path, f"record {r.number} was made against another API server than the one graded "
                                   f"(its CA fingerprint differs from {live.server}'s): a ledger belongs to one cluster",
                             r.line)
    reasons: dict[str, Text] = {}
    for r in records:
        if r.step in reasons:
            continue
        why = _unverified(r, live, student, namespace_key)
        if why is not None:
            reasons[r.step] = why
    return reasons


#: How every per-step reason begins (the report's one line shows the reasons without it).
UNVERIFIED = Text("未核实：", "unverified: ")


def _unverified(r: Any, live: LiveIdentity | None, student: str | None, namespace_key: str) -> Text | None:
    if live is None:
        return Text("未核实：评分时无法连接被评分的集群，无法确认这条记录属于它",
                    "unverified: the graded cluster could not be reached to confirm this record is its")
    if STUDENT not in r.data or CLUSTER not in r.data:
        return Text("未核实：这条记录没有写明学生和集群（旧版 labgrade 或手写的记录）",
                    "unverified: the record names no student and cluster (an older labgrade, or written by hand)")
    said = r.data.get(STUDENT)
    if not said or not student:
        return Text("未核实：记录或评分没有给出学号（check 与 grade 都用 --student）",
                    "unverified: the record or the grading names no student (use --student with check and grade)")
    cluster = r.data.get(CLUSTER) if isinstance(r.data.get(CLUSTER), dict) else {}
    if not (r.uids.get(namespace_key) and live.uids.get(namespace_key)) or not (cluster.get("ca") and live.ca):
        return Text("未核实：无法比较 API server 的身份（没有 CA 证书指纹或 default 命名空间的 uid）",
                    "unverified: the API server's identity could not be compared (no CA fingerprint or default namespace uid)")
    return None


#: The objects that outlive a lab, by which a record names its cluster.
NAMESPACE_KEY = "Namespace/default"
KUBERNETES_KEY = "Service/default/kubernetes"


def _uid(obj: dict[str, Any]) -> str:
    return (obj.get("metadata") or {}).get("uid") or ""


def identity(view: ClusterView) -> dict[str, str]:
    """The uids of the objects that outlive the lab: the ``default``
    namespace (one per cluster) and the ``kubernetes`` Service."""
    out: dict[str, str] = {}
    if view.has("Namespace"):
        ns = view.get("Namespace", None, "default")
        if ns is not None and _uid(ns):
            out[NAMESPACE_KEY] = _uid(ns)
    if view.has("Service"):
        svc = view.get("Service", "default", "kubernetes")
        if svc is not None and _uid(svc):
            out[KUBERNETES_KEY] = _uid(svc)
    return out


def live_identity(source: Any) -> LiveIdentity | None:
    """The graded cluster as the teacher's connection sees it, or None when
    it cannot be reached (then every step is unverified)."""
    view = source.view()
    if getattr(source, "unreachable", None) is not None:
        return None
    uids = identity(view)
    if not uids:
        return None
    return LiveIdentity(uids, ca_fingerprint(source.api.configuration), source.server)


__all__ = ["LiveIdentity", "binding", "ca_fingerprint", "check", "cluster_of", "live_identity"]
