"""A batch's results folder: what is written where, for one student and for the class.

``OUT/<student_id>/`` holds ``report.json`` (the truth a resumed batch
reads back), ``junit.xml``, Gradescope's ``results.json`` and
``report.html`` (linked from ``class.html``), or ``error.txt`` alone for a
student who could not be graded; ``OUT/`` holds the class files. Every
file is written atomically (:mod:`grader.files`).

``OUT/<student_id>/inputs.json`` records which version of each dump the
report was made from (path, modification time and size, as the dump cache
keys them): a dump replaced at the same path (a late re-submission, a
corrected class dump) must be graded again on resume, not answered with the
report of the file it replaced. It is written after the report, so a run
killed in between leaves the previous run's record, which no longer matches
a changed dump.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from grader import redact
from grader.errors import InputError
from grader.files import write_atomic
from grader.i18n import Text
from grader.outcome import GradeReport
from grader.report import gradebook, json_report, junit
from grader.report.gradebook import StudentResult
from grader.report.junit import SuiteXml
from grader.report.safe import for_terminal
from grader.rubric import Rubric

CLASS_FILES = ("gradebook.csv", "canvas.csv", "junit.xml", "summary.md", "class.html")
STUDENT_FILES = ("report.json", "junit.xml", "results.json", "report.html")
ERROR_FILE = "error.txt"
INPUTS_FILE = "inputs.json"


@dataclass(frozen=True)
class ResultsFolder:
    out: Path
    lang: str = "en"

    def create(self) -> None:
        if self.out.exists() and not self.out.is_dir():
            raise InputError(str(self.out), "exists and is not a folder")
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(str(self.out), f"cannot create: {exc.strerror or exc}") from None

    def student_dir(self, student_id: str) -> Path:
        return self.out / student_id

    def _own_dir(self, student_id: str) -> Path:
        """The student's folder, made a real folder of the grader's own: a
        symlink planted there (a shared results folder) would have the
        student's files written, and stale ones deleted, in its target. The
        link is removed (its target untouched) and a folder made in its place."""
        folder = self.student_dir(student_id)
        try:
            if folder.is_symlink():
                folder.unlink()
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise InputError(str(folder), f"cannot create the student's folder: {exc.strerror or exc}") from None
        return folder

    def _earlier(self, student_id: str, name: str) -> bytes:
        """A file an earlier run left in the student's folder; never one read
        through a symlink planted as the folder or the file (OSError)."""
        folder = self.student_dir(student_id)
        path = folder / name
        if folder.is_symlink() or path.is_symlink():
            raise OSError(f"{path} is reached through a symlink")
        return path.read_bytes()

    def earlier_report(self, student_id: str) -> GradeReport | None:
        """The report.json an earlier run left, if it still loads."""
        try:
            return json_report.from_json(self._earlier(student_id, "report.json"))
        except (OSError, json_report.ReportFormatError):
            return None

    def earlier_inputs(self, student_id: str) -> Any:
        """The dump versions the earlier report was made from (None: unknown)."""
        try:
            return json.loads(self._earlier(student_id, INPUTS_FILE))
        except (OSError, ValueError):
            return None

    def write_student(self, result: StudentResult, inputs: Any = None) -> None:
        """The student's files; ``inputs``: the dump versions the report was
        made from, recorded after it (see the module docstring; none for a
        live row, whose input is the cluster)."""
        folder = self._own_dir(result.student_id)
        if result.report is not None:
            write_atomic(folder / "report.json", json_report.to_json(result.report))
            self._derived(folder, result.report, only_if_changed=False)
            if inputs:
                write_atomic(folder / INPUTS_FILE, json.dumps(inputs, sort_keys=True) + "\n")
        else:
            reason = result.error or Text("", "")
            # A dump's kind or name can hold ESC/OSC/bidi bytes: `cat error.txt` must not obey them.
            zh, en = (for_terminal(redact.text(t), 2000) for t in (reason.zh, reason.en))
            write_atomic(folder / ERROR_FILE, f"{zh}\n{en}\n" if zh != en else f"{en}\n")
            # A stale report would be taken for this run's on the next resume.
            for name in (*STUDENT_FILES, INPUTS_FILE):
                (folder / name).unlink(missing_ok=True)

    def refresh_student(self, result: StudentResult) -> None:
        """A resumed student's other files, rewritten only if they differ
        (another --lang, a file deleted): the report is the truth."""
        assert result.report is not None
        self._derived(self._own_dir(result.student_id), result.report, only_if_changed=True)

    def _derived(self, folder: Path, report: GradeReport, *, only_if_changed: bool) -> None:
        from grader.report.html_report import to_html

        write_atomic(folder / "junit.xml", junit.to_junit_xml(report, self.lang), only_if_changed=only_if_changed)
        write_atomic(folder / "results.json", gradebook.gradescope_results(report, self.lang),
                     only_if_changed=only_if_changed)
        write_atomic(folder / "report.html", to_html(report, self.lang), only_if_changed=only_if_changed)
        (folder / ERROR_FILE).unlink(missing_ok=True)

    def write_class(self, rubric: Rubric, results: list[StudentResult],
                    junit_suites: Mapping[str, SuiteXml] | None = None) -> dict[str, Path]:
        """The class files; ``junit_suites``: students' ``junit.xml`` suites
        already rendered by the grading processes (the others are rendered here)."""
        from grader.report.class_html import to_class_html

        lang = self.lang
        texts = {
            "gradebook.csv": gradebook.gradebook_csv(rubric, results, lang),
            "canvas.csv": gradebook.canvas_csv(rubric, results),
            "junit.xml": gradebook.class_junit(rubric.lab, results, lang, junit_suites),
            "summary.md": gradebook.summary_markdown(rubric, results, lang),
            "class.html": to_class_html(rubric, results, lang),
        }
        files = {}
        for name, text in texts.items():
            files[name] = self.out / name
            write_atomic(files[name], text)
        return files


__all__ = ["ResultsFolder", "CLASS_FILES", "STUDENT_FILES", "ERROR_FILE", "INPUTS_FILE"]
