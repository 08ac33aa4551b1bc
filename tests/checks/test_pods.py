"""Step 5's clientpod: running, ready, not being deleted."""
from __future__ import annotations

from tests.builders import base_cluster
from tests.checks.verdict import assert_verdict, run, view_of


def client(state: str = "Ready"):
    c = base_cluster()
    c.bare_pod("clientpod", image="busybox", args=["sleep", "3600"], state=state)
    return c


def test_running_passes_for_a_ready_clientpod():
    assert_verdict(run("pod.running", view_of(client()), name="clientpod"), "passed")


def test_running_fails_without_the_pod_and_lists_the_pods_there_are():
    c = base_cluster()
    c.bare_pod("client-pod", image="busybox", args=["sleep", "3600"])
    out = run("pod.running", view_of(c), name="clientpod")
    assert_verdict(out, "failed")
    assert "client-pod" in out.observed.en


def test_running_fails_for_a_crashlooping_pod_and_says_why():
    out = run("pod.running", view_of(client("CrashLoopBackOff")), name="clientpod")
    assert_verdict(out, "failed", says="CrashLoopBackOff")


def test_running_fails_for_a_pod_that_is_not_ready():
    assert_verdict(run("pod.running", view_of(client("NotReady")), name="clientpod"), "failed", says="not running")


def test_running_fails_for_a_pod_being_deleted():
    c = client()
    c.delete_pod("clientpod", linger=True)
    assert_verdict(run("pod.running", view_of(c), name="clientpod"), "failed", says="being deleted")
