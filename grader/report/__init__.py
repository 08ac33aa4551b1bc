"""Reporters: pure functions of a GradeReport, one module per output format.

Each is imported when first asked for (``from grader.report import
to_junit_xml`` or ``grader.report.junit``), so a run that prints only the
console table does not import the XML machinery.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"render": "console", "to_json": "json_report", "from_json": "json_report", "to_junit_xml": "junit"}

__all__ = ["render", "to_json", "from_json", "to_junit_xml"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"grader.report.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'grader.report' has no attribute {name!r}")
