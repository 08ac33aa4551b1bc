"""Bilingual text: the course is taught in Chinese, so every string a student
reads exists in zh and en, and the language is picked only at output time."""
from __future__ import annotations

import os
from dataclasses import dataclass

LANGS = ("zh", "en")


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def __add__(self, other: "Text") -> "Text":
        return Text(self.zh + other.zh, self.en + other.en)

    def to_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


def default_lang(environ: dict[str, str] | None = None) -> str:
    """The language a student's shell asks for: zh for any zh_* locale,
    en otherwise (LC_ALL beats LC_MESSAGES beats LANG, as in gettext)."""
    env = os.environ if environ is None else environ
    for var in ("LABGRADE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


# How a sentence names a phase. Phase ids (``built``, ``cleaned``) are the
# rubric's keys, not words a student reads, so messages say when instead;
# a rubric's own phase names fall back to a quoted id.
_PHASE_NAMES = {
    "baseline": Text("实验开始前", "before the lab"),
    "built": Text("搭建完成后", "after building"),
    "cleaned": Text("清理之后", "after the cleanup"),
}


def phase_name(phase: str) -> Text:
    """``phase`` as words for a sentence: ``搭建完成后`` / ``after building``."""
    return _PHASE_NAMES.get(phase, Text(f"“{phase}”阶段", f"phase '{phase}'"))
