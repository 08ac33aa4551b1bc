"""The progress ledger: proof, kept by the student's own runs, that a step
passed at some moment.

Steps 1-5 of the Service-discovery lab build state and step 6 tears it
down, so no single look at the cluster can show all six done. ``labgrade
check`` therefore appends one JSON line per step the first time it passes,
holding what the checks saw (the uids of the objects they looked at, their
verdicts and evidence, the exec/DNS probe results), and
:func:`grader.classroom.ledger_report.report_from_ledger` turns the file into the final report.

With ``LABGRADE_KEY`` set each record carries an HMAC-SHA256 over its
canonical JSON, and that JSON holds the previous record's hmac (``prev``),
so a record cannot be edited, dropped from the middle or moved without the
chain breaking at a line this module names.  Dropping records from the end
cannot be detected by any chain, but it only ever removes the student's own
credit.  The key is a shared secret: it proves nothing once the student can
read it, so where it lives is a deployment decision (a lab VM or a grading
container the student cannot inspect).

The uids tie a record to one cluster and namespace: a ledger copied from
another student names another ``default`` namespace (another cluster), and
the ``kubernetes`` Service uid recorded while building is the baseline that
step 6 compares with after cleanup.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

from checks import k8s, registry
from grader.classroom.ledger_binding import KUBERNETES_KEY, NAMESPACE_KEY, identity
from grader.clock import iso
from grader.errors import InputError
from grader.i18n import Text
from grader.outcome import Status, StepResult
from grader.rubric import StepDef
from grader.view import ClusterView, DnsResult, ExecResult, Obj, build_view

DEFAULT_PATH = ".labgrade-ledger.jsonl"
KEY_ENV = "LABGRADE_KEY"

#: The objects that identify a cluster for as long as the lab runs; every
#: record carries their uids.

#: Check parameters that name objects in the lab namespace.
_NAME_PARAMS = ("name", "names", "deployments", "owned_by", "pod", "service")
_STATUSES = {s.value: s for s in Status}
#: Characters of exec output kept per stream: evidence, not an archive.
PROBE_OUTPUT_LIMIT = 2000


def key_from_env(environ: Mapping[str, str] | None = None) -> bytes | None:
    value = (os.environ if environ is None else environ).get(KEY_ENV, "")
    return value.encode("utf-8") if value else None


def canonical(record: Mapping[str, Any]) -> bytes:
    """The bytes the hmac covers: the record without ``hmac``, keys sorted,
    no insignificant whitespace, UTF-8 (a lone surrogate, which JSON's
    ``\\ud800`` in a hand-edited record gives, as its three bytes: encoding
    it strictly raised in the middle of verifying)."""
    body = {k: v for k, v in record.items() if k != "hmac"}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")


def sign(key: bytes, record: Mapping[str, Any]) -> str:
    return hmac.new(key, canonical(record), hashlib.sha256).hexdigest()


def parse_at(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# -- records ----------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    """One line of the ledger, as read (``number`` counts records from 1)."""

    data: dict[str, Any]
    line: int
    number: int

    @property
    def step(self) -> str:
        return self.data["step"]

    @property
    def at(self) -> str:
        return self.data["at"]

    @property
    def namespace(self) -> str:
        return self.data["namespace"]

    @property
    def uids(self) -> dict[str, str]:
        return self.data["uids"]

    @property
    def hmac(self) -> str | None:
        value = self.data.get("hmac")
        return value if isinstance(value, str) and value else None


def _validate(data: Any, path: str, line: int, number: int) -> dict[str, Any]:
    def bad(msg: str) -> InputError:
        return InputError(path, f"record {number} {msg}", line)

    if not isinstance(data, dict):
        raise bad("is not a JSON object")
    for field, kind in (("step", str), ("lab", str), ("at", str), ("namespace", str), ("uids", dict), ("checks", list)):
        if not isinstance(data.get(field), kind):
            raise bad(f"has no valid {field!r}")
    if parse_at(data["at"]) is None:
        raise bad(f"has an unreadable time {data['at'][:40]!r}")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in data["uids"].items()):
        raise bad("has a malformed 'uids'")
    for c in data["checks"]:
        # Finite numbers only: 1e999 reads as infinity, which clamps a failed
        # check to full points, and a NaN fails the report's own invariants.
        if not (isinstance(c, dict) and isinstance(c.get("id"), str) and c.get("status") in _STATUSES
                and all(isinstance(c.get(f), (int, float)) and not isinstance(c.get(f), bool)
                        and math.isfinite(c.get(f)) for f in ("earned", "points"))):
            raise bad("has a malformed check entry")
    if not isinstance(data.get("probes", []), list):
        raise bad("has a malformed 'probes'")
    if not isinstance(data.get("student"), (str, type(None))):
        raise bad("has a malformed 'student'")
    cluster = data.get("cluster")
    if cluster is not None and not (isinstance(cluster, dict)
                                    and all(isinstance(v, (str, type(None))) for v in cluster.values())):
        raise bad("has a malformed 'cluster'")
    return data


class _Constant(ValueError):
    """NaN or Infinity in a record: Python's json reads them, JSON has no such numbers."""


def _no_constant(name: str) -> Any:
    raise _Constant(f"{name} is not a JSON number")


def parse(text: str, path: str) -> list[Record]:
    records: list[Record] = []
    # A byte-order mark is what Windows editors put before UTF-8 text when a
    # student opens the ledger and saves it: no record's bytes change (the
    # hmac covers the records, not the file), so it costs nothing to skip.
    text = text.removeprefix("\ufeff")
    # Only "\n" ends a record: JSON escapes it inside strings, but not U+2028
    # or NEL, which str.splitlines() would also split on.
    for line_no, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        number = len(records) + 1
        try:
            data = json.loads(line, parse_constant=_no_constant)
        except _Constant as exc:
            raise InputError(path, f"record {number} is not valid JSON ({exc})", line_no) from None
        except ValueError as exc:
            raise InputError(path, f"record {number} is not valid JSON ({exc.msg})", line_no) from None
        records.append(Record(_validate(data, path, line_no, number), line_no, number))
    return records


def read(path: str, *, missing_ok: bool = False) -> list[Record]:
    from grader.files import read_input

    if missing_ok and not Path(path).exists():
        return []
    try:
        text = read_input(path, "ledger").decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "is not a labgrade ledger (not UTF-8 text)") from None
    return parse(text, path)


def _same(a: str, b: str) -> bool:
    """Constant-time equality of two strings from a ledger. On ``str``
    ``hmac.compare_digest`` raises TypeError for non-ASCII text, which a
    hand-edited record holds at will: compared as bytes (lone surrogates,
    which JSON's ``\\ud800`` gives, included)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def verify(records: list[Record], key: bytes, path: str) -> None:
    """Raise :class:`InputError` at the first record that breaks the chain,
    saying how: unsigned, edited (or another key), or out of place."""
    if not records:
        return
    valid = [r.hmac is not None and _same(r.hmac, sign(key, r.data)) for r in records]
    prev = ""
    for r, ok in zip(records, valid):
        if r.hmac is None:
            raise InputError(path, f"record {r.number} is not signed (no hmac): it was written without "
                                   f"{KEY_ENV}, or its hmac was removed", r.line)
        if not ok:
            if not any(valid):
                raise InputError(path, f"record {r.number} was edited or is not signed with this key "
                                       f"(no record verifies: is {KEY_ENV} the key the ledger was written with?)", r.line)
            raise InputError(path, f"record {r.number} was edited or is not signed with this key", r.line)
        claimed = r.data.get("prev") or ""
        if not _same(str(claimed), prev):
            later = {x.hmac for x in records[r.number:]}
            copied = next((x for x in records[: r.number - 1] if x.hmac == r.hmac), None)
            if copied is not None:  # nothing was removed: saying so would send the teacher looking for it
                why = f"it repeats record {copied.number}"
            elif claimed in later:
                why = "the records were reordered"
            elif r.number == 1:
                why = "the records before it were removed"
            else:
                why = "a record before it was removed"
            raise InputError(path, f"record {r.number} is out of place ({why}): the hmac chain breaks here", r.line)
        prev = r.hmac or ""


def first_by_step(records: list[Record]) -> dict[str, Record]:
    """Each step's first record: a step recorded again later (two runs that
    raced, a hand-merged file) never replaces the first."""
    out: dict[str, Record] = {}
    for r in records:
        out.setdefault(r.step, r)
    return out


# -- what a record holds ---------------------------------------------------------------

def _named(step: StepDef) -> list[str]:
    names: list[str] = []
    for check in step.checks:
        for param in _NAME_PARAMS:
            value = check.params.get(param)
            for v in value if isinstance(value, list) else [value]:
                if isinstance(v, str) and v and v not in names:
                    names.append(v)
    return names


def looked_at(step: StepDef, view: ClusterView, namespace: str) -> dict[str, str]:
    """``kind/name -> uid`` of the objects the step's checks are about: the
    objects their parameters name, a Deployment's pods (by ownership), a
    Service's ready backend pods, and the cluster's identity objects."""
    out: dict[str, str] = {}

    def add(obj: Obj | None) -> None:
        if obj is not None and k8s.uid(obj):
            out[f"{obj.get('kind')}/{k8s.name(obj)}"] = k8s.uid(obj)

    def safe(kind: str, fn):  # a kind the source could not list: nothing to record
        try:
            return fn() if view.has(kind) else None
        except Exception:  # noqa: BLE001 - recording evidence must never break grading
            return None

    for name in _named(step):
        dep = safe("Deployment", lambda: view.get("Deployment", namespace, name))
        if dep is not None:
            add(dep)
            for pod in safe("Pod", lambda: k8s.pods_of(view, dep) if view.has("ReplicaSet") else []) or []:
                add(pod)
        svc = safe("Service", lambda: view.get("Service", namespace, name))
        if svc is not None:
            add(svc)
            for b in safe("Pod", lambda: k8s.service_backends(view, svc)[0]) or []:
                if b.ready:
                    add(b.pod)
        add(safe("Pod", lambda: view.get("Pod", namespace, name)))
    out.update(identity(view))
    return dict(sorted(out.items()))


def step_probes(step: StepDef, view: ClusterView) -> list[dict[str, Any]]:
    """The exec/DNS results of this round that the step's live checks asked
    for: exec in a pod they name, DNS questions about a service they name."""
    live = [c for c in step.checks if (spec := registry.get(c.use)) is not None and spec.live]
    if not live:
        return []
    names = set(_named(step))
    out = []
    for key in sorted(view.probes):
        r = view.probes[key]
        if isinstance(r, ExecResult) and r.pod in names:
            d = r.to_dict()
            d["stdout"], d["stderr"] = d["stdout"][:PROBE_OUTPUT_LIMIT], d["stderr"][:PROBE_OUTPUT_LIMIT]
            out.append(d)
        elif isinstance(r, DnsResult) and r.qname.split(".")[0] in names:
            out.append(r.to_dict())
    return out


def _text(t: Text | None) -> dict[str, str] | None:
    return t.to_dict() if t is not None else None


def make_record(lab: str, step: StepDef, result: StepResult, view: ClusterView, namespace: str,
                at: datetime) -> dict[str, Any]:
    """A record for ``step`` passing in ``view`` (no ``prev``/``hmac`` yet)."""
    return {
        "step": step.id,
        "lab": lab,
        "at": iso(at),
        "namespace": namespace,
        "uids": looked_at(step, view, namespace),
        "checks": [
            {"id": c.id, "status": c.status.value, "earned": c.earned, "points": c.points,
             "observed": _text(c.outcome.observed), "message": _text(c.outcome.message)}
            for c in result.checks
        ],
        "probes": step_probes(step, view),
    }


def step_done(result: StepResult) -> bool:
    """Every check that carries points passed and nothing failed; a
    0-point check that could not be evaluated (DNS unreachable) does not
    hold the step back, because an error is never the student's fault."""
    if any(c.status is Status.FAILED or (c.status is Status.SKIPPED and c.outcome.graded) for c in result.checks):
        return False
    return all(c.status is Status.PASSED for c in result.checks if c.points > 0)


# -- the file ---------------------------------------------------------------------

class Ledger:
    """A ledger file that ``labgrade check`` reads every round and appends to.

    Appending holds an exclusive lock and re-reads the file under it, so two
    ``check --watch`` windows on one ledger neither duplicate a step nor
    break the hmac chain.
    """

    def __init__(self, path: str, key: bytes | None, binding: Mapping[str, Any] | None = None):
        self.path = path
        self.key = key
        #: Student and cluster every new record names (grader/classroom/ledger_binding.py),
        #: signed with the rest of the record.
        self.binding = dict(binding) if binding else None
        folder = Path(path).parent
        if not folder.is_dir():
            raise InputError(path, "its folder does not exist")

    def records(self) -> list[Record]:
        records = read(self.path, missing_ok=True)
        self._check(records)
        return records

    def _check(self, records: list[Record]) -> None:
        if self.key is not None:
            verify(records, self.key, self.path)
        elif any(r.hmac for r in records):
            raise InputError(self.path, f"its records are signed but {KEY_ENV} is not set: set it as when the "
                                        "ledger was started, or new records could not be verified")

    @contextmanager
    def _locked(self) -> Iterator[Any]:
        try:
            f = open(self.path, "a+", encoding="utf-8")
        except OSError as exc:
            raise InputError(self.path, f"cannot write: {exc.strerror or exc}") from None
        try:
            try:
                import fcntl

                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            except ImportError:  # not POSIX: best effort
                pass
            yield f
        finally:
            f.close()  # releases the lock

    def append(self, entries: list[dict[str, Any]]) -> tuple[list[Record], list[dict[str, Any]]]:
        """Append the entries for steps not recorded yet, chained and signed.
        Returns all records afterwards and the entries really written."""
        with self._locked() as f:
            f.seek(0)
            text = f.read()
            records = parse(text, self.path)
            self._check(records)
            have = {r.step for r in records}
            prev = records[-1].hmac if records else None
            written: list[dict[str, Any]] = []
            lines = []
            for entry in entries:
                if entry["step"] in have:
                    continue  # another run recorded it first: the first one stands
                rec = {k: v for k, v in entry.items() if k not in ("prev", "hmac")}
                if self.binding is not None:
                    rec.update(self.binding)
                rec["prev"] = prev if self.key is not None else None
                rec["hmac"] = sign(self.key, rec) if self.key is not None else None
                prev = rec["hmac"]
                have.add(rec["step"])
                written.append(rec)
                lines.append(json.dumps(rec, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n")
            if lines:
                # A last record without its newline (an editor that strips it, a
                # copy by hand) reads fine, but a record appended after it would
                # share its line, and neither would read again.
                if text and not text.endswith("\n"):
                    lines.insert(0, "\n")
                try:
                    f.seek(0, os.SEEK_END)
                    f.write("".join(lines))
                    f.flush()
                    os.fsync(f.fileno())
                except OSError as exc:
                    raise InputError(self.path, f"cannot write: {exc.strerror or exc}") from None
            line = records[-1].line if records else 0
            for rec in written:
                line += 1
                records.append(Record(rec, line, len(records) + 1))
        return records, written


# -- checking a ledger against the cluster and itself ------------------------------------

def baseline_view(records: list[Record], now: ClusterView) -> ClusterView | None:
    """A one-object view of the ``kubernetes`` Service as the first record
    saw it, for step 6 to compare uids with, when that record comes from
    this cluster (same ``default`` namespace uid)."""
    current = identity(now)
    for r in records:
        uid = r.uids.get(KUBERNETES_KEY)
        if not uid:
            continue
        ns_then, ns_now = r.uids.get(NAMESPACE_KEY), current.get(NAMESPACE_KEY)
        if ns_then and ns_now and ns_then != ns_now:
            return None
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "kubernetes", "namespace": "default", "uid": uid}}
        return build_view([svc], kinds=("Service",), location="ledger", phase="baseline", collected_at=r.at)
    return None


def other_cluster(records: list[Record], now: ClusterView) -> Record | None:
    """The first record made in another cluster than ``now`` (its
    ``default`` namespace has another uid), if any."""
    ns_now = identity(now).get(NAMESPACE_KEY)
    if not ns_now:
        return None
    return next((r for r in records if r.uids.get(NAMESPACE_KEY) not in (None, ns_now)), None)


def kubernetes_recreated(records: list[Record], now: ClusterView) -> Record | None:
    """The first record that saw another ``kubernetes`` Service uid than
    ``now`` in the same cluster: it was deleted (and re-created) since."""
    cur = identity(now)
    for r in records:
        same_cluster = r.uids.get(NAMESPACE_KEY) == cur.get(NAMESPACE_KEY)
        then, there = r.uids.get(KUBERNETES_KEY), cur.get(KUBERNETES_KEY)
        if same_cluster and then and there and then != there:
            return r
    return None


__all__ = [
    "DEFAULT_PATH", "KEY_ENV", "Ledger", "Record", "baseline_view", "canonical", "first_by_step", "identity",
    "key_from_env", "kubernetes_recreated", "looked_at", "make_record", "other_cluster", "parse", "read",
    "sign", "step_done", "step_probes", "verify",
]
