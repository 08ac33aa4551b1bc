"""The rubric author's kit: ``lint``, ``schema``, ``checks --doc``,
``test-rubric`` and ``dump-command``.

A teacher writing a new lab in YAML needs to know, before the class does,
that the rubric loads, that its points can be earned from what students
will hand in, that editors complete it, what each check does, and that it
marks the reference solution and each typical mistake as intended.
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import textwrap
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from checks import assert_tree, cluster_template, registry, select, selectors
from grader import kinds
from grader.errors import InputError
from grader.files import read_input

SCHEMA_ID = "https://labgrade.invalid/schema/rubric.json"
SECTIONS = ("Why", "Parameters", "Passes", "Fails", "Partial credit")
VARIANT = {"type": "string", "pattern": r"^\{\{\s*var\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}$"}


# -- lint ---------------------------------------------------------------------

@dataclass(frozen=True)
class Diagnostic:
    level: str  # "error" | "warning"
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.level}: {self.message}"


def _param_problems(use: str, params: dict[str, Any]) -> list[str]:
    """Mistakes inside parameters the signature cannot see: assertion trees,
    templates, label selectors."""
    out: list[str] = []
    if use == "object.matches":
        trees = [("expect", params.get("expect"))]
        alternatives = params.get("any_of")
        trees += [(f"any_of[{i}]", t) for i, t in enumerate(alternatives)] if isinstance(alternatives, list) else []
        for where, tree in trees:
            if isinstance(tree, dict):
                found = assert_tree.validate(tree) + _untyped_text_leaves(tree, str(params.get("kind") or ""))
                out += [f"{where}: {p}" if where != "expect" else p for p in found]
    templates: list[Any] = [params.get(k) for k in ("url", "name") if use in ("http.get", "dns.lookup")]
    templates += list(params.get("argv") or []) if use == "exec.run" else []
    if use == "dns.lookup" and isinstance(params.get("expect"), list):
        templates += params["expect"]
    for t in templates:
        if isinstance(t, str):
            try:
                cluster_template.calls(t)
            except cluster_template.TemplateError as exc:
                out.append(str(exc))
    out += _shape_problems(use, params)
    sel = params.get("selector")
    if sel is not None and use.startswith("object."):
        try:
            select.parse_selector(sel)
        except select.BadSelector as exc:
            out.append(str(exc))
    return out


#: Maps whose values the API server only holds as text, whatever the kind (and a
#: ConfigMap's or Secret's data): an unquoted ``on``, ``yes``, ``2`` or ``1.10``
#: in an assertion there is a YAML boolean or number, which no object can match.
_TEXT_MAPS = ("metadata.labels", "metadata.annotations", "matchLabels")
_TEXT_DATA_KINDS = ("configmap", "configmaps", "cm", "secret", "secrets")


def _untyped_text_leaves(tree: Any, kind: str, path: str = "") -> list[str]:
    out: list[str] = []
    if not isinstance(tree, dict):
        return out
    text_map = path.endswith(_TEXT_MAPS) or (kind.lower() in _TEXT_DATA_KINDS and path in ("data", "stringData"))
    for key, sub in tree.items():
        if assert_tree.is_expression(key):
            continue  # its value is what the expression gives, not a label's
        here = f"{path}.{key}" if path else str(key)
        if text_map and isinstance(sub, (bool, int, float)):
            shown = str(sub).lower() if isinstance(sub, bool) else repr(sub)
            out.append(f"{here}: YAML read the value as {shown}, but the values under {path.rsplit('.', 1)[-1]} "
                       f"are text, so no object matches; quote it")
        else:
            out += _untyped_text_leaves(sub, kind, here)
    return out


def _shape_problems(use: str, params: dict[str, Any]) -> list[str]:
    """Parameter combinations a check refuses when it runs (an ``error`` for
    every student, found only at grading) or silently ignores (``count``
    beside ``name``): the author hears of them from lint, with the line."""
    out: list[str] = []
    given = {k for k, v in params.items() if v is not None}
    if use in ("object.exists", "object.matches") and ("name" in given) == ("selector" in given):
        out.append("give exactly one of name or selector")
    if use == "object.matches" and "expect" not in given and "any_of" not in given:
        out.append("give expect (the tree), any_of (alternative trees) or both")
    if use == "object.matches" and params.get("any_of") == []:
        out.append("any_of lists no alternative")
    if use == "object.exists" and "count" in given and "selector" not in given:
        out.append("count is only read with a selector (one name is one object)")
    if use == "object.exists" and params.get("kind") == []:
        out.append("the kind list is empty")
    if use == "object.absent" and bool(params.get("name") or params.get("names")) == ("selector" in given):
        out.append("give name/names or a selector, not both and not neither")
    if use == "exec.run" and params.get("argv") == []:
        out.append("argv is empty")
    for key in ("stdout_matches", "stderr_matches") if use == "exec.run" else ():
        if isinstance(params.get(key), str):
            try:
                re.compile(params[key])
            except re.error as exc:
                out.append(f"{key}: bad regular expression {params[key]!r} ({exc})")
    if use == "selector.picks":
        if not any(params.get(k) for k in ("exactly", "includes", "excludes")):  # empty lists too, as the check refuses
            out.append("give exactly, includes or excludes: the workloads whose pods the selector must (not) pick")
        if "exactly" in given and "includes" in given:
            out.append("give exactly or includes, not both")
        info = kinds.lookup(str(params.get("kind") or ""))
        if "path" not in given and (info.kind if info else params.get("kind")) not in selectors.DEFAULT_PATHS:
            out.append(f"give path: labgrade does not know where a {params.get('kind')} keeps its selector")
        if isinstance(params.get("path"), str):
            out += [p.replace("path.(", "path (", 1) for p in assert_tree.validate({f"({params['path']})": "(@)"}, "path")]
    if use == "service.backends":
        expect = params.get("expect", "all")
        if isinstance(expect, dict) and (set(expect) != {"exactly"} or not isinstance(expect.get("exactly"), list)):
            out.append("expect must be all, one-of-each or {exactly: [pod names]}")
        elif not isinstance(expect, dict) and not params.get("workloads"):
            out.append("workloads is empty: list the workloads whose pods count")
    return out


def lint(path: str) -> list[Diagnostic]:
    """Every error the loader finds (one, with its line: loading stops
    there), then parameter errors and warnings, each with file:line."""
    from grader import reads, rubric as rubric_mod

    try:
        rubric = rubric_mod.load(path)
    except InputError as exc:
        return [Diagnostic("error", exc.location, exc.line, exc.message)]
    loc = rubric.path
    out: list[Diagnostic] = []
    listed = set(kinds.plan(reads.rubric_reads(rubric), rubric.namespace)[0])
    for step in rubric.steps:
        for c in step.checks:
            spec = registry.get(c.use)
            assert spec is not None
            for p in _param_problems(c.use, c.params):
                out.append(Diagnostic("error", loc, c.line, f"check {c.id}: {p}"))
            if c.points == 0:
                out.append(Diagnostic("warning", loc, c.line,
                                      f"check {c.id}: 0 points, so no grade reaches it (it only informs the student)"))
            elif spec.live:
                out.append(Diagnostic("warning", loc, c.line,
                                      f"check {c.id}: its {c.points:g} points cannot be earned from a dump "
                                      f"(it needs a live cluster, or a bundle from `labgrade collect`)"))
            for r in reads.check_reads(c):
                kind = kinds.parse_read(r).kind
                if kinds.lookup(kind) is None:
                    out.append(Diagnostic("warning", loc, c.line,
                                          f"check {c.id}: kind {kind!r} is not one labgrade knows (a typo, or a "
                                          f"custom resource): a live run cannot list it, so its checks are errors, "
                                          f"and `labgrade dump-command` only guesses {kind.lower()!r}; "
                                          f"declare it under kinds:"))
                elif kinds.lookup(kind).lab_only and kinds.parse_read(r).namespace not in (None, rubric.namespace):
                    other = kinds.parse_read(r).namespace
                    out.append(Diagnostic("warning", loc, c.line,
                                          f"check {c.id}: reads a {kind} in namespace {other}, but a dump holds the "
                                          f"{kind}s of the lab namespace only (`labgrade dump-command`), so from a "
                                          f"dump this check is an error; a live run can read it"))
                elif kinds.parse_read(r).is_list and kind not in listed:  # pragma: no cover - plan lists every list read
                    out.append(Diagnostic("warning", loc, c.line, f"check {c.id}: kind {kind} is not listed"))
    return out


# -- schema -------------------------------------------------------------------

def _type_schema(annotation: Any) -> dict[str, Any]:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any or annotation is inspect.Parameter.empty:
        return {}
    if origin is typing.Annotated:
        bounds = [b for b in annotation.__metadata__ if isinstance(b, registry.Between)]
        return {**_type_schema(args[0]), **{k: v for b in bounds for k, v in (("minimum", b.low), ("maximum", b.high))}}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a) for a in args]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, tuple):
        return {"type": "array", **({"items": _type_schema(args[0])} if args else {})}
    if origin is dict or annotation is dict:
        return {"type": "object", **({"additionalProperties": _type_schema(args[1])} if len(args) == 2 else {})}
    return {str: {"type": "string"}, int: {"type": "integer"}, float: {"type": "number"},
            bool: {"type": "boolean"}, type(None): {"type": "null"}}.get(annotation, {})


def _check_schema(spec: registry.CheckSpec) -> dict[str, Any]:
    props = {}
    for name, p in spec.params.items():
        s = _type_schema(spec.hints.get(name, Any))
        if s.get("type") != "string":  # a per-student value ({{ var.x }}, grader/variants.py) fits any parameter
            s = {"anyOf": [s, VARIANT]} if s else s
        if p.default is not p.empty:
            s = {**s, "default": p.default}
        props[name] = s
    required = [n for n, p in spec.params.items() if p.default is p.empty]
    with_schema: dict[str, Any] = {"type": ["object", "null"] if not required else "object",
                                   "properties": props, "additionalProperties": False}
    if required:
        with_schema["required"] = required
    body: dict[str, Any] = {"properties": {"use": {"const": spec.id}, "with": with_schema}}
    if required:
        body["required"] = ["with"]
    return {"if": {"properties": {"use": {"const": spec.id}}, "required": ["use"]}, "then": body}


def schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of the rubric format, from the check registry:
    each check type's ``with:`` is its signature."""
    text = {"type": "object", "properties": {"zh": {"type": "string", "minLength": 1}, "en": {"type": "string", "minLength": 1}},
            "required": ["zh", "en"], "additionalProperties": False}
    ident = {"type": "string", "pattern": r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"}
    reg = registry.registry()
    check = {
        "type": "object",
        "properties": {"id": ident, "use": {"enum": sorted(reg)}, "with": {}, "points": {"type": "number", "minimum": 0},
                       "title": text, "hint": text, "needs": {"type": "array", "items": {"type": "string"}}},
        "required": ["id", "use", "points", "title", "hint"],
        "additionalProperties": False,
        "allOf": [_check_schema(reg[cid]) for cid in sorted(reg)],
    }
    step = {
        "type": "object",
        "properties": {"id": ident, "phase": {"type": "string"}, "title": text, "hint": text, "description": text,
                       "points": {"type": "number", "minimum": 0}, "needs": {"type": "array", "items": {"type": "string"}},
                       "deadline": {"type": "number", "minimum": 0}, "checks": {"type": "array", "minItems": 1, "items": check}},
        "required": ["id", "title", "checks"], "additionalProperties": False,
    }
    kind = {"type": "object", "properties": {"kind": {"type": "string"}, "apiVersion": {"type": "string"},
                                             "plural": {"type": "string"}, "namespaced": {"type": "boolean"}},
            "required": ["kind", "apiVersion", "plural"], "additionalProperties": False}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "labgrade rubric",
        "type": "object",
        "properties": {"lab": ident, "version": {"type": ["string", "number"]}, "title": text, "description": text,
                       "namespace": ident, "phases": {"type": "array", "items": {"type": "string"}},
                       "total": {"type": "number"}, "kinds": {"type": "array", "items": kind},
                       "variants": {"type": "object"},
                       "steps": {"type": "array", "minItems": 1, "items": step}},
        "required": ["lab", "title", "steps"],
        "additionalProperties": False,
    }


# -- checks --doc -------------------------------------------------------------

_SECTION = re.compile(r"^(Why|Parameters|Passes|Fails|Partial credit|Reads|Example):\s*(.*)$")


def doc_sections(spec: registry.CheckSpec) -> dict[str, str]:
    """The sections of a check's documentation: from its docstring
    (``Why:``, ``Parameters:``...)."""
    lines = spec.doc.splitlines()
    out: dict[str, str] = {"What": spec.what}
    current = None
    buf: list[str] = []
    for line in lines[1:]:
        m = _SECTION.match(line.strip())
        if m:
            if current:
                out[current] = _section_text(current, buf)
            current, buf = m.group(1), [m.group(2)]
        elif current:
            buf.append(line if current == "Example" else line.strip())  # an example is YAML: its indentation is its meaning
    if current:
        out[current] = _section_text(current, buf)
    if "Parameters" not in out or not out["Parameters"]:
        out["Parameters"] = "\n".join(_param_line(spec, n) for n in spec.params) or "none."
    return out


def _param_line(spec: registry.CheckSpec, name: str) -> str:
    p = spec.params[name]
    hint = registry.describe_type(spec.hints[name]) if name in spec.hints else "any"
    default = "required" if p.default is p.empty else f"default {p.default!r}"
    return f"{name}: {hint} ({default})"


def render_doc(check_id: str) -> str:
    spec = registry.get(check_id)
    if spec is None:
        import difflib

        near = difflib.get_close_matches(check_id, sorted(registry.registry()), n=1)
        raise InputError(check_id, "no such check" + (f"; did you mean {near[0]!r}?" if near else " (see `labgrade checks`)"))
    s = doc_sections(spec)
    params_doc = {ln.split(":", 1)[0].strip(): ln.split(":", 1)[1].strip()
                  for ln in s["Parameters"].splitlines() if ":" in ln}
    reads = spec.reads if not callable(spec.reads) else None
    reads_text = ", ".join(reads) if reads else (s.get("Reads") or "depends on its parameters") if spec.reads else "the default kinds"
    out = [f"# {spec.id}", "", s["What"], "", "## Why", "", s.get("Why", ""), "", "## Parameters", ""]
    for name in spec.params:
        line = _param_line(spec, name)
        desc = params_doc.get(name)
        out.append(f"- `{line}`" + (f": {desc}" if desc and desc != line.split(": ", 1)[1] else ""))
    if not spec.params:
        out.append("none")
    if s.get("Example"):
        out += ["", "## Example", "", "```yaml", s["Example"], "```"]
    out += ["", "## Passes", "", s.get("Passes", ""), "", "## Fails", "", s.get("Fails", ""),
            "", "## Partial credit", "", s.get("Partial credit", ""), "", "## Reads", "", reads_text
            + ("; and it runs a probe, which needs a live cluster or a recorded bundle" if spec.live else ""), ""]
    return "\n".join(out)


# -- test-rubric ----------------------------------------------------------------

@dataclass(frozen=True)
class CaseResult:
    case: str
    mismatches: tuple[tuple[str, str, str], ...]  # (check, expected, got)
    earned: float
    expected_earned: float | None

    @property
    def ok(self) -> bool:
        return not self.mismatches and (self.expected_earned is None or abs(self.earned - self.expected_earned) < 1e-6)


def case_dirs(cases: Path) -> list[Path]:
    return sorted(p for p in cases.iterdir() if p.is_dir() and (p / "expected.yaml").exists())


VERDICTS = ("passed", "failed", "skipped", "error")


def read_expected(path: Path, rubric: Any) -> dict[str, Any]:
    """A case's ``expected.yaml``, checked as a rubric is: the teacher wrote it
    by hand, and a list where ``verdicts:`` wants a mapping, or ``earned: "80"``,
    must be one line naming the file (it was a traceback), and a misspelt verdict
    (``pass``) or check id must not read as the grader disagreeing."""
    from grader import rubric as rubric_mod

    loc = str(path)
    try:
        text = read_input(path, "expected.yaml").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(loc, "not UTF-8 text") from None
    try:
        data = rubric_mod.parse_yaml(text, loc)
    except InputError as exc:
        if exc.message == "is empty":  # nothing expected yet (or comments only): nothing to compare
            return {}
        raise
    if not isinstance(data, dict):
        raise InputError(loc, "must be a mapping with verdicts: (check id -> passed/failed/skipped/error)", getattr(data, "line", None))
    lines: dict[str, int] = getattr(data, "lines", {})
    verdicts = data.get("verdicts") or {}
    if not isinstance(verdicts, dict):
        raise InputError(loc, "verdicts must be a mapping of check id -> passed/failed/skipped/error", lines.get("verdicts"))
    ids = {c.id for s in rubric.steps for c in s.checks}
    for check_id, verdict in verdicts.items():
        line = getattr(verdicts, "lines", {}).get(check_id)
        if check_id not in ids:
            raise InputError(loc, f"verdicts: {check_id!r} is not a check of rubric {rubric.lab}", line)
        if verdict not in VERDICTS:
            raise InputError(loc, f"verdicts: {check_id}: {verdict!r} is not one of {', '.join(VERDICTS)}", line)
    earned = data.get("earned")
    if earned is not None and (isinstance(earned, bool) or not isinstance(earned, (int, float)) or not math.isfinite(earned)):
        raise InputError(loc, f"earned must be a number (got {earned!r})", lines.get("earned"))
    namespace = data.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        raise InputError(loc, f"namespace must be text (got {namespace!r})", lines.get("namespace"))
    return dict(data)


def grade_case(rubric: Any, case: Path) -> tuple[Any, dict[str, Any]]:
    """Grade one case folder: ``<phase>.yaml|json`` per phase (``baseline``
    too), or any bundle files that record their phase."""
    from grader import engine
    from grader.sources import snapshot
    from grader.outcome import SourceInfo

    expected = read_expected(case / "expected.yaml", rubric)
    sources: dict[str, Any] = {}
    files = sorted(f for f in case.iterdir() if f.suffix in (".yaml", ".yml", ".json") and f.name != "expected.yaml")
    for f in files:
        snap = snapshot.load(f)
        phases = [f.stem] if f.stem in ("baseline", *rubric.phases) else list(snap.bundles) or ([snap.phase] if snap.phase else [])
        for phase in phases:
            part = snap.bundles.get(phase, snap) if f.stem not in ("baseline", *rubric.phases) else snap
            sources[phase] = engine.StaticSource(part.view(location=str(f), phase=phase), SourceInfo(phase, "snapshot", str(f)))
    namespace = expected.get("namespace") or rubric.namespace
    return engine.grade(rubric, sources, namespace=namespace), expected


def test_rubric(rubric_name: str, cases: str) -> list[CaseResult]:
    from grader import rubric as rubric_mod

    rubric = rubric_mod.load(rubric_name)
    root = Path(cases)
    if not root.is_dir():
        raise InputError(cases, "is not a folder of cases" if root.exists() else "no such folder of cases")
    found = case_dirs(root)
    if not found:
        raise InputError(cases, "holds no case folders with an expected.yaml")
    results = []
    for case in found:
        report, expected = grade_case(rubric, case)
        got = {c.id: c.status.value for _, c in report.checks()}
        want = expected.get("verdicts") or {}
        ids = list(dict.fromkeys([*want, *got]))
        mism = tuple((i, str(want.get(i, "-")), got.get(i, "-")) for i in ids if want.get(i) != got.get(i))
        results.append(CaseResult(case.name, mism, report.earned, expected.get("earned")))
    return results


# -- CLI ----------------------------------------------------------------------

def add_parsers(sub: Any) -> None:
    p = sub.add_parser("lint", help="check a rubric: errors with file:line, and warnings")
    p.add_argument("rubric", help="bundled rubric name or a YAML file")
    sub.add_parser("schema", help="print the JSON Schema of the rubric format")
    p = sub.add_parser("test-rubric", help="grade each case folder and compare with its expected.yaml")
    p.add_argument("rubric", help="bundled rubric name or a YAML file")
    p.add_argument("--cases", required=True, metavar="DIR",
                   help="a folder of case folders, each with <phase>.yaml dumps or bundles and an expected.yaml")
    p = sub.add_parser("dump-command", help="print the kubectl command that dumps what a rubric reads")
    p.add_argument("rubric", help="bundled rubric name or a YAML file")
    p.add_argument("-n", "--namespace", metavar="NS",
                   help="the lab namespace, where Secrets are dumped from (default: the rubric's)")


def cmd_lint(args: argparse.Namespace) -> int:
    diags = lint(args.rubric)
    for d in diags:
        print(d)
    errors = sum(d.level == "error" for d in diags)
    warnings = len(diags) - errors
    print(f"labgrade lint: {errors} error(s), {warnings} warning(s)")
    return 2 if errors else 0


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(schema(), indent=2, ensure_ascii=False))
    return 0


def cmd_test_rubric(args: argparse.Namespace) -> int:
    results = test_rubric(args.rubric, args.cases)
    for r in results:
        mark = "ok  " if r.ok else "FAIL"
        print(f"{mark} {r.case}  ({r.earned:g} points)")
        for check, want, got in r.mismatches:
            print(f"       {check}: expected {want}, got {got}")
        if r.expected_earned is not None and abs(r.earned - r.expected_earned) >= 1e-6:
            print(f"       points: expected {r.expected_earned:g}, got {r.earned:g}")
    bad = sum(not r.ok for r in results)
    print(f"labgrade test-rubric: {len(results) - bad} of {len(results)} cases as expected")
    return 1 if bad else 0


def cmd_dump_command(args: argparse.Namespace) -> int:
    from grader import reads, rubric as rubric_mod

    print(reads.dump_command(rubric_mod.load(args.rubric), args.namespace))
    return 0


def cmd_doc(check_id: str) -> int:
    print(render_doc(check_id))
    return 0


COMMANDS = {"lint": cmd_lint, "schema": cmd_schema, "test-rubric": cmd_test_rubric, "dump-command": cmd_dump_command}


def _section_text(section: str, lines: list[str]) -> str:
    """A section's text, capitalised like a sentence (parameter lists keep
    their names as they are)."""
    if section == "Example":
        return textwrap.dedent("\n".join(lines)).strip("\n")
    text = "\n".join(lines).strip()
    if section == "Parameters" or text.startswith("`") or "." in text.split(" ", 1)[0][:-1]:
        return text  # names and code (``wget``, spec.replicas) keep their case
    return text[:1].upper() + text[1:]
