"""``labgrade verify STEP``: the check button of Killercoda and Instruqt.

Lab platforms run a script when the student presses "Check" and look only at
its exit status: 0 lets the student go on, anything else keeps them on the
step. So this grades one step and nothing else (its checks see the whole
cluster, but no other step's checks run, and no step-level ``needs``: the
button must say what is wrong with *this* step), prints one line in the
student's language, and exits:

* 0 — the step passes: every check that carries points passed (zero-point
  checks, like the DNS ones, are information: they are not even run);
* 1 — not yet: the first failed check's message and hint;
* 3 — the grader could not judge (an API error, a probe that cannot run on
  a dump): the reason, which is not the student's fault;
* 2 — bad input (no such step, unreadable dump), as everywhere else.

No polling by default (a button press wants an answer now; ``--poll`` waits
for the step's deadline like ``grade``). On Instruqt the one line is what
``fail-message`` should show: ``out=$(labgrade verify step1) || fail-message "$out"``.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from grader.i18n import LANGS, Text
from grader.report.safe import for_terminal

if TYPE_CHECKING:
    from grader.outcome import CheckResult, StepResult
    from grader.rubric import Rubric, StepDef

EXIT_PASSED, EXIT_NOT_YET, EXIT_INPUT, EXIT_CANNOT_JUDGE = 0, 1, 2, 3
LINE_LIMIT = 400
RUBRIC_ENV = "LABGRADE_RUBRIC"

_W = {
    "passed": Text("完成", "done"),
    "hint": Text("提示：", "hint: "),
    "cannot": Text("暂时无法检查（不是你的问题）：", "cannot check right now (not your fault): "),
    "not_yet": Text("尚未完成", "not done yet"),
}


@dataclass(frozen=True)
class Verdict:
    """What the button shows: an exit status and one line."""

    code: int
    line: str


def find_step(rubric: "Rubric", wanted: str) -> "StepDef":
    """A step by id (``step3``) or by its 1-based number (``3``)."""
    from grader.errors import InputError

    for step in rubric.steps:
        if step.id == wanted:
            return step
    if wanted.isdigit() and 1 <= int(wanted) <= len(rubric.steps):
        return rubric.steps[int(wanted) - 1]
    ids = ", ".join(s.id for s in rubric.steps)
    raise InputError(for_terminal(wanted, 60), f"no such step in rubric {rubric.lab} (steps: {ids}, or 1-{len(rubric.steps)})")


def one_step(rubric: "Rubric", step: "StepDef") -> "Rubric":
    """The rubric cut to ``step``, without the step's own prerequisites (the
    engine runs a check whose prerequisite was not graded), and without its
    zero-point checks when it has others: they cannot change the verdict,
    and in service-discovery's step 5 they are two DNS port-forwards, about
    a second of the button's wait."""
    counted = tuple(c for c in step.checks if c.points > 0) or step.checks
    return replace(rubric, steps=(replace(step, needs=(), checks=counted),))


def verdict(step: "StepResult", lang: str) -> Verdict:
    """Exit status and line for a graded step (see the module docstring)."""
    counted = [c for c in step.checks if c.points > 0] or list(step.checks)
    icon_title = for_terminal(step.title.get(lang), 160)
    problem = next((c for c in counted if c.status.value == "failed"), None)
    if problem is None:
        problem = next((c for c in counted if c.status.value == "skipped" and c.outcome.graded), None)
    if problem is not None:
        return Verdict(EXIT_NOT_YET, _line(f"✗ {step.id}: ", problem, lang, with_hint=True))
    unjudged = next((c for c in counted if c.status.value != "passed"), None)
    if unjudged is not None:
        return Verdict(EXIT_CANNOT_JUDGE, _line(f"! {step.id}: {_W['cannot'].get(lang)}", unjudged, lang, with_hint=False))
    return Verdict(EXIT_PASSED, for_terminal(f"✓ {step.id}: {icon_title} — {_W['passed'].get(lang)}", LINE_LIMIT))


def _line(prefix: str, check: "CheckResult", lang: str, *, with_hint: bool) -> str:
    message = check.outcome.message.get(lang).strip() or check.title.get(lang) or _W["not_yet"].get(lang)
    text = prefix + message
    hint = check.hint.get(lang).strip()
    if with_hint and hint:
        text += f"（{_W['hint'].get(lang)}{hint}）" if lang == "zh" else f" ({_W['hint'].get(lang)}{hint})"
    return for_terminal(text, LINE_LIMIT)  # one line: newlines become visible \n, escapes go


def grade_step(rubric: "Rubric", step: "StepDef", args: argparse.Namespace) -> "StepResult":
    from grader import engine
    from grader.sources import snapshot
    from grader.engine import StaticSource
    from grader.errors import InputError
    from grader.outcome import SourceInfo

    sources: dict[str, Any] = {}
    recorded_ns = None
    items = [("baseline", args.baseline)] if args.baseline else []
    for item in args.snapshot:
        phase, sep, path = item.partition("=")
        if not sep or os.path.exists(item):
            phase, path = step.phase, item
        elif phase not in (*rubric.phases, "baseline"):
            raise InputError(item, f"unknown phase {phase!r}; this rubric's phases: {', '.join(rubric.phases)}")
        items.append((phase, path))
    for phase, path in items:
        if phase in sources:
            raise InputError(path, f"a second dump for phase {phase!r}")
        snap = snapshot.load(path)
        recorded_ns = recorded_ns or snap.namespace
        sources[phase] = StaticSource(snap.view(location=path, phase=phase),
                                      SourceInfo(phase, "snapshot", path, snap.collected_at))
    namespace = args.namespace or recorded_ns or rubric.namespace
    cut = one_step(rubric, step)
    if step.phase not in sources:
        from grader.sources.assemble import live_source  # the one way a run reaches a cluster

        # Given the cut rubric, the live source lists only the kinds this step's checks read.
        sources[step.phase] = live_source(args, namespace, step.phase, rubric=cut)
    report = engine.grade(cut, sources, namespace=namespace, student=args.student,
                          options=engine.Options(poll=args.poll))
    return report.steps[0]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from grader.variants import add_secret_argument

    p = subparsers.add_parser(
        "verify", help="grade one step: exit 0 when it passes (a lab platform's check button)",
        description="Grade one step of a lab, live or from a dump, print one line in the student's language "
                    "and exit 0 when the step passes, 1 when not yet, 3 when it cannot be judged now.")
    p.add_argument("step", metavar="STEP", help="the step's id (step3) or number (3)")
    p.add_argument("--rubric", default=os.environ.get(RUBRIC_ENV),
                   help=f"bundled rubric name or a YAML file (default: {RUBRIC_ENV})")
    p.add_argument("--snapshot", action="append", default=[], metavar="[PHASE=]PATH",
                   help="grade this dump instead of the live cluster (unnamed: the step's phase)")
    p.add_argument("--baseline", metavar="PATH", help="a dump taken before the lab, for steps that compare with it")
    p.add_argument("-n", "--namespace", help="the lab namespace (default: the rubric's)")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG, ~/.kube/config, in-cluster)")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.add_argument("--dns-server", metavar="IP[:PORT]", help="ask this DNS server instead of port-forwarding to CoreDNS")
    p.add_argument("--poll", action="store_true", help="re-poll failing checks until the step's deadline")
    p.add_argument("--student", help="the student's id (needed when the rubric declares variants)")
    p.add_argument("--lang", choices=LANGS, default=None, help="language of the line (default: LABGRADE_LANG, else the locale: LC_ALL, LANG)")
    add_secret_argument(p)
    return p


def run(args: argparse.Namespace) -> int:
    from grader import rubric as rubric_mod, variants
    from grader.errors import InputError
    from grader.i18n import default_lang

    if not args.rubric:
        raise InputError("--rubric", f"which rubric? pass --rubric NAME or set {RUBRIC_ENV}")
    lang = args.lang or default_lang()
    rubric = rubric_mod.load(args.rubric, student=args.student, secret_file=args.course_secret_file)
    variants.require_student(rubric)
    step = find_step(rubric, args.step)
    result = verdict(grade_step(rubric, step, args), lang)
    print(result.line)
    return result.code


__all__ = ["Verdict", "find_step", "one_step", "verdict", "grade_step", "add_parser", "run"]
