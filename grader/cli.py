"""The ``labgrade`` command line.

Exit codes: 0 when grading ran (whatever the score), 1 when ``--fail-under``
was asked for and the score is below it, 2 when it could not grade (bad
rubric, unreadable dump, bad flag), 130 on Ctrl-C.  Every user mistake is
one line on stderr naming the file and the problem, never a traceback.
"""
from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from typing import Sequence

from grader import variants
from grader.sources import assemble
from grader.errors import InputError
from grader.i18n import LANGS, default_lang

EXIT_OK, EXIT_BELOW, EXIT_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(InputError):
    """A wrong command line: ``labgrade: error: grade: ...`` (the program
    name once, the subcommand when there is one) with a "did you mean"."""

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def _options(parser: argparse.ArgumentParser) -> tuple[list[str], list[str]]:
    """Every option string and subcommand name of ``parser`` and below."""
    options, commands = [], []
    for action in parser._actions:
        options += [o for o in action.option_strings if o.startswith("--")]
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands.append(name)
                options += _options(sub)[0]
    return sorted(set(options)), commands


def _did_you_mean(parser: argparse.ArgumentParser, message: str) -> str:
    options, commands = _options(parser)
    wrong = re.search(r"invalid choice: '([^']*)'", message)
    if wrong:
        near = difflib.get_close_matches(wrong.group(1), commands, n=1)
        return f" (did you mean {near[0]!r}?)" if near else ""
    unknown = re.match(r"unrecognized arguments: (.*)", message)
    if unknown:
        for token in unknown.group(1).split():
            flag = token.split("=", 1)[0]
            if flag.startswith("-"):
                near = difflib.get_close_matches(flag, [o for o in options if o != flag], n=1, cutoff=0.75)
                if near:
                    return f" (did you mean {near[0]}?)"
    return ""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other input error
        # The program name is printed once, by main(); a subcommand names itself.
        where = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        raise UsageError(where, message + _did_you_mean(self, message))


def _add_lang(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=LANGS, default=None, help="language of the feedback (default: LABGRADE_LANG, else the locale: LC_ALL, LANG)")


def _add_live(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--dns-server", metavar="IP[:PORT]", help="ask this DNS server instead of port-forwarding to CoreDNS")
    p.add_argument("--no-poll", action="store_true", help="do not re-poll failing live checks until the step deadline")


# Subcommands that live in their own modules (imported only to run or list them: a cold
# `labgrade grade` must not import the batch, the self-check, the platforms or the authoring tools).
CORE = ("grade", "collect", "baseline", "rubrics", "explain", "checks")
#: Subcommands alone in their module: ``labgrade batch`` imports the batch, not
#: the self-check screen, the observer or the authoring kit (130 ms of a cold start).
ALONE = {"batch": "grader.classroom.batch_cli", "check": "grader.classroom.check_cli",
         "observe": "grader.classroom.observe_cli"}


def build_parser(core_only: bool = False, alone: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; ``core_only`` the core subcommands only; ``alone`` those and one of :data:`ALONE`."""
    parser = _Parser(prog="labgrade", description="Grade Kubernetes labs from a live cluster or kubectl dumps.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    g = sub.add_parser("grade", help="grade a cluster or dumps against a rubric")
    g.add_argument("--rubric", required=True, help="bundled rubric name (see `labgrade rubrics`) or a YAML file")
    g.add_argument("--snapshot", action="append", default=[], metavar="[PHASE=]PATH",
                   help="a kubectl dump (file or folder); the first is the rubric's first phase (built), "
                        "the second the next (cleaned), or name it: cleaned=dump.yaml")
    g.add_argument("--baseline", metavar="PATH", help="a dump taken before the lab, to compare uids with")
    g.add_argument("-n", "--namespace", help="the lab namespace (default: the rubric's)")
    _add_live(g)
    g.add_argument("--phase", help="the phase the live cluster is in (default: the one it shows: the lab's objects "
                                  "there is built, all gone is cleaned)")
    g.add_argument("--state", metavar="FILE", help="keep each live phase's state here and grade earlier phases from it")
    g.add_argument("--ledger", metavar="FILE", help="grade from a `labgrade check` progress ledger (verified with LABGRADE_KEY)")
    g.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    g.add_argument("--json", metavar="FILE", help="write the whole report as JSON")
    g.add_argument("--html", metavar="FILE", help="write a one-page HTML report (works offline)")
    g.add_argument("--student", help="a student id to put in the reports (and, with variants, whose values to grade)")
    variants.add_secret_argument(g)
    g.add_argument("--fail-under", type=float, metavar="POINTS", help="exit 1 when fewer points are earned")
    g.add_argument("--no-color", action="store_true", help="no ANSI colour (also: NO_COLOR)")
    g.add_argument("-q", "--quiet", action="store_true", help="print only the total line")
    _add_lang(g)

    c = sub.add_parser("collect", help="save a live cluster's state and probe results for offline grading")
    c.add_argument("--rubric", required=True, help="bundled rubric name (see `labgrade rubrics`) or a YAML file")
    c.add_argument("-n", "--namespace", help="the lab namespace (default: the rubric's)")
    c.add_argument("--phase", help="the phase to record (default: the one the cluster shows, as for grade)")
    c.add_argument("--student", help="whose variant's probes to record, when the rubric declares variants")
    variants.add_secret_argument(c)
    c.add_argument("-o", "--output", required=True, metavar="FILE", help="the bundle to write (grade it with --snapshot)")
    _add_live(c)

    b = sub.add_parser("baseline", help="record the cluster before the lab (the kubernetes service's uid)")
    b.add_argument("-n", "--namespace", default="default", help="the lab namespace (default: default)")
    b.add_argument("-o", "--output", required=True, metavar="FILE", help="a bundle file, or a --state file to add it to")
    _add_live(b)

    sub.add_parser("rubrics", help="list the bundled rubrics")
    e = sub.add_parser("explain", help="show a rubric's steps, checks and points")
    e.add_argument("rubric", help="bundled rubric name or a YAML file")
    _add_lang(e)
    ch = sub.add_parser("checks", help="list the check types a rubric can use")
    ch.add_argument("--doc", metavar="ID", help="the documentation of one check type")
    if core_only:
        return parser
    if alone is not None:
        import importlib

        importlib.import_module(ALONE[alone]).add_parser(sub)
        return parser
    from grader import authoring
    from grader.classroom import batch_cli, check_cli, observe_cli, platforms_cli

    authoring.add_parsers(sub)
    batch_cli.add_parser(sub)
    check_cli.add_parser(sub)
    observe_cli.add_parser(sub)
    platforms_cli.add_parsers(sub)
    return parser


def cmd_collect(args) -> int:
    from grader import engine, rubric as rubric_mod
    from grader.sources import bundle

    rubric = rubric_mod.load(args.rubric, student=args.student, secret_file=args.course_secret_file)
    variants.require_student(rubric)  # the probes run the student's own names
    namespace = args.namespace or rubric.namespace
    # The phase is the cluster's (lab objects there: built; gone: cleaned),
    # as for grade: a cleaned cluster must not be saved as a built bundle.
    primed, phase, why = assemble.live_phase(
        rubric, lambda ph: assemble.live_source(args, namespace, ph, rubric), args.phase, {}, namespace)
    live = primed.source
    if why is not None:
        from grader.report.safe import for_terminal

        print(f"labgrade: {for_terminal(why.en, 500)}")
    # Grading runs the rubric's probes, which the view records for the bundle.
    rubric_phase = rubric_mod.only_phase(rubric, phase)
    engine.grade(rubric_phase, {phase: primed}, namespace=namespace, options=engine.Options(poll=not args.no_poll))
    doc = bundle.to_bundle(live.last_view, phase=phase, namespace=namespace, context=args.context)
    _write(args.output, bundle.dump([doc]))
    print(f"labgrade: {len(doc['items'])} objects and {len(doc['probes'])} probe results of phase {phase} "
          f"in namespace {namespace} -> {args.output}")
    return EXIT_OK


def cmd_baseline(args) -> int:
    from grader.sources import bundle

    live = assemble.live_source(args, args.namespace, "baseline")
    view = live.view()
    doc = bundle.to_bundle(view, phase="baseline", namespace=args.namespace, context=args.context)
    _write(args.output, bundle.merge_state(args.output, doc))
    svc = view.get("Service", "default", "kubernetes") if view.has("Service") else None
    uid = (svc or {}).get("metadata", {}).get("uid", "?")
    print(f"labgrade: baseline recorded in {args.output} (kubernetes service uid {uid})")
    return EXIT_OK


def _write(path: str, text: str) -> None:
    from grader.files import write_atomic

    write_atomic(path, text, need_folder=True)


def _use_color(args) -> bool:
    return not getattr(args, "no_color", False) and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def cmd_grade(args) -> int:
    from grader import rubric as rubric_mod

    lang = args.lang or default_lang()
    rubric = rubric_mod.load(args.rubric, student=args.student, secret_file=args.course_secret_file)
    variants.require_student(rubric)
    if args.ledger:
        report = _grade_ledger(rubric, args)
    else:
        report = _grade_sources(rubric, args)
    _emit(report, lang, args)
    unreachable = getattr(args, "unreachable", None)
    if unreachable is not None:  # the report is written (every check says why); the run itself failed
        print(f"labgrade: error: {unreachable.line(lang)}", file=sys.stderr)
        return EXIT_INPUT
    if args.fail_under is not None and report.earned < args.fail_under:
        return EXIT_BELOW
    return EXIT_OK


def _grade_ledger(rubric, args):
    from grader.classroom import ledger, ledger_report

    if args.snapshot or args.state or args.baseline:
        raise InputError("--ledger", "cannot be combined with --snapshot, --state or --baseline")
    ledger.read(args.ledger)  # a broken ledger is its own one line, before any cluster is contacted
    view, live = _ledger_cluster(args, rubric)
    return ledger_report.report_from_ledger(rubric, args.ledger, ledger.key_from_env(),
                                     namespace=args.namespace, student=args.student, cluster=view, live=live)


def _ledger_cluster(args, rubric):
    """The graded cluster, to check a ledger's records against, when the
    teacher's kubeconfig reaches it; (None, None) otherwise (every step is
    then marked unverified, and stderr says why)."""
    from grader.classroom import ledger_binding
    from grader.sources.live import LiveSource, api_client

    try:
        api = api_client(args.kubeconfig, args.context)
    except InputError as exc:
        print(f"labgrade: note: no cluster to check the ledger against ({exc}); its steps are marked unverified",
              file=sys.stderr)
        return None, None
    source = LiveSource(api, args.namespace or rubric.namespace, rubric.phases[0], dns_server=args.dns_server)
    live = ledger_binding.live_identity(source)
    if live is None:
        why = source.unreachable.line() if source.unreachable is not None else "it shows no default namespace"
        print(f"labgrade: note: {why}; the ledger's steps are marked unverified", file=sys.stderr)
        return None, None
    return source.last_view, live


def _grade_sources(rubric, args):
    from grader import run

    where = run.Where(
        dumps=tuple(assemble.split_phase(item, rubric.phases) for item in args.snapshot),
        baseline=args.baseline, state=args.state, namespace=args.namespace, student=args.student,
        phase=args.phase, kubeconfig=args.kubeconfig, context=args.context, dns_server=args.dns_server,
        poll=not getattr(args, "no_poll", False),
    )
    result = run.grade(rubric, where)
    args.unreachable = result.unreachable  # grader.sources.live.Unreachable: the report is written, exit 2
    return result.report


def _emit(report, lang: str, args) -> None:
    if args.junit:  # each reporter imported only when asked for
        from grader.report import junit

        _write(args.junit, junit.to_junit_xml(report, lang))
    if args.json:
        from grader.report import json_report

        _write(args.json, json_report.to_json(report))
    if args.html:
        from grader.report.html_report import to_html

        _write(args.html, to_html(report, lang))
    _print_report(report, lang, args)


def _print_report(report, lang: str, args) -> None:
    from grader.report import console

    if args.quiet:
        print(console.total_line(report, lang))
    else:
        from grader.report.layout import terminal_width

        print(console.render(report, lang, color=_use_color(args), width=terminal_width(sys.stdout)))


def cmd_rubrics(args) -> int:
    from grader import rubric as rubric_mod

    for name in rubric_mod.bundled():
        r = rubric_mod.load(name)
        print(f"{name}\t{r.title.zh} / {r.title.en}\t{len(r.steps)} steps, {r.total:g} points")
    return EXIT_OK


def cmd_explain(args) -> int:
    from grader import rubric as rubric_mod

    lang = args.lang or default_lang()
    r = rubric_mod.load(args.rubric)
    print(f"{r.lab}: {r.title.get(lang)}  ({r.total:g} {'分' if lang == 'zh' else 'points'}, namespace {r.namespace})")
    for s in r.steps:
        needs = f"  needs {', '.join(s.needs)}" if s.needs else ""
        print(f"\n{s.id} [{s.phase}] {s.title.get(lang)} — {s.points:g}{needs}")
        for c in s.checks:
            cneeds = f" (needs {', '.join(c.needs)})" if c.needs else ""
            print(f"  {c.points:>4g}  {c.id}  {c.use}{cneeds}")
            print(f"        {c.title.get(lang)}")
    return EXIT_OK


def cmd_checks(args) -> int:
    from checks import registry

    if args.doc:
        from grader import authoring

        return authoring.cmd_doc(args.doc)

    for cid, spec in sorted(registry.registry().items()):
        params = ", ".join(
            f"{n}" + ("" if p.default is p.empty else f"={p.default!r}") for n, p in spec.params.items()
        )
        live = " [live]" if spec.live else ""
        print(f"{cid}({params}){live}\n    {spec.summary}")
    return EXIT_OK


COMMANDS = {"grade": cmd_grade, "collect": cmd_collect, "baseline": cmd_baseline, "rubrics": cmd_rubrics, "explain": cmd_explain, "checks": cmd_checks}


def command(name: str):
    """The function that runs subcommand ``name`` (importing its module only now)."""
    if name in COMMANDS:
        return COMMANDS[name]
    if name in ALONE:
        import importlib

        return importlib.import_module(ALONE[name]).run
    from grader import authoring
    from grader.classroom import batch_cli, check_cli, observe_cli, platforms_cli

    return {"batch": batch_cli.run, "check": check_cli.run, "observe": observe_cli.run, **platforms_cli.COMMANDS,
            **authoring.COMMANDS}[name]


def _parse(parser: argparse.ArgumentParser, args: list[str]) -> argparse.Namespace:
    """``parser.parse_args``, but a flag the subcommand does not take is that
    subcommand's error, and "did you mean" looks at its own options only
    (``grade --output`` is not ``collect``'s ``--output``)."""
    namespace, extra = parser.parse_known_args(args)
    if extra:
        command = getattr(namespace, "command", None)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices.get(command)
        sub = sub or parser
        sub.error("unrecognized arguments: " + " ".join(extra))
    return namespace


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """A core subcommand is parsed by the core parser alone; anything else,
    or a mistake, by the whole one."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and (args[0] in CORE or args[0] in ALONE):  # its --help is the same either way
        try:
            return _parse(build_parser(core_only=args[0] in CORE, alone=ALONE.get(args[0]) and args[0]), args)
        except UsageError:
            pass
    return _parse(build_parser(), args)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(argv)
        return command(args.command)(args)
    except InputError as exc:
        from grader import redact
        from grader.report.safe import for_terminal

        # A dump's kind or name can hold ESC/OSC/bidi bytes, and an error can quote a credential.
        print(f"labgrade: error: {for_terminal(redact.text(str(exc)), 2000)}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("labgrade: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `labgrade explain | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK


def run() -> None:
    """The ``labgrade`` program. The objects a run created live until exit:
    frozen first, the interpreter's shutdown does not walk them all once
    more through the cyclic collector (about 60 ms of CPU on a cold grade)."""
    import gc

    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
