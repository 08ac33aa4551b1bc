"""Load and validate rubric YAML.

A rubric is data: steps, checks, points, bilingual titles and hints. Every
mistake in one (YAML syntax, a duplicate key, an unknown check type, a
parameter the check does not take, points that do not add up) fails here,
before any grading, as one line with the file, the line and the reason.
"""
from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from checks import registry
from grader.errors import InputError
from grader.files import read_input
from grader.i18n import Text

if TYPE_CHECKING:
    from grader.variants import Template, Variant

DEFAULT_PHASES = ("built", "cleaned")
RESERVED_PHASES = ("baseline",)
_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class CheckDef:
    id: str
    use: str
    params: dict[str, Any]
    points: float
    title: Text
    hint: Text
    needs: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class StepDef:
    id: str
    phase: str
    title: Text
    checks: tuple[CheckDef, ...]
    needs: tuple[str, ...]
    hint: Text | None
    deadline: float
    line: int

    @property
    def points(self) -> float:
        return round(sum(c.points for c in self.checks), 4)


@dataclass(frozen=True)
class Rubric:
    lab: str
    version: str
    title: Text
    namespace: str
    phases: tuple[str, ...]
    steps: tuple[StepDef, ...]
    path: str
    variant: "Variant | None" = None  # the student's values when the rubric declares variants

    @property
    def total(self) -> float:
        return round(sum(s.points for s in self.steps), 4)

    def check(self, check_id: str) -> CheckDef | None:
        return next((c for s in self.steps for c in s.checks if c.id == check_id), None)


# -- YAML with line numbers -----------------------------------------------------

#: libyaml's scanner and composer when PyYAML was built with them (its wheels are):
#: the bundled rubric composes in a few milliseconds instead of the pure-Python
#: loader's ~50 of a cold ``labgrade grade``. Same grammar and marks (the node
#: lines below come from either); the pure-Python loader is the fallback.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

class _Map(dict):
    line: int
    lines: dict[str, int]


class _Seq(list):
    line: int
    lines: list[int]


def _construct(node: yaml.Node, loc: str, scalars: Any) -> Any:
    if isinstance(node, yaml.MappingNode):
        out = _Map()
        out.line = node.start_mark.line + 1
        out.lines = {}
        for key_node, value_node in node.value:
            key = _construct(key_node, loc, scalars)
            if not isinstance(key, str):
                raise InputError(loc, f"keys must be strings, got {key!r}", key_node.start_mark.line + 1)
            if key in out:
                raise InputError(loc, f"duplicate key {key!r}", key_node.start_mark.line + 1)
            out[key] = _construct(value_node, loc, scalars)
            out.lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = _Seq(_construct(v, loc, scalars) for v in node.value)
        seq.line = node.start_mark.line + 1
        seq.lines = [v.start_mark.line + 1 for v in node.value]
        return seq
    return scalars.construct_object(node)  # scalars: safe types only


def parse_yaml(text: str, loc: str) -> Any:
    # One loader composes the document and constructs its scalars (safe types only):
    # a loader per scalar was a fifth of the rubric's load time.
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _syntax_error(text, loc, exc) from None
        if node is None:
            raise InputError(loc, "is empty")
        return _construct(node, loc, loader)
    finally:
        loader.dispose()


def _syntax_error(text: str, loc: str, exc: yaml.YAMLError) -> InputError:
    """The author's line and reason for a rubric that does not parse. libyaml words
    some mistakes tersely ("found character that cannot start any token", without
    the tab it found), so a failure of the fast loader is parsed again by the
    pure-Python one, whose reason names what it found: a mistake costs those
    milliseconds, a good rubric does not."""
    if _Loader is not yaml.SafeLoader:
        try:
            yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as slow:
            exc = slow
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return InputError(loc, f"YAML syntax error: {exc.problem or exc.context}", mark.line + 1 if mark else None)
    return InputError(loc, f"YAML error: {exc}")


# -- validation ---------------------------------------------------------------

class _Ctx:
    def __init__(self, loc: str):
        self.loc = loc

    def fail(self, where: _Map | _Seq | None, key: str | int | None, msg: str) -> InputError:
        line = None
        if isinstance(where, _Map):
            line = where.lines.get(key, where.line) if isinstance(key, str) else where.line
        elif isinstance(where, _Seq):
            line = where.lines[key] if isinstance(key, int) and key < len(where.lines) else where.line
        return InputError(self.loc, msg, line)

    def mapping(self, value: Any, parent: Any, key: Any, what: str, allowed: set[str], required: set[str]) -> _Map:
        if not isinstance(value, _Map):
            raise self.fail(parent, key, f"{what} must be a mapping")
        unknown = sorted(set(value) - allowed)
        if unknown:
            near = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
            tip = f" (did you mean {near[0]!r}?)" if near else f" (allowed: {', '.join(sorted(allowed))})"
            raise self.fail(value, unknown[0], f"{what}: unknown key {unknown[0]!r}{tip}")
        missing = sorted(required - set(value))
        if missing:
            raise self.fail(value, None, f"{what}: missing required key {missing[0]!r}")
        return value

    def text(self, value: Any, parent: Any, key: Any, what: str) -> Text:
        m = self.mapping(value, parent, key, what, {"zh", "en"}, {"zh", "en"})
        for lang in ("zh", "en"):
            if not isinstance(m[lang], str) or not m[lang].strip():
                raise self.fail(m, lang, f"{what}.{lang} must be non-empty text")
        return Text(m["zh"].strip(), m["en"].strip())

    def ident(self, value: Any, parent: Any, key: Any, what: str) -> str:
        if not isinstance(value, str) or not _ID.match(value):
            raise self.fail(parent, key, f"{what} must be lowercase letters, digits and '-' (got {value!r})")
        return value

    def id_list(self, value: Any, parent: Any, key: Any, what: str) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(parent, key, f"{what} must be a list of ids")
        return list(value)

    def number(self, value: Any, parent: Any, key: Any, what: str) -> float:
        # YAML reads .nan and .inf as floats: NaN points pass every comparison (a
        # report of nan/nan, a JSON report that cannot be written) and an infinite
        # deadline re-polls a live cluster forever, so only finite numbers load.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise self.fail(parent, key, f"{what} must be a finite number >= 0 (got {value!r})")
        return float(value)


def _plain(value: Any) -> Any:
    """Drop the line bookkeeping so check functions get ordinary dicts/lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _check_params(c: _Ctx, spec: registry.CheckSpec, params: Any, parent: _Map, what: str) -> dict[str, Any]:
    if params is None:
        params = _Map()
        params.line, params.lines = parent.line, {}
    if not isinstance(params, _Map):
        raise c.fail(parent, "with", f"{what}.with must be a mapping")
    allowed = set(spec.params)
    for key in params:
        if key not in allowed:
            near = difflib.get_close_matches(key, sorted(allowed), n=1)
            tip = f" (did you mean {near[0]!r}?)" if near else f" (it takes: {', '.join(sorted(allowed)) or 'nothing'})"
            raise c.fail(params, key, f"{what}: check {spec.id!r} takes no parameter {key!r}{tip}")
    for pname, param in spec.params.items():
        if pname not in params:
            if param.default is param.empty:
                raise c.fail(parent, "with", f"{what}: check {spec.id!r} needs parameter {pname!r}")
            continue
        hint = spec.hints.get(pname)
        if hint is not None and not registry.type_ok(_plain(params[pname]), hint):
            raise c.fail(params, pname, f"{what}.with.{pname} must be {registry.describe_type(hint)} (got {params[pname]!r})")
    return _plain(params)


def _declare_kinds(c: _Ctx, top: _Map) -> None:
    """``kinds:``: custom resources (or any kind grader/kinds.py lacks) the
    rubric's checks name, with what discovery would say about them."""
    from grader import kinds

    raw = top.get("kinds")
    if raw is None:
        return
    if not isinstance(raw, _Seq):
        raise c.fail(top, "kinds", "kinds must be a list")
    for i, item in enumerate(raw):
        k = c.mapping(item, raw, i, f"kinds[{i}]", {"kind", "apiVersion", "plural", "namespaced"}, {"kind", "apiVersion", "plural"})
        if not all(isinstance(k[f], str) and k[f] for f in ("kind", "apiVersion", "plural")):
            raise c.fail(raw, i, f"kinds[{i}]: kind, apiVersion and plural must be text")
        group, _, version = k["apiVersion"].rpartition("/")
        try:
            kinds.register(kinds.Kind(k["kind"], group, version, k["plural"], bool(k.get("namespaced", True))))
        except ValueError as exc:
            raise c.fail(raw, i, f"kinds[{i}]: {exc}") from None


def validate(data: Any, loc: str) -> Rubric:
    c = _Ctx(loc)
    top = c.mapping(data, None, None, "rubric",
                    {"lab", "version", "title", "description", "namespace", "phases", "total", "steps", "kinds"},
                    {"lab", "title", "steps"})
    lab = c.ident(top["lab"], top, "lab", "lab")
    title = c.text(top["title"], top, "title", "title")
    if "description" in top:
        c.text(top["description"], top, "description", "description")
    namespace = top.get("namespace", "default")
    if not isinstance(namespace, str) or not _ID.match(namespace):
        raise c.fail(top, "namespace", f"namespace must be a DNS label (got {namespace!r})")
    _declare_kinds(c, top)
    phases = tuple(c.id_list(top.get("phases", list(DEFAULT_PHASES)), top, "phases", "phases"))
    if not phases or len(set(phases)) != len(phases) or any(p in RESERVED_PHASES for p in phases):
        raise c.fail(top, "phases", f"phases must be distinct names, not {', '.join(RESERVED_PHASES)}")
    steps_raw = top["steps"]
    if not isinstance(steps_raw, _Seq) or not steps_raw:
        raise c.fail(top, "steps", "steps must be a non-empty list")

    steps: list[StepDef] = []
    step_ids: set[str] = set()
    check_ids: set[str] = set()
    for i, raw in enumerate(steps_raw):
        where = f"steps[{i}]"
        s = c.mapping(raw, steps_raw, i, where,
                      {"id", "phase", "title", "hint", "description", "points", "needs", "deadline", "checks"},
                      {"id", "title", "checks"})
        sid = c.ident(s["id"], s, "id", f"{where}.id")
        where = f"step {sid}"
        if sid in step_ids:
            raise c.fail(s, "id", f"duplicate step id {sid!r}")
        phase = s.get("phase", phases[0])
        if phase not in phases:
            raise c.fail(s, "phase", f"{where}: phase {phase!r} is not one of {', '.join(phases)}")
        needs = c.id_list(s.get("needs"), s, "needs", f"{where}.needs")
        for n in needs:
            if n not in step_ids:
                raise c.fail(s, "needs", f"{where}: needs {n!r}, which is not an earlier step")
        deadline = c.number(s.get("deadline", 0), s, "deadline", f"{where}.deadline")
        checks_raw = s["checks"]
        if not isinstance(checks_raw, _Seq) or not checks_raw:
            raise c.fail(s, "checks", f"{where}: checks must be a non-empty list")
        checks: list[CheckDef] = []
        for j, craw in enumerate(checks_raw):
            cw = f"{where} checks[{j}]"
            ch = c.mapping(craw, checks_raw, j, cw, {"id", "use", "with", "points", "title", "hint", "needs"},
                           {"id", "use", "points", "title", "hint"})
            cid = c.ident(ch["id"], ch, "id", f"{cw}.id")
            cw = f"check {cid}"
            if cid in check_ids or cid in step_ids or cid == sid:
                raise c.fail(ch, "id", f"duplicate id {cid!r}")
            use = ch["use"]
            spec = registry.get(use) if isinstance(use, str) else None
            if spec is None:
                near = difflib.get_close_matches(str(use), sorted(registry.registry()), n=1)
                tip = f" (did you mean {near[0]!r}?)" if near else " (see `labgrade checks`)"
                raise c.fail(ch, "use", f"{cw}: unknown check type {use!r}{tip}")
            params = _check_params(c, spec, ch.get("with"), ch, cw)
            cneeds = c.id_list(ch.get("needs"), ch, "needs", f"{cw}.needs")
            for n in cneeds:
                if n not in check_ids and n not in step_ids and n not in {x.id for x in checks}:
                    raise c.fail(ch, "needs", f"{cw}: needs {n!r}, which is not an earlier check or step")
            checks.append(CheckDef(cid, use, params, c.number(ch["points"], ch, "points", f"{cw}.points"),
                                   c.text(ch["title"], ch, "title", f"{cw}.title"),
                                   c.text(ch["hint"], ch, "hint", f"{cw}.hint"), tuple(cneeds), ch.line))
            check_ids.add(cid)
        step = StepDef(sid, phase, c.text(s["title"], s, "title", f"{where}.title"), tuple(checks), tuple(needs),
                       c.text(s["hint"], s, "hint", f"{where}.hint") if "hint" in s else None, deadline, s.line)
        if "points" in s:
            declared = c.number(s["points"], s, "points", f"{where}.points")
            if abs(declared - step.points) > 1e-9:
                raise c.fail(s, "points", f"{where}: points {declared:g} but its checks add up to {step.points:g}")
        steps.append(step)
        step_ids.add(sid)

    rubric = Rubric(lab, str(top.get("version", "1")), title, namespace, phases, tuple(steps), loc)
    if "total" in top:
        total = c.number(top["total"], top, "total", "total")
        if abs(total - rubric.total) > 1e-9:
            raise c.fail(top, "total", f"total is {total:g} but the steps add up to {rubric.total:g}")
    if rubric.total <= 0:
        raise c.fail(top, "steps", "the rubric's points add up to 0")
    return rubric


def only_phase(rubric: Rubric, phase: str) -> Rubric:
    """The rubric cut to one phase's steps (for collecting that phase)."""
    from dataclasses import replace

    return replace(rubric, steps=tuple(s for s in rubric.steps if s.phase == phase))


# -- finding rubrics ----------------------------------------------------------

def bundled() -> dict[str, str]:
    """Bundled rubric names -> their YAML text."""
    out = {}
    for entry in resources.files("rubrics").iterdir():
        if entry.name.endswith(".yaml"):
            out[entry.name[: -len(".yaml")]] = entry.read_text(encoding="utf-8")
    return dict(sorted(out.items()))


def load(name_or_path: str, *, student: str | None = None, secret_file: str | None = None) -> Rubric:
    """A bundled rubric by name (``service-discovery``) or a YAML file path;
    with ``variants:``, ``student``'s own (see grader.variants)."""
    return template(name_or_path, secret_file=secret_file).rubric(student)


def template(name_or_path: str, *, secret_file: str | None = None) -> "Template":
    """The parsed rubric, from which each student's rubric is made."""
    from grader.variants import Template

    text, loc = _read(name_or_path)
    return Template(parse_yaml(text, loc), loc, validate, secret_file=secret_file)


def _read(name_or_path: str) -> tuple[str, str]:
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        raw = read_input(p, "rubric")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(str(p), f"cannot read: {exc}") from None
        return text, str(p)
    texts = bundled()
    if name_or_path not in texts:
        near = difflib.get_close_matches(name_or_path, list(texts), n=1)
        tip = f"; did you mean {near[0]!r}?" if near else f"; bundled: {', '.join(texts)}"
        raise InputError(name_or_path, f"no bundled rubric of that name and no such file{tip}")
    return texts[name_or_path], f"rubrics/{name_or_path}.yaml"
