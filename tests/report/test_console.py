"""console.py: what a student sees after running the grader."""
from __future__ import annotations

import dataclasses
import re

import pytest

from grader.i18n import Text
from grader.outcome import failed
from grader.report.console import cell_width, fit, render, wrap
from tests.report.reports import (
    HOSTILE,
    check,
    hostile,
    prerequisite_skipped,
    report,
    service_discovery,
    step,
)

SGR = re.compile(r"\x1b\[[0-9;]*m")
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def lines_after(out: str, start: str, count: int) -> list[str]:
    lines = out.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(start))
    return lines[index : index + count]


def test_a_failed_replica_count_shows_message_evidence_and_hint() -> None:
    out = render(service_discovery(), "en", color=False)
    block = lines_after(out, "  ✘ deployment1 has 2 replicas", 6)
    assert block[0].endswith(" 0/5")
    assert [line.strip() for line in block[1:]] == [
        "deployment1 has 3 replicas, expected 2",
        "Expected: 2 replicas",
        "Observed: 3 replicas (3 ready)",
        "Hint: Adjust with",
        "kubectl scale deployment deployment1 --replicas=2",  # a line of its own: copy it, run it whole
    ]
    assert all(line.startswith("      ") for line in block[1:])


def test_passed_checks_are_one_line_each() -> None:
    out = render(service_discovery(), "en", color=False)
    lines = out.splitlines()
    heading = lines.index("step2  Create deployment2 (3 replicas, httpd)")  # the details, not the table row
    block = lines[heading : heading + 6]
    assert [line[:4] for line in block[1:5]] == ["  ✔ "] * 4
    assert block[5] == ""


def test_the_total_says_what_was_not_graded_and_why() -> None:
    out = render(service_discovery(), "en", color=False)
    assert out.splitlines()[-1] == "Total 62/100 (15 points not graded: 1 error, phase 'cleaned' missing)"
    assert out.splitlines()[-2] == "Checks: 14 passed · 3 failed · 1 error · 4 not graded"
    zh = render(service_discovery(), "zh", color=False)
    assert zh.splitlines()[-1] == "总分 62/100（15 分未评分：1 项出错，没有清理之后的集群状态）"  # no phase id in Chinese


def test_a_complete_run_has_a_plain_total() -> None:
    r = report([step("step1", Text("一", "one"), [prerequisite_skipped()])])
    assert render(r, "en").splitlines()[-1] == "Total 0/12"


def test_an_error_reassures_and_a_skip_gives_its_reason() -> None:
    out = render(service_discovery(), "en", color=False)
    error = lines_after(out, "  ! service1 resolves", 4)
    assert error[0].endswith(" -/0")
    assert error[3].strip() == "This check could not be evaluated; no points were taken."
    skipped = lines_after(out, "  – the kubernetes service was never deleted", 2)
    assert skipped[0].endswith(" -/6")
    assert skipped[1].strip() == "no cluster state for phase 'cleaned'; not graded"
    prereq = render(report([step("step4", Text("服务2", "service2"), [prerequisite_skipped()])]), "en")
    # Blocked by a failed prerequisite: shown as the lost points it is.
    assert lines_after(prereq, "  ✘ service2's endpoints", 2)[1].strip() == "skipped because step1 failed"
    assert lines_after(prereq, "  ✘ service2's endpoints", 1)[0].endswith(" 0/12")


def test_the_step_table_lists_every_step_with_state_and_points() -> None:
    out = render(service_discovery(), "en", color=False)
    table = lines_after(out, "Step ", 8)
    assert table[0].split() == ["Step", "Title", "State", "Points"]
    assert set(table[1]) == {"─"}
    assert re.fullmatch(r"step1  Create deployment1 \(2 replicas, httpd\) +failed +10/15", table[2])
    assert table[7].endswith("not graded    -/15")  # nothing in step6 could be judged


@pytest.mark.parametrize("width", [100, 80, 60])
def test_chinese_columns_line_up_by_display_width(width: int) -> None:
    out = render(service_discovery(), "zh", color=False, width=width)
    table = lines_after(out, "步骤", 8)
    states = ("状态", "未通过", "通过", "出错", "未评分", "前置未通过")
    columns = set()
    for line in table[:1] + table[2:]:
        word = next(w for w in states if f"  {w}" in line)
        columns.add(cell_width(line[: line.index(f"  {word}")]))
    assert len(columns) == 1, table
    assert len({cell_width(line) for line in table}) == 1, table  # points right-aligned


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("width", [40, 72, 100, 140])
def test_nothing_is_wider_than_the_terminal(lang: str, width: int) -> None:
    out = render(service_discovery(), lang, color=False, width=width)
    commands = [line for line in out.splitlines() if line.lstrip().startswith("kubectl ")]
    assert max(cell_width(line) for line in out.splitlines() if line not in commands) <= width
    # Commands are never wrapped, even when wider than the terminal.
    assert "kubectl scale deployment deployment1 --replicas=2" in [c.strip() for c in commands]


def test_colour_only_when_asked_and_it_is_only_decoration() -> None:
    plain = render(service_discovery(), "en", color=False)
    coloured = render(service_discovery(), "en", color=True)
    assert "\x1b" not in plain
    assert "\x1b[31m" in coloured and "\x1b[32m" in coloured
    assert SGR.sub("", coloured) == plain


def test_ascii_mode_is_pure_ascii_for_an_english_report() -> None:
    out = render(service_discovery(), "en", color=False, ascii=True)
    assert out.isascii()
    assert lines_after(out, "  x deployment1 has 2 replicas", 1)
    assert lines_after(out, "  + deployment1 exists", 1)


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("color", [False, True])
def test_hostile_strings_cannot_reach_the_terminal(name: str, color: bool) -> None:
    out = render(hostile(HOSTILE[name]), "en", color=color, width=80)
    visible = SGR.sub("", out)
    assert "\x1b" not in visible and "\x9b" not in visible
    assert UNSAFE.findall(visible) == []
    out.encode("utf-8")
    assert max(cell_width(line) for line in visible.splitlines()) <= 80


def test_a_spoofed_pass_is_shown_as_text() -> None:
    spoof = check("deployment1-replicas", failed(Text("x", "3 replicas\r  ✔ PASSED")), 5, Text("副本", "replicas"))
    out = render(report([step("step1", Text("一", "one"), [spoof])]), "en")
    assert "3 replicas\\r  ✔ PASSED" in out
    assert "\r" not in out


def test_multi_line_exec_output_is_indented_under_its_label() -> None:
    page = "<html><body>\n<h1>It works!</h1>\n</body></html>"
    wget = check(
        "clientpod-wget-service2",
        failed(Text("响应不对", "unexpected response"), expected=Text("It works!", "It works!"), observed=Text(page, page)),
        10,
        Text("wget", "clientpod reaches service2 with wget"),
        use="exec.http_get",
    )
    out = render(report([step("step5", Text("五", "five"), [wget])]), "en")
    assert lines_after(out, "      Observed: ", 3) == [
        "      Observed: <html><body>",
        "                <h1>It works!</h1>",
        "                </body></html>",
    ]


def test_a_long_page_is_cut_to_a_few_lines() -> None:
    page = "\n".join(f"line {i}" for i in range(200))
    r = report([step("step5", Text("五", "five"), [check("wget", failed(Text("x", "x"), observed=Text(page, page)), 10, Text("w", "w"))])])
    out = render(r, "en")
    block = lines_after(out, "      Observed: line 0", 12)
    assert block[10].strip() == "line 10" and block[11].strip() == "..."
    assert "line 11" not in out and "line 199" not in out


def test_a_megabyte_of_output_is_cut_for_the_screen() -> None:
    out = render(hostile("It works! " * 100_000), "en", width=100)
    assert len(out) < 50_000
    assert "…" in out


def test_no_student_line_means_no_student_in_the_header() -> None:
    r = dataclasses.replace(service_discovery(), student=None)
    assert render(r, "en").splitlines()[0] == "Service discovery (service-discovery) · namespace default"


def test_width_helpers() -> None:
    assert cell_width("副本abc") == 7
    assert fit("创建deployment1", 8) == "创建dep…"
    assert cell_width(fit("创建创建创建", 5)) <= 5
    assert wrap("deployment1 has 3 replicas, expected 2", 20) == ["deployment1 has 3", "replicas, expected 2"]
    assert all(cell_width(line) <= 10 for line in wrap("期望每个deployment各一个pod，实际六个", 10))
