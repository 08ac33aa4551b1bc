"""Grade one Gradescope submission: ``python -m grader.classroom.gradescope_run``.

``run_autograder`` (written by ``labgrade gradescope-bundle``) calls this on
Gradescope's machine. The layout is Gradescope's: the bundle unzipped in
``/autograder/source/``, the student's upload in ``/autograder/submission/``,
their identity in ``/autograder/submission_metadata.json``, and the result
expected in ``/autograder/results/results.json``. ``LABGRADE_AUTOGRADER_ROOT``
(or ``--root``) moves ``/autograder`` elsewhere, which is how the tests run it.

The student uploads their dumps named after the phases: ``built.yaml`` and
``cleaned.yaml`` (``.yml``/``.json`` too; ``baseline.yaml`` optional), at the
top of the upload or one folder down (a zipped folder, a GitHub repository).
A phase without a dump is "not graded" in the results, never a crash.

A results.json is always written, because without one Gradescope shows the
student only "The autograder failed to produce any output": a dump that does
not parse, a missing file, even a bug here become a zero-score result whose
output says what happened and whose fault it is. The per-student writer is
the batch's (:func:`grader.report.gradebook.gradescope_results`), so Gradescope
reads the same results whether the teacher batch-grades or students submit.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT_ENV = "LABGRADE_AUTOGRADER_ROOT"
DEFAULT_ROOT = "/autograder"
CONFIG_NAME = "labgrade-autograder.json"
DUMP_SUFFIXES = (".yaml", ".yml", ".json")
MAX_DUMP_BYTES = 64 * 1024 * 1024  # a whole-cluster -o yaml dump of a lab is a few MB
MAX_FOUND = 200  # files looked at in an upload: a node_modules folder is not a dump
STUDENT_FIELDS = ("sid", "email", "id")
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")  # Gradescope's four


@dataclass(frozen=True)
class Config:
    """What the bundle recorded: the rubric file, language, where the id comes from."""

    rubric: str
    lang: str = "en"
    student_field: str = "sid"
    namespace: str | None = None
    secret_file: str | None = None
    visibility: str = "visible"

    @staticmethod
    def load(path: Path) -> "Config":
        data = json.loads(path.read_text(encoding="utf-8"))
        return Config(rubric=data["rubric"], lang=data.get("lang", "en"),
                      student_field=data.get("student_field", "sid"), namespace=data.get("namespace"),
                      secret_file=data.get("secret_file"), visibility=data.get("visibility", "visible"))

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in self.__dict__.items() if v is not None}, indent=2, sort_keys=True) + "\n"


def student_id(metadata_path: Path, field: str, *, fallback: bool = True) -> str | None:
    """The submitter's id from submission_metadata.json (``users[0][field]``,
    falling back to the email, which Gradescope always has, unless
    ``fallback`` is off: a variant's values are derived from the id, and the
    email gives other values than the sid the student's task sheet was made
    for, so a correct submission would fail every check)."""
    try:
        data = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    users = data.get("users") if isinstance(data, dict) else None
    if not isinstance(users, list) or not users or not isinstance(users[0], dict):
        return None
    for key in (field, "email") if fallback else (field,):
        value = users[0].get(key)
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value).strip()[:200]
    return None


def find_dumps(submission: Path, phases: tuple[str, ...]) -> dict[str, Path]:
    """phase (or baseline) -> the uploaded file named after it, top level first."""
    wanted = (*phases, "baseline")
    found: dict[str, Path] = {}
    candidates = sorted(p for p in submission.iterdir() if p.is_file()) if submission.is_dir() else []
    folders = sorted(p for p in submission.iterdir()
                     if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")) if submission.is_dir() else []
    for folder in folders:
        candidates += sorted(p for p in folder.iterdir() if p.is_file())[:MAX_FOUND]
    for path in candidates[:MAX_FOUND]:
        if path.is_symlink():
            continue  # an upload cannot point the grader at the image's own files
        stem, suffix = path.stem.lower(), path.suffix.lower()
        if suffix in DUMP_SUFFIXES and stem in wanted and stem not in found:
            found[stem] = path
    return found


_MSG = {
    "no_dumps": ("没有找到导出文件。请上传 {names}（kubectl get ... -o yaml 的输出）。",
                 "No dumps found. Upload {names} (the output of kubectl get ... -o yaml)."),
    "too_big": ("{name} 太大（{size} MB，最多 {limit} MB）。", "{name} is too big ({size} MB, at most {limit} MB)."),
    "unreadable": ("无法读取你的导出文件：{reason}", "Your dump could not be read: {reason}"),
    "no_student": ("Gradescope 没有给出你的 {field}，而本实验的个人参数由它算出，无法按你的参数评分"
                   "（不是你的问题，请联系老师）。",
                   "Gradescope did not give your {field}, from which this lab's own values are made, so your "
                   "submission cannot be graded against your values (not your fault, tell your teacher)."),
    "internal": ("评分程序内部错误（不是你的问题，请联系老师）：{reason}",
                 "Internal grader error (not your fault, tell your teacher): {reason}"),
}


def _message(key: str, lang: str, **fmt: Any) -> str:
    zh, en = _MSG[key]
    return (zh if lang == "zh" else en).format(**fmt)


def failure_results(output: str) -> str:
    """A results.json with no tests: the student sees ``output``."""
    from grader.report.safe import for_xml

    doc = {"score": 0.0, "output": for_xml(output, 4000), "output_format": "text", "tests": []}
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def grade(root: Path) -> str:
    """The results.json text for the submission under ``root``."""
    from grader import engine, rubric as rubric_mod, variants
    from grader.report import gradebook
    from grader.sources import snapshot
    from grader.engine import StaticSource
    from grader.errors import InputError
    from grader.outcome import SourceInfo

    source = root / "source"
    config = Config.load(source / CONFIG_NAME)
    lang = config.lang
    secret = str(source / config.secret_file) if config.secret_file else None
    template = rubric_mod.template(str(source / config.rubric), secret_file=secret)
    # A variant is the configured field's alone: another field's value would
    # grade the student against someone else's values.
    student = student_id(root / "submission_metadata.json", config.student_field, fallback=not template.varies)
    if template.varies and student is None:
        return failure_results(_message("no_student", lang, field=config.student_field))
    rubric = template.rubric(student)
    variants.require_student(rubric, "submission_metadata.json")
    dumps = find_dumps(root / "submission", rubric.phases)
    if not any(p != "baseline" for p in dumps):
        names = ", ".join(f"{p}.yaml" for p in rubric.phases)
        return failure_results(_message("no_dumps", lang, names=names))
    sources: dict[str, Any] = {}
    recorded_ns = None
    for phase, path in dumps.items():
        size = path.stat().st_size
        if size > MAX_DUMP_BYTES:
            return failure_results(_message("too_big", lang, name=path.name, size=size // 2**20,
                                            limit=MAX_DUMP_BYTES // 2**20))
        shown = str(path.relative_to(root / "submission"))
        try:
            snap = snapshot.load(path)
        except InputError as exc:
            return failure_results(_message("unreadable", lang, reason=str(exc).replace(str(root / "submission") + "/", "")))
        recorded_ns = recorded_ns or snap.namespace
        sources[phase] = StaticSource(snap.view(location=shown, phase=phase),
                                      SourceInfo(phase, "snapshot", shown, snap.collected_at))
    namespace = config.namespace or recorded_ns or rubric.namespace
    report = engine.grade(rubric, sources, namespace=namespace, student=student, options=engine.Options(poll=False))
    return with_visibility(gradebook.gradescope_results(report, lang), config.visibility)


def with_visibility(results: str, visibility: str) -> str:
    """The batch writer's results.json with the assignment's visibility (the
    writer says ``visible``; a teacher may hide the tests until the due date).
    The total score's own visibility follows it, as Gradescope applies it."""
    if visibility == "visible":
        return results
    doc = json.loads(results)
    doc["visibility"] = visibility
    for test in doc.get("tests", []):
        test["visibility"] = visibility
    return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m grader.classroom.gradescope_run", description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.environ.get(ROOT_ENV, DEFAULT_ROOT), help="Gradescope's /autograder")
    args = ap.parse_args(argv)
    root = Path(args.root)
    results = root / "results"
    lang = "en"
    try:
        lang = Config.load(root / "source" / CONFIG_NAME).lang
    except Exception:  # noqa: BLE001 - reported below through grade()
        pass
    try:
        text = grade(root)
        code = 0
    except Exception as exc:  # noqa: BLE001 - the student must get a result whatever broke
        from grader.report.safe import for_terminal

        reason = for_terminal(f"{type(exc).__name__}: {exc}" if not hasattr(exc, "location") else str(exc), 500)
        text = failure_results(_message("internal", lang, reason=reason))
        print(f"labgrade: {reason}", file=sys.stderr)
        code = 1
    results.mkdir(parents=True, exist_ok=True)
    tmp = results / ".results.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, results / "results.json")
    return code


if __name__ == "__main__":
    sys.exit(main())
