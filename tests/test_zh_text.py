"""The Chinese a student reads follows docs/glossary.md: no phase ids, no
exception names, no ASCII comma between list items, one word per thing
(issue 7: the Chinese text)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from grader import phases, rubric
from grader.i18n import phase_name
from grader.report import console, html_report, wording
from grader.report.gradebook import _NOT_GRADED, _SUMMARY, _W as SUMMARY_WORDS
from grader.report.html_report import _W as HTML_WORDS
from grader.classroom.check_screen import _WORDS as CHECK_WORDS
from tests.test_examples import CASES, EXAMPLES, grade_case

RUBRIC = rubric.load("service-discovery")

PHASE_ID = re.compile(r"(?<![\w=-])(built|cleaned|baseline)(?![\w=-])")
EXCEPTION = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b")
ASCII_LIST = re.compile(r"[\w)）>-], [\w(<]")  # "a, b": a list joined the English way
REPLACED = ("账本", "评判", "评的是", "headless 服务", "端点正是", "同名前缀", "超时没有结束", "wget 到", "被删后会被重建")


def _texts_of(report) -> list[str]:
    out = [n.zh for n in report.notes]
    for step, c in report.checks():
        o = c.outcome
        out += [step.title.zh, c.title.zh, c.hint.zh, o.message.zh]
        out += [t.zh for t in (o.expected, o.observed) if t is not None]
        out += [n.zh for n in o.notes]
    out += [console.total_line(report, "zh"), console.counts_line(report, "zh", " · ")]
    return out


def _zh_corpus() -> list[str]:
    texts: list[str] = []
    for case in CASES:
        for chosen in (("baseline", "built", "cleaned"), ("cleaned",), ("built",)):
            report, _ = grade_case(case, phases=chosen)
            texts += _texts_of(report)
    texts += [w.zh for w in [*wording.STATE.values(), wording.BLOCKED, wording.NOT_GRADED, wording.NOT_YOUR_FAULT,
                             *wording.FALLBACK_MESSAGE.values(), *HTML_WORDS.values(), *CHECK_WORDS.values(),
                             *SUMMARY_WORDS.values(), *_SUMMARY.values(), _NOT_GRADED]]
    texts += [phase_name(p).zh for p in ("baseline", "built", "cleaned")]
    texts += [phases.chosen("built").zh, phases.regraded("cleaned", "state.yaml").zh]
    return texts


CORPUS = _zh_corpus()


def _outside_commands(text: str) -> str:
    """The text without the commands and flags it quotes (``--snapshot
    built=文件``, ``labgrade baseline``): those are what a student types."""
    text = re.sub(r"--\w[\w-]*(?:[ =]\S+)?", "", text)
    return re.sub(r"labgrade \w+", "", text)


def test_the_corpus_covers_every_check_and_both_halves_of_a_run():
    assert len(CORPUS) > 500
    assert any("搭建完成后" in t for t in CORPUS) and any("未评分" in t for t in CORPUS)


@pytest.mark.parametrize("rule, pattern", [("phase id", PHASE_ID), ("exception name", EXCEPTION),
                                           ("ASCII comma between list items", ASCII_LIST)])
def test_no_student_facing_chinese_breaks_a_rule(rule, pattern):
    bad = sorted({t for t in CORPUS if pattern.search(_outside_commands(t))})
    assert not bad, f"{rule}: {bad[:5]}"


def test_the_glossary_words_replace_the_old_ones():
    bad = sorted({t for t in CORPUS for w in REPLACED if w in t})
    assert not bad, bad[:5]


def test_hints_hold_no_colon_of_their_own():
    """A hint is shown after 提示：, so a colon inside it reads as a double colon."""
    assert not [c.hint.zh for s in RUBRIC.steps for c in s.checks if "：" in c.hint.zh]


def test_the_glossary_exists_and_names_its_rules():
    text = (Path(__file__).resolve().parents[1] / "docs" / "glossary.md").read_text(encoding="utf-8")
    for word in ("记录文件", "未评分", "前置未通过", "Headless Service", "恰好是", "、"):
        assert word in text


def test_the_swapped_and_namespace_notes_follow_the_rules():
    from grader import elsewhere
    from grader.sources import snapshot

    first = snapshot.load(EXAMPLES / "correct" / "cleaned.yaml").view()
    second = snapshot.load(EXAMPLES / "correct" / "built.yaml").view()
    warning = phases.swapped(RUBRIC, first, second, "default")
    hint = elsewhere.note("Deployment", "deployment1", ["lab-42", "lab-43"])
    leftovers = snapshot.load(EXAMPLES / "leftovers" / "cleaned.yaml").view()  # a cleanup begun, not finished
    partial = phases.infer(RUBRIC, leftovers, "default", second).reason.zh
    assert "清理已经开始" in partial
    for text in (warning.zh, hint.zh, phases.infer(RUBRIC, first, "default").reason.zh,
                 phases.infer(RUBRIC, second, "default").reason.zh, partial):
        assert not any(word in text for word in REPLACED), text
        stripped = _outside_commands(text)
        assert not PHASE_ID.search(stripped) and not ASCII_LIST.search(stripped), text
