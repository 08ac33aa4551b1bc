"""The CLI hook for the commands lab platforms call: ``task`` (a student's
own task sheet), ``verify`` (Killercoda's and Instruqt's check button) and
``gradescope-bundle`` (a Gradescope autograder). Kept out of grader/cli.py
so that file only gains two lines; each module imports what it grades with
only when its command runs, so building the parser stays cheap."""
from __future__ import annotations

from typing import Any, Callable

from grader.classroom import gradescope_bundle, task, verify

COMMANDS: dict[str, Callable[[Any], int]] = {
    "task": task.run,
    "verify": verify.run,
    "gradescope-bundle": gradescope_bundle.run,
}


def add_parsers(subparsers: Any) -> None:
    task.add_parser(subparsers)
    verify.add_parser(subparsers)
    gradescope_bundle.add_parser(subparsers)
