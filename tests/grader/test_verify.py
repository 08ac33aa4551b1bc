"""``labgrade verify STEP``: one step, one line, an exit status a lab
platform's check button understands."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.cli import main
from grader.i18n import Text
from grader.outcome import CheckResult, StepResult, error, failed, passed, skipped
from grader.classroom.verify import EXIT_CANNOT_JUDGE, EXIT_NOT_YET, EXIT_PASSED, verdict

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "service-discovery"


def verify(*args: str) -> list[str]:
    return ["verify", "--rubric", "service-discovery", *args]


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(verify(*args))
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out  # exactly one line
    return code, out.strip()


def test_a_passing_step_exits_0_with_one_line_in_chinese(capsys):
    code, line = run(capsys, "step1", "--snapshot", str(EXAMPLES / "correct" / "built.yaml"), "--lang", "zh")
    assert code == EXIT_PASSED and line.startswith("✓ step1: 创建deployment1") and line.endswith("完成")


def test_a_failing_step_says_the_first_problem_and_its_hint(capsys):
    code, line = run(capsys, "1", "--snapshot", str(EXAMPLES / "wrong-replicas" / "built.yaml"), "--lang", "en")
    assert code == EXIT_NOT_YET
    assert line.startswith("✗ step1: deployment1 has 3 replicas, expected 2") and "hint: " in line


def test_only_the_asked_step_is_judged(capsys):
    # wrong-replicas breaks step 1 only: step 3 still passes from the same dump.
    code, _ = run(capsys, "step3", "--snapshot", str(EXAMPLES / "wrong-replicas" / "built.yaml"))
    assert code == EXIT_PASSED


def test_a_step_a_dump_cannot_show_is_not_the_students_fault(capsys):
    code, line = run(capsys, "step5", "--snapshot", str(EXAMPLES / "correct" / "built.yaml"), "--lang", "en")
    assert code == EXIT_CANNOT_JUDGE and "not your fault" in line


def test_the_cleanup_step_takes_both_phases(capsys):
    ok = EXAMPLES / "correct"
    code, _ = run(capsys, "step6", "--snapshot", str(ok / "cleaned.yaml"), "--snapshot", f"built={ok / 'built.yaml'}",
                  "--baseline", str(ok / "baseline.yaml"))
    assert code == EXIT_PASSED
    left = EXAMPLES / "leftovers"
    code, line = run(capsys, "step6", "--snapshot", str(left / "cleaned.yaml"), "--snapshot", f"built={left / 'built.yaml'}")
    assert code == EXIT_NOT_YET and line.startswith("✗ step6")


def test_an_unknown_step_is_an_input_error_listing_the_steps(capsys):
    assert main(verify("step9", "--snapshot", str(EXAMPLES / "correct" / "built.yaml"))) == 2
    assert "steps: step1, step2" in capsys.readouterr().err


def test_zero_point_checks_are_not_even_run():
    from grader import rubric
    from grader.classroom.verify import find_step, one_step

    r = rubric.load("service-discovery")
    cut = one_step(r, find_step(r, "step5"))
    assert [c.id for c in cut.steps[0].checks] == ["clientpod-running", "clientpod-wget-service2"]
    assert cut.steps[0].needs == ()


def test_the_rubric_can_come_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("LABGRADE_RUBRIC", "service-discovery")
    from grader.cli import build_parser

    assert build_parser().parse_args(["verify", "step1"]).rubric == "service-discovery"


# -- the verdict of a graded step, branch by branch -------------------------------------

T = Text("题", "title")


def _c(cid: str, outcome, points: float = 5, hint: Text = Text("", "")) -> CheckResult:
    return CheckResult(cid, "x", T, hint, points, points * outcome.score, outcome)


def _step(*checks: CheckResult) -> StepResult:
    return StepResult("step2", "built", Text("第二步", "Step two"), sum(c.points for c in checks), checks)


def test_zero_point_checks_do_not_hold_a_student_back():
    s = _step(_c("a", passed(Text("好", "ok"))), _c("dns", skipped(Text("x", "x"), graded=False), points=0))
    assert verdict(s, "en").code == EXIT_PASSED


def test_a_prerequisite_skip_inside_the_step_is_not_yet():
    s = _step(_c("a", passed(Text("好", "ok"))), _c("b", skipped(Text("前置未过", "needs a"), graded=True)))
    v = verdict(s, "en")
    assert v.code == EXIT_NOT_YET and "needs a" in v.line


def test_failure_beats_error_and_the_line_is_one_clean_line():
    hostile = Text("坏\n\x1b[31m行", "bad\n\x1b[2Jline\u202e")
    s = _step(_c("e", error(Text("超时", "timeout"))), _c("f", failed(hostile), hint=Text("提示", "do x")))
    v = verdict(s, "en")
    assert v.code == EXIT_NOT_YET
    assert "\n" not in v.line and "\x1b" not in v.line and "\u202e" not in v.line and "(hint: do x)" in v.line


def test_an_error_alone_cannot_judge():
    v = verdict(_step(_c("a", passed(Text("好", "ok"))), _c("e", error(Text("超时", "API timeout")))), "zh")
    assert v.code == EXIT_CANNOT_JUDGE and "超时" in v.line


@pytest.mark.parametrize("lang, word", [("zh", "完成"), ("en", "done")])
def test_a_passed_step_in_each_language(lang, word):
    assert verdict(_step(_c("a", passed(Text("好", "ok")))), lang).line.endswith(word)


# -- live, against the stand-in API server ------------------------------------------------

def test_verify_grades_a_live_cluster_with_its_probes(tmp_path, capsys):
    pytest.importorskip("aiohttp")
    from tests.standin.fixtures import load_dump
    from tests.standin.server import StandIn

    with StandIn(load_dump(EXAMPLES / "correct" / "built.yaml")) as server:
        kubeconfig = str(server.kubeconfig_path(tmp_path))
        code, line = run(capsys, "step5", "--kubeconfig", kubeconfig, "--lang", "en")
        assert code == EXIT_PASSED, line  # wget through pods/exec, live
        assert any(q.path.endswith("/exec") for q in server.requests)
        server.clear_requests()
        code, _ = run(capsys, "step1", "--kubeconfig", kubeconfig)
        assert code == EXIT_PASSED
        listed = {q.path.rsplit("/", 1)[-1] for q in server.requests}
        assert "services" not in listed and "endpointslices" not in listed  # step 1 reads workloads only
