"""``labgrade observe ROSTER``: follow a class live, keep its ledgers, serve the dashboard."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from grader.errors import InputError


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "observe", help="watch a class live: a ledger per student signed with the observer's key, and a dashboard",
        description="Follow every student's namespace (LIST+WATCH, cluster-wide per cluster), re-grade a student "
                    "when their namespace changes, record each step the first time it passes in LEDGERS/<id>.jsonl "
                    "(signed with --key-file), and serve the class grid on http://127.0.0.1:PORT/.")
    p.add_argument("roster", metavar="ROSTER.csv", help="student_id, name, namespace (and context, kubeconfig)")
    p.add_argument("--rubric", required=True, help="bundled rubric name (see `labgrade rubrics`) or a YAML file")
    p.add_argument("--ledgers", required=True, metavar="DIR", help="the observer's ledgers, one per student")
    p.add_argument("--key-file", required=True, metavar="FILE",
                   help="the observer's signing key (created, mode 0600, when missing; keep it from students)")
    p.add_argument("--port", type=int, default=8377, help="dashboard port (default 8377; 0: any free one)")
    p.add_argument("--listen", default="127.0.0.1", metavar="ADDRESS",
                   help="dashboard address (default 127.0.0.1; 0.0.0.0 in a pod behind a Service: "
                        "the page has no login, so keep it off networks students reach)")
    p.add_argument("--kubeconfig", help="kubeconfig for rows without their own")
    p.add_argument("--context", help="kubeconfig context for rows without their own")
    p.add_argument("--dns-server", metavar="IP[:PORT]", help="ask this DNS server instead of port-forwarding to CoreDNS")
    p.add_argument("--allow-exec-credentials", action="store_true",
                   help="let kubeconfigs named in the roster run exec credential plugins and auth-providers, and "
                        "read credential files outside their own folder (refused by default: the file's author "
                        "chooses the command, and the server the file is sent to)")
    from grader.variants import add_secret_argument

    add_secret_argument(p)  # rubrics with per-student variants: each student graded against their own
    return p


def build(args: argparse.Namespace) -> Any:
    from grader import rubric as rubric_mod
    from grader.classroom import roster as roster_mod
    from grader.classroom.observe import Observer, load_or_create_key

    template = rubric_mod.template(args.rubric, secret_file=args.course_secret_file)
    rubric = template.rubric(None)  # the class's shape (a variant rubric's preview): steps, points, phases
    if template.varies:
        template.secret()  # a missing course secret is the class's error, before any ledger is signed
    roster = roster_mod.load_roster(args.roster, rubric)
    key = load_or_create_key(Path(args.key_file))
    return Observer(rubric, roster, Path(args.ledgers), key, kubeconfig=args.kubeconfig, context=args.context,
                    dns_server=args.dns_server, rubric_for=template.rubric if template.varies else None,
                    allow_exec_credentials=args.allow_exec_credentials)


def run(args: argparse.Namespace) -> int:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise InputError("observe", "the dashboard needs aiohttp: pip install 'labgrade[observe]'") from None
    from grader.classroom.observe_web import Dashboard

    observer = build(args).start()
    try:
        board = Dashboard(observer, args.port, host=args.listen).start()
    except OSError as exc:
        observer.stop()
        raise InputError(f"--port {args.port}", f"cannot listen on {args.listen}: {exc.strerror or exc}") from None
    print(f"labgrade observe: {len(observer.students)} students; dashboard on {board.url} (Ctrl-C to stop)",
          file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()
        observer.stop()
    return 0
