"""The rubric loader refuses every malformed rubric before grading, with
the file, the line and the reason."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader import rubric
from grader.errors import InputError

GOOD = """\
lab: mini
title: {zh: 小实验, en: Mini lab}
total: 5
steps:
  - id: step1
    title: {zh: 第一步, en: Step one}
    points: 5
    checks:
      - id: d1-exists
        use: deployment.exists
        with: {name: deployment1}
        points: 2
        title: {zh: 存在, en: exists}
        hint: {zh: 创建它, en: create it}
      - id: d1-replicas
        use: deployment.replicas
        with: {name: deployment1, replicas: 2}
        needs: [d1-exists]
        points: 3
        title: {zh: 副本, en: replicas}
        hint: {zh: 扩容, en: scale it}
"""


def load_text(tmp_path: Path, text: str) -> rubric.Rubric:
    p = tmp_path / "r.yaml"
    p.write_text(text, encoding="utf-8")
    return rubric.load(str(p))


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(InputError) as exc:
        load_text(tmp_path, text)
    return str(exc.value)


def test_bundled_service_discovery_rubric_covers_six_steps_and_100_points():
    r = rubric.load("service-discovery")
    assert [s.id for s in r.steps] == [f"step{i}" for i in range(1, 7)]
    assert r.total == 100
    assert [s.phase for s in r.steps] == ["built"] * 5 + ["cleaned"]
    for s in r.steps:
        assert s.title.zh and s.title.en
        for c in s.checks:
            assert c.title.zh and c.title.en and c.hint.zh and c.hint.en


def test_good_rubric_loads_with_params_and_needs(tmp_path):
    r = load_text(tmp_path, GOOD)
    check = r.check("d1-replicas")
    assert check.params == {"name": "deployment1", "replicas": 2}
    assert check.needs == ("d1-exists",)
    assert r.total == 5


@pytest.mark.parametrize(
    "change, line, words",
    [
        (("use: deployment.exists", "use: deployment.exist"), 10, "unknown check type 'deployment.exist' (did you mean 'deployment.exists'?)"),
        (("with: {name: deployment1, replicas: 2}", "with: {name: deployment1, replica: 2}"), 17, "takes no parameter 'replica' (did you mean 'replicas'?)"),
        (("with: {name: deployment1, replicas: 2}", "with: {name: deployment1, replicas: two}"), 17, "with.replicas must be int"),
        (("with: {name: deployment1, replicas: 2}", "with: {name: deployment1}"), 17, "needs parameter 'replicas'"),
        (("total: 5", "total: 100"), 3, "total is 100 but the steps add up to 5"),
        (("    points: 5\n", "    points: 4\n"), 7, "points 4 but its checks add up to 5"),
        (("        points: 2\n", ""), 9, "missing required key 'points'"),
        (("        hint: {zh: 扩容, en: scale it}", "        hint: {zh: 扩容}"), 21, "missing required key 'en'"),
        (("needs: [d1-exists]", "needs: [d1-exist]"), 18, "needs 'd1-exist', which is not an earlier check"),
        (("title: {zh: 第一步, en: Step one}", "title: {zh: 第一步, en: Step one}\n    colour: red"), 7, "unknown key 'colour'"),
        (("id: d1-replicas", "id: d1-exists"), 15, "duplicate id 'd1-exists'"),
        (("lab: mini", "lab: mini\nlab: again"), 2, "duplicate key 'lab'"),
        (("steps:\n", "steps: [\n"), None, "YAML syntax error"),
        (("        points: 2\n", "        points: .nan\n"), 12, "points must be a finite number >= 0 (got nan)"),
        (("    points: 5\n", "    points: .inf\n"), 7, "points must be a finite number >= 0 (got inf)"),
        (("total: 5", "total: .nan"), 3, "total must be a finite number >= 0 (got nan)"),
        (("    points: 5\n", "    points: 5\n    deadline: .inf\n"), 8, "deadline must be a finite number >= 0 (got inf)"),
    ],
)
def test_broken_rubrics_name_file_line_and_reason(tmp_path, change, line, words):
    old, new = change
    assert old in GOOD
    message = error_of(tmp_path, GOOD.replace(old, new, 1))
    assert message.startswith(str(tmp_path / "r.yaml"))
    if line is not None:
        assert message.startswith(f"{tmp_path / 'r.yaml'}:{line}:"), message
    assert words in message
    assert "\n" not in message


PROBE = GOOD.replace("use: deployment.exists\n        with: {name: deployment1}",
                     "use: exec.run\n        with: {pod: clientpod, argv: [cat, /etc/resolv.conf], timeout: TIMEOUT}")


@pytest.mark.parametrize("timeout", ["0", "-5", "121", "86400", "'5'", "5.5"])
def test_a_probe_timeout_outside_1_to_120_seconds_is_refused_with_its_line(tmp_path, timeout):
    """0 would fail every student for nothing; a day would stall the run."""
    message = error_of(tmp_path, PROBE.replace("TIMEOUT", timeout))
    assert message.startswith(f"{tmp_path / 'r.yaml'}:11:"), message  # the with: line
    assert "with.timeout must be int from 1 to 120" in message


@pytest.mark.parametrize("timeout", ["1", "15", "120"])
def test_a_probe_timeout_within_bounds_loads(tmp_path, timeout):
    assert load_text(tmp_path, PROBE.replace("TIMEOUT", timeout)).check("d1-exists").params["timeout"] == int(timeout)


def test_unknown_bundled_rubric_suggests_the_near_name():
    with pytest.raises(InputError, match="did you mean 'service-discovery'"):
        rubric.load("service-discovry")


def test_empty_and_non_mapping_rubrics(tmp_path):
    assert "is empty" in error_of(tmp_path, "")
    assert "rubric must be a mapping" in error_of(tmp_path, "- just\n- a list\n")


def _tree(value):
    """A parsed rubric as plain data with every node's line, to compare two parses."""
    if isinstance(value, dict):
        return ("map", value.line, dict(value.lines), {k: _tree(v) for k, v in value.items()})
    if isinstance(value, list):
        return ("seq", value.line, list(value.lines), [_tree(v) for v in value])
    return (type(value).__name__, value)


@pytest.mark.parametrize("name", sorted(rubric.bundled()))
def test_the_fast_yaml_loader_reads_every_bundled_rubric_as_the_pure_python_one(monkeypatch, name):
    text = rubric.bundled()[name]
    fast = _tree(rubric.parse_yaml(text, name))
    monkeypatch.setattr(rubric, "_Loader", rubric.yaml.SafeLoader)
    assert _tree(rubric.parse_yaml(text, name)) == fast


@pytest.mark.parametrize("text", ["a: b: c\n", "\tsteps: 1\n", "a: *x\n", "a:\n  - 1\n - 2\n", "a: [1, 2\nb: 3\n"])
def test_a_yaml_mistake_reads_the_same_with_either_loader(monkeypatch, text):
    def message():
        with pytest.raises(InputError) as err:
            rubric.parse_yaml(text, "r.yaml")
        return str(err.value)

    fast = message()
    monkeypatch.setattr(rubric, "_Loader", rubric.yaml.SafeLoader)
    assert message() == fast  # the pure-Python loader's wording (it names the tab, the alias)
