"""What a rubric reads: the union of its checks' declared reads.

A live source lists exactly these (a rubric that uses no EndpointSlices
does not list them), ``labgrade dump-command`` prints the ``kubectl get``
that dumps them, and ``labgrade lint`` warns about checks that read a kind
the dump command would not list.  A check that declares nothing reads
:data:`grader.kinds.DEFAULT_READS`, the behaviour before reads existed.
"""
from __future__ import annotations

from checks import registry
from grader import kinds
from grader.rubric import CheckDef, Rubric


def check_reads(check: CheckDef) -> tuple[str, ...]:
    spec = registry.get(check.use)
    declared = spec.reads_for(check.params) if spec is not None else None
    return kinds.DEFAULT_READS if declared is None else declared


def rubric_reads(rubric: Rubric) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for step in rubric.steps:
        for check in step.checks:
            out.update(dict.fromkeys(check_reads(check)))
    return tuple(out)


def dump_command(rubric: Rubric, namespace: str | None = None) -> str:
    """What a student runs to dump what ``rubric`` reads; Secrets come from
    lab ``namespace`` alone (default: the rubric's)."""
    return kinds.dump_command(rubric_reads(rubric), namespace or rubric.namespace)
