"""A fresh ``labgrade grade`` imports only what its run uses, and asks all its DNS questions through one tunnel."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from grader import engine, rubric as rubric_mod
from grader.sources.live import LiveSource, api_client
from tests.standin.fixtures import load_dump, make_standin  # noqa: F401 - pytest fixture

ROOT = Path(__file__).resolve().parents[2]
CORRECT = ROOT / "examples" / "service-discovery" / "correct"


def _fresh(code: str, *args: str) -> dict:
    """Run ``code`` in a new interpreter; it prints a JSON object."""
    run = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


MODULES = """
import json, sys
print(json.dumps({m: m in sys.modules for m in sys.argv[1:]}))
"""


def test_importing_the_cli_imports_no_subcommand_module():
    seen = _fresh("import grader.cli" + MODULES, "grader.classroom.selfcheck", "grader.classroom.batch", "grader.classroom.platforms_cli",
                  "grader.authoring", "kubernetes", "websocket", "dns")
    assert not any(seen.values()), seen


def test_grading_dumps_imports_no_cluster_client_and_no_other_reporter(tmp_path):
    code = ("import sys; from grader.cli import main; "
            f"rc = main(['grade', '--rubric', 'service-discovery', '--snapshot', {str(CORRECT / 'built.yaml')!r}, '-q']); "
            "assert rc == 0, rc" + MODULES)
    seen = _fresh(code, "kubernetes", "websocket", "grader.sources.live", "grader.report.junit", "grader.report.html_report",
                  "grader.classroom.selfcheck", "grader.classroom.batch")
    assert not any(seen.values()), seen


def test_a_live_grade_loads_the_client_without_its_unused_subpackages(make_standin, tmp_path):
    server = make_standin(load_dump(CORRECT / "built.yaml"))
    kubeconfig = server.kubeconfig_path(tmp_path)
    code = ("import sys; from grader.cli import main; "
            f"rc = main(['grade', '--rubric', 'service-discovery', '--kubeconfig', {str(kubeconfig)!r}, '--no-poll', '-q']); "
            "assert rc == 0, rc; import kubernetes; assert kubernetes.watch.Watch" + MODULES)
    seen = _fresh(code, "kubernetes.config", "kubernetes.client", "kubernetes.dynamic", "kubernetes.informer",
                  "kubernetes.leaderelection", "kubernetes_validate", "grader.classroom.selfcheck")
    assert seen["kubernetes.config"] and seen["kubernetes.client"]
    assert not any(v for k, v in seen.items() if k not in ("kubernetes.config", "kubernetes.client")), seen
    assert len(server.requests_matching("GET", r"/portforward$")) == 1  # both DNS questions, one tunnel


def test_a_live_source_asks_every_dns_question_through_one_port_forward(make_standin, tmp_path):
    server = make_standin(load_dump(CORRECT / "built.yaml"))
    src = LiveSource(api_client(str(server.kubeconfig_path(tmp_path))), "default", "built")
    server.clear_requests()

    report = engine.grade(rubric_mod.load("service-discovery"), {"built": src}, options=engine.Options(poll=False))

    dns = [c for _, c in report.checks() if c.use == "dns.service"]
    assert len(dns) == 2 and all(c.status.value == "passed" for c in dns)
    assert len(server.requests_matching("GET", r"/portforward$")) == 1
    assert len(server.requests_matching("GET", r"^/api/v1/namespaces/kube-system/pods$")) == 1  # CoreDNS, found once
    for name in ("service1", "service2", "nope"):
        src.dns(f"{name}.default.svc.cluster.local", "A")
    assert len(server.requests_matching("GET", r"/portforward$")) == 1
