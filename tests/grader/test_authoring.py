"""The author's kit: lint, schema, checks --doc, test-rubric, dump-command,
and checks from a course's own package through the labgrade.checks entry points."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from checks import registry
from grader import authoring, reads, rubric
from grader.cli import main

ROOT = Path(__file__).resolve().parents[2]
LABS = ["service-discovery", "service-expose", "headless-dns"]


def _write(tmp_path: Path, text: str, name: str = "r.yaml") -> str:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


# -- schema -----------------------------------------------------------------------

jsonschema = pytest.importorskip("jsonschema")


def _validator():
    return jsonschema.Draft202012Validator(authoring.schema())


def test_the_schema_is_valid_json_schema_and_the_committed_copy_is_current():
    jsonschema.Draft202012Validator.check_schema(authoring.schema())
    committed = json.loads((ROOT / "rubrics" / "rubric.schema.json").read_text(encoding="utf-8"))
    assert committed == authoring.schema(), "run: labgrade schema > rubrics/rubric.schema.json"


@pytest.mark.parametrize("lab", LABS)
def test_every_bundled_rubric_validates_and_names_the_schema(lab):
    text = rubric.bundled()[lab]
    assert text.splitlines()[0] == "# yaml-language-server: $schema=./rubric.schema.json"
    assert list(_validator().iter_errors(yaml.safe_load(text))) == []


@pytest.mark.parametrize("breakage", [
    lambda d: d["steps"][0]["checks"][0]["with"].update(nmae="x"),        # a typo in a parameter
    lambda d: d["steps"][0]["checks"][0].update(use="object.exist"),       # an unknown check
    lambda d: d["steps"][0]["checks"][0]["with"].update(kind=3),           # a wrong type
    lambda d: d["steps"][0]["checks"][0]["with"].pop("kind"),              # a missing parameter
    lambda d: d["steps"][0]["checks"][0].pop("hint"),                      # no hint
    lambda d: d.update(titel=d["title"]),                                   # an unknown top-level key
])
def test_a_broken_rubric_does_not_validate(breakage):
    data = yaml.safe_load(rubric.bundled()["service-expose"])
    breakage(data)
    assert list(_validator().iter_errors(data)) != []


def test_labgrade_schema_prints_it(capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "labgrade rubric"


# -- checks --doc -----------------------------------------------------------------

@pytest.mark.parametrize("check_id", sorted(registry.registry()))
def test_every_check_documents_every_section(check_id):
    spec = registry.get(check_id)
    sections = authoring.doc_sections(spec)
    for name in ("What", *authoring.SECTIONS):
        assert sections.get(name, "").strip(), f"{check_id} lacks {name}"
    text = authoring.render_doc(check_id)
    for heading in ("## Why", "## Parameters", "## Passes", "## Fails", "## Partial credit", "## Reads"):
        assert heading in text
    for param in spec.params:
        assert f"`{param}:" in text


@pytest.mark.parametrize("check_id", sorted(registry.registry()))
def test_what_a_check_does_is_its_whole_first_paragraph(check_id, capsys):
    """Not the docstring's first line, which can stop mid-sentence ("from any registry or")."""
    spec = registry.get(check_id)
    assert spec.what.rstrip(")").endswith("."), spec.what
    assert authoring.render_doc(check_id).split("\n")[2] == spec.what
    assert main(["checks"]) == 0
    assert f"\n    {spec.summary}\n" in capsys.readouterr().out
    assert spec.summary.endswith(".") and spec.what.startswith(spec.summary[:-1])


def test_checks_doc_on_the_command_line(capsys):
    assert main(["checks", "--doc", "object.matches"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# object.matches") and "(>= 30000)" in out
    assert "- `expect: dict or null (default None)`: the partial tree" in out  # the docstring's words for each parameter
    assert "## Example\n\n```yaml\nuse: object.matches\nwith:\n  kind: Pod\n" in out  # indentation kept
    assert main(["checks", "--doc", "service.exists"]) == 0
    assert "- `name: str (required)`: the Service\n" in capsys.readouterr().out


@pytest.mark.parametrize("check_id", sorted(registry.registry()))
def test_every_parameter_and_what_the_check_reads_are_explained(check_id):
    """A teacher writing ``with:`` learns what each parameter means (``owned_by``,
    ``pick``...), and what a check reads even when that depends on its parameters."""
    text = authoring.render_doc(check_id)
    for param in registry.get(check_id).params:
        line = next(ln for ln in text.splitlines() if ln.startswith(f"- `{param}:"))
        assert line.split("`", 2)[2].startswith(": "), line
    assert "depends on its parameters" not in text


def test_checks_doc_of_an_unknown_check_is_an_input_error(capsys):
    assert main(["checks", "--doc", "object.match"]) == 2
    assert "did you mean 'object.matches'" in capsys.readouterr().err


# -- lint -------------------------------------------------------------------------

def test_lint_reports_the_loaders_error_with_file_and_line(tmp_path, capsys):
    text = rubric.bundled()["service-expose"].replace("use: workload.replicas", "use: workload.replica", 1)
    path = _write(tmp_path, text)
    assert main(["lint", path]) == 2
    out = capsys.readouterr().out
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "workload.replica\n" in ln + "\n")
    assert f"{path}:{line}: error: " in out and "did you mean 'workload.replicas'" in out


def test_lint_finds_bad_assertions_templates_and_selectors_with_their_lines(tmp_path):
    text = rubric.bundled()["service-expose"]
    text = text.replace('nodePort: "(>= 30000)"', 'nodePort: "(starts_with(@,)"', 1)
    text = text.replace("{{ nodeport(httpd-nodeport) }}", "{{ node_port(httpd-nodeport) }}", 1)
    text = text.replace("with: {kind: Service, name: httpd-svc}", 'with: {kind: Service, selector: "a=b,(("}', 1)
    diags = [d for d in authoring.lint(_write(tmp_path, text)) if d.level == "error"]
    assert len(diags) == 3 and all(d.line for d in diags)
    assert any("JMESPath" in d.message for d in diags) and any("node_port" in d.message for d in diags)
    assert any("selector" in d.message for d in diags)


def test_lint_reports_a_selector_map_value_yaml_read_as_a_boolean_with_its_line(tmp_path):
    text = rubric.bundled()["service-expose"]
    text = text.replace("with: {kind: Service, name: httpd-svc}", "with: {kind: Service, selector: {managed: yes}}", 1)
    diags = [d for d in authoring.lint(_write(tmp_path, text)) if d.level == "error"]
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "- id: svc-exists" in ln)  # a check's line
    assert [(d.line, "'managed' must be quoted text: YAML read it as true" in d.message) for d in diags] == [(line, True)]


@pytest.mark.parametrize("use, params, words", [
    ("object.matches", "{kind: Service, expect: {spec: {}}}", "give exactly one of name or selector"),
    ("object.exists", "{kind: Service, name: a, selector: app=a}", "give exactly one of name or selector"),
    ("object.exists", "{kind: Service, name: a, count: 2}", "count is only read with a selector"),
    ("object.exists", "{kind: [], name: a}", "the kind list is empty"),
    ("object.absent", "{kind: Service}", "give name/names or a selector"),
    ("object.absent", "{kind: Service, names: [a], selector: app=a}", "give name/names or a selector"),
    ("exec.run", "{pod: p, argv: []}", "argv is empty"),
    ("exec.run", "{pod: p, argv: [ls], stdout_matches: \"a(\"}", "stdout_matches: bad regular expression 'a('"),
    ("service.backends", "{name: s}", "workloads is empty"),
    ("service.backends", "{name: s, workloads: [web], expect: {only: [p]}}", "expect must be all, one-of-each or {exactly"),
    ("object.matches", "{kind: Service, name: a, expect: {}}", "the tree is empty, so any object would match"),
    ("object.matches", "{kind: Service, name: a}", "give expect (the tree), any_of (alternative trees) or both"),
    ("object.matches", "{kind: Service, name: a, any_of: []}", "any_of lists no alternative"),
    ("object.matches", "{kind: Service, name: a, any_of: [{spec: {type: A}}, {}]}", "any_of[1]: the tree is empty"),
    ("object.matches", "{kind: ConfigMap, name: a, any_of: [{data: {a: \"1\"}}, {data: {a: 1}}]}",
     "any_of[1]: data.a: YAML read the value as 1"),
    ("selector.picks", "{kind: NetworkPolicy, name: np}", "give exactly, includes or excludes"),
    ("selector.picks", "{kind: NetworkPolicy, name: np, exactly: [], excludes: []}", "give exactly, includes or excludes"),
    ("selector.picks", "{kind: Service, name: s, exactly: [web], includes: [web]}", "give exactly or includes, not both"),
    ("selector.picks", "{kind: ConfigMap, name: c, exactly: [web]}", "give path: labgrade does not know where a ConfigMap"),
    ("selector.picks", "{kind: netpol, name: np, exactly: [web], path: \"spec.((\"}", "bad JMESPath expression"),
])
def test_lint_reports_parameter_combinations_a_check_refuses_at_grading_with_the_line(tmp_path, use, params, words):
    text = rubric.bundled()["service-expose"]
    text = text.replace("use: object.exists\n        with: {kind: Service, name: httpd-svc}",
                        f"use: {use}\n        with: {params}", 1)
    diags = [d for d in authoring.lint(_write(tmp_path, text)) if d.level == "error"]
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "- id: svc-exists" in ln)
    assert [(d.line, words in d.message) for d in diags] == [(line, True)], diags


def test_lint_accepts_the_parameter_combinations_the_checks_take(tmp_path):
    text = rubric.bundled()["service-expose"]
    for params in ("{kind: Service, selector: app=a, count: 2}", "{kind: [Service, Pod], name: a}",
                   "{kind: Service, name: a, any_of: [{spec: {type: A}}, {spec: {type: B}}]}",
                   "{kind: Service, name: a, expect: {spec: {type: A}}, any_of: [{spec: {x: 1}}, {spec: {y: 1}}]}"):
        use = "object.matches" if "any_of" in params else "object.exists"
        t = text.replace("use: object.exists\n        with: {kind: Service, name: httpd-svc}", f"use: {use}\n        with: {params}", 1)
        assert [d for d in authoring.lint(_write(tmp_path, t)) if d.level == "error"] == []


def test_lint_reports_assertion_leaves_yaml_read_as_booleans_or_numbers_where_objects_hold_text(tmp_path):
    text = rubric.bundled()["service-expose"]
    text = text.replace("              type: ClusterIP\n",
                        "              type: ClusterIP\n              selector: {app: httpd}\n            metadata:\n"
                        "              labels: {enabled: on, \"(length(@))\": 1}\n"
                        "              annotations: {rev: 1.10, note: \"2\"}\n", 1)
    diags = [d for d in authoring.lint(_write(tmp_path, text)) if d.level == "error"]
    assert [d.message.split(": YAML")[0] for d in diags] == [
        "check svc-ports: metadata.labels.enabled", "check svc-ports: metadata.annotations.rev"]
    assert "read the value as true, but the values under labels are text" in diags[0].message
    assert "read the value as 1.1" in diags[1].message


def test_lint_reports_unquoted_configmap_data_but_not_other_kinds_data(tmp_path):
    text = rubric.bundled()["service-expose"]
    for kind, errors in (("ConfigMap", ["check svc-exists: data.debug: YAML read the value as false"]), ("Widget", [])):
        t = text.replace("use: object.exists\n        with: {kind: Service, name: httpd-svc}",
                         f"use: object.matches\n        with: {{kind: {kind}, name: c, expect: {{data: {{debug: no, level: \"3\"}}}}}}", 1)
        diags = [d for d in authoring.lint(_write(tmp_path, t)) if d.level == "error"]
        assert [d.message[:len(errors[0])] for d in diags] == errors if errors else diags == []


def test_lint_warns_about_points_a_dump_cannot_earn_and_checks_no_grade_reaches():
    diags = authoring.lint("service-discovery")
    assert all(d.level == "warning" for d in diags)
    assert any("clientpod-wget-service2" in d.message and "cannot be earned from a dump" in d.message for d in diags)
    assert any("service1-dns" in d.message and "0 points" in d.message for d in diags)


def test_lint_warns_about_a_kind_the_dump_command_would_not_list(tmp_path):
    text = rubric.bundled()["service-expose"].replace("kind: Deployment, name: httpd}", "kind: Gizmo, name: httpd}", 1)
    diags = authoring.lint(_write(tmp_path, text))
    assert any(d.level == "warning" and "'Gizmo'" in d.message and "dump-command" in d.message for d in diags)
    # what it says is what happens: dump-command guesses the name, a live run cannot list the kind
    warning = next(d.message for d in diags if "'Gizmo'" in d.message)
    assert "only guesses 'gizmo'" in warning and "a live run cannot list it" in warning
    assert "gizmo" in reads.dump_command(rubric.load(_write(tmp_path, text))).split()[2].split(",")


def test_a_clean_lint_exits_zero(capsys):
    assert main(["lint", "headless-dns"]) == 0
    assert "0 error(s)" in capsys.readouterr().out


# -- dump-command -----------------------------------------------------------------

def test_dump_command(capsys):
    assert main(["dump-command", "service-discovery"]) == 0
    assert capsys.readouterr().out.strip() == \
        "kubectl get namespaces,deployments,replicasets,pods,services,endpoints,endpointslices -A -o yaml"


SECRET_RUBRIC = """\
lab: secret-lab
title: {zh: 机密, en: Secrets}
namespace: lab
steps:
  - id: s1
    title: {zh: 一, en: one}
    checks:
      - id: c1
        use: object.exists
        points: 1
        title: {zh: 有, en: made}
        hint: {zh: 建, en: create it}
        with: {kind: Secret, name: app-secret}
      - id: c2
        use: object.exists
        points: 1
        title: {zh: 有, en: made}
        hint: {zh: 建, en: create it}
        with: {kind: ServiceAccount, name: app}
"""


def test_dump_command_takes_secrets_from_the_lab_namespace_only(tmp_path, capsys):
    path = _write(tmp_path, SECRET_RUBRIC)
    assert main(["dump-command", path]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "mkdir DIR",
        "kubectl get serviceaccounts -A -o yaml > DIR/cluster.yaml",
        "kubectl get --raw /api/v1/namespaces/lab/secrets > DIR/secrets.json",
    ]
    assert main(["dump-command", path, "-n", "lab-42"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "kubectl get --raw /api/v1/namespaces/lab-42/secrets > DIR/secrets.json"


# -- test-rubric ------------------------------------------------------------------

@pytest.mark.parametrize("lab", LABS)
def test_the_bundled_examples_pass_test_rubric(lab, capsys):
    assert main(["test-rubric", lab, "--cases", str(ROOT / "examples" / lab)]) == 0, capsys.readouterr().out
    assert "cases as expected" in capsys.readouterr().out


@pytest.mark.parametrize("lab", ["service-expose", "headless-dns"])
def test_each_new_lab_has_a_correct_case_worth_100_and_five_mistakes(lab):
    results = authoring.test_rubric(lab, str(ROOT / "examples" / lab))
    by = {r.case: r for r in results}
    assert by["correct"].earned == 100
    mistakes = [r for r in results if r.expected_earned != 100]  # other right answers declare earned: 100
    assert len(mistakes) >= 5 and all(r.earned < 100 for r in mistakes)


def test_a_wrong_expectation_is_reported_and_fails(tmp_path, capsys):
    import shutil

    case = tmp_path / "cases" / "correct"
    shutil.copytree(ROOT / "examples" / "service-expose" / "correct", case)
    exp = yaml.safe_load((case / "expected.yaml").read_text(encoding="utf-8"))
    exp["verdicts"]["httpd-image"] = "failed"
    (case / "expected.yaml").write_text(yaml.safe_dump(exp), encoding="utf-8")
    assert main(["test-rubric", "service-expose", "--cases", str(tmp_path / "cases")]) == 1
    out = capsys.readouterr().out
    assert "FAIL correct" in out and "httpd-image: expected failed, got passed" in out


def test_test_rubric_needs_a_folder_of_cases(tmp_path, capsys):
    assert main(["test-rubric", "service-expose", "--cases", str(tmp_path / "none")]) == 2
    assert main(["test-rubric", "service-expose", "--cases", str(tmp_path)]) == 2


@pytest.mark.parametrize("text, line, words", [
    ("verdicts: [svc-exists]\n", 1, "verdicts must be a mapping of check id"),
    ("- svc-exists\n", 1, "must be a mapping with verdicts:"),
    ("verdicts:\n  svc-exists: pass\n", 2, "svc-exists: 'pass' is not one of passed, failed, skipped, error"),
    ("verdicts:\n  svc-exist: passed\n", 2, "'svc-exist' is not a check of rubric service-expose"),
    ("verdicts: {svc-exists: passed}\nearned: \"100\"\n", 2, "earned must be a number (got '100')"),
    ("verdicts: {svc-exists: passed}\nearned: .nan\n", 2, "earned must be a number (got nan)"),
    ("namespace: [a]\n", 1, "namespace must be text"),
    ("verdicts:\n  svc-exists: [\n", 3, "YAML syntax error"),
])
def test_a_malformed_expected_yaml_is_one_line_naming_file_and_line(tmp_path, capsys, text, line, words):
    import shutil

    case = tmp_path / "cases" / "correct"
    shutil.copytree(ROOT / "examples" / "service-expose" / "correct", case)
    (case / "expected.yaml").write_text(text, encoding="utf-8")
    assert main(["test-rubric", "service-expose", "--cases", str(tmp_path / "cases")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"labgrade: error: {case / 'expected.yaml'}:{line}: ") and words in err and "\n" not in err, err


def test_an_expected_yaml_that_is_not_text_or_is_empty(tmp_path, capsys):
    import shutil

    case = tmp_path / "cases" / "correct"
    shutil.copytree(ROOT / "examples" / "service-expose" / "correct", case)
    (case / "expected.yaml").write_bytes(b"\xff\xfe\x00\x81")
    assert main(["test-rubric", "service-expose", "--cases", str(tmp_path / "cases")]) == 2
    assert "expected.yaml: not UTF-8 text" in capsys.readouterr().err
    (case / "expected.yaml").write_bytes(b"\xef\xbb\xbf# nothing expected yet\n")  # every verdict is then a surprise
    assert main(["test-rubric", "service-expose", "--cases", str(tmp_path / "cases")]) == 1
    assert "svc-exists: expected -, got passed" in capsys.readouterr().out


def test_cases_that_name_a_file_say_it_is_not_a_folder(tmp_path, capsys):
    (tmp_path / "case.yaml").write_text("{}", encoding="utf-8")
    assert main(["test-rubric", "service-expose", "--cases", str(tmp_path / "case.yaml")]) == 2
    assert "case.yaml: is not a folder of cases" in capsys.readouterr().err


def test_the_lab_examples_are_what_their_generator_writes():
    from tests import make_lab_examples

    assert make_lab_examples.main(["--check"]) == 0


# -- entry points -----------------------------------------------------------------

def test_a_course_package_adds_checks_through_the_entry_point_group(tmp_path, monkeypatch):
    """A real distribution on sys.path (its .dist-info with entry_points.txt),
    found by importlib.metadata exactly as an installed package would be."""
    dist = tmp_path / "labgrade_course_checks-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: labgrade-course-checks\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[labgrade.checks]\ncourse = labgrade_course_checks\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(ROOT / "tests" / "plugin_example"))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry.registry()))  # the course check goes with the test
    try:
        _load_and_use_the_course_check()
    finally:
        sys.modules.pop("labgrade_course_checks", None)


def _load_and_use_the_course_check():
    assert "course" in registry.load_entry_points()
    spec = registry.get("course.configmap_has_key")
    assert spec is not None and spec.reads == ("ConfigMap",)
    text = rubric.bundled()["service-expose"].replace(
        "use: object.exists\n        with: {kind: Deployment, name: httpd}",
        "use: course.configmap_has_key\n        with: {name: web-config, key: index.html}", 1)
    r = rubric.validate(rubric.parse_yaml(text, "r.yaml"), "r.yaml")
    assert r.check("httpd-exists").use == "course.configmap_has_key"


def test_a_broken_course_package_is_an_error_naming_it(tmp_path, monkeypatch):
    dist = tmp_path / "broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[labgrade.checks]\nbroken = no_such_module_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match="entry point 'broken'"):
        registry.load_entry_points()


@pytest.mark.parametrize("check_id", sorted(i for i, s in registry.registry().items() if "Example" in authoring.doc_sections(s)))
def test_every_documented_example_is_a_check_use_that_lint_accepts(check_id, tmp_path):
    example = yaml.safe_load(authoring.doc_sections(registry.get(check_id))["Example"])
    assert example["use"] == check_id
    text = rubric.bundled()["service-expose"].replace(
        "use: object.exists\n        with: {kind: Service, name: httpd-svc}",
        f"use: {check_id}\n        with: {json.dumps(example['with'])}", 1)
    assert [d for d in authoring.lint(_write(tmp_path, text)) if d.level == "error"] == []


def test_lint_warns_about_a_secret_read_in_another_namespace(tmp_path):
    text = SECRET_RUBRIC.replace("with: {kind: Secret, name: app-secret}",
                                 "with: {kind: Secret, name: app-secret, namespace: kube-system}")
    diags = authoring.lint(_write(tmp_path, text))
    assert [d.level for d in diags if "namespace kube-system" in d.message] == ["warning"]
    assert "lab namespace only" in next(d.message for d in diags if "kube-system" in d.message)
    # in the lab namespace, named or not, there is nothing to warn about
    assert not [d for d in authoring.lint(_write(tmp_path, SECRET_RUBRIC)) if "Secret" in d.message]
    same = SECRET_RUBRIC.replace("with: {kind: Secret, name: app-secret}",
                                 "with: {kind: Secret, name: app-secret, namespace: lab}")
    assert not [d for d in authoring.lint(_write(tmp_path, same)) if "Secret" in d.message]
