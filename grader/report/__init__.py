"""Reporters: pure functions of a GradeReport, one module per output format."""
from grader.report.console import render
from grader.report.json_report import from_json, to_json
from grader.report.junit import to_junit_xml

__all__ = ["render", "to_json", "from_json", "to_junit_xml"]
