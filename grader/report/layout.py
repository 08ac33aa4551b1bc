"""Laying text out in a terminal: widths, cutting, wrapping, commands.

The console report and the self-check screen share these rules, so that a
student sees one behaviour whatever the command:

- a width is counted in terminal columns: East Asian wide and fullwidth
  characters take two, combining marks none;
- a line breaks only between words (at spaces) or next to a CJK character,
  never inside a word, so ``deployment1`` or a pod name is never split
  (unless the word alone is wider than the whole line, where there is no
  other way);
- a shell command in a hint (``kubectl ...``) gets a line of its own and is
  never wrapped, so copying that line runs the whole command;
- the width is the real terminal's (``COLUMNS`` first, as shells and
  ``shutil`` do), and a fixed default when the output is not a terminal.
"""
from __future__ import annotations

import os
import re
import unicodedata
from typing import TextIO

DEFAULT_WIDTH = 100  # a file or a pipe: wide enough for the table, no terminal to fit
MIN_WIDTH = 40

# Closing punctuation never starts a line, opening never ends one (the
# simplest of the Chinese line-breaking rules).
_NO_LINE_START = set("，。；：、！？）》」』】〉,.;:!?)]}'\"%")
_NO_LINE_END = set("（《「『【〈([{")

# A command the hints show: from the program name to the end of the clause
# (a full-width or ASCII clause mark, an unbalanced bracket, or a space
# before Chinese text). ``<域名>`` placeholders stay inside.
_COMMAND = re.compile(r"(?<![\w/-])(?:kubectl|labgrade|kind|minikube) [^\n]*")
_COMMAND_END = re.compile(r"[；;，。]|（| \(| (?=[\u3400-\u9fff])")


def terminal_width(stream: TextIO | None = None, environ: dict[str, str] | None = None) -> int:
    """Columns to lay out for: ``COLUMNS`` when set to a number, else the
    terminal ``stream`` is, else :data:`DEFAULT_WIDTH` (a pipe or a file)."""
    env = os.environ if environ is None else environ
    value = env.get("COLUMNS", "").strip()
    if value.isdigit() and int(value) > 0:
        return max(int(value), MIN_WIDTH)
    try:
        if stream is not None and stream.isatty():
            return max(os.get_terminal_size(stream.fileno()).columns, MIN_WIDTH)
    except (AttributeError, OSError, ValueError):
        pass
    return DEFAULT_WIDTH


def is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def cell_width(text: str) -> int:
    """Terminal columns ``text`` occupies (CJK wide/fullwidth count 2)."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if is_wide(ch) else 1
    return width


def fit(text: str, width: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``width`` columns, marked when cut."""
    if cell_width(text) <= width:
        return text
    room = width - cell_width(ellipsis)
    out, used = [], 0
    for ch in text:
        w = cell_width(ch)
        if used + w > room:
            break
        out.append(ch)
        used += w
    return "".join(out) + ellipsis if room >= 0 else ""


def pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(width - cell_width(text), 0)
    return gap + text if right else text + gap


def _units(paragraph: str) -> list[str]:
    """The pieces a line may break between: runs of spaces, single CJK
    characters, and words (runs of anything else), with closing
    punctuation glued to what precedes it and opening to what follows."""
    units: list[str] = []
    word = ""
    for ch in paragraph:
        if ch == " ":
            if word:
                units.append(word)
                word = ""
            if units and units[-1].isspace():
                units[-1] += ch
            else:
                units.append(ch)
        elif is_wide(ch):
            if word:
                units.append(word)
                word = ""
            units.append(ch)
        else:
            word += ch
    if word:
        units.append(word)
    glued: list[str] = []
    for u in units:
        if glued and not u.isspace() and u[0] in _NO_LINE_START and not glued[-1].isspace():
            glued[-1] += u
        elif glued and not glued[-1].isspace() and glued[-1][-1] in _NO_LINE_END and not u.isspace():
            glued[-1] += u
        else:
            glued.append(u)
    return glued


def _hard_split(unit: str, width: int) -> list[str]:
    pieces, line, used = [], "", 0
    for ch in unit:
        w = cell_width(ch)
        if used + w > width and line:
            pieces.append(line)
            line, used = "", 0
        line += ch
        used += w
    if line:
        pieces.append(line)
    return pieces


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` columns, broken only between words or
    next to CJK characters (a word wider than a whole line is the one
    thing cut)."""
    width = max(width, 1)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for unit in _units(paragraph):
            w = cell_width(unit)
            if used + w <= width:
                line += unit
                used += w
                continue
            if unit.isspace():
                lines.append(line.rstrip())
                line, used = "", 0
                continue
            if line.strip():
                lines.append(line.rstrip())
            line, used = "", 0
            if w > width:
                *full, unit = _hard_split(unit, width)
                lines.extend(full)
                w = cell_width(unit)
            line, used = unit, w
        lines.append(line.rstrip())
    return lines


def split_commands(text: str) -> list[tuple[bool, str]]:
    """``text`` as (is_command, piece) pairs in order: the shell commands a
    hint holds, and the prose around them."""
    out: list[tuple[bool, str]] = []
    pos = 0
    for match in _COMMAND.finditer(text):
        if match.start() < pos:
            continue
        start = match.start()
        rest = text[start:]
        end = len(rest)
        depth = 0
        for i, ch in enumerate(rest):
            if ch in "(<[":
                depth += 1
            elif ch in ")>]":
                if depth == 0:
                    end = i
                    break
                depth -= 1
            elif ch == "）":
                end = i
                break
            elif depth == 0 and _COMMAND_END.match(rest, i):
                end = i
                break
        command = rest[:end].rstrip()
        if text[pos:start]:
            out.append((False, text[pos:start]))
        out.append((True, command))
        pos = start + len(command)
    if text[pos:]:
        out.append((False, text[pos:]))
    return out


_CLOSES = {"(": ")", "（": "）"}


def wrap_prose_and_commands(text: str, width: int) -> list[tuple[bool, str]]:
    """``text`` wrapped to ``width``, each command on a line of its own and
    never wrapped: (is_command, line) pairs."""
    lines: list[tuple[bool, str]] = []
    after_command = False
    pieces = split_commands(text)
    # A command in brackets, "（kubectl label pod <名称> svc2=yes）", gets its own
    # line: its brackets would be left dangling, "（" ending a line and "）"
    # opening the next, so they go.
    for i in range(1, len(pieces) - 1):
        (_, before), (is_command, _), (_, after) = pieces[i - 1], pieces[i], pieces[i + 1]
        opened = before.rstrip()[-1:]
        if is_command and opened in _CLOSES and after.lstrip().startswith(_CLOSES[opened]):
            pieces[i - 1] = (False, before.rstrip()[:-1])
            pieces[i + 1] = (False, after.lstrip()[1:])
    for is_command, piece in pieces:
        if is_command:
            lines.append((True, piece))
            after_command = True
            continue
        piece = piece.strip()
        if after_command:  # the clause mark that ended the command would open the next line alone
            piece = piece.lstrip(";；,，").strip()
        after_command = False
        if piece:
            lines += [(False, line) for line in wrap(piece, width) if line]
    return lines or [(False, "")]


__all__ = ["DEFAULT_WIDTH", "MIN_WIDTH", "terminal_width", "cell_width", "fit", "pad", "wrap", "split_commands",
           "wrap_prose_and_commands"]
