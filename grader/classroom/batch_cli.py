"""``labgrade batch``: grade a class from a roster CSV (see ``grader.classroom.batch``).

Exit codes: 0 when every student was graded, 1 when some could not be (their
rows say ``error`` and why; run again to retry just them), 2 when the batch
could not start (bad roster, rubric, flag or output folder: one line naming
the file and line), 130 on Ctrl-C (finished students' files are kept; the
same command resumes).

``--index N`` grades roster row N alone (0-based, counted as the batch
counts students), as one pod of an Indexed Job does (deploy/job.yaml): its
folder is written, no class files, and stdout is exactly one JSON line
(index, status, exit code, student, name, namespace and the whole report)
so that ``kubectl logs`` alone collects the class. Its statuses: ``graded``
(exit 0, whatever the score), ``no-student`` (an index past the roster's
end: exit 0, so a Job may have more completions than the class has
students), ``roster-error`` (the row itself is unusable and a retry cannot
fix it: exit 0), ``grader-failed`` (the cluster could not be read: exit 1,
so the Job retries the pod); a roster that cannot be read at all exits 2.
"""
from __future__ import annotations

import argparse
import os
import sys

from grader.i18n import LANGS, default_lang

EXIT_OK, EXIT_SOME_ERRORS, EXIT_INTERRUPTED = 0, 1, 130
DEFAULT_JOBS = 4


def _jobs(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None


def _index(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"must be a row number (0, 1, ...), got {value!r}")
    return int(value)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "batch",
        help="grade a whole class from a roster CSV",
        description="Grade every student of a roster (live namespaces or kubectl dumps) into OUT/: "
                    "per student report.json, report.html, junit.xml and Gradescope's results.json; for the class "
                    "gradebook.csv (Moodle, spreadsheets), canvas.csv, junit.xml, summary.md and class.html.",
    )
    p.add_argument("roster", metavar="ROSTER.csv",
                   help="CSV with a header: student_id, name, and per student either namespace "
                        "(+ context, kubeconfig) for live grading or built/cleaned/baseline dump paths "
                        "(relative to the roster's folder)")
    p.add_argument("--rubric", required=True, help="bundled rubric name (see `labgrade rubrics`) or a YAML file")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (created if missing)")
    p.add_argument("--jobs", type=_jobs, default=DEFAULT_JOBS, metavar="N",
                   help=f"students graded at the same time (default {DEFAULT_JOBS})")
    p.add_argument("--procs", type=_jobs, default=None, metavar="N",
                   help="processes that grade a class on one shared cluster (default: one per CPU from "
                        "100 students; 1: a single process); --jobs is the threads of them all")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="skip students whose OUT/<id>/report.json is still valid (default); "
                        "--no-resume regrades everyone")
    p.add_argument("--lang", choices=LANGS, default=None, help="language of the feedback (default: LABGRADE_LANG, else the locale: LC_ALL, LANG)")
    p.add_argument("--phase", help="the phase live clusters are in (default: the rubric's first; with --state-dir, "
                                        "the one each cluster shows)")
    p.add_argument("--kubeconfig", help="kubeconfig for live rows without their own (default: KUBECONFIG, ~/.kube/config)")
    p.add_argument("--context", help="kubeconfig context for live rows without their own")
    p.add_argument("--dns-server", metavar="IP[:PORT]", help="ask this DNS server instead of port-forwarding to CoreDNS")
    p.add_argument("--no-poll", action="store_true", help="do not re-poll failing live checks until the step deadline")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--index", type=_index, metavar="N",
                   help="grade roster row N only (0-based; an Indexed Job's $(JOB_COMPLETION_INDEX)) and print "
                        "one JSON line with its report instead of the summary")
    p.add_argument("--state-dir", metavar="DIR",
                   help="keep each live student's phases in DIR/<student_id>.state.yaml: a run after the cleanup "
                        "grades the cleaned phase live and the built one from that file (as grade --state)")
    p.add_argument("--allow-exec-credentials", action="store_true",
                   help="let kubeconfigs named in the roster run exec credential plugins and auth-providers, and "
                        "read credential files outside their own folder (refused by default: the file's author "
                        "chooses the command, and the server the file is sent to)")
    from grader.variants import add_secret_argument

    add_secret_argument(p)  # rubrics with per-student variants: each row graded against its own
    return p


def run(args) -> int:
    from grader import rubric as rubric_mod
    from grader.classroom import batch, roster as roster_mod
    from grader.classroom.meter import ProgressMeter

    lang = args.lang or default_lang()
    template = rubric_mod.template(args.rubric, secret_file=args.course_secret_file)
    rubric = template.rubric(None)  # the class's shape (a variant rubric's preview): steps, points, phases
    options = batch.BatchOptions(
        jobs=args.jobs, lang=lang, resume=args.resume, poll=not args.no_poll, phase=args.phase,
        kubeconfig=args.kubeconfig, context=args.context, dns_server=args.dns_server,
        allow_exec_credentials=args.allow_exec_credentials, state_dir=args.state_dir, procs=args.procs,
    )
    if args.state_dir:
        _folder(args.state_dir)
    if args.index is not None:
        return _one_row(args, template, rubric, options)
    roster = roster_mod.load_roster(args.roster, rubric)
    progress = None if args.quiet else ProgressMeter(sys.stderr, lang=lang)
    job = batch.Batch(rubric, roster, args.out, options, progress=progress,
                      rubric_for=template.rubric if template.varies else None)
    if template.varies:
        template.secret()  # a missing course secret is the batch's error, not every student's
    if any(e.live and not e.kubeconfig and not e.context for e in roster.entries):
        # The one configuration most live rows share: a mistake in it is the
        # batch's, not thirty students' error rows.
        job.apis.configuration(options.kubeconfig, options.context)
    try:
        result = job.run()
    except batch.BatchInterrupted as exc:
        print(f"labgrade: interrupted: {exc.finished} of {exc.total} students graded this run are saved in "
              f"{args.out}; the same command resumes", file=sys.stderr)
        if exc.abandoned:  # worker threads may sit in a network call: do not wait for them at exit
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    print(result.files["summary.md"].read_text(encoding="utf-8"), end="")
    names = ", ".join(result.files)
    print(f"labgrade: {names} and one folder per student in {args.out}", file=sys.stderr)
    return EXIT_SOME_ERRORS if result.errors else EXIT_OK



def _folder(path: str) -> None:
    from grader.errors import InputError

    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise InputError(path, f"cannot create: {exc.strerror or exc}") from None


def _one_row(args, template, rubric, options) -> int:
    """``--index N``: one roster row, one JSON line on stdout."""
    import dataclasses
    from pathlib import Path

    from grader.classroom import batch, roster as roster_mod
    from grader.report.safe import for_terminal

    row = roster_mod.pick_row(args.roster, rubric, args.index)
    if row is None:
        print(f"labgrade: no row {args.index}: the roster has fewer students", file=sys.stderr)
        _json_line(args.index, "no-student")
        return EXIT_OK
    if isinstance(row, roster_mod.BadRow):
        print(f"labgrade: {for_terminal(str(row.problem), 500)}", file=sys.stderr)
        _json_line(args.index, "roster-error", student_id=row.student_id, name=row.name, namespace=row.namespace)
        return EXIT_OK
    if template.varies:
        template.secret()
    # An Indexed Job's pod grades its row whatever an earlier pod left: a retry is for a failure.
    options = dataclasses.replace(options, jobs=1, resume=False)
    job = batch.Batch(rubric, roster_mod.Roster(Path(args.roster), (row,)), args.out, options, rubric_for=template.rubric if template.varies else None)
    result = job.grade_row(row)
    if result.report is None:
        reason = for_terminal((result.error.get(options.lang) if result.error else ""), 500)
        print(f"labgrade: {row.student_id}: {reason}", file=sys.stderr)
        _json_line(args.index, "grader-failed", EXIT_SOME_ERRORS, row.student_id, row.name, row.namespace,
                   error=result.error.en if result.error else None)
        return EXIT_SOME_ERRORS
    from grader.report import json_report
    import json

    _json_line(args.index, "graded", EXIT_OK, row.student_id, row.name, result.report.namespace,
               report=json.loads(json_report.to_json(result.report)))
    return EXIT_OK


def _json_line(index: int, status: str, code: int | None = None, student_id: str = "", name: str = "",
               namespace: str = "", *, report=None, error: str | None = None) -> None:
    """The pod's one line. Lone surrogates (exec output in a report) stay
    \\u escapes: UTF-8 cannot hold them, and the line must stay one line."""
    import json
    import re

    doc = {"index": index, "status": status, "exit_code": code, "student_id": student_id or None,
           "name": name or None, "namespace": namespace or None, "report": report}
    if error is not None:
        doc["error"] = error
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    text = re.sub("[\ud800-\udfff]", lambda m: "\\u%04x" % ord(m.group()), text)
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8") + b"\n")
    sys.stdout.buffer.flush()
