"""One way to turn a run's options into the sources of a grading run.

``grade``, ``collect``, ``check`` and ``verify`` all reach a cluster or a
dump through these: kubectl dumps and bundles get their phase here (named
``cleaned=PATH``, recorded in a bundle, else the rubric's order, with a
warning when the order looks swapped), a state file's phases join them,
and a live source grades the phase the cluster itself shows. ``args`` is
anything with the CLI's attribute names (``kubeconfig``, ``context``,
``dns_server``, ``phase``): the parsed command line, or a roster row's
options.
"""
from __future__ import annotations

from pathlib import Path

from grader.errors import InputError


def split_phase(item: str, phases: tuple[str, ...]) -> tuple[str | None, str]:
    """``cleaned=dump.yaml`` -> ("cleaned", "dump.yaml"); a path that merely
    contains '=' (and exists) is a path."""
    phase, sep, path = item.partition("=")
    if not sep or Path(item).exists():
        return None, item
    if phase not in phases + ("baseline",):
        raise InputError(item, f"unknown phase {phase!r}; this rubric's phases: {', '.join(phases)}")
    return phase, path


def load_dumps(rubric, dumps: list[tuple[str | None, str]], baseline: str | None, namespace: str | None = None,
               notes: list | None = None, *, loader=None) -> tuple[dict, str | None]:
    """Load every dump and give it a phase: named (``(phase, path)``, from
    ``cleaned=PATH`` on a command line), else the phase a labgrade bundle
    records, else the rubric's phases in order. ``loader`` parses them
    (default :func:`grader.sources.snapshot.load_all`; a batch passes its
    dump cache). Returns the sources and the namespace a bundle recorded."""
    items = list(dumps)
    if baseline:
        items.append(("baseline", baseline))
    if not items:  # a live run: no dump reader imported
        return {}, None
    from grader.sources import snapshot
    from grader.engine import StaticSource
    from grader.outcome import SourceInfo

    # Only what the rubric reads in the lab namespace is kept (a dump of a big cluster costs a scan).
    load = loader or snapshot.load_all
    snaps = load([path for _, path in items], rubric, namespace)
    loaded = [(phase, path, snap) for (phase, path), snap in zip(items, snaps)]
    assigned: dict[str, tuple[str, snapshot.Snapshot]] = {}
    by_order: list[str] = []  # phases given only by the dumps' order
    for phase, path, snap in sorted(loaded, key=lambda t: t[0] is None and not t[2].phase):
        if phase is None and not snap.phase:
            by_order.append(next((p for p in rubric.phases if p not in assigned), "?"))
        phase = phase or snap.phase or next((p for p in rubric.phases if p not in assigned), None)
        if phase is None:
            raise InputError(path, f"more dumps than phases ({', '.join(rubric.phases)})")
        if phase in assigned:
            raise InputError(path, f"a second dump for phase {phase!r} (the first: {assigned[phase][0]})")
        assigned[phase] = (path, snap)
    sources = {
        phase: StaticSource(snap.view(location=path, phase=phase), SourceInfo(phase, "snapshot", path, snap.collected_at))
        for phase, (path, snap) in assigned.items()
    }
    recorded = next((snap.namespace for _, snap in assigned.values() if snap.namespace), None)
    if notes is not None and len(rubric.phases) >= 2 and set(rubric.phases[:2]) <= set(by_order):
        from grader import phases

        first, second = (sources[p].fixed for p in rubric.phases[:2])
        warning = phases.swapped(rubric, first, second, namespace or recorded or rubric.namespace)
        if warning is not None:
            notes.append(warning)
    return sources, recorded


def state_sources(state: str | None) -> dict:
    from grader.sources import bundle
    from grader.engine import StaticSource
    from grader.outcome import SourceInfo

    if not state:
        return {}
    return {
        phase: StaticSource(snap.view(location=state, phase=phase), SourceInfo(phase, "snapshot", state, snap.collected_at))
        for phase, snap in bundle.load_state(state).items()
    }


def live_source(args, namespace: str, phase: str, rubric=None, *, api=None, location: str | None = None):
    """The live cluster ``args`` names (kubeconfig, context, dns_server) as
    a source of ``phase``, listing what ``rubric`` reads. ``api``: a client
    made already (a batch's, from its pool)."""
    from grader.sources.live import LiveSource, api_client
    from grader.reads import rubric_reads

    if api is None:
        api = api_client(args.kubeconfig, args.context)
    where = location or "live" + (f" context {args.context}" if args.context else "")
    return LiveSource(api, namespace, phase, location=where, dns_server=args.dns_server,
                      reads=rubric_reads(rubric) if rubric is not None else None)


def namespace_hint(rubric, sources: dict, live, namespace: str):
    """"deployment1 is in namespace lab-42: grade with -n lab-42" when the
    first phase's view holds none of the lab in ``namespace``."""
    from grader import elsewhere

    first = rubric.phases[0]
    source = sources.get(first)
    if live is not None:  # whatever phase it graded: "all gone" may mean "never here"
        view, api = live.last_view, getattr(live, "api", None)
        if view is None or api is None or not elsewhere.missing_everywhere_here(rubric, view, namespace):
            return None
        return elsewhere.in_cluster(rubric, api, namespace)
    view = getattr(source, "fixed", None) if source is not None else None
    if view is None or not elsewhere.missing_everywhere_here(rubric, view, namespace):
        return None
    return elsewhere.in_dump(rubric, source.info.location, namespace)


class Primed:
    """A live source whose first ``view()`` is a pass already made (to
    tell the phase), so deciding the phase costs no extra requests."""

    def __init__(self, source, first):
        self.source = source
        self._first = first

    def view(self):
        first, self._first = self._first, None
        return first if first is not None else self.source.view()

    def __getattr__(self, name: str):
        return getattr(self.source, name)


def live_phase(rubric, make, phase: str | None, sources: dict, namespace: str):
    """The live source and the phase it grades, with the note saying which
    and why: ``phase`` if given (``--phase``), else what the cluster shows
    (the lab's objects there: built; gone: cleaned), else the first phase
    the other sources lack. ``make(phase)`` builds the live source. A phase
    already in ``--state`` is graded again, except that a cluster missing
    some lab object the state's first phase held is being cleaned up, and
    grades the last phase."""
    from grader import phases

    if phase:
        if phase not in rubric.phases:
            raise InputError("--phase", f"unknown phase {phase!r}; this rubric's phases: {', '.join(rubric.phases)}")
        return Primed(make(phase), None), phase, phases.chosen(phase)
    live = make(rubric.phases[0])
    first = live.view()
    held = sources.get(rubric.phases[0])  # the first phase as a --state file or a dump already has it
    built = getattr(held, "fixed", None)
    inferred = phases.infer(rubric, first, namespace, built) if getattr(live, "unreachable", None) is None else None
    if inferred is not None:
        phase, why = inferred.phase, inferred.reason
    else:
        phase = next((p for p in rubric.phases if p not in sources), rubric.phases[-1])
        why = None
    live.phase = phase
    first.phase = phase
    return Primed(live, first), phase, why
