"""workload.replicas / workload.image / workload.pods for any workload
kind, by ownership. A StatefulSet is made from bare pods the way its
controller leaves them: ``<name>-<ordinal>``, hostname and subdomain set,
a controller ownerReference to the StatefulSet by uid."""
from __future__ import annotations

from tests.builders import KIND_ORDER, Cluster, base_cluster, owner_ref
from tests.workload_builders import WEB, statefulset
from tests.checks.verdict import assert_verdict, run, view_of

KINDS = (*KIND_ORDER, "StatefulSet", "DaemonSet")


def view(c: Cluster, *extra: dict):
    return view_of([*c.objects(), *extra], kinds=KINDS)


def test_replicas_pass_for_a_deployment():
    c = base_cluster()
    c.deployment("web", replicas=3, image="httpd", labels=WEB)
    assert_verdict(run("workload.replicas", view_of(c), name="web", replicas=3), "passed")


def test_replicas_pass_for_a_statefulset_through_its_own_pods():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=3)
    assert_verdict(run("workload.replicas", view(c, sts), kind="StatefulSet", name="web", replicas=3), "passed")


def test_replicas_wrong_count_fails_with_half_when_the_ready_pods_match():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=3, spec_replicas=2)
    o = run("workload.replicas", view(c, sts), kind="StatefulSet", name="web", replicas=3)
    assert_verdict(o, "failed", 0.5, says="web has 2 replicas, expected 3")


def test_replicas_wrong_count_and_wrong_ready_fails_with_nothing():
    c = base_cluster()
    c.deployment("web", replicas=1, image="httpd", labels=WEB)
    assert_verdict(run("workload.replicas", view_of(c), name="web", replicas=3), "failed", 0.0)


def test_replicas_right_count_but_unready_pods_earn_half():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=3, ready=1)
    o = run("workload.replicas", view(c, sts), kind="StatefulSet", name="web", replicas=3)
    assert_verdict(o, "failed", 0.5, says="asks for 3 replicas but 1 pod is ready")


def test_replicas_without_ready_only_reads_the_spec():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=3, ready=0)
    assert_verdict(run("workload.replicas", view(c, sts), kind="StatefulSet", name="web", replicas=3, ready=False), "passed")


def test_replicas_of_a_daemonset_is_its_desired_number_scheduled():
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": "agent", "namespace": "default", "uid": "u-ds"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"spec": {"containers": [{"name": "a", "image": "busybox"}]}}},
          "status": {"desiredNumberScheduled": 2}}
    c = base_cluster()
    for node in ("worker", "worker2"):
        pod = c.bare_pod(f"agent-{node}", image="busybox", labels={"app": "agent"})
        pod["metadata"]["ownerReferences"] = [owner_ref(ds)]
    assert_verdict(run("workload.replicas", view(c, ds), kind="DaemonSet", name="agent", replicas=2), "passed")


def test_replicas_of_a_missing_workload_fails():
    assert_verdict(run("workload.replicas", view(base_cluster()), kind="StatefulSet", name="web", replicas=3),
                   "failed", says="no StatefulSet web")


def test_image_passes_for_any_tag_or_mirror():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=2, image="docker.io/library/httpd:2.4")
    assert_verdict(run("workload.image", view(c, sts), kind="StatefulSet", name="web", image="httpd"), "passed")


def test_image_fails_naming_the_wrong_images():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=2, image="nginx")
    assert_verdict(run("workload.image", view(c, sts), kind="StatefulSet", name="web", image="httpd"), "failed",
                   says="web does not run httpd: its container web runs nginx; "
                        "fix it with kubectl set image statefulset/web web=httpd")


def test_image_of_a_job_says_to_re_create_it():
    """A Job's pod template is immutable: no `kubectl set image` that the API server would refuse."""
    c = base_cluster()
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once", "namespace": "default", "uid": "job-1"},
           "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx"}]}}}}
    out = run("workload.image", view(c, job), kind="Job", name="once", image="httpd")
    assert_verdict(out, "failed", says="delete the Job and create it again")
    assert "set image" not in out.message.en and "删除并重新创建" in out.message.zh


def test_image_fails_for_a_template_without_containers():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=0)
    sts["spec"]["template"]["spec"]["containers"] = []
    assert_verdict(run("workload.image", view(c, sts), kind="StatefulSet", name="web", image="httpd"), "failed",
                   says="no containers")


def test_image_of_a_missing_workload_fails():
    assert_verdict(run("workload.image", view(base_cluster()), name="web", image="httpd"), "failed")


def test_pods_pass_when_owned_and_ready():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=3)
    assert_verdict(run("workload.pods", view(c, sts), kind="StatefulSet", name="web"), "passed")


def test_pods_fail_when_not_ready_but_pass_when_only_running_is_asked():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=3, ready=2)
    assert_verdict(run("workload.pods", view(c, sts), kind="StatefulSet", name="web"), "failed",
                   says="web has 2 ready pods, expected 3")
    assert_verdict(run("workload.pods", view(c, sts), kind="StatefulSet", name="web", state="running"), "passed")


def test_pods_messages_count_one_pod_in_the_singular():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=3, ready=1)
    o = run("workload.pods", view(c, sts), kind="StatefulSet", name="web")
    assert_verdict(o, "failed", says="web has 1 ready pod, expected 3")
    assert o.expected.en == "3 ready pods owned by StatefulSet web"
    c = base_cluster()
    sts = statefulset(c, "web", replicas=1)
    assert_verdict(run("workload.pods", view(c, sts), kind="StatefulSet", name="web"), "passed", says="web's 1 pod is ready")


def test_pods_with_the_labels_but_not_owned_do_not_count_and_are_named():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=0, spec_replicas=2)
    c.bare_pod("web-0", image="httpd", labels=dict(WEB))
    o = run("workload.pods", view(c, sts), kind="StatefulSet", name="web")
    assert_verdict(o, "failed", says="0 ready pods, expected 2")
    assert "web-0" in o.notes[0].en


def test_pods_of_a_missing_workload_fail():
    assert_verdict(run("workload.pods", view(base_cluster()), kind="DaemonSet", name="agent"), "failed")


def test_a_list_of_kinds_grades_whichever_the_student_made():
    c = base_cluster()
    sts = statefulset(c, "web", replicas=3)
    v = view(c, sts)
    o = run("workload.replicas", v, kind=["Deployment", "StatefulSet"], name="web", replicas=3)
    assert_verdict(o, "passed", says="StatefulSet web has 3 replicas")
    assert_verdict(run("workload.pods", v, kind=["Deployment", "StatefulSet"], name="web"), "passed")


def test_a_list_of_kinds_with_none_present_names_them_all():
    o = run("workload.replicas", view(base_cluster()), kind=["Deployment", "StatefulSet"], name="web", replicas=3)
    assert_verdict(o, "failed", says="no Deployment web")
    assert "StatefulSet" in o.notes[0].en


def test_a_list_of_kinds_skips_one_the_dump_never_listed_but_cannot_call_it_absent():
    c = base_cluster()
    c.deployment("web", replicas=2, image="httpd", labels=WEB)
    v = view_of(c)  # no StatefulSets listed at all
    assert_verdict(run("workload.replicas", v, kind=["StatefulSet", "Deployment"], name="web", replicas=2), "passed")
    assert_verdict(run("workload.replicas", v, kind="StatefulSet", name="web", replicas=2), "error")
    o = run("workload.replicas", v, kind=["Deployment", "StatefulSet"], name="other", replicas=2)
    assert_verdict(o, "error")  # it may be a StatefulSet the dump never listed
    assert "statefulset" in o.message.en
