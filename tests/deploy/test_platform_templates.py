"""The lab-platform files under deploy/: the GitLab CI and GitHub Actions
templates and the Killercoda scenario. Every labgrade command line they run
goes through the real CLI parser, so a renamed command or flag breaks here,
not in a student's pipeline."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from grader import rubric as rubric_mod
from grader.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
GITHUB = DEPLOY / "ci-templates" / "github" / "labgrade.yml"
GITLAB = DEPLOY / "ci-templates" / "gitlab" / ".gitlab-ci.yml"
KILLERCODA = DEPLOY / "killercoda" / "service-discovery"
SHELL_OPERATORS = {">", ">>", "|", "||", "&&", ";", "2>", "<"}
SAMPLE = {"$LABGRADE_RUBRIC": "service-discovery", "$GITHUB_ACTOR": "octocat", "$GITLAB_USER_LOGIN": "student1"}


def labgrade_commands(script: str) -> list[list[str]]:
    """Each ``labgrade ...`` command in a shell script, as argv after ``labgrade``,
    cut at the first shell operator, variables given sample values."""
    out = []
    for line in script.splitlines():
        line = line.strip()
        if line.startswith("#"):
            continue
        words = shlex.split(line, posix=True, comments=True) if "labgrade " in line else []
        while words and words[0] in ("exec", "if", "!"):
            words = words[1:]
        if not words or words[0] != "labgrade":
            continue
        argv = []
        for w in words[1:]:
            if w in SHELL_OPERATORS or w.startswith((">", "2>")):
                break
            argv.append(SAMPLE.get(w, w if not w.startswith("$") else "x"))
        out.append(argv)
    return out


def parses(argv: list[str]):
    args = build_parser().parse_args(argv)  # an unknown command or flag raises InputError
    if getattr(args, "rubric", None):
        rubric_mod.load(args.rubric)
    return args


def github_scripts() -> list[str]:
    doc = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    return [step["run"] for job in doc["jobs"].values() for step in job["steps"] if "run" in step]


def gitlab_job() -> dict:
    doc = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    return doc["labgrade"]


def test_the_github_workflow_grades_with_real_flags_and_publishes_that_junit_file():
    doc = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    assert doc[True if True in doc else "on"]  # YAML 1.1 reads the key `on` as true
    assert doc["permissions"]["checks"] == "write"
    commands = [c for s in github_scripts() for c in labgrade_commands(s)]
    assert commands and all(c[0] == "grade" for c in commands)
    args = parses(commands[0])
    assert args.snapshot == ["built.yaml", "cleaned.yaml"] and args.no_color
    steps = doc["jobs"]["grade"]["steps"]
    publish = next(s for s in steps if "action-junit-report" in s.get("uses", ""))
    assert publish["with"]["report_paths"] == args.junit and publish["if"] == "always()"
    for script in github_scripts():  # student-controlled values only through the environment
        assert "${{" not in script


def test_the_gitlab_job_grades_with_real_flags_and_reports_that_junit_file():
    job = gitlab_job()
    commands = [c for line in job["script"] for c in labgrade_commands(line)]
    assert len(commands) == 1
    args = parses(commands[0])
    assert job["artifacts"]["reports"]["junit"] == args.junit
    assert job["artifacts"]["when"] == "always"
    assert args.html in job["artifacts"]["paths"]


def test_a_flag_that_does_not_exist_is_caught_by_this_check():
    from grader.errors import InputError

    with pytest.raises(InputError):
        parses(labgrade_commands("labgrade grade --rubric service-discovery --snapshots built.yaml")[0])


def test_the_killercoda_scenario_has_a_checked_step_per_rubric_step():
    index = json.loads((KILLERCODA / "index.json").read_text(encoding="utf-8"))
    steps = index["details"]["steps"]
    rubric = rubric_mod.load("service-discovery")
    assert len(steps) == len(rubric.steps)
    for i, (step, rstep) in enumerate(zip(steps, rubric.steps), 1):
        for key in ("text", "verify"):
            assert (KILLERCODA / step[key]).is_file(), step[key]
        verify = KILLERCODA / step["verify"]
        assert os.access(verify, os.X_OK)
        commands = labgrade_commands(verify.read_text(encoding="utf-8"))
        assert commands[0][:2] == ["verify", f"step{i}"] and parses(commands[0]).step == rstep.id
        for argv in commands[1:]:
            parses(argv)
    intro = index["details"]["intro"]
    for argv in labgrade_commands((KILLERCODA / intro["background"]).read_text(encoding="utf-8")):
        parses(argv)
    assert index["backend"]["imageid"].startswith("kubernetes")


def test_step6_grades_against_what_step5_recorded():
    recorded = next(c for c in labgrade_commands((KILLERCODA / "step5" / "verify.sh").read_text()) if c[0] == "collect")
    used = parses(labgrade_commands((KILLERCODA / "step6" / "verify.sh").read_text())[0])
    assert f"built={parses(recorded).output}" in used.snapshot
    baseline = next(c for c in labgrade_commands((KILLERCODA / "intro" / "background.sh").read_text()) if c[0] == "baseline")
    assert parses(baseline).output == used.baseline


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_the_scenario_scripts_are_valid_bash():
    for script in sorted(KILLERCODA.rglob("*.sh")):
        subprocess.run(["bash", "-n", str(script)], check=True)


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_a_killercoda_check_button_run_for_real_against_the_standin(tmp_path):
    """step1/verify.sh as Killercoda runs it: labgrade on PATH, the cluster in
    KUBECONFIG; exit 0 and one Chinese line when the step passes, non-zero
    when it does not."""
    pytest.importorskip("aiohttp")
    import sys

    from tests.standin.fixtures import load_dump
    from tests.standin.server import StandIn

    examples = DEPLOY.parent / "examples" / "service-discovery"
    shim = tmp_path / "bin" / "labgrade"
    shim.parent.mkdir()
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m grader.cli "$@"\n')
    shim.chmod(0o755)
    env = {"PATH": f"{shim.parent}:/usr/bin:/bin", "PYTHONPATH": str(DEPLOY.parent), "HOME": str(tmp_path)}
    results = {}
    for case in ("correct", "wrong-replicas"):
        with StandIn(load_dump(examples / case / "built.yaml")) as server:
            env["KUBECONFIG"] = str(server.kubeconfig_path(tmp_path))
            results[case] = subprocess.run(["bash", str(KILLERCODA / "step1" / "verify.sh")], env=env,
                                           capture_output=True, text=True, timeout=120)
    ok, wrong = results["correct"], results["wrong-replicas"]
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.count("\n") == 1 and ok.stdout.startswith("✓ step1") and "完成" in ok.stdout
    assert wrong.returncode == 1 and "应为 2" in wrong.stdout
