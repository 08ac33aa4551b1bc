"""deploy/rbac.yaml's reader role covers exactly what the bundled rubrics
read, as grader/kinds.py names it: a new lab that reads a new kind fails
here until the RBAC grows with it, and a kind no rubric reads is not granted."""
from __future__ import annotations

from pathlib import Path

import yaml

from grader import kinds, reads, rubric

RBAC = Path(__file__).resolve().parents[2] / "deploy" / "rbac.yaml"


#: Roles that grant reads: the reader (lists in a student namespace) and the
#: by-name gets of the single objects a rubric reads (Namespace:default,
#: Service:default/kubernetes).
READ_ROLES = ("labgrade-reader", "labgrade-cluster-identity", "labgrade-kubernetes-service")


def granted() -> set[tuple[str, str]]:
    docs = [d for d in yaml.safe_load_all(RBAC.read_text(encoding="utf-8")) if d]
    roles = [d for d in docs if d["kind"] == "ClusterRole" and d["metadata"]["name"] in READ_ROLES]
    return {(g, r) for role in roles for rule in role["rules"] if "get" in rule["verbs"]
            for g in rule["apiGroups"] for r in rule["resources"]}


def read_by_bundled_rubrics() -> set[tuple[str, str]]:
    out = set()
    for name in rubric.bundled():
        for r in reads.rubric_reads(rubric.load(name)):
            k = kinds.lookup(kinds.parse_read(r).kind)
            assert k is not None, f"{name} reads a kind grader/kinds.py does not know: {r}"
            out.add((k.group, k.plural))
    return out


def test_the_reader_role_grants_exactly_what_the_bundled_rubrics_read():
    assert granted() == read_by_bundled_rubrics()
