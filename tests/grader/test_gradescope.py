"""``labgrade gradescope-bundle``: the autograder zip, and its run_autograder
run on a simulated /autograder tree, checked against Gradescope's results
specification."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import variants
from grader.classroom import gradescope_bundle
from grader.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "service-discovery"
WEB = str(ROOT / "examples" / "variants" / "web-variant.yaml")
SECRET = "course-secret-for-tests-0123456789"
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def validate_results(doc: dict) -> None:
    """Gradescope's autograder results format: a score or per-test scores,
    tests with name/score/max_score/visibility/output of the right types."""
    assert isinstance(doc, dict)
    assert "score" in doc or all("score" in t for t in doc.get("tests", []))
    if "score" in doc:
        assert isinstance(doc["score"], (int, float)) and not isinstance(doc["score"], bool)
    assert isinstance(doc.get("output", ""), str)
    assert doc.get("visibility", "visible") in VISIBILITIES
    for t in doc.get("tests", []):
        assert isinstance(t["name"], str) and t["name"]
        assert isinstance(t["score"], (int, float)) and isinstance(t["max_score"], (int, float))
        assert 0 <= t["score"] <= t["max_score"]
        assert t.get("visibility", "visible") in VISIBILITIES
        assert isinstance(t.get("output", ""), str)
        assert t.get("status", "passed") in ("passed", "failed")
    assert doc.get("output_format", "text") in ("text", "html", "simple_format", "md", "ansi")


def autograder(tmp_path: Path, zip_bytes: bytes, uploads: dict[str, Path], metadata: dict | None = None) -> Path:
    """/autograder as Gradescope lays it out: source/ (the zip), submission/, metadata."""
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    (root / "submission").mkdir()
    zip_path = tmp_path / "autograder.zip"
    zip_path.write_bytes(zip_bytes)
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(root / "source")
        for info in zf.infolist():  # extractall drops the modes; Gradescope's unzip keeps them
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777)
    for name, path in uploads.items():
        target = root / "submission" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    meta = metadata or {"users": [{"email": "alice@example.edu", "name": "Alice", "sid": "s001", "id": 1}]}
    (root / "submission_metadata.json").write_text(json.dumps(meta))
    return root


def run_autograder(root: Path, **env: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Gradescope's own step: ``source/run_autograder`` from the source folder."""
    environ = {k: v for k, v in os.environ.items() if k != variants.SECRET_ENV}
    environ.update({"LABGRADE_AUTOGRADER_ROOT": str(root), "LABGRADE_PYTHON": sys.executable, **env})
    proc = subprocess.run([str(root / "source" / "run_autograder")], cwd=root / "source", env=environ,
                          capture_output=True, text=True, timeout=120)
    doc = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    validate_results(doc)
    return proc, doc


def test_the_zip_has_gradescopes_two_scripts_executable_and_is_deterministic():
    data = gradescope_bundle.build("service-discovery", lang="zh")
    with zipfile.ZipFile(__import__("io").BytesIO(data)) as zf:
        names = zf.namelist()
        modes = {i.filename: (i.external_attr >> 16) for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "rubric.yaml", "labgrade-autograder.json"} <= set(names)
    assert "labgrade/grader/classroom/gradescope_run.py" in names and "labgrade/pyproject.toml" in names
    assert not any("__pycache__" in n for n in names)
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert gradescope_bundle.build("service-discovery", lang="zh") == data


def test_run_autograder_grades_the_uploaded_dumps_per_the_spec(tmp_path):
    data = gradescope_bundle.build("service-discovery", lang="en")
    case = EXAMPLES / "wrong-replicas"
    root = autograder(tmp_path, data, {"built.yaml": case / "built.yaml", "cleaned.yaml": case / "cleaned.yaml"})
    proc, doc = run_autograder(root)
    assert proc.returncode == 0, proc.stderr
    # The same writer as the batch: the score is the report's, a test per check.
    assert len(doc["tests"]) == 22 and doc["score"] == sum(t["score"] for t in doc["tests"])
    replicas = next(t for t in doc["tests"] if "deployment1-replicas" in t["name"])
    assert replicas["score"] == 0 and "expected 2" in replicas["output"]
    assert doc["output_format"] == "text"


def test_dumps_one_folder_down_and_in_json_are_found(tmp_path):
    data = gradescope_bundle.build("service-discovery", lang="en", namespace="lab-42")
    case = EXAMPLES / "correct-other-namespace"
    root = autograder(tmp_path, data, {"my-lab/built.json": case / "built.json", "my-lab/cleaned.json": case / "cleaned.json"})
    _, doc = run_autograder(root)
    assert doc["score"] >= 85  # everything but the live-only step 5 probes


def test_an_upload_without_dumps_gets_a_result_saying_what_to_upload(tmp_path):
    data = gradescope_bundle.build("service-discovery", lang="zh")
    root = autograder(tmp_path, data, {"notes.txt": EXAMPLES / "README.md"})
    _, doc = run_autograder(root)
    assert doc["score"] == 0 and doc["tests"] == [] and "built.yaml" in doc["output"]


def test_a_dump_that_does_not_parse_is_a_result_not_a_crash(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: List\nitems: [\x1b[2J\n", encoding="utf-8")
    root = autograder(tmp_path, gradescope_bundle.build("service-discovery", lang="en"), {"built.yaml": bad})
    _, doc = run_autograder(root)
    assert doc["score"] == 0 and "could not be read" in doc["output"] and "\x1b" not in doc["output"]
    assert str(root) not in doc["output"]  # no grader paths shown to students


def test_a_broken_autograder_still_leaves_a_results_file(tmp_path):
    root = autograder(tmp_path, gradescope_bundle.build("service-discovery"), {})
    proc, doc = run_autograder(root, LABGRADE_PYTHON="/nonexistent/python")
    assert proc.returncode != 0 and doc["score"] == 0 and "not your fault" in doc["output"]


def test_a_variant_autograder_grades_the_submitter_against_their_own_values(tmp_path, monkeypatch):
    from tests.grader.test_variants import submission, values

    monkeypatch.setenv(variants.SECRET_ENV, SECRET)
    data = gradescope_bundle.build(WEB, lang="en")
    dump = submission(tmp_path, values("s001"))
    ok = autograder(tmp_path / "a", data, {"built.yaml": dump})
    _, doc = run_autograder(ok)  # the secret travels in the zip, not the environment
    assert doc["score"] == 30
    other = autograder(tmp_path / "b", data, {"built.yaml": dump},
                       {"users": [{"email": "bob@example.edu", "sid": "s002", "name": "Bob"}]})
    _, doc = run_autograder(other)
    assert doc["score"] < 30


@pytest.mark.parametrize("metadata", [
    {"users": [{"email": "s001@example.edu", "sid": None, "name": "Alice"}]},  # no SID in the Gradescope roster
    {"users": [{"email": "s001@example.edu", "name": "Alice"}]},
    {"users": []},
    None,  # no submission_metadata.json at all
], ids=["sid-null", "sid-absent", "no-users", "no-metadata"])
def test_a_variant_submission_without_the_configured_id_is_not_graded_against_another_ids_values(
        tmp_path, monkeypatch, metadata):
    from tests.grader.test_variants import submission, values

    monkeypatch.setenv(variants.SECRET_ENV, SECRET)
    root = autograder(tmp_path, gradescope_bundle.build(WEB, lang="en"), {"built.yaml": submission(tmp_path, values("s001"))},
                      metadata or {"users": [{"sid": "s001"}]})
    if metadata is None:
        (root / "submission_metadata.json").unlink()
    proc, doc = run_autograder(root)
    assert doc["tests"] == [] and doc["score"] == 0
    assert "did not give your sid" in doc["output"] and "not your fault" in doc["output"]
    assert proc.returncode == 0


def test_without_variants_a_missing_sid_falls_back_to_the_email(tmp_path):
    root = autograder(tmp_path, gradescope_bundle.build("service-discovery", lang="en"),
                      {"built.yaml": EXAMPLES / "correct" / "built.yaml"},
                      {"users": [{"email": "alice@example.edu", "sid": None}]})
    _, doc = run_autograder(root)
    assert doc["score"] > 0 and doc["tests"]


def test_a_variant_bundle_without_the_secret_is_refused(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(variants.SECRET_ENV, raising=False)
    assert main(["gradescope-bundle", "--rubric", WEB, "-o", str(tmp_path / "a.zip")]) == 2
    assert "LABGRADE_COURSE_SECRET" in capsys.readouterr().err and not (tmp_path / "a.zip").exists()


def test_the_cli_writes_the_zip(tmp_path, capsys):
    out = tmp_path / "autograder.zip"
    assert main(["gradescope-bundle", "--rubric", "service-discovery", "-o", str(out)]) == 0
    assert zipfile.is_zipfile(out) and "autograder.zip" in capsys.readouterr().out


def test_results_can_be_hidden_until_the_due_date(tmp_path):
    data = gradescope_bundle.build("service-discovery", lang="en", visibility="after_due_date")
    case = EXAMPLES / "correct"
    root = autograder(tmp_path, data, {"built.yaml": case / "built.yaml"})
    _, doc = run_autograder(root)
    assert doc["visibility"] == "after_due_date" and {t["visibility"] for t in doc["tests"]} == {"after_due_date"}


def test_symlinks_in_an_upload_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(EXAMPLES / "correct" / "built.yaml", outside / "built.yaml")
    root = autograder(tmp_path, gradescope_bundle.build("service-discovery", lang="en"), {})
    (root / "submission" / "built.yaml").symlink_to(outside / "built.yaml")
    (root / "submission" / "folder").symlink_to(outside, target_is_directory=True)
    _, doc = run_autograder(root)
    assert doc["score"] == 0 and "No dumps found" in doc["output"]
