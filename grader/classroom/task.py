"""``labgrade task RUBRIC --student ID``: one student's task sheet as Markdown.

With per-student variants (grader/variants.py) the lab text differs per
student, so the teacher (or a lab platform's intro page) prints each
student's own sheet: the lab's description, the student's values, and per
step what will be checked, with that student's numbers and names in it.
Hints are left out: they are the answers, and a failed check shows its own.
"""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from grader.i18n import LANGS, Text
from grader.report.safe import for_terminal

if TYPE_CHECKING:
    from grader.rubric import Rubric

_W = {
    "student": Text("学生", "Student"),
    "values": Text("你的参数", "Your values"),
    "checked": Text("评分项", "What is checked"),
    "points": Text("分", "points"),
    "total": Text("总分", "Total"),
}
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]<>()#+-.!|~"})


def _md(value: object, limit: int = 120) -> str:
    """A student-supplied string (the id) as inert Markdown text on one line."""
    return for_terminal(value, limit).translate(_MD_SPECIAL)


def _pts(value: float) -> str:
    from grader.report.wording import points_str

    return points_str(value)


def render(rubric: "Rubric", lang: str, description: Text | None = None) -> str:
    """The task sheet in one language."""
    w = {k: v.get(lang) for k, v in _W.items()}
    # Chinese takes full-width punctuation (docs/glossary.md): 学生：…, （15 分）
    colon, paren = ("：", "（{}）") if lang == "zh" else (": ", " ({})")
    lines = [f"# {rubric.title.get(lang)}", ""]
    variant = rubric.variant
    if variant is not None and not variant.preview:
        lines += [f"{w['student']}{colon}{_md(variant.student)}", ""]
    if description is not None:
        lines += [description.get(lang), ""]
    if variant is not None and variant.values:
        lines += [f"**{w['values']}**", ""]
        lines += [f"- `{name}` = `{_value(value)}`" for name, value in variant.values]
        lines.append("")
    for i, step in enumerate(rubric.steps, 1):
        lines += [f"## {i}. {step.title.get(lang)}" + paren.format(f"{_pts(step.points)} {w['points']}"), ""]
        lines += [f"- {c.title.get(lang)}" + paren.format(_pts(c.points) + (" 分" if lang == "zh" else ""))
                  for c in step.checks if c.points > 0]
        lines.append("")
    lines.append(f"{w['total']}{colon}{_pts(rubric.total)} {w['points']}")
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return for_terminal(value, 200).replace("`", "'")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from grader.variants import add_secret_argument

    p = subparsers.add_parser("task", help="print one student's task (their own variant) as Markdown",
                              description="Print a student's task sheet (zh and en Markdown): the lab, the "
                                          "student's own values when the rubric declares variants, and what "
                                          "each step checks.")
    p.add_argument("rubric", help="bundled rubric name or a YAML file")
    p.add_argument("--student", help="the student's id (required when the rubric declares variants)")
    p.add_argument("--lang", choices=LANGS, default=None, help="only this language (default: zh, then en)")
    add_secret_argument(p)
    return p


def run(args: argparse.Namespace) -> int:
    from grader import rubric as rubric_mod, variants

    template = rubric_mod.template(args.rubric, secret_file=args.course_secret_file)
    rubric = template.rubric(args.student)
    variants.require_student(rubric)
    description = template.description(rubric.variant)
    langs = (args.lang,) if args.lang else LANGS
    print("\n---\n\n".join(render(rubric, lang, description) for lang in langs), end="")
    return 0


__all__ = ["render", "add_parser", "run"]
