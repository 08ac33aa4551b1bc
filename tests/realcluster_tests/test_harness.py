"""The harness itself: the people's CLI (up / run / down), and what the cluster must be like."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.realcluster.cluster import REPO


def test_kubernetes_service_is_reconciled_by_the_api_server(real_cluster):
    before = real_cluster.kubectl_json("get", "service", "kubernetes", "-n", "default")["metadata"]["uid"]
    real_cluster.kubectl("delete", "service", "kubernetes", "-n", "default")
    after = real_cluster.wait_for(
        lambda: real_cluster.kubectl("get", "service", "kubernetes", "-n", "default", "-o",
                                     "jsonpath={.metadata.uid}", check=False).stdout, 90, "the re-created kubernetes Service")
    assert after and after != before


def test_version_and_components(real_cluster):
    code, body = real_cluster.api_get("/version")
    assert code == 200 and json.loads(body)["gitVersion"] == "v1.36.3"
    nodes = real_cluster.kubectl_json("get", "nodes")["items"]
    assert {n["metadata"]["name"] for n in nodes} == {"kwok-node-0", "kwok-node-1"}
    dns = real_cluster.kubectl_json("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns")["items"]
    assert len(dns) == 2 and all(p["status"]["phase"] == "Running" for p in dns)


def test_cli_up_run_down(tmp_path):
    env = dict(os.environ, LABGRADE_REALCLUSTER_STATE=str(tmp_path), PYTHONPATH=str(REPO))
    cli = [sys.executable, "-m", "tests.realcluster"]
    up = subprocess.run([*cli, "up", "--timeout", "120"], capture_output=True, text=True, env=env, cwd=REPO, timeout=200)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        kubeconfig = up.stdout.strip().splitlines()[-1]
        assert os.path.exists(kubeconfig)
        run = subprocess.run([*cli, "run", "--", "sh", "-c", 'ip -o addr show lo; echo "KUBECONFIG=$KUBECONFIG"'],
                             capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
        assert run.returncode == 0, run.stderr
        assert "10.250.0.2/32" in run.stdout and "KUBECONFIG=" in run.stdout
        state = json.loads((tmp_path / "current.json").read_text())
        netns = state["name"]
        assert netns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    finally:
        down = subprocess.run([*cli, "down"], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert down.returncode == 0, down.stderr
    assert not (tmp_path / "current.json").exists()
    assert netns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for _, pid in state["procs"]:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] == "Z"


def test_grader_dns_questions_reach_the_real_coredns(real_cluster):
    """The grader's DNS probe (TCP through pods/portforward to a kube-dns pod) is answered by the
    CoreDNS process itself: its query log names the question."""
    from kubernetes import client

    from grader.sources.dns_probe import query_via_portforward
    from grader.sources.live import api_client

    api = api_client(str(real_cluster.grader_kubeconfig), None)
    pod = client.CoreV1Api(api).list_namespaced_pod("kube-system", label_selector="k8s-app=kube-dns").items[0]
    qname = f"probe-{os.getpid()}.default.svc.cluster.local"
    res = query_via_portforward(api, qname, "A", pod=pod.metadata.name)
    assert res.rcode == "NXDOMAIN", res
    log = real_cluster.logs / "coredns.log"
    real_cluster.wait_for(lambda: f'"A IN {qname}. tcp' in log.read_text(errors="replace"), 10,
                          "CoreDNS to log the question")
