"""Make student-controlled strings harmless where reports put them.

Object names, labels, annotations and exec output are written by the
student (or by whatever the student ran), and they reach a teacher's
terminal and an LMS's XML parser. A terminal obeys escape sequences (clear
the screen, rewrite the line so "FAILED" reads "PASSED", set the window
title) and bidi overrides reorder what the eye reads; an XML parser rejects
a whole file for one NUL. These two functions are the only doors such
strings go through, and they never raise: a reporter that crashes on a
hostile string hands the attacker a denial of service.
"""
from __future__ import annotations

import re
from typing import Callable

ELLIPSIS = "…"

# Escape sequences a terminal would act on: CSI (colours, cursor moves,
# erase), OSC/DCS/SOS/PM/APC strings (window title, hyperlinks, clipboard)
# with their terminator, and two-byte escapes (ESC c resets the terminal).
# An unterminated string sequence is not matched: its ESC is then escaped
# below and the rest stays visible as plain text, which is safe.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[PX^_][^\x1b]*\x1b\\"
    r"|\x1b(?![\[\]PX^_])[ -/]*[0-~]"
)

# Bidi embeddings/overrides/isolates and the invisible direction marks:
# they make a terminal or browser show text in another order than it is.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"

# For terminals: C0, DEL, C1 (U+009B is an 8-bit CSI on some terminals),
# bidi controls, the Unicode line/paragraph separators, and lone surrogates
# (which cannot even be encoded to UTF-8, so printing them would raise).
_TERMINAL_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")

# Not allowed in XML 1.0 (C0 except tab/LF/CR, surrogates, U+FFFE/FFFF), plus
# what XML allows but discourages (DEL, C1, noncharacters) because junit-xml
# deletes some of those behind our back, and bidi controls because the XML
# ends up in a web page.
_NONCHARACTERS = "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}" for p in range(1, 17))
_XML_UNSAFE_CHARS = f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff{_NONCHARACTERS}]"
_XML_UNSAFE = re.compile(_XML_UNSAFE_CHARS)
# Whether for_xml's cleaning changes anything: every escape sequence starts
# with ESC, which is among these, so a string with none is left as it is by
# both substitutions, and one search replaces them (nearly every string).
_XML_CHANGES = re.compile(_XML_UNSAFE_CHARS)
_XML_LINE_BREAKS = re.compile(r"[\t\n\r\u2028\u2029]+")
# What the page cleaner changes: everything _XML_UNSAFE removes (ESC, where
# every escape sequence starts, and lone surrogates among it), CR and the
# Unicode line breaks. A string with none of these is already clean, which
# is nearly every string a report holds: one search instead of three
# substitutions and four replacements (a class of a thousand makes half a
# million of these calls).
_HTML_CHANGES = re.compile(
    f"[\r\u2028\u2029\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff{_NONCHARACTERS}]"
)


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except Exception:  # a hostile __str__ must not take the report down
        return "<unprintable>"


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if ch == "\t":
        return " "
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def for_terminal(value: object, limit: int | None = 300, *, keep_newlines: bool = False) -> str:
    """``value`` as text that cannot drive a terminal, at most ``limit`` chars.

    Escape sequences are dropped (they are formatting, and exec output is
    often coloured); every other control character, bidi control or lone
    surrogate is shown as a visible ``\\xNN``/``\\uNNNN`` escape so that a
    teacher sees that something odd was there. Tabs become a space.
    With ``keep_newlines`` line feeds (and CRLF) stay line breaks; a lone
    CR is still escaped, as it would overwrite the start of the line.
    """
    text = _ANSI.sub("", _as_text(value))
    if keep_newlines:
        text = text.replace("\r\n", "\n")
    budget = None if limit is None else max(limit, 0)
    out: list[str] = []
    used = 0
    pos = 0

    def take(piece: str, divisible: bool) -> bool:
        """Append ``piece`` within the budget; False once the budget is spent."""
        nonlocal used
        if budget is None or used + len(piece) <= budget:
            out.append(piece)
            used += len(piece)
            return True
        room = budget - used - len(ELLIPSIS)
        if divisible and room > 0:
            out.append(piece[:room])
        if budget >= len(ELLIPSIS):
            out.append(ELLIPSIS)
        return False

    # Lazy scan: a 1 MB value stops costing anything once the budget is spent.
    for match in _TERMINAL_UNSAFE.finditer(text):
        if not take(text[pos : match.start()], True):
            return _finish(out, budget)
        ch = match.group()
        if not take("\n" if keep_newlines and ch == "\n" else _escape_char(ch), False):
            return _finish(out, budget)
        pos = match.end()
    take(text[pos:], True)
    return _finish(out, budget)


def _finish(out: list[str], budget: int | None) -> str:
    text = "".join(out)
    if budget is not None and len(text) > budget:  # an escape landed at the edge
        text = text[: max(budget - len(ELLIPSIS), 0)] + (ELLIPSIS if budget >= len(ELLIPSIS) else "")
    return text


def for_xml(value: object, limit: int | None = 4000, *, single_line: bool = False) -> str:
    """``value`` with only characters XML 1.0 accepts, at most ``limit`` chars.

    Offending characters are removed rather than escaped: XML has no escape
    for them (``&#0;`` is as illegal as a raw NUL). Escape sequences go too,
    so coloured exec output reads cleanly in the LMS. ``single_line`` folds
    tabs and line breaks into single spaces, for attributes, which XML
    parsers would normalise anyway.
    """
    raw = _as_text(value)
    if raw.isprintable():
        # No control, separator, surrogate, noncharacter or bidi control
        # (categories C* and Z* but the space): nothing to remove or fold,
        # and one C loop, stopping at the first other character, says so
        # (nearly every string a report holds).
        return truncate(raw.strip() if single_line else raw, limit)
    text = _clean_prefix(raw, limit, lambda chunk: _XML_UNSAFE.sub("", _ANSI.sub("", chunk))
                         if _XML_CHANGES.search(chunk) else chunk)
    if single_line:
        text = _XML_LINE_BREAKS.sub(" ", text).strip()
    return truncate(text, limit)


def _clean_prefix(raw: str, limit: int | None, clean: Callable[[str], str]) -> str:
    """``clean`` applied to only as much of ``raw`` as a ``limit``-character
    result needs: cut first, then clean (a megabyte of exec output once
    took seconds to clean before being cut to a few thousand characters).
    The window grows until the cleaned text is comfortably longer than
    ``limit`` (an escape sequence cut at the window's edge leaves debris
    only beyond it) or the whole string has been read."""
    if limit is None or len(raw) <= 2 * limit + _SLACK:
        return clean(raw)
    window = 2 * limit + _SLACK
    while True:
        cleaned = clean(raw[:window])
        if len(cleaned) > limit + _SLACK or window >= len(raw):
            return cleaned
        window *= 4


_SLACK = 256  # characters beyond the limit kept in the window: longer than any escape sequence we drop


def for_html(value: object, limit: int = 2000) -> str:
    """``value`` as plain printable text for an HTML page, at most
    ``limit`` characters plus a ``… (+N)`` mark of what was cut.

    The same characters go as for XML (controls, escape sequences, bidi,
    noncharacters), except that lone surrogates become U+FFFD (a page shows
    that something was there) and line breaks are normalised to LF. One
    sanitiser for every report: html_report calls this, it has no
    expressions of its own.
    """
    raw = _as_text(value)

    def clean(chunk: str) -> str:
        if chunk.isprintable() or not _HTML_CHANGES.search(chunk):  # isprintable: for_xml's fast path
            return chunk
        chunk = _SURROGATES.sub("\ufffd", chunk)
        chunk = chunk.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
        return _XML_UNSAFE.sub("", _ANSI_LOOSE.sub("", chunk))

    if len(raw) <= 8 * limit + _SLACK:  # read whole: the mark says exactly how much was cut
        text = clean(raw)
        return f"{text[:limit]}… (+{len(text) - limit})" if len(text) > limit else text
    text = _clean_prefix(raw, limit, clean)  # cut first; the mark counts the raw characters left
    return f"{text[:limit]}… (+{len(raw) - limit})" if len(text) > limit else text


_SURROGATES = re.compile("[\ud800-\udfff]")
# Unterminated string sequences are dropped to the end, as a page has no
# use for the visible debris the terminal sanitiser leaves.
_ANSI_LOOSE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -/]*[0-~]"
)


def truncate(text: str, limit: int | None) -> str:
    """``text`` cut to ``limit`` characters, the last being an ellipsis."""
    if limit is None or len(text) <= limit:
        return text
    if limit < len(ELLIPSIS):
        return ""
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS


__all__ = ["ELLIPSIS", "for_terminal", "for_xml", "for_html", "truncate"]
