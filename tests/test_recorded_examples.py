"""The bundled examples recorded from a real cluster (``python -m tests.realcluster
record-examples --write``): each is present, loads, says where it came from, and states a verdict
for every check. That the verdicts hold is tests/test_examples.py's job (it grades every case);
the hand-built cases are held against tests/make_examples.py by tests/test_builders.py."""
from __future__ import annotations

import re

import pytest
import yaml

from grader.sources import snapshot
from tests import make_examples
from tests.realcluster.record import CASES as RECORDED
from tests.realcluster.record import DESCRIPTIONS

EXAMPLES = make_examples.ROOT


def expected(case: str) -> dict:
    return yaml.safe_load((EXAMPLES / case / "expected.yaml").read_text(encoding="utf-8"))


def test_every_case_folder_is_recorded_or_hand_built_never_both() -> None:
    folders = {p.name for p in EXAMPLES.iterdir() if p.is_dir()}
    hand = {c.name for c in make_examples.hand_built()}
    assert not hand & set(RECORDED)
    assert folders == hand | set(RECORDED)
    assert set(DESCRIPTIONS) == set(RECORDED)


@pytest.mark.parametrize("case", list(RECORDED))
def test_recorded_case_is_marked_loads_and_states_every_verdict(case: str) -> None:
    doc = expected(case)
    assert doc["source"] == "recorded"
    assert re.fullmatch(r"v1\.\d+\.\d+.*", doc["kubernetes"]), doc["kubernetes"]
    assert doc["namespace"] == RECORDED[case][0]
    assert list(doc["verdicts"]) == list(make_examples.CORRECT_VERDICTS)
    assert set(doc["verdicts"].values()) <= {"passed", "failed", "skipped"}
    readme = (EXAMPLES / case / "README.md").read_text(encoding="utf-8")
    assert f"source: recorded (Kubernetes {doc['kubernetes']}" in readme
    phases = {p.stem: p for p in (EXAMPLES / case).iterdir() if p.suffix in (".yaml", ".json") and p.stem != "expected"}
    assert set(phases) == {"baseline", "built", "cleaned"}
    for phase, path in phases.items():
        snap = snapshot.load(path)
        assert snap.view(phase=phase) is not None
        text = path.read_text(encoding="utf-8")
        assert '"managedFields"' not in text and "managedFields:" not in text  # kubectl get hides them


def test_index_readme_says_which_cases_are_which() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert "python -m tests.realcluster record-examples --write" in readme
    assert "python -m tests.make_examples" in readme
    for case in RECORDED:
        assert re.search(rf"\| \[{re.escape(case)}\]\({re.escape(case)}/README.md\) \| recorded \(v1\.", readme), case
    for case in make_examples.hand_built():
        assert f"| [{case.name}]({case.name}/README.md) | hand-built |" in readme
