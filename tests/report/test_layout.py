"""The console at the terminal's real width: words and names never cut,
wide characters counted as two columns, commands on a line of their own
(issue 7, the console). The same rules for ``check`` and ``--watch``."""
from __future__ import annotations

import io
import re

import pytest

from grader.cli import main
from grader.report.layout import cell_width, split_commands, terminal_width, wrap, wrap_prose_and_commands
from tests.test_examples import EXAMPLES

NAMES = re.compile(r"deployment[12]-[a-z0-9]+-[a-z0-9]+|deployment[12]|service[12]|clientpod")


def _grade(capsys, monkeypatch, columns: int, lang: str, case: str = "service2-all-pods") -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["grade", "--rubric", "service-discovery", "--snapshot", str(EXAMPLES / case / "built.yaml"),
                 "--snapshot", str(EXAMPLES / case / "cleaned.yaml"), "--lang", lang, "--no-color"]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("columns", [60, 80, 120])
def test_grade_lays_out_for_columns_and_never_cuts_a_name(capsys, monkeypatch, lang, columns):
    """grade laid out 100 columns whatever the terminal: at 80 every line
    wrapped and names came out as ``deploymen`` / ``t1``."""
    out = _grade(capsys, monkeypatch, columns, lang)
    lines = out.splitlines()
    commands = [line for line in lines if line.lstrip().startswith("kubectl ")]
    assert all(cell_width(line) <= columns for line in lines if line not in commands)
    whole = {m.group() for m in NAMES.finditer(out.replace("\n", " "))}
    for line in lines:
        for m in NAMES.finditer(line):
            if m.end() == len(line.rstrip()) and not line.rstrip().endswith(("…", ")", "）")):
                # a name ending a line must be whole: it is one of the names the report holds
                assert m.group() in whole
    # No word split across lines: the last token of a line joined with the
    # first of the next never forms a name the report holds elsewhere.
    for a, b in zip(lines, lines[1:]):
        if a and b.strip() and a[-1].isalnum() and b.strip()[0].isalnum():
            assert (a.split()[-1] + b.split()[0]) not in whole


def test_hint_commands_are_on_their_own_unwrapped_line(capsys, monkeypatch):
    out = _grade(capsys, monkeypatch, 60, "en", "wrong-replicas")
    assert "            kubectl scale deployment deployment1 --replicas=2" in out.splitlines()  # under "Hint: "
    zh = _grade(capsys, monkeypatch, 60, "zh", "wrong-replicas")
    assert "kubectl scale deployment deployment1 --replicas=2" in [line.strip() for line in zh.splitlines()]


def test_terminal_width_prefers_columns_then_the_terminal_then_100():
    assert terminal_width(io.StringIO(), {"COLUMNS": "72"}) == 72
    assert terminal_width(io.StringIO(), {}) == 100
    assert terminal_width(io.StringIO(), {"COLUMNS": "junk"}) == 100


def test_wide_characters_count_two_and_lines_break_between_words_or_cjk():
    assert cell_width("服务service") == 11
    lines = wrap("在 clientpod 中通过域名用 wget 访问 service2 的第一个 Pod", 14)
    assert all(cell_width(line) <= 14 for line in lines)
    assert "clientpod" in " ".join(lines).split() and "service2" in " ".join(lines).split()
    assert wrap("a deployment1-abc12 b", 18) == ["a", "deployment1-abc12", "b"]  # the name moves, whole
    assert wrap("xx deployment1-abc12", 12) == ["xx", "deployment1-", "abc12"]  # only a word wider than the line is cut
    assert wrap("one two three", 7) == ["one two", "three"]


def test_a_command_is_split_out_of_its_sentence_in_both_languages():
    assert split_commands("用 kubectl scale deployment deployment1 --replicas=2 调整副本数") == [
        (False, "用 "), (True, "kubectl scale deployment deployment1 --replicas=2"), (False, " 调整副本数")]
    assert split_commands("Label it (kubectl label pod <name> svc2=yes), then") == [
        (False, "Label it ("), (True, "kubectl label pod <name> svc2=yes"), (False, "), then")]
    lines = wrap_prose_and_commands("Adjust with kubectl scale deployment deployment1 --replicas=2", 10)
    assert (True, "kubectl scale deployment deployment1 --replicas=2") in lines


def test_check_and_watch_put_the_hint_command_on_its_own_line(tmp_path):
    """The self-check's next-step hint follows the same rules as grade."""
    from datetime import datetime, timezone

    from grader.classroom import check_screen, selfcheck
    from grader.i18n import Text
    from grader.outcome import CheckResult, StepResult, failed
    from grader.rubric import load

    rubric = load("service-discovery")
    step = rubric.steps[0]
    c = step.checks[1]
    result = StepResult(step.id, step.phase, step.title, step.points, (
        CheckResult(c.id, c.use, c.title, c.hint, c.points, 0.0, failed(Text("副本数不对", "wrong replica count"))),))
    progress = selfcheck.Progress(rubric.title, rubric.lab, "default", datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc),
                                  (selfcheck.StepState(step, selfcheck.TODO, result, None, 0.0),), rubric.total, (),
                                  str(tmp_path / "l.jsonl"), 0, False)
    for lang in ("en", "zh"):
        lines = check_screen.render(progress, lang, width=50, tz=timezone.utc).splitlines()
        assert "kubectl scale deployment deployment1 --replicas=2" in [line.strip() for line in lines]
        assert all(cell_width(line) <= 50 for line in lines if "kubectl" not in line)


@pytest.mark.parametrize("hint, prose", [
    ("kubectl delete pod clientpod; a Deployment's pods go with it", "a Deployment's pods go with it"),
    ("kubectl delete pod clientpod；Deployment 删除后它的 Pod 会被自动删除", "Deployment 删除后它的 Pod 会被自动删除"),
    ("先运行 kubectl get pods，再看一次", "再看一次"),
])
def test_the_clause_mark_that_ends_a_command_does_not_open_the_next_line(hint, prose):
    lines = wrap_prose_and_commands(hint, 80)
    assert lines[-1] == (False, prose)
    assert any(is_command and line.startswith("kubectl ") for is_command, line in lines)


@pytest.mark.parametrize("hint, before, after", [
    ("先给每个 Deployment 的第一个 Pod 打标签（kubectl label pod <名称> svc2=yes），再创建选择该标签的 Service",
     "先给每个 Deployment 的第一个 Pod 打标签", "再创建选择该标签的 Service"),
    ("Label the first pod of each Deployment (kubectl label pod <name> svc2=yes), then create a Service",
     "Label the first pod of each Deployment", "then create a Service"),
])
def test_a_command_in_brackets_leaves_no_bracket_dangling(hint, before, after):
    """Step 4's hint read "打标签（" / "kubectl label pod <名称> svc2=yes" / "），再创建…":
    the command's own line stands for the brackets."""
    assert wrap_prose_and_commands(hint, 80) == [(False, before), (True, hint.split("（")[-1].split("）")[0]
                                                  if "（" in hint else "kubectl label pod <name> svc2=yes"), (False, after)]


def test_a_bracket_that_only_follows_a_command_stays():
    assert wrap_prose_and_commands("kubectl delete service service1 service2（只删这两个！）", 80) == [
        (True, "kubectl delete service service1 service2"), (False, "（只删这两个！）")]
