"""A Service check says what it counted: pods, not addresses, and a pass
never contradicts its title (issue 7: counting what the message says;
dual-stack primary IP family)."""
from __future__ import annotations

import copy

from checks.registry import CheckContext
from grader import engine, rubric
from grader.outcome import Status
from grader.view import DnsResult, ExecResult, build_view
from tests.builders import KIND_ORDER, base_cluster, owner_ref, safe_suffix, service_port
from tests.make_examples import CORRECT, run_lab

RUBRIC = rubric.load("service-discovery")
APP = {"app": "httpd"}


def _check(check_id: str):
    return RUBRIC.check(check_id)


def _run(check_id: str, view, **kw):
    ctx = CheckContext(view=view, views={"built": view}, namespace="default", phase="built")
    return engine.run_check(_check(check_id), ctx)


def _rollout_cluster():
    """deployment1 mid-rollout: its old ReplicaSet's two pods and one pod of
    the new one (maxSurge) are all ready, so service1 routes to 6 pods
    while spec.replicas add up to 5."""
    c = base_cluster()
    c.clock.set("2026-11-20T08:15:02Z")
    d1 = c.deployment("deployment1", replicas=2, image="httpd", labels={**APP, "deploy": "deployment1"})
    c.deployment("deployment2", replicas=3, image="httpd", labels={**APP, "deploy": "deployment2"})
    c.service("service1", selector=APP, ports=[service_port(80, 80)])
    old_rs = next(rs for rs in c.list("ReplicaSet", "default") if rs["metadata"]["name"].startswith("deployment1-"))
    rs = copy.deepcopy(old_rs)
    rs_hash = safe_suffix(10, "rollout")
    rs["metadata"].update(name=f"deployment1-{rs_hash}", uid="00000000-0000-4000-8000-00000000r0ll".replace("r", "a").replace("l", "b").replace("o", "c"))
    rs["metadata"]["labels"]["pod-template-hash"] = rs_hash
    rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = rs_hash
    c._store(rs)
    c._pod(f"deployment1-{rs_hash}-abcde", "default", rs["spec"]["template"], owners=[owner_ref(rs)])
    c._reconcile()
    assert d1
    return c


def test_a_rollout_in_progress_passes_counting_pods_and_says_so():
    """During a rollout the Service routes to 6 ready pods of the two
    deployments. The Service is right (a teacher would not take points for
    a rollout the student may not even have started), so it passes, but the
    title no longer promises "the 5 pods" and the message says 6 pods with a
    note on the rollout, so pass message and title never contradict."""
    view = build_view(_rollout_cluster().objects(), kinds=KIND_ORDER, phase="built")
    o = _run("service1-endpoints", view)
    assert o.status is Status.PASSED
    assert "routes to 6 pods" in o.message.en and "6 个 Pod" in o.message.zh
    assert "5" not in _check("service1-endpoints").title.en
    assert any("rollout" in n.en and "6 ready pods" in n.en and "add up to 5" in n.en for n in o.notes)


def _lab_with_service1():
    c = base_cluster()
    c.deployment("deployment1", replicas=2, image="httpd", labels={**APP, "deploy": "deployment1"})
    d2 = c.deployment("deployment2", replicas=3, image="httpd", labels={**APP, "deploy": "deployment2"})
    c.service("service1", selector=APP, ports=[service_port(80, 80)])
    return c, d2


def test_a_pod_not_ready_is_not_called_a_rollout():
    """One pod of deployment2 fails its readiness and there is one
    ReplicaSet per deployment: service1 passes over the 4 ready pods, and
    the note says the fifth is not ready, not that a rollout is in progress."""
    c, d2 = _lab_with_service1()
    pod = c.pods_of(d2)[0]
    for cond in pod["status"]["conditions"]:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = "False"
    c._reconcile()
    o = _run("service1-endpoints", build_view(c.objects(), kinds=KIND_ORDER, phase="built"))
    assert o.status is Status.PASSED and "routes to 4 pods" in o.message.en
    assert [n.en for n in o.notes if "add up to 5" in n.en] == [
        "4 ready pods while spec.replicas add up to 5: the others are not ready (or not created yet) and not counted"]
    assert not any("rollout" in n.en or "滚动更新" in n.zh for n in o.notes)


def test_the_note_counts_one_ready_pod_in_the_singular():
    c = base_cluster()
    c.deployment("deployment1", replicas=1, image="httpd", labels={**APP, "deploy": "deployment1"})
    d2 = c.deployment("deployment2", replicas=1, image="httpd", labels={**APP, "deploy": "deployment2"})
    c.service("service1", selector=APP, ports=[service_port(80, 80)])
    for cond in c.pods_of(d2)[0]["status"]["conditions"]:
        if cond["type"] in ("Ready", "ContainersReady"):
            cond["status"] = "False"
    c._reconcile()
    o = _run("service1-endpoints", build_view(c.objects(), kinds=KIND_ORDER, phase="built"))
    assert o.status is Status.PASSED
    assert [n.en for n in o.notes if "add up to 2" in n.en] == [
        "1 ready pod while spec.replicas add up to 2: the others are not ready (or not created yet) and not counted"]


def test_more_ready_pods_than_asked_without_a_rollout_is_a_scale_down():
    """deployment2 just scaled from 3 to 2, its third pod not yet deleted:
    one ReplicaSet, so no rollout is claimed."""
    c, d2 = _lab_with_service1()
    d2["spec"]["replicas"] = 2
    o = _run("service1-endpoints", build_view(c.objects(), kinds=KIND_ORDER, phase="built"))
    assert o.status is Status.PASSED
    assert any("more than spec.replicas add up to (4)" in n.en and "副本数刚被调小" in n.zh for n in o.notes)
    assert not any("rollout" in n.en for n in o.notes)


def _dual_stack(objects, *, primary: str):
    """The built objects made dual-stack: every pod gets an IPv6 address
    too, service2 lists ``primary`` first in ipFamilies, and its pods appear
    in a second EndpointSlice of addressType IPv6."""
    out = copy.deepcopy(objects)
    v6 = {}
    for o in out:
        if o["kind"] == "Pod" and o["status"].get("podIP"):
            ip4 = o["status"]["podIP"]
            ip6 = "fd00:10:244::" + ip4.split(".")[-2] + ":" + ip4.split(".")[-1]
            v6[ip4] = ip6
            o["status"]["podIPs"] = [{"ip": ip4}, {"ip": ip6}] if primary == "IPv4" else [{"ip": ip6}, {"ip": ip4}]
            if primary == "IPv6":
                o["status"]["podIP"] = ip6
    slices = []
    for o in out:
        if o["kind"] == "Service" and o["metadata"]["name"] == "service2":
            o["spec"]["ipFamilies"] = [primary, "IPv6" if primary == "IPv4" else "IPv4"]
            o["spec"]["ipFamilyPolicy"] = "PreferDualStack"
        if o["kind"] == "EndpointSlice" and o["metadata"].get("labels", {}).get("kubernetes.io/service-name") in ("service1", "service2"):
            s6 = copy.deepcopy(o)
            s6["metadata"]["name"] += "-v6"
            s6["metadata"]["uid"] = o["metadata"]["uid"][:-4] + "6666"
            s6["addressType"] = "IPv6"
            for ep in s6.get("endpoints") or []:
                ep["addresses"] = [v6[a] for a in ep["addresses"]]
            slices.append(s6)
    return out + slices, v6


def test_dual_stack_slices_list_the_same_pods_once():
    """Two EndpointSlices (IPv4 and IPv6) list service1's 5 pods twice: the
    check counts 5 pods, not 10 addresses."""
    objs, _ = _dual_stack(run_lab(CORRECT).built, primary="IPv4")
    view = build_view(objs, kinds=KIND_ORDER, phase="built")
    o = _run("service1-endpoints", view)
    assert o.status is Status.PASSED
    assert "routes to 5 pods" in o.message.en and "5 ready pods" in o.observed.en
    o = _run("service2-endpoints", view)
    assert o.status is Status.PASSED and "2 ready pods" in o.observed.en


def test_dual_stack_ipv6_primary_probes_the_ipv6_pod_name_and_asks_for_aaaa():
    """service2 with ipFamilies [IPv6, IPv4]: CoreDNS names the backend pod
    after its IPv6 address and answers AAAA for the service, so the wget
    target and the DNS records expected follow the primary family."""
    objs, v6 = _dual_stack(run_lab(CORRECT).built, primary="IPv6")
    asked: list[tuple[str, ...]] = []
    questions: list[tuple[str, str]] = []

    def exec_runner(ns, pod, argv, container=None, timeout=10):
        asked.append(tuple(argv))
        return ExecResult(tuple(argv), "<html><body><h1>It works!</h1></body></html>", "", 0, pod=pod, namespace=ns)

    wanted = sorted(a for o in objs if o["kind"] == "EndpointSlice" and o["metadata"]["name"].startswith("service2")
                    and o.get("addressType") == "IPv6" for ep in o.get("endpoints") or [] for a in ep["addresses"])
    assert len(wanted) == 2

    def dns_runner(qname, rdtype):
        questions.append((qname, rdtype))
        return DnsResult(qname, rdtype, "NOERROR", tuple(wanted), server="test")

    view = build_view(objs, kinds=KIND_ORDER, phase="built", live=True, exec_runner=exec_runner, dns_runner=dns_runner)
    o = _run("clientpod-wget-service2", view)
    assert o.status is Status.PASSED, o.message.en
    host = asked[0][-1]
    assert host.startswith("http://fd00-10-244--") and ".service2.default.svc.cluster.local" in host
    o = _run("service2-dns", view)
    assert questions == [("service2.default.svc.cluster.local", "AAAA")]
    assert o.status is Status.PASSED, (o.message.en, o.expected)


def test_more_ready_pods_than_asked_never_reads_only():
    """Mid-rollout deployment1 has 3 ready pods for spec.replicas 2: the
    message said "only 3 pods are ready (expected 2)", contradicting itself.
    Half the points stay lost (the count is not what was asked), but the
    message says "more than asked" and why that may be."""
    view = build_view(_rollout_cluster().objects(), kinds=KIND_ORDER, phase="built")
    o = _run("deployment1-replicas", view)
    assert o.status is Status.FAILED and o.score == 0.5
    assert "more than asked" in o.message.en and "多于" in o.message.zh and "只有" not in o.message.zh
