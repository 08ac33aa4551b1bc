"""safe.py: student strings cannot drive a terminal or break an XML file."""
from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

import pytest

from grader.report.safe import ELLIPSIS, for_terminal, for_xml
from tests.report.reports import HOSTILE

EVERY_CODE_POINT = "".join(map(chr, range(0x110000)))

TERMINAL_FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")
XML_LEGAL = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("boom")


# --- for_terminal ---------------------------------------------------------


def test_a_label_that_fakes_a_pass_loses_its_escape_sequences() -> None:
    # clear screen, red, "PASSED", reset, set window title, full reset
    assert for_terminal(HOSTILE["ansi"]) == "PASSED"


def test_lone_control_characters_are_shown_not_obeyed() -> None:
    assert for_terminal("a\x00b\x07c\x1b") == "a\\x00b\\x07c\\x1b"
    assert for_terminal("\x1b]0;title never ends") == "\\x1b]0;title never ends"
    assert for_terminal("x\x9b31m") == "x\\x9b31m"  # 8-bit CSI
    assert for_terminal("col1\tcol2") == "col1 col2"


def test_bidi_overrides_are_made_visible() -> None:
    assert for_terminal("invoice\u202eexe.pdf") == "invoice\\u202eexe.pdf"
    assert for_terminal("a\u2066b\u2069") == "a\\u2066b\\u2069"


def test_newlines_are_escaped_unless_kept_and_a_lone_cr_never_rewinds() -> None:
    assert for_terminal("It works!\n") == "It works!\\n"
    assert for_terminal("one\r\ntwo\n", keep_newlines=True) == "one\ntwo\n"
    assert for_terminal("FAILED\rPASSED", keep_newlines=True) == "FAILED\\rPASSED"


def test_chinese_and_emoji_pass_through_unchanged() -> None:
    assert for_terminal("副本数：3 😀 𝔘") == "副本数：3 😀 𝔘"


def test_long_values_are_cut_with_an_ellipsis_within_the_limit() -> None:
    out = for_terminal("x" * 1000, 20)
    assert out == "x" * 19 + ELLIPSIS
    assert for_terminal("short", 20) == "short"
    assert for_terminal("exactly-ten", 11) == "exactly-ten"


def test_an_escape_is_never_cut_in_half() -> None:
    assert for_terminal("\x00" * 100, 10) == "\\x00\\x00" + ELLIPSIS
    assert for_terminal("ab\x00", 4) == "ab" + ELLIPSIS


def test_a_megabyte_of_output_costs_little_and_stays_bounded() -> None:
    started = time.perf_counter()
    out = for_terminal("\x1b[31m" + "y\x00" * (1 << 19), 300)
    assert len(out) == 300 and out.endswith(ELLIPSIS)
    assert time.perf_counter() - started < 2.0


def test_terminal_output_is_clean_for_every_code_point() -> None:
    for keep in (False, True):
        out = for_terminal(EVERY_CODE_POINT, None, keep_newlines=keep)
        assert TERMINAL_FORBIDDEN.findall(out) == []
        assert ("\n" in out) is keep
        out.encode("utf-8")  # lone surrogates would raise here


@pytest.mark.parametrize("value", [None, 42, 2.5, b"bytes", Unprintable()])
def test_for_terminal_is_total(value: object) -> None:
    out = for_terminal(value)
    assert isinstance(out, str)
    assert for_terminal(Unprintable()) == "<unprintable>"
    assert for_terminal(None) == ""


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_tiny_limits_do_not_break(limit: int) -> None:
    assert len(for_terminal("\x00abc", limit)) <= limit


# --- for_xml --------------------------------------------------------------


def test_xml_keeps_only_legal_characters_for_every_code_point() -> None:
    out = for_xml(EVERY_CODE_POINT, None)
    assert XML_LEGAL.fullmatch(out)
    assert "\t" in out and "\n" in out and "\r" in out
    assert "\U0001f600" in out and "\U0010fffd" in out  # non-BMP text stays
    for gone in ("\x00", "\x0b", "\x7f", "\x85", "\ud800", "\udfff", "\ufffe", "\uffff", "\U0001fffe", "\u202e"):
        assert gone not in out


def test_xml_output_parses_in_text_and_attributes() -> None:
    value = for_xml(EVERY_CODE_POINT, None)
    doc = ET.fromstring(f"<a b={quoteattr(value)}>{escape(value)}</a>")
    assert doc.get("b") is not None


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_strings_survive_xml(name: str) -> None:
    value = for_xml(HOSTILE[name])
    ET.fromstring(f"<a b={quoteattr(value)}>{escape(value)}</a>")
    assert XML_LEGAL.fullmatch(value)


def test_xml_removes_what_it_cannot_represent_and_strips_colours() -> None:
    assert for_xml("ok\x00\x1b[32m green\x1b[0m\ud800") == "ok green"
    assert for_xml("x\ufffey\uffffz") == "xyz"
    assert for_xml("pod-😀") == "pod-😀"


def test_single_line_folds_whitespace_for_attributes() -> None:
    assert for_xml("  3 replicas\r\n\texpected 2 \n", single_line=True) == "3 replicas expected 2"


def test_xml_truncates_with_an_ellipsis() -> None:
    assert for_xml("z" * 10_000, 300) == "z" * 299 + ELLIPSIS
    assert len(for_xml("z" * (1 << 20), 4000)) == 4000


@pytest.mark.parametrize("value", [None, 7, Unprintable()])
def test_for_xml_is_total(value: object) -> None:
    assert isinstance(for_xml(value), str)


# What for_xml removes and what single_line folds, written out apart from
# safe.py: its printable fast path and its cleaner must both agree with it.
XML_REMOVED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                         "\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
XML_FOLDED = re.compile("[\t\n\r\u2028\u2029]+")


def test_every_bmp_code_point_between_letters_is_kept_removed_or_folded() -> None:
    for point in range(0x10000):
        if point == 0x1B:
            continue  # "\x1bb" is a whole escape sequence (ESC + final byte): removed with its b, tested above
        ch = chr(point)
        kept = XML_FOLDED.sub(" ", XML_REMOVED.sub("", f"a{ch}b"))
        assert for_xml(f"a{ch}b", single_line=True) == kept, hex(point)
        assert for_xml(f"a{ch}b") == XML_REMOVED.sub("", f"a{ch}b"), hex(point)


def test_an_attribute_loses_its_outer_unicode_spaces_too() -> None:
    assert for_xml("\u3000学生 13\u00a0", single_line=True) == "学生 13"
    assert for_xml(" 学生 13 ", single_line=True) == "学生 13"
