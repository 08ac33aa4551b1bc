"""A report-wide note (an unsigned ledger, the phase graded and why) is
said exactly once in every report, and first (issue 7)."""
from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET

from grader.i18n import Text
from grader.report import console, html_report, json_report, junit
from tests.report.reports import service_discovery

NOTE = Text("记录文件未签名（记录时没有设置 LABGRADE_KEY），记录可能被修改过",
            "the ledger is unsigned (written without LABGRADE_KEY): its records could have been edited")


def _noted():
    return dataclasses.replace(service_discovery(), notes=(NOTE,))


def test_the_console_says_it_on_its_first_line_once():
    for lang in ("en", "zh"):
        out = console.render(_noted(), lang, width=200)
        assert out.splitlines()[0] == "! " + NOTE.get(lang)
        assert out.count(NOTE.get(lang)) == 1


def test_json_html_and_junit_say_it_once():
    report = _noted()
    text = json_report.to_json(report)
    assert text.count(NOTE.en) == 1 and json.loads(text)["notes"] == [NOTE.to_dict()]
    assert json_report.from_json(text) == report
    page = html_report.to_html(report, "zh")
    assert page.count(NOTE.zh) == 1 and page.count(NOTE.en) == 1
    root = ET.fromstring(junit.to_junit_xml(report, "en"))
    assert ET.tostring(root, encoding="unicode").count(NOTE.en) == 1


def test_a_report_written_before_notes_existed_still_reads():
    data = json_report.to_dict(service_discovery())
    del data["notes"]
    assert json_report.from_dict(data).notes == ()
