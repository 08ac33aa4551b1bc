"""Per-student variants: each student gets their own parameters, so copying
a classmate's YAML stops working.

A rubric may declare variables::

    variants:
      replicas1: {choose: [2, 3, 4]}     # one of these values
      port: {range: [8000, 8099]}         # an integer, both ends included
      suffix: {token: 4}                  # 4 of [a-z0-9], starting with a letter (fits any name or label)

and use them as ``"{{ var.replicas1 }}"`` in a check's ``with:`` (a whole
value keeps its type: ``replicas: "{{ var.replicas1 }}"`` is the integer 3;
quoted, because ``{{`` unquoted is a YAML flow mapping) and inside step and
check ``title``/``hint`` and the rubric's ``title``/``description``. Ids,
``use``, points, phases and ``needs`` cannot vary, so every student's rubric
has the same steps and checks and the class files line up.

Values are derived, not stored: HMAC-SHA256 keyed with the course secret
(``LABGRADE_COURSE_SECRET``, or ``--course-secret-file``) over the lab name
and the case-folded student id gives a per-student seed; each variable's
value is HMAC-SHA256(seed, variable name) reduced to a choice. Nothing to
distribute or keep in sync: the teacher's ``labgrade task``, the student's
``labgrade check`` and the grader's ``batch`` all compute the same values,
and without the secret a student cannot work out a classmate's. Adding a
variable leaves the others' values as they were; another lab gives other
values to the same student.

A student's rubric reports ``version`` as ``<version>+v<8 hex>`` (a digest of
the values, not of the secret), so a report says which variant it graded and
a batch does not resume a report made for other values (a changed secret).

Without a student id the rubric is a *preview*: parameters take their first
value (so it validates and ``explain`` works) and texts show ``⟨name⟩``;
grading a preview is refused by :func:`require_student`.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from grader.errors import InputError

if TYPE_CHECKING:
    from grader.i18n import Text
    from grader.rubric import Rubric

SECRET_ENV = "LABGRADE_COURSE_SECRET"
MIN_SECRET_BYTES = 16
KINDS = ("choose", "range", "token")
MAX_CHOICES = 1000
MAX_TOKEN = 32
TOKEN_FIRST = "abcdefghijklmnopqrstuvwxyz"
TOKEN_REST = TOKEN_FIRST + "0123456789"
PLACEHOLDER = re.compile(r"\{\{\s*var\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
# Where a placeholder may stand: parameters and the texts a student reads.
_TEXT_KEYS = ("title", "hint", "description")
_DOMAIN = b"labgrade-variant/v1\x00"


@dataclass(frozen=True)
class Variable:
    """One declared variable: its values (``choose``, ``range``) or a token length."""

    name: str
    kind: str
    choices: tuple[Any, ...] = ()
    length: int = 0
    line: int | None = None

    def pick(self, seed: bytes) -> Any:
        digest = hmac.new(seed, self.name.encode("utf-8"), hashlib.sha256).digest()
        if self.kind == "token":
            stream = b""
            counter = 0
            while len(stream) < self.length:  # 32 bytes per block; tokens are short
                stream += hmac.new(seed, f"{self.name}\x00{counter}".encode(), hashlib.sha256).digest()
                counter += 1
            chars = [TOKEN_FIRST[stream[0] % len(TOKEN_FIRST)]]
            chars += [TOKEN_REST[b % len(TOKEN_REST)] for b in stream[1 : self.length]]
            return "".join(chars)
        # 256 bits reduced modulo at most 1000 choices: the bias is ~2**-246.
        return self.choices[int.from_bytes(digest, "big") % len(self.choices)]

    @property
    def first(self) -> Any:
        return self.choices[0] if self.choices else "a" * self.length


@dataclass(frozen=True)
class Variant:
    """The values one student's rubric was made with (``student`` None: the preview)."""

    student: str | None
    values: tuple[tuple[str, Any], ...]

    @property
    def preview(self) -> bool:
        return self.student is None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)

    @property
    def digest(self) -> str:
        blob = json.dumps(self.values, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:8]


# -- the course secret -----------------------------------------------------------

def course_secret(secret_file: str | None = None, environ: dict[str, str] | None = None) -> bytes:
    """The course secret: the file's bytes (trailing whitespace dropped), else
    ``LABGRADE_COURSE_SECRET``. Too short a secret is refused: a student who
    guesses it computes every classmate's variant."""
    env = os.environ if environ is None else environ
    if secret_file:
        try:
            secret = Path(secret_file).read_bytes().rstrip()
        except OSError as exc:
            raise InputError(secret_file, f"cannot read the course secret: {exc.strerror or exc}") from None
        where = secret_file
    else:
        secret = env.get(SECRET_ENV, "").strip().encode("utf-8")
        where = SECRET_ENV
        if not secret:
            raise InputError(SECRET_ENV, "this rubric gives each student their own values: set "
                                         f"{SECRET_ENV} or pass --course-secret-file (make one with "
                                         "`openssl rand -hex 32`)")
    if len(secret) < MIN_SECRET_BYTES:
        raise InputError(where, f"the course secret is {len(secret)} bytes; use at least {MIN_SECRET_BYTES} "
                                "(`openssl rand -hex 32`)")
    return secret


def student_seed(secret: bytes, lab: str, student: str) -> bytes:
    key = student.strip().casefold()  # rosters treat ids case-insensitively; so do variants
    return hmac.new(secret, _DOMAIN + lab.encode("utf-8") + b"\x00" + key.encode("utf-8"), hashlib.sha256).digest()


# -- declarations ----------------------------------------------------------------

def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool))


def parse_variables(raw: Any, loc: str) -> tuple[Variable, ...]:
    """The ``variants:`` mapping as Variables, every mistake an InputError with its line."""
    line = getattr(raw, "line", None)
    if not isinstance(raw, dict) or not raw:
        raise InputError(loc, "variants must be a non-empty mapping of name: {choose|range|token: ...}", line)
    out = []
    lines = getattr(raw, "lines", {})
    for name, spec in raw.items():
        at = lines.get(name, line)
        if not _NAME.match(name):
            raise InputError(loc, f"variant name {name!r} must be letters, digits and '_' (it is used as var.{name})", at)
        if not isinstance(spec, dict) or len(spec) != 1 or next(iter(spec)) not in KINDS:
            raise InputError(loc, f"variant {name}: give exactly one of {', '.join(KINDS)} "
                                  f"(e.g. {name}: {{choose: [2, 3, 4]}})", at)
        kind, value = next(iter(spec.items()))
        if kind == "choose":
            if (not isinstance(value, list) or not value or len(value) > MAX_CHOICES
                    or not all(_scalar(v) for v in value)):
                raise InputError(loc, f"variant {name}: choose needs a list of 1 to {MAX_CHOICES} plain values", at)
            if len(set(map(repr, value))) != len(value):
                raise InputError(loc, f"variant {name}: choose lists a value twice", at)
            out.append(Variable(name, kind, tuple(value), line=at))
        elif kind == "range":
            if (not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                                         for v in value)
                    or not 0 <= value[1] - value[0] < MAX_CHOICES):
                raise InputError(loc, f"variant {name}: range needs [low, high], integers, low <= high, "
                                      f"at most {MAX_CHOICES} values", at)
            out.append(Variable(name, kind, tuple(range(value[0], value[1] + 1)), line=at))
        else:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOKEN:
                raise InputError(loc, f"variant {name}: token needs a length from 1 to {MAX_TOKEN}", at)
            out.append(Variable(name, kind, length=value, line=at))
    return tuple(out)


# -- substitution ----------------------------------------------------------------

def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Substitution:
    def __init__(self, loc: str, params: dict[str, Any], texts: dict[str, Any]):
        self.loc, self.params, self.texts = loc, params, texts

    def string(self, s: str, values: dict[str, Any], line: int | None) -> Any:
        def lookup(name: str) -> Any:
            if name not in values:
                known = ", ".join(sorted(values)) or "none"
                raise InputError(self.loc, f"{{{{ var.{name} }}}} is not a declared variant (declared: {known})", line)
            return values[name]

        whole = PLACEHOLDER.fullmatch(s.strip())
        if whole:
            return lookup(whole.group(1))  # keeps the value's type: replicas stays an integer
        return PLACEHOLDER.sub(lambda m: _render(lookup(m.group(1))), s)

    def walk(self, node: Any, values: dict[str, Any] | None, line: int | None) -> Any:
        """Substitute in place; ``values`` None means placeholders are not allowed here."""
        if isinstance(node, dict):
            lines = getattr(node, "lines", {})
            for key in list(node):
                at = lines.get(key, getattr(node, "line", line))
                node[key] = self.walk(node[key], self._scope(key, values), at)
            return node
        if isinstance(node, list):
            lines = getattr(node, "lines", [])
            for i, item in enumerate(node):
                node[i] = self.walk(item, values, lines[i] if i < len(lines) else getattr(node, "line", line))
            return node
        if isinstance(node, str) and PLACEHOLDER.search(node):
            if values is None:
                raise InputError(self.loc, "variants can be used only in a check's with:, and in titles, hints and "
                                           "descriptions (ids, points, phases and needs are the same for everyone)", line)
            return self.string(node, values, line)
        return node

    def _scope(self, key: str, current: dict[str, Any] | None) -> dict[str, Any] | None:
        if current is not None:
            return current  # inside with: or a text, everything below may vary
        if key == "with":
            return self.params
        if key in _TEXT_KEYS:
            return self.texts
        return None


def _copy_tree(node: Any) -> Any:
    """A deep copy that keeps the loader's line numbers (its dict/list
    subclasses carry them as attributes); scalars are immutable and shared.
    Five times faster than copy.deepcopy, which a class of a thousand feels."""
    if isinstance(node, dict):
        out = node.__class__()
        out.__dict__.update(getattr(node, "__dict__", {}))
        for key, value in node.items():
            out[key] = _copy_tree(value)
        return out
    if isinstance(node, list):
        seq = node.__class__(_copy_tree(v) for v in node)
        seq.__dict__.update(getattr(node, "__dict__", {}))
        return seq
    return node


# -- the template ------------------------------------------------------------------

class Template:
    """A parsed rubric file and, when it declares variants, each student's rubric.

    Parsing is done once; :meth:`rubric` copies the tree, substitutes and
    validates, which keeps a class of a thousand cheap."""

    def __init__(self, data: Any, loc: str, validate: "Callable[[Any, str], Rubric]", *,
                 secret_file: str | None = None):
        # The rubric loader hands in its validator, so this module needs
        # nothing from grader.rubric at run time (no import circle).
        self.validate = validate
        self.loc = loc
        self.secret_file = secret_file
        self._secret: bytes | None = None
        self.variables: tuple[Variable, ...] = ()
        if isinstance(data, dict) and "variants" in data:
            self.variables = parse_variables(data["variants"], loc)
            data = _copy_tree(data)
            del data["variants"]
        self.data = data
        self._fixed: "Rubric | None" = None
        self._made: dict[str, "Rubric"] = {}  # a batch asks twice per student (resume, then grade)
        self._by_values: dict[tuple[bool, tuple[tuple[str, Any], ...]], "Rubric"] = {}

    @property
    def varies(self) -> bool:
        return bool(self.variables)

    @property
    def lab(self) -> str:
        lab = self.data.get("lab") if isinstance(self.data, dict) else None
        return lab if isinstance(lab, str) else ""

    def secret(self) -> bytes:
        if self._secret is None:
            self._secret = course_secret(self.secret_file)
        return self._secret

    def variant(self, student: str | None) -> Variant:
        if student is None or not student.strip():
            return Variant(None, tuple((v.name, v.first) for v in self.variables))
        seed = student_seed(self.secret(), self.lab, student)
        return Variant(student, tuple((v.name, v.pick(seed)) for v in self.variables))

    def rubric(self, student: str | None = None) -> "Rubric":
        """This student's rubric (the preview without one); a rubric without
        variants is the same object for everyone."""
        validate = self.validate
        if not self.varies:
            if self._fixed is None:
                self._fixed = validate(self.data, self.loc)
            return self._fixed
        key = (student or "").strip().casefold()
        if key in self._made:
            return self._made[key]
        variant = self.variant(student)
        shared = self._by_values.get((variant.preview, variant.values))  # a preview's texts differ
        if shared is not None:  # a classmate drew the same values: the same rubric, validated once
            self._made[key] = replace(shared, variant=variant)
            return self._made[key]
        params = variant.as_dict()
        texts = {name: f"⟨{name}⟩" if variant.preview else _render(value) for name, value in params.items()}
        data = _Substitution(self.loc, params, texts).walk(_copy_tree(self.data), None, getattr(self.data, "line", None))
        rubric = validate(data, self.loc)
        version = rubric.version if variant.preview else f"{rubric.version}+v{variant.digest}"
        self._made[key] = replace(rubric, version=version, variant=variant)
        self._by_values[(variant.preview, variant.values)] = self._made[key]
        return self._made[key]


    def description(self, variant: Variant | None) -> "Text | None":
        """The rubric's ``description`` with ``variant``'s values (the loader
        validates it but keeps no copy; task sheets print it)."""
        from grader.i18n import Text

        raw = self.data.get("description") if isinstance(self.data, dict) else None
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("zh", "en")):
            return None
        values = variant.as_dict() if variant is not None else {}
        texts = {k: f"⟨{k}⟩" if variant is not None and variant.preview else _render(v) for k, v in values.items()}
        sub = _Substitution(self.loc, texts, texts)
        line = getattr(raw, "line", None)
        return Text(*(_render(sub.string(raw[k], texts, line)).strip() for k in ("zh", "en")))


def require_student(rubric: "Rubric", flag: str = "--student") -> None:
    """Refuse to grade a preview: a variant rubric graded without the
    student's id would grade everyone against the first values."""
    variant = getattr(rubric, "variant", None)
    if variant is not None and variant.preview:
        names = ", ".join(name for name, _ in variant.values)
        raise InputError(flag, f"rubric {rubric.lab} gives each student their own values ({names}): "
                               f"pass {flag} ID (and the course secret: {SECRET_ENV} or --course-secret-file)")


def add_secret_argument(parser: Any) -> None:
    parser.add_argument("--course-secret-file", metavar="FILE",
                        help=f"the course secret for per-student variants (default: {SECRET_ENV})")


__all__ = [
    "SECRET_ENV",
    "Variable",
    "Variant",
    "Template",
    "course_secret",
    "student_seed",
    "parse_variables",
    "require_student",
    "add_secret_argument",
]
