"""``labgrade observe ROSTER``: the teacher's live view of a class, and its trustworthy ledgers.

The observer follows every cluster of the roster with one cluster-wide
LIST+WATCH per kind (grader/sources/watch.py on the whole cluster, as the batch's
class read does once: grader/sources/shared_cluster.py), and re-grades a student
when something in their namespace changes (their wget and DNS probes run
then; the DNS questions of the whole cluster share one port-forward).

Each student has a ledger (``LEDGERS/<student_id>.jsonl``) kept exactly as
``labgrade check`` keeps its own (grader/classroom/selfcheck.py's Session, one record
per step the first time it passes, bound to the student and the cluster by
grader/classroom/ledger_binding.py), but signed with the observer's key
(``--key-file``, created on first use, readable by the observer alone): it
is the record of steps 1-5 that step 6's grading can trust, where the
student-side ledger is a convenience. Restart-safe: a restarted observer
reads the ledgers back and goes on.

A student's state is the grid's row: per step done / not yet / error, the
points, and the latest results with their evidence (grader/classroom/observe_web.py
serves it).
"""
from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from grader import kinds, redact
from grader.classroom.roster import missing_namespace
from grader.errors import InputError
from grader.i18n import Text
from grader.view import ClusterView, Obj, build_view

KEY_BYTES = 32
IDLE_REGRADE = 120.0  # every student is re-graded at least this often (a probe can change alone)


def load_or_create_key(path: Path) -> bytes:
    """The observer's signing key: created (random, mode 0600) the first time,
    read back after a restart so its ledgers stay verifiable."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) < 16:
            raise InputError(str(path), "holds no key (at least 16 bytes); delete it to make a new one") from None
        return key
    except OSError as exc:
        raise InputError(str(path), f"cannot create the key file: {exc.strerror or exc}") from None
    key = secrets.token_hex(KEY_BYTES).encode()
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    return key


@dataclass
class StudentState:
    """One row of the class grid."""

    student_id: str
    name: str
    namespace: str
    progress: Any = None  # grader.classroom.selfcheck.Progress of the latest round
    error: Text | None = None
    graded_at: float = 0.0
    rounds: int = 0


class ObservedCluster:
    """One cluster of the roster: its watches, one DNS tunnel, and each namespace's view."""

    def __init__(self, api: Any, reads: tuple[str, ...], phase: str, *, dns_server: str | None = None,
                 location: str = "live"):
        from grader.sources.live import LiveSource
        from grader.sources.shared_cluster import SharedCluster
        from grader.sources.watch import ClusterWatch

        self.api = api
        self.location = location
        # namespace "": every LIST and WATCH is cluster-wide; gets (default Namespace, kubernetes Service) as usual
        self.helper = LiveSource(api, "", phase, location=location, reads=reads, dns_server=dns_server)
        # Namespaces too (one more cluster-wide LIST+WATCH): a roster namespace that does not
        # exist is an error row, as in batch, and its row recovers the moment it is created.
        self.watch = ClusterWatch(self.helper, also=("Namespace",))
        self.dns = SharedCluster(api, reads=reads, dns_server=dns_server)
        self._gets: tuple[int, list[Obj], set[str], dict[str, Text]] | None = None
        self._lock = threading.Lock()

    def start(self) -> "ObservedCluster":
        self.watch.start()
        return self

    def signatures(self) -> dict[str, str]:
        """A fingerprint of each namespace's objects: a student is re-graded when theirs moves."""
        parts: dict[str, list[str]] = {}
        for kind, state in self.watch.kinds.items():
            for key, obj in list(state.objects.items()):
                ns = key.split("/", 1)[1] if kind == "Namespace" else key.split("/", 1)[0]  # a Namespace: its own
                parts.setdefault(ns, []).append(f"{kind}/{key}@{(obj.get('metadata') or {}).get('resourceVersion')}")
        return {ns: hashlib.sha1("\n".join(sorted(p)).encode()).hexdigest() for ns, p in parts.items()}

    def _single_objects(self) -> tuple[list[Obj], set[str], dict[str, Text]]:
        """The rubric's single objects (default Namespace, kubernetes Service), once per change of the cluster."""
        with self._lock:
            if self._gets is not None and self._gets[0] == self.watch.generation:
                return self._gets[1], self._gets[2], self._gets[3]
            generation = self.watch.generation
        objects: list[Obj] = []
        listed: set[str] = set()
        errors: dict[str, Text] = {}
        for read in self.watch.gets:
            try:
                objects.extend(self.helper._get_one(read))
                listed.add(read.kind)
            except Exception as exc:  # noqa: BLE001 - reported like a failed LIST
                from grader.sources.apiread import explain_failure

                errors.setdefault(read.kind, explain_failure(exc, read.kind))
        with self._lock:
            self._gets = (generation, objects, listed, errors)
        return objects, listed, errors

    def namespace_exists(self, namespace: str) -> bool | None:
        """Does ``namespace`` exist, as the watches tell (as batch's
        ``SharedClusterSource.namespace_exists``): yes when it holds anything
        or is among the Namespaces, no when the Namespaces are listed without
        it, None when they could not be listed (no ``list namespaces``)."""
        listed = self.watch.kinds.get("Namespace")
        if listed is None or not listed.synced:
            return None  # cannot tell: the row is graded as ever
        if f"/{namespace}" in listed.objects:
            return True
        prefix = namespace + "/"  # objects seen before their Namespace's event (rare: only when absent)
        return any(kinds.is_namespaced(kind) and any(k.startswith(prefix) for k in list(state.objects))
                   for kind, state in list(self.watch.kinds.items()))

    def view_for(self, namespace: str, phase: str) -> ClusterView:
        from grader.clock import iso, utc_now

        objects, listed, errors = self._single_objects()
        objects = list(objects)
        listed = set(listed)
        errors = dict(errors)
        for kind, state in self.watch.kinds.items():
            if kind in self.watch.extra:
                continue  # followed for the observer (namespace_exists), not read by the rubric
            if state.synced:
                listed.add(kind)
                if kinds.is_namespaced(kind):
                    prefix = namespace + "/"
                    objects.extend(o for k, o in list(state.objects.items()) if k.startswith(prefix))
                else:
                    objects.extend(list(state.objects.values()))
            elif state.error is not None:
                errors[kind] = state.error
        return build_view(objects, kinds=listed, kind_errors=errors, live=True, location=self.location, phase=phase,
                          collected_at=iso(utc_now()), exec_runner=self.helper.exec, dns_runner=self.dns.dns)

    def stop(self) -> None:
        self.watch.stop()
        self.dns.close()


@dataclass
class _NamespaceSource:
    """A student's namespace as an engine Source, cut from the cluster's watches."""

    cluster: ObservedCluster
    namespace: str
    phase: str
    live: bool = True
    last_view: ClusterView | None = None

    @property
    def info(self):
        from grader.outcome import SourceInfo

        return SourceInfo(self.phase, "live", self.cluster.location)

    def view(self) -> ClusterView:
        self.last_view = self.cluster.view_for(self.namespace, self.phase)
        return self.last_view


class Observer:
    """The class: one :class:`ObservedCluster` per (kubeconfig, context), one ledger per student."""

    def __init__(self, rubric: Any, roster: Any, ledgers: Path, key: bytes, *,
                 kubeconfig: str | None = None, context: str | None = None, dns_server: str | None = None,
                 api_factory: Callable[[str | None, str | None], Any] | None = None,
                 rubric_for: Callable[[str], Any] | None = None, allow_exec_credentials: bool = False):
        """``rubric`` is the class's shape (steps, points, phases: the grid);
        ``rubric_for(student_id)`` is a student's own rubric when it declares
        per-student variants: grading everyone against ``rubric`` (a variant's
        preview) would pass whoever used the preview's values and sign that
        into their ledger. Kubeconfigs named by the roster are whoever wrote
        them's files, as in batch: their exec credential plugins and
        auth-providers are refused unless ``allow_exec_credentials``."""
        from grader.classroom import ledger as ledger_mod
        from grader.classroom import ledger_binding
        from grader.reads import rubric_reads
        from grader.classroom.selfcheck import Session

        self.rubric = rubric
        self.phase = rubric.phases[0]
        self.ledgers = Path(ledgers)
        self.ledgers.mkdir(parents=True, exist_ok=True)
        if api_factory is None:
            from grader.sources.live import api_client

            from_roster = frozenset(e.kubeconfig for e in roster.entries if e.kubeconfig)

            def api_factory(kubeconfig: str | None, context: str | None) -> Any:
                allow = allow_exec_credentials or kubeconfig not in from_roster
                return api_client(kubeconfig, context, allow_exec_credentials=allow)
        reads = rubric_reads(rubric)
        self.clusters: dict[tuple[str | None, str | None], ObservedCluster] = {}
        self.students: list[StudentState] = []
        self._sessions: dict[str, Any] = {}
        self._cluster_of: dict[str, ObservedCluster] = {}
        for entry in roster.entries:
            if not entry.live or not entry.namespace:
                raise InputError(str(roster.path), f"line {entry.line}: observe follows live namespaces; "
                                                   f"{entry.student_id} has no namespace (or has dumps)")
            key_ = (entry.kubeconfig or kubeconfig, entry.context or context)
            if key_ not in self.clusters:
                where = "live" + (f" context {key_[1]}" if key_[1] else "")
                self.clusters[key_] = ObservedCluster(api_factory(*key_), reads, self.phase, dns_server=dns_server,
                                                      location=where)
            cluster = self.clusters[key_]
            book = ledger_mod.Ledger(str(self.ledgers / f"{entry.student_id}.jsonl"), key)
            book.binding = ledger_binding.binding(entry.student_id, cluster.api)
            source = _NamespaceSource(cluster, entry.namespace, self.phase)
            own = rubric_for(entry.student_id) if rubric_for is not None else rubric
            self._sessions[entry.student_id] = Session(own, source, book, entry.namespace)
            self._cluster_of[entry.student_id] = cluster
            self.students.append(StudentState(entry.student_id, entry.name, entry.namespace))
        self.version = 0  # bumped by every re-graded student (the dashboard's change signal)
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._signatures: dict[str, str] = {}

    # -- running ------------------------------------------------------------------
    def start(self) -> "Observer":
        for cluster in self.clusters.values():
            cluster.start()
        self._thread = threading.Thread(target=self._loop, name="labgrade-observe", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for cluster in self.clusters.values():
            cluster.stop()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wait_for(self, version: int, timeout: float) -> int:
        """Block until a student is re-graded after ``version`` (or ``timeout``)."""
        end = time.monotonic() + timeout
        with self._changed:
            while self.version == version and not self._stop.is_set():
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return self.version

    def _loop(self) -> None:
        for cluster in self.clusters.values():
            cluster.watch.wait_synced(30)
        generations = {id(c): -1 for c in self.clusters.values()}
        while not self._stop.is_set():
            for cluster in self.clusters.values():
                generations[id(cluster)] = cluster.watch.generation
            self.regrade_changed()
            # sleep until any cluster changes (or a while passes: probes can change on their own)
            first = next(iter(self.clusters.values()), None)
            if first is None:
                return
            end = time.monotonic() + IDLE_REGRADE
            while not self._stop.is_set() and time.monotonic() < end:
                if any(c.watch.generation != generations[id(c)] for c in self.clusters.values()):
                    time.sleep(0.05)  # take the rest of a burst of events
                    break
                first.watch.wait_for_change(generations[id(first)], 0.2)

    def regrade_changed(self) -> int:
        """Re-grade every student whose namespace changed (or who is due); how many were."""
        now = time.monotonic()
        signatures: dict[str, str] = {}
        for cluster in self.clusters.values():
            for ns, sig in cluster.signatures().items():
                signatures[f"{id(cluster)}:{ns}"] = sig
        done = 0
        for student in self.students:
            if self._stop.is_set():
                break
            cluster = self._cluster_of[student.student_id]
            key = f"{id(cluster)}:{student.namespace}"
            due = student.rounds == 0 or now - student.graded_at >= IDLE_REGRADE
            if not due and signatures.get(key) == self._signatures.get(key):
                continue
            self._signatures[key] = signatures.get(key, "")
            self.grade(student)
            done += 1
        return done

    def grade(self, student: StudentState) -> None:
        session = self._sessions[student.student_id]
        try:
            if self._cluster_of[student.student_id].namespace_exists(student.namespace) is False \
                    and not session.ledger.records():
                # A typo in the roster, or a namespace never made: batch's error row, not 0 with every step
                # "not yet". Nothing recorded yet, so nothing to show or sign; the row recovers by itself
                # when the Namespace appears (its watch event re-grades the student). Once steps are
                # recorded the ledger speaks for them, as in `labgrade check`.
                student.progress = None
                student.error = missing_namespace(student.namespace)
            else:
                student.progress = session.round()
                student.error = None
        except InputError as exc:  # a ledger of another cluster or namespace: say so on the row
            student.error = redact.text_pair(Text(str(exc), str(exc)))
        except Exception as exc:  # noqa: BLE001 - one student's trouble never stops the class
            # Masked as a batch's error rows are: an exception can quote a request, headers included.
            detail = redact.text(f"{type(exc).__name__}: {exc}")[:300]
            student.error = Text(f"评分程序内部错误：{detail}", f"internal grader error: {detail}")
        student.graded_at = time.monotonic()
        student.rounds += 1
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    # -- what the dashboard shows -----------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The class as plain JSON: steps, one row per student, the histogram, the most-failed checks."""
        from grader.classroom.observe_state import class_state

        return class_state(self.rubric, self.students, self.version)

    def detail(self, student_id: str) -> dict[str, Any] | None:
        from grader.classroom.observe_state import student_detail

        found = next((s for s in self.students if s.student_id == student_id), None)
        return student_detail(found) if found is not None else None
