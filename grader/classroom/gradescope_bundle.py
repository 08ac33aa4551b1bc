"""``labgrade gradescope-bundle``: build a Gradescope autograder zip.

Gradescope's "Autograder" assignments take a zip with ``setup.sh`` (run once,
as root, when Gradescope builds its Ubuntu image) and ``run_autograder`` (run
per submission). This one carries everything needed offline at grading
time: labgrade's own source (the running copy's packages, so the autograder
grades exactly as the teacher's machine does), the rubric, a small config,
and the course secret when the rubric declares per-student variants (the
zip is only ever seen by the course staff). ``setup.sh`` installs the
dependencies into ``/autograder/venv``; ``--pip SPEC`` installs labgrade
from an index or a git URL instead of the bundled source.

The zip is deterministic (sorted entries, a fixed timestamp), so rebuilding
it from the same code and rubric gives the same bytes, and an unchanged
autograder is not rebuilt by Gradescope for nothing.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from grader.classroom.gradescope_run import CONFIG_NAME, STUDENT_FIELDS, VISIBILITIES, Config

PACKAGES = ("grader", "grader/report", "grader/sources", "grader/classroom", "checks", "rubrics")
ZIP_TIME = (2020, 1, 1, 0, 0, 0)
SOURCE_DIR = "labgrade"
SECRET_NAME = "course-secret"
RUBRIC_NAME = "rubric.yaml"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while building the autograder image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends python3 python3-venv python3-pip
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install -q --upgrade pip
/autograder/venv/bin/pip install -q @INSTALL@
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission. It always leaves
# results/results.json: without one the student only sees "the autograder
# failed". LABGRADE_AUTOGRADER_ROOT moves /autograder (the tests use it);
# LABGRADE_PYTHON picks the interpreter (default: the venv setup.sh made).
set -u
ROOT="${LABGRADE_AUTOGRADER_ROOT:-/autograder}"
PY="${LABGRADE_PYTHON:-/autograder/venv/bin/python}"
export LABGRADE_AUTOGRADER_ROOT="$ROOT"
mkdir -p "$ROOT/results"
@PYTHONPATH@"$PY" -m grader.classroom.gradescope_run --root "$ROOT"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  printf '%s\\n' '{"score": 0, "output": "The autograder could not run (not your fault; tell your teacher). 评分程序无法运行（不是你的问题，请联系老师）。", "tests": []}' > "$ROOT/results/results.json"
fi
exit $status
"""


def _source_root() -> Path:
    import grader

    return Path(grader.__file__).resolve().parent.parent


def _package_files() -> list[tuple[str, bytes]]:
    """labgrade's packages as they run here: .py and .yaml files, no caches."""
    root = _source_root()
    out = []
    for package in PACKAGES:
        folder = root / package
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in (".py", ".yaml", ".json") and not path.name.startswith("."):
                out.append((f"{SOURCE_DIR}/{package}/{path.name}", path.read_bytes()))
    return out


def _pyproject() -> bytes:
    """A minimal pyproject for the bundled source: the runtime dependencies
    of the installed labgrade (not the test extras)."""
    from importlib import metadata  # ~12 ms: only when a bundle is built, not at every CLI start

    try:
        version = metadata.version("labgrade")
        requires = [r for r in (metadata.requires("labgrade") or []) if "extra ==" not in r]
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        version, requires = "0", ["pyyaml>=6", "junit-xml>=1.9", "kubernetes>=28", "dnspython>=2.4"]
    deps = ",\n".join(f"    {json.dumps(r)}" for r in requires)
    packages = ", ".join(json.dumps(p.replace("/", ".")) for p in PACKAGES)
    return (
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "labgrade"\nversion = {json.dumps(version)}\nrequires-python = ">=3.10"\n'
        f"dependencies = [\n{deps}\n]\n\n"
        f"[tool.setuptools]\npackages = [{packages}]\n\n"
        '[tool.setuptools.package-data]\nrubrics = ["*.yaml"]\n'
    ).encode("utf-8")


def build(rubric_path: str, *, lang: str = "en", student_field: str = "sid", namespace: str | None = None,
          secret_file: str | None = None, pip: str | None = None, visibility: str = "visible") -> bytes:
    """The autograder zip's bytes; every input problem is an InputError."""
    import io
    import shlex
    import zipfile

    from grader import rubric as rubric_mod
    from grader.errors import InputError
    from grader.variants import course_secret

    template = rubric_mod.template(rubric_path)
    template.rubric(None)  # validates (a variant rubric: its preview)
    rubric_text = rubric_mod._read(rubric_path)[0].encode("utf-8")
    files: list[tuple[str, bytes, int]] = []
    config = Config(rubric=RUBRIC_NAME, lang=lang, student_field=student_field, namespace=namespace,
                    visibility=visibility)
    if template.varies:
        secret = course_secret(secret_file)  # refuse to build a variant autograder that cannot derive variants
        files.append((SECRET_NAME, secret + b"\n", 0o600))
        config = Config(**{**config.__dict__, "secret_file": SECRET_NAME})
    elif secret_file:
        raise InputError(secret_file, "this rubric declares no variants; it needs no course secret")
    install = shlex.quote(pip) if pip else f"/autograder/source/{SOURCE_DIR}"
    pythonpath = "" if pip else f'PYTHONPATH="$ROOT/source/{SOURCE_DIR}${{PYTHONPATH:+:$PYTHONPATH}}" '
    files += [
        ("setup.sh", SETUP_SH.replace("@INSTALL@", install).encode(), 0o755),
        ("run_autograder", RUN_AUTOGRADER.replace("@PYTHONPATH@", pythonpath).encode(), 0o755),
        (CONFIG_NAME, config.to_json().encode(), 0o644),
        (RUBRIC_NAME, rubric_text, 0o644),
    ]
    if not pip:
        files.append((f"{SOURCE_DIR}/pyproject.toml", _pyproject(), 0o644))
        files += [(name, data, 0o644) for name, data in _package_files()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the modes are honoured by unzip
            zf.writestr(info, data)
    return buf.getvalue()


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from grader.i18n import LANGS
    from grader.variants import add_secret_argument

    p = subparsers.add_parser(
        "gradescope-bundle", help="build a Gradescope autograder zip that grades uploaded dumps",
        description="Build autograder.zip for a Gradescope programming assignment: students upload their "
                    "dumps (built.yaml, cleaned.yaml...) and get per-check results.")
    p.add_argument("--rubric", required=True, help="bundled rubric name or a YAML file")
    p.add_argument("-o", "--output", required=True, metavar="ZIP", help="the zip to write (autograder.zip)")
    p.add_argument("--lang", choices=LANGS, default="zh", help="language of the feedback (default: zh)")
    p.add_argument("--student-field", choices=STUDENT_FIELDS, default="sid",
                   help="which submission_metadata.json field is the student id for variants (default: sid, "
                        "then email)")
    p.add_argument("-n", "--namespace", help="the lab namespace in the dumps (default: the rubric's)")
    p.add_argument("--visibility", choices=VISIBILITIES, default="visible",
                   help="when students see the results (Gradescope's test visibility; default: visible)")
    p.add_argument("--pip", metavar="SPEC", help="install labgrade with pip from SPEC instead of bundling its source")
    add_secret_argument(p)
    return p


def run(args: argparse.Namespace) -> int:
    from grader.files import write_atomic

    data = build(args.rubric, lang=args.lang, student_field=args.student_field, namespace=args.namespace,
                 secret_file=args.course_secret_file, pip=args.pip, visibility=args.visibility)
    write_atomic(args.output, data)
    print(f"labgrade: Gradescope autograder ({len(data) // 1024} KB) -> {args.output}")
    return 0


__all__ = ["build", "add_parser", "run"]
