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


DEFERRED_LIBRARIES = ("requests", "requests_oauthlib", "oauthlib.oauth2", "dateutil.parser", "multiprocessing.pool")


def test_a_live_grade_imports_no_library_of_an_auth_or_decoding_path_it_does_not_take(make_standin, tmp_path):
    server = make_standin(load_dump(CORRECT / "built.yaml"))
    kubeconfig = server.kubeconfig_path(tmp_path)
    code = ("import sys; from grader.cli import main; "
            f"rc = main(['grade', '--rubric', 'service-discovery', '--kubeconfig', {str(kubeconfig)!r}, '--no-poll', '-q']); "
            "assert rc == 0, rc" + MODULES)
    seen = _fresh(code, "kubernetes.config.kube_config", "kubernetes.client.api_client", "jmespath", *DEFERRED_LIBRARIES)
    assert seen["kubernetes.config.kube_config"] and seen["kubernetes.client.api_client"]
    assert not any(seen[m] for m in DEFERRED_LIBRARIES + ("jmespath",)), seen  # jmespath: assertion trees only


PREFETCH = """
import json, sys, threading
from grader.sources import dns_probe
dns_probe.prefetch(); dns_probe.prefetch()
started = [t.name for t in threading.enumerate() if t.name == "labgrade-dns-import"]
wire = dns_probe.make_query("service1.default.svc.cluster.local", "A").to_wire()  # waits for the import in flight
print(json.dumps({"threads": len(started), "wire": len(wire), "loaded": "dns.rdtypes.IN.A" in sys.modules}))
"""


def test_the_dns_codec_is_imported_once_in_the_background_and_usable_at_once():
    out = _fresh(PREFETCH)
    assert out["threads"] <= 1 and out["wire"] > 12


def test_each_deferred_name_is_only_called_by_its_importer():
    """grader/sources/kube_import.py may stand in for a name only while the client merely calls
    it: an isinstance, a subclass or a default argument would meet the stand-in, not the class."""
    import ast
    import importlib.util

    from grader.sources.kube_import import DEFERRED

    for importer, libraries in DEFERRED.items():
        tree = ast.parse(Path(importlib.util.find_spec(importer).origin).read_text(encoding="utf-8"))
        called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        for library, names in libraries.items():
            imported = {a.name for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == library
                        for a in node.names}
            assert set(names) <= imported, (importer, library, names, imported)
            for name in names:
                uses = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == name]
                assert uses and all(id(node) in called for node in uses), (importer, name, [u.lineno for u in uses])


DEFERRED_RESOLVE = """
import json, sys
from grader.sources import kube_import
kube_import.light()
from kubernetes import client, config
import kubernetes.config.kube_config as kc, kubernetes.client.api_client as ac
before = {m: m in sys.modules for m in %r}
stand_ins = [type(kc.OAuth2Session).__name__, type(ac.parse).__name__, type(ac.ThreadPool).__name__]
parsed = str(ac.parse("2024-01-02T03:04:05Z"))
session = kc.OAuth2Session(client_id="x")
import requests_oauthlib
from oauthlib import oauth2
pool = ac.ThreadPool(1); pool.close()
print(json.dumps({"before": before, "stand_ins": stand_ins, "parsed": parsed,
                  "real_session": isinstance(session, requests_oauthlib.OAuth2Session),
                  "real_module": requests_oauthlib.__file__ is not None and oauth2.__file__ is not None,
                  "error_class": kc.oauthlib.oauth2.rfc6749.errors.InvalidClientIdError.__module__}))
""" % (DEFERRED_LIBRARIES,)


def test_a_deferred_name_is_the_real_object_at_its_first_use():
    out = _fresh(DEFERRED_RESOLVE)
    assert not any(out["before"].values()), out
    assert out["stand_ins"] == ["Deferred"] * 3
    assert out["parsed"] == "2024-01-02 03:04:05+00:00"
    assert out["real_session"] and out["real_module"]
    assert out["error_class"] == "oauthlib.oauth2.rfc6749.errors"


def _jwt(exp: int) -> str:
    import base64

    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': exp, 'sub': 'student'})}.c2ln"


def test_an_expired_oidc_token_is_refreshed_through_the_deferred_requests_oauthlib(tmp_path):
    """The OIDC refresh path, end to end in a fresh interpreter: discovery through the client's
    ApiClient, the token request through requests-oauthlib, imported only then."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    fresh_token = _jwt(4102444800)  # 2100
    seen: list[str] = []

    class IdP(BaseHTTPRequestHandler):
        def _send(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            seen.append(f"GET {self.path}")
            self._send({"token_endpoint": f"http://127.0.0.1:{self.server.server_port}/token"})

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(f"POST {self.path}")
            self._send({"id_token": fresh_token, "refresh_token": "refresh-2", "access_token": "a",
                        "token_type": "Bearer", "expires_in": 3600})

        def log_message(self, *args):
            pass

    idp = ThreadingHTTPServer(("127.0.0.1", 0), IdP)
    threading.Thread(target=idp.serve_forever, daemon=True).start()
    try:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:1"}}],
            "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
            "users": [{"name": "u", "user": {"auth-provider": {"name": "oidc", "config": {
                "client-id": "labgrade", "client-secret": "s3cret", "refresh-token": "refresh-1",
                "id-token": _jwt(946684800), "idp-issuer-url": f"http://127.0.0.1:{idp.server_port}"}}}}],
        }))
        code = ("import json, os, sys; os.environ['OAUTHLIB_INSECURE_TRANSPORT'] = '1'; "
                "from grader.sources.live import api_client; "
                f"api = api_client({str(kubeconfig)!r}); import kubernetes.config.kube_config as kc; "
                "print(json.dumps({'auth': api.configuration.api_key.get('BearerToken') or api.configuration.api_key.get('authorization'), "
                "'deferred': type(kc.OAuth2Session).__name__}))")
        out = _fresh(code)
    finally:
        idp.shutdown()
    assert seen == ["GET /.well-known/openid-configuration", "POST /token"]
    assert out == {"auth": f"Bearer {fresh_token}", "deferred": "Deferred"}


def test_a_batch_on_a_shared_cluster_loads_neither_the_unused_client_parts_nor_other_subcommands(make_standin, tmp_path):
    from tests.grader.test_shared_cluster import _bench

    namespaces = ["s000", "s001"]
    server = make_standin(_bench().class_cluster(CORRECT / "built.yaml", namespaces))
    kubeconfig = server.kubeconfig_path(tmp_path)
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,namespace,kubeconfig\n" + "".join(f"{ns},{ns},{kubeconfig}\n" for ns in namespaces))
    code = ("import sys; from grader.cli import main; "
            f"rc = main(['batch', {str(roster)!r}, '--rubric', 'service-discovery', '--out', {str(tmp_path / 'out')!r}, "
            "'--no-poll', '-q']); assert rc == 0, rc" + MODULES)
    seen = _fresh(code, "kubernetes.client", "kubernetes.dynamic", "kubernetes_validate", "kubernetes.leaderelection",
                  "grader.authoring", "grader.classroom.check_cli", "grader.classroom.observe_cli",
                  "grader.classroom.platforms_cli")
    assert seen.pop("kubernetes.client") and not any(seen.values()), seen
