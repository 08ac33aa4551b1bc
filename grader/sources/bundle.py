"""labgrade's own snapshot file: the objects of one phase plus the probe
results a dump cannot hold, so that ``labgrade grade --snapshot`` on it
gives the same verdicts as the live run that wrote it.

A state file (``--state``) is the same thing, one YAML document per phase,
so grading steps 1-5 live and step 6 later still compares the
``kubernetes`` service's uid with what the first run saw.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from grader.errors import InputError
from grader.sources.snapshot import BUNDLE_API, BUNDLE_KIND, Snapshot, load_file
from grader.sources.dumpread import Loader as snapshot_loader  # C when libyaml is there, pure Python otherwise
from grader import kinds
from grader.view import ClusterView


def to_bundle(view: ClusterView, *, phase: str, namespace: str, context: str | None = None) -> dict[str, Any]:
    objects = [o for kind in sorted(view.objects_by_kind, key=lambda k: (kinds.order(k), k))
               for o in view.objects_by_kind[kind]]
    meta: dict[str, Any] = {
        "phase": phase,
        "namespace": namespace,
        "collectedAt": view.collected_at,
        "kinds": sorted(k for k in view.kinds if view.has(k)),
    }
    if context:
        meta["context"] = context
    return {
        "apiVersion": BUNDLE_API,
        "kind": BUNDLE_KIND,
        "metadata": meta,
        "items": objects,
        "probes": [view.probes[k].to_dict() for k in sorted(view.probes)],
    }


def dump(bundles: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(bundles, sort_keys=False, allow_unicode=True, default_flow_style=False)


def load_state(path: str) -> dict[str, Snapshot]:
    """Phase -> Snapshot from a state file; a missing file is an empty state."""
    p = Path(path)
    if not p.exists():
        return {}
    snap = load_file(p)
    if not snap.bundles:
        raise InputError(path, "is not a labgrade state file (no kind: Snapshot documents)")
    return snap.bundles


def merge_state(path: str, bundle: dict[str, Any]) -> str:
    """The state file's text with ``bundle`` replacing its phase's document."""
    docs: list[dict[str, Any]] = []
    p = Path(path)
    if p.exists():
        try:
            docs = [d for d in yaml.load_all(p.read_text(encoding="utf-8"), Loader=snapshot_loader) if isinstance(d, dict)]
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
            raise InputError(path, f"cannot read the state file: {' '.join(str(exc).split())[:200]}") from None
    phase = bundle["metadata"]["phase"]
    docs = [d for d in docs if (d.get("metadata") or {}).get("phase") != phase] + [bundle]
    return dump(docs)
