"""Per-student variants: values derived from the student id and the course
secret, substituted into the rubric before validation, and graded per student
by grade, batch, check and task."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from grader import rubric as rubric_mod, variants
from grader.cli import main
from grader.errors import InputError
from tests.builders import base_cluster, dump_yaml, service_port, to_list

ROOT = Path(__file__).resolve().parents[2]
WEB = str(ROOT / "examples" / "variants" / "web-variant.yaml")
SECRET = "course-secret-for-tests-0123456789"


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv(variants.SECRET_ENV, SECRET)


_TEMPLATES: dict[str, variants.Template] = {}


def values(student: str) -> dict:
    """The student's values, from one parsed template per secret (as a batch does)."""
    import os

    secret = os.environ.get(variants.SECRET_ENV, "")
    if secret not in _TEMPLATES:
        _TEMPLATES[secret] = rubric_mod.template(WEB)
    return _TEMPLATES[secret].rubric(student).variant.as_dict()


def students_with_different_replicas() -> tuple[str, str]:
    """Two ids whose replica counts differ (found, not hard-coded: the values
    are whatever the derivation gives for this secret)."""
    first = values("s000")["replicas"]
    other = next(f"s{i:03d}" for i in range(1, 100) if values(f"s{i:03d}")["replicas"] != first)
    return "s000", other


def submission(tmp_path: Path, student_values: dict, name: str = "built.yaml") -> Path:
    """A cluster built exactly as ``student_values`` ask."""
    c = base_cluster()
    web = f"web-{student_values['suffix']}"
    c.deployment(web, replicas=student_values["replicas"], labels={"app": web}, image="httpd")
    c.service(web, ports=[service_port(80)], selector={"app": web})
    path = tmp_path / name
    path.write_text(dump_yaml(to_list(c.objects())), encoding="utf-8")
    return path


# -- derivation ------------------------------------------------------------------

def test_the_same_student_and_secret_always_get_the_same_variant():
    a = rubric_mod.load(WEB, student="s001")
    b = rubric_mod.template(WEB).rubric("s001")
    assert a.variant == b.variant and a.version == b.version
    assert rubric_mod.load(WEB, student="S001 ").variant.values == a.variant.values  # ids fold case like rosters


def test_different_students_get_different_variants():
    suffixes = {values(f"s{i:03d}")["suffix"] for i in range(40)}
    replicas = {values(f"s{i:03d}")["replicas"] for i in range(40)}
    assert len(suffixes) == 40  # 4 chars of 36: collisions would be a derivation bug at this size
    assert replicas == {2, 3, 4}  # every choice is used


def test_another_secret_gives_other_values(monkeypatch):
    before = values("s001")
    monkeypatch.setenv(variants.SECRET_ENV, "another-course-secret-0123456789")
    assert values("s001") != before


def test_a_variants_values_land_in_params_titles_and_version_with_their_types():
    r = rubric_mod.load(WEB, student="s001")
    v = r.variant.as_dict()
    replicas = r.check("web-replicas")
    assert replicas.params == {"name": f"web-{v['suffix']}", "replicas": v["replicas"]}
    assert isinstance(replicas.params["replicas"], int)
    assert str(v["replicas"]) in replicas.title.en and v["suffix"] in r.steps[0].title.zh
    assert r.version.startswith("1+v") and len(r.version) == len("1+v") + 8


def test_the_preview_validates_with_first_values_and_shows_names_in_texts():
    r = rubric_mod.load(WEB)
    assert r.variant.preview and r.version == "1"
    assert r.check("web-replicas").params["replicas"] == 2
    assert "⟨replicas⟩" in r.check("web-replicas").title.en


def test_a_rubric_without_variants_is_unchanged_and_needs_no_secret(monkeypatch):
    monkeypatch.delenv(variants.SECRET_ENV)
    r = rubric_mod.load("service-discovery", student="s001")
    assert r.variant is None and r.version == "1"


def test_token_values_fit_kubernetes_names():
    for i in range(30):
        token = values(f"x{i}")["suffix"]
        assert len(token) == 4 and token[0].isalpha() and token.isalnum() and token == token.lower()


# -- mistakes in a variant rubric ------------------------------------------------

def _rubric(tmp_path: Path, text: str) -> str:
    p = tmp_path / "r.yaml"
    p.write_text(text, encoding="utf-8")
    return str(p)


MINI = """\
lab: mini
title: {{zh: 小, en: mini}}
variants:
{variants}
steps:
  - id: step1
    title: {{zh: 一, en: one}}
    checks:
      - id: {check_id}
        use: deployment.replicas
        with: {{name: d1, replicas: "{replicas}"}}
        points: 1
        title: {{zh: 副本, en: replicas}}
        hint: {{zh: 扩容, en: scale}}
"""


@pytest.mark.parametrize("decl, replicas, check_id, message", [
    ("  n: {choose: []}", "{{ var.n }}", "c1", "choose needs a list"),
    ("  n: {choose: [2, 2]}", "{{ var.n }}", "c1", "lists a value twice"),
    ("  n: {range: [5, 1]}", "{{ var.n }}", "c1", "range needs"),
    ("  n: {token: 0}", "{{ var.n }}", "c1", "token needs a length"),
    ("  n: {pick: [1]}", "{{ var.n }}", "c1", "give exactly one of"),
    ("  n: {choose: [2]}", "{{ var.m }}", "c1", "not a declared variant"),
    ("  n: {choose: [2]}", "{{ var.n }}", "c-{{ var.n }}", "can be used only"),
    ("  n: {choose: [a, b]}", "{{ var.n }}", "c1", "must be int"),
])
def test_every_mistake_is_one_line_with_the_file_and_line(tmp_path, decl, replicas, check_id, message):
    path = _rubric(tmp_path, MINI.format(variants=decl, replicas=replicas, check_id=check_id))
    with pytest.raises(InputError) as exc:
        rubric_mod.load(path, student="s1")
    assert message in str(exc.value) and str(exc.value).startswith(path + ":")
    assert exc.value.line is not None


def test_a_range_gives_integers_in_it(tmp_path):
    path = _rubric(tmp_path, MINI.format(variants="  n: {range: [7, 9]}", replicas="{{ var.n }}", check_id="c1"))
    got = {rubric_mod.load(path, student=f"s{i}").check("c1").params["replicas"] for i in range(40)}
    assert got == {7, 8, 9}


def test_no_secret_or_a_short_one_is_refused(monkeypatch, tmp_path):
    monkeypatch.delenv(variants.SECRET_ENV)
    with pytest.raises(InputError, match="LABGRADE_COURSE_SECRET"):
        rubric_mod.load(WEB, student="s1")
    short = tmp_path / "secret"
    short.write_text("tooshort\n")
    with pytest.raises(InputError, match="at least 16"):
        rubric_mod.load(WEB, student="s1", secret_file=str(short))


def test_the_secret_file_beats_the_environment(tmp_path):
    f = tmp_path / "secret"
    f.write_text("a-different-secret-from-a-file-0123\n")
    assert rubric_mod.load(WEB, student="s1", secret_file=str(f)).variant != rubric_mod.load(WEB, student="s1").variant


# -- grading each student against their own variant --------------------------------

def test_grade_passes_the_students_own_submission(tmp_path, capsys):
    dump = submission(tmp_path, values("s001"))
    assert main(["grade", "--rubric", WEB, "--snapshot", str(dump), "--student", "s001", "-q", "--lang", "en"]) == 0
    assert "30/30" in capsys.readouterr().out.replace(" ", "")


def test_a_classmates_submission_fails_with_the_students_own_expected_value(tmp_path, capsys):
    alice, bob = students_with_different_replicas()
    a, b = values(alice), values(bob)
    # Bob hands in Alice's cluster, renamed to his suffix: only the replicas are wrong.
    dump = submission(tmp_path, {"suffix": b["suffix"], "replicas": a["replicas"]})
    assert main(["grade", "--rubric", WEB, "--snapshot", str(dump), "--student", bob, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert f"web-{b['suffix']} has {a['replicas']} replicas, expected {b['replicas']}" in out


def test_grading_a_variant_rubric_without_a_student_is_refused(tmp_path, capsys):
    dump = submission(tmp_path, values("s001"))
    assert main(["grade", "--rubric", WEB, "--snapshot", str(dump)]) == 2
    assert "--student" in capsys.readouterr().err


def test_batch_grades_each_row_against_its_own_variant(tmp_path, capsys):
    alice, bob = students_with_different_replicas()
    for sid in (alice, bob):
        (tmp_path / sid).mkdir()
        submission(tmp_path / sid, values(sid))
    (tmp_path / "mallory").mkdir()
    submission(tmp_path / "mallory", values(alice))  # a copy of alice's work
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,built\n" + "".join(f"{s},{s},{s}/built.yaml\n" for s in (alice, bob, "mallory")))
    out = tmp_path / "out"
    assert main(["batch", str(roster), "--rubric", WEB, "--out", str(out), "-q", "--lang", "en"]) == 0
    rows = {r["student_id"]: r for r in csv.DictReader((out / "gradebook.csv").read_text(encoding="utf-8-sig").splitlines())}
    assert rows[alice]["total"] == "30" and rows[bob]["total"] == "30"
    assert float(rows["mallory"]["total"]) < 30
    versions = {json.loads((out / s / "report.json").read_text())["rubric_version"] for s in (alice, bob)}
    assert len(versions) == 2  # each report names the variant it graded


def test_the_class_files_name_a_failed_check_by_the_rubric_not_by_one_students_values(tmp_path):
    """summary.md and class.html listed the most-failed check under the first
    report's title, "web-<alice's suffix> exists": a name none of the other
    students who failed it were asked for. The class files use the preview's."""
    alice, bob = students_with_different_replicas()
    for sid in (alice, bob):  # both hand in a classmate's (carol's) work: web-exists fails for both
        (tmp_path / sid).mkdir()
        submission(tmp_path / sid, values("carol"))
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,built\n" + "".join(f"{s},{s},{s}/built.yaml\n" for s in (alice, bob)))
    out = tmp_path / "out"
    assert main(["batch", str(roster), "--rubric", WEB, "--out", str(out), "-q", "--lang", "en"]) == 0
    summary = (out / "summary.md").read_text(encoding="utf-8")
    page = (out / "class.html").read_text(encoding="utf-8")
    assert "| web-exists | step1 | 2 | 0 | web-⟨suffix⟩ exists |" in summary
    assert "web-⟨suffix⟩ exists" in page and "web-⟨suffix⟩ 已创建" in page
    for sid in (alice, bob):
        own = f"web-{values(sid)['suffix']}"
        assert own not in summary and own not in page
        # each student's own report keeps their own values
        assert f"{own} exists" in (out / sid / "report.json").read_text(encoding="utf-8")


def test_batch_without_the_secret_stops_before_grading(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(variants.SECRET_ENV)
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,built\ns1,built.yaml\n")
    assert main(["batch", str(roster), "--rubric", WEB, "--out", str(tmp_path / "out"), "-q"]) == 2
    assert "LABGRADE_COURSE_SECRET" in capsys.readouterr().err
    assert not (tmp_path / "out" / "s1").exists()


def test_check_needs_the_student_for_a_variant_rubric(tmp_path, capsys):
    assert main(["check", "--rubric", WEB, "--ledger", str(tmp_path / "l.jsonl")]) == 2
    assert "--student" in capsys.readouterr().err


# -- the task sheet -----------------------------------------------------------------

def test_task_prints_the_students_own_values_in_both_languages(capsys):
    assert main(["task", WEB, "--student", "s001"]) == 0
    out = capsys.readouterr().out
    v = values("s001")
    assert out.startswith("# Deployment 与 Service（个人参数）")
    assert "# A Deployment and its Service (your own values)" in out
    assert f"web-{v['suffix']}（{v['replicas']} 副本" in out and f"({v['replicas']} replicas, image httpd)" in out
    assert f"- `replicas` = `{v['replicas']}`" in out
    assert "kubectl scale" not in out  # hints are the answers
    zh, en = out.split("\n---\n")
    assert "学生：s001" in zh and "个就绪副本（8 分）" in zh and "\n总分：30 分" in zh  # full-width, as docs/glossary.md says
    assert "Student: s001" in en and " (8)" in en and "\nTotal: 30 points" in en


def test_task_escapes_a_hostile_student_id(capsys):
    assert main(["task", WEB, "--student", "\x1b[2J<b>*x*</b>\u202e", "--lang", "en"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("Student:"))
    assert "\x1b" not in line and "\u202e" not in line and "<b>" not in line and "\\*x\\*" in line


def test_task_of_a_rubric_without_variants_needs_no_student(monkeypatch, capsys):
    monkeypatch.delenv(variants.SECRET_ENV)
    assert main(["task", "service-discovery", "--lang", "zh"]) == 0
    assert "## 1. 创建deployment1" in capsys.readouterr().out


def test_a_resumed_batch_keeps_reports_of_the_same_variant_and_regrades_after_a_new_secret(tmp_path, monkeypatch):
    from grader.classroom import batch, roster as roster_mod

    (tmp_path / "s1").mkdir()
    submission(tmp_path / "s1", values("s1"))
    roster_path = tmp_path / "roster.csv"
    roster_path.write_text("student_id,built\ns1,s1/built.yaml\n")

    def run() -> bool:
        template = rubric_mod.template(WEB)
        preview = template.rubric(None)
        job = batch.Batch(preview, roster_mod.load_roster(roster_path, preview), tmp_path / "out",
                          rubric_for=template.rubric)
        return job.run().resumed[0]

    assert run() is False
    assert run() is True  # same secret: the report stands
    monkeypatch.setenv(variants.SECRET_ENV, "a-new-course-secret-for-next-term-42")
    assert run() is False  # other values: the old report is not this variant's


def test_students_who_draw_the_same_values_share_one_validated_rubric_but_keep_their_own_id(tmp_path):
    path = _rubric(tmp_path, MINI.format(variants="  n: {choose: [2, 3]}", replicas="{{ var.n }}", check_id="c1"))
    template = rubric_mod.template(path)
    preview = template.rubric(None)
    made = [template.rubric(f"s{i}") for i in range(12)]
    assert {r.check("c1").params["replicas"] for r in made} == {2, 3}
    first = next(r for r in made if r.check("c1").params["replicas"] == 2)
    assert first.steps is not preview.steps and first.version != preview.version  # never the preview's texts
    same = [r for r in made if r.variant.values == first.variant.values]
    assert len(same) > 1 and all(r.steps is first.steps for r in same)
    assert len({r.variant.student for r in same}) == len(same)


def test_check_grades_a_live_cluster_against_the_students_own_variant(tmp_path, capsys):
    pytest.importorskip("aiohttp")
    from tests.standin.server import StandIn

    alice, bob = students_with_different_replicas()
    v = values(alice)
    c = base_cluster()
    web = f"web-{v['suffix']}"
    c.deployment(web, replicas=v["replicas"], labels={"app": web}, image="httpd")
    c.service(web, ports=[service_port(80)], selector={"app": web})
    with StandIn(c.objects()) as server:
        cfg = str(server.kubeconfig_path(tmp_path))
        common = ["check", "--rubric", WEB, "--kubeconfig", cfg, "--no-color", "--lang", "en"]
        assert main([*common, "--student", alice, "--ledger", str(tmp_path / "a.jsonl")]) == 0
        mine = capsys.readouterr().out
        assert main([*common, "--student", bob, "--ledger", str(tmp_path / "b.jsonl")]) == 0
        theirs = capsys.readouterr().out
    assert "30/30" in mine.replace(" ", "")
    assert "30/30" not in theirs.replace(" ", "")  # alice's cluster is not bob's lab


def test_collect_of_a_variant_rubric_needs_the_student(tmp_path, capsys):
    assert main(["collect", "--rubric", WEB, "-o", str(tmp_path / "b.yaml")]) == 2
    assert "--student" in capsys.readouterr().err
