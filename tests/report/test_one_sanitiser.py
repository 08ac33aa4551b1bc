"""safe.py is the one sanitiser, and it cuts before it cleans (issue 7)."""
from __future__ import annotations

import re

from grader.report import html_report, safe


class _Counting:
    """Wraps a compiled expression and records how long each input was."""

    def __init__(self, pattern: re.Pattern[str]):
        self.pattern = pattern
        self.lengths: list[int] = []

    def sub(self, repl, text, *args, **kw):
        self.lengths.append(len(text))
        return self.pattern.sub(repl, text, *args, **kw)


def test_for_xml_cleans_only_what_it_keeps(monkeypatch):
    """A megabyte of exec output once took 3.7 s: cleaned whole, then cut
    to 4000 characters. Cut first: the expressions see a few times the
    limit, never the megabyte (counted, not timed: tests never assert on time)."""
    ansi, unsafe = _Counting(safe._ANSI), _Counting(safe._XML_UNSAFE)
    monkeypatch.setattr(safe, "_ANSI", ansi)
    monkeypatch.setattr(safe, "_XML_UNSAFE", unsafe)
    big = ("\x1b[31mred\x1b[0m line\x00\n" * 60_000)[:1_000_000]
    out = safe.for_xml(big, 4000)
    assert len(out) == 4000 and out.endswith(safe.ELLIPSIS)
    assert "\x1b" not in out and "\x00" not in out and "[31m" not in out
    assert max(ansi.lengths + unsafe.lengths) < 40_000


def test_the_cut_keeps_the_same_text_as_cleaning_whole():
    text = "\x1b]0;title\x07ok\u202e " * 3000
    assert safe.for_xml(text, 500) == safe.truncate(safe._XML_UNSAFE.sub("", safe._ANSI.sub("", text)), 500)


def test_html_report_has_no_sanitiser_of_its_own():
    """Two sets of expressions drift apart (they already differed on
    unterminated escape strings): html_report cleans through safe.py."""
    assert not [name for name, value in vars(html_report).items() if isinstance(value, re.Pattern)]
    hostile = "a\x1b[2Jb\x00c\u202ed\ud800e\r\nf"
    assert html_report.clean(hostile) == safe.for_html(hostile) == "abcd\ufffde\nf"
    assert html_report.clean("x" * 3000, 2000) == "x" * 2000 + "… (+1000)"
