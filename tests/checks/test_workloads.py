"""Steps 1 and 2: deployment1 (2 x httpd) and deployment2 (3 x httpd).

Each case is the cluster a student could leave, and one line of verdict."""
from __future__ import annotations

import copy

from tests.builders import base_cluster
from tests.checks.verdict import assert_verdict, run, view_of

APP = {"app": "httpd"}


def lab(replicas: int = 2, image: str = "httpd", **kw):
    c = base_cluster()
    c.deployment("deployment1", replicas=replicas, image=image, labels={**APP, "deploy": "deployment1"}, **kw)
    return c


# -- deployment.exists ------------------------------------------------------------------------------

def test_exists_passes_for_a_created_deployment():
    assert_verdict(run("deployment.exists", view_of(lab()), name="deployment1"), "passed")


def test_exists_fails_when_there_is_no_deployment():
    assert_verdict(run("deployment.exists", view_of(base_cluster()), name="deployment1"), "failed")


def test_exists_fails_and_names_bare_pods_made_instead():
    c = base_cluster()
    c.bare_pod("deployment1-a", image="httpd", applied=True, labels=APP)
    out = run("deployment.exists", view_of(c), name="deployment1")
    assert_verdict(out, "failed")
    assert any("deployment1-a" in n.en and "Deployment" in n.en for n in out.notes)


def test_exists_fails_for_a_deployment_being_deleted():
    c = lab()
    c.must("Deployment", "deployment1", "default")["metadata"]["deletionTimestamp"] = c.clock.now()
    assert_verdict(run("deployment.exists", view_of(c), name="deployment1"), "failed", says="being deleted")


def test_exists_is_an_error_when_the_dump_never_listed_deployments():
    view = view_of([o for o in lab().objects() if o["kind"] in ("Pod", "Service")], kinds=("Pod", "Service"))
    assert_verdict(run("deployment.exists", view, name="deployment1"), "error")


# -- deployment.replicas ----------------------------------------------------------------------------

def test_replicas_pass_with_the_asked_number_all_ready():
    assert_verdict(run("deployment.replicas", view_of(lab(2)), name="deployment1", replicas=2), "passed")


def test_replicas_fail_with_the_wrong_number():
    assert_verdict(run("deployment.replicas", view_of(lab(3)), name="deployment1", replicas=2), "failed")


def test_replicas_right_but_a_pod_not_ready_earns_half():
    c = lab(2)
    pod = c.pods_of(c.must("Deployment", "deployment1", "default"))[0]
    for cond in pod["status"]["conditions"]:
        if cond["type"] == "Ready":
            cond["status"] = "False"
    out = run("deployment.replicas", view_of(c), name="deployment1", replicas=2)
    assert_verdict(out, "failed", 0.5, says="1 pod is ready")


def test_replicas_without_ready_requirement_pass_on_spec_alone():
    c = lab(2)
    pod = c.pods_of(c.must("Deployment", "deployment1", "default"))[0]
    pod["status"]["conditions"] = [x for x in pod["status"]["conditions"] if x["type"] != "Ready"]
    assert_verdict(run("deployment.replicas", view_of(c), name="deployment1", replicas=2, ready=False), "passed")


def test_replicas_from_a_dump_without_pods_trust_status_ready_replicas():
    view = view_of([o for o in lab(2).objects() if o["kind"] == "Deployment"], kinds=("Deployment",))
    assert_verdict(run("deployment.replicas", view, name="deployment1", replicas=2), "passed")
    dep = view.get("Deployment", "default", "deployment1")
    dep["status"]["readyReplicas"] = 1
    assert_verdict(run("deployment.replicas", view, name="deployment1", replicas=2), "failed", 0.5)


def test_replicas_fail_for_a_missing_deployment():
    assert_verdict(run("deployment.replicas", view_of(base_cluster()), name="deployment1", replicas=2), "failed")


# -- deployment.image -------------------------------------------------------------------------------

def test_image_passes_for_httpd_at_any_tag_or_mirror():
    for image in ("httpd", "httpd:2.4", "swr.cn-north-4.myhuaweicloud.com/library/httpd:2.4",
                  "docker.io/library/httpd@sha256:" + "a" * 64):
        assert_verdict(run("deployment.image", view_of(lab(image=image)), name="deployment1"), "passed")


def test_image_fails_for_nginx_and_for_a_name_that_only_contains_httpd():
    for image in ("nginx", "myhttpd:1", "example.com/httpd-exporter:1"):
        out = run("deployment.image", view_of(lab(image=image)), name="deployment1")
        assert_verdict(out, "failed")
        assert image in out.observed.en


def test_image_fails_while_a_pod_still_runs_the_old_template():
    c = lab(image="nginx")
    dep = c.must("Deployment", "deployment1", "default")
    dep = copy.deepcopy(dep)
    objects = [o for o in c.objects() if not (o["kind"] == "Deployment" and o["metadata"]["name"] == "deployment1")]
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "httpd"
    out = run("deployment.image", view_of(objects + [dep]), name="deployment1")
    assert_verdict(out, "failed")
    assert "nginx" in out.observed.en


def test_image_typo_names_the_container_and_the_command_that_fixes_it():
    """`kubectl create deployment deployment1 --image=httdp` read "deployment1
    does not run httpd: deployment1-x: httdp=httdp, deployment1-y:
    httdp=httdp, httdp=httdp"; the student then typed `kubectl set image
    deployment/deployment1 httpd=httpd`, which kubectl refuses (no container
    named httpd). The container kubectl named after the typo is said, with
    the command."""
    out = run("deployment.image", view_of(lab(image="httdp")), name="deployment1")
    assert_verdict(out, "failed", says="deployment1 does not run httpd: its container httdp runs httdp; "
                                       "fix it with kubectl set image deployment/deployment1 httdp=httpd")
    assert out.message.zh == ("deployment1 的镜像不是 httpd：容器 httdp 的镜像是 httdp；"
                              "修改方法是 kubectl set image deployment/deployment1 httdp=httpd")
    assert out.observed.en.startswith("the pod template's container httdp runs httdp; container httdp of pods deployment1-")


def test_image_of_pods_left_from_an_older_template_says_the_rollout_is_not_done():
    c = lab(image="nginx")
    dep = copy.deepcopy(c.must("Deployment", "deployment1", "default"))
    objects = [o for o in c.objects() if not (o["kind"] == "Deployment" and o["metadata"]["name"] == "deployment1")]
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "httpd:2.4"
    out = run("deployment.image", view_of(objects + [dep]), name="deployment1")
    assert_verdict(out, "failed", says="deployment1's pod template runs httpd, but pods deployment1-")
    assert out.message.en.endswith("still run an older image (the rollout has not finished)")
    assert "仍在运行旧的镜像（滚动更新还没有完成）" in out.message.zh and "set image" not in out.message.en


def test_image_fails_for_a_template_without_containers():
    c = lab()
    c.must("Deployment", "deployment1", "default")["spec"]["template"]["spec"]["containers"] = []
    assert_verdict(run("deployment.image", view_of(c), name="deployment1"), "failed", says="no containers")


def test_image_fails_for_a_missing_deployment():
    assert_verdict(run("deployment.image", view_of(base_cluster()), name="deployment1"), "failed")


# -- deployment.pods --------------------------------------------------------------------------------

def test_pods_pass_when_owned_and_running():
    assert_verdict(run("deployment.pods", view_of(lab(2)), name="deployment1"), "passed")


def test_pods_fail_when_the_running_count_is_short():
    c = lab(2)
    pod = c.pods_of(c.must("Deployment", "deployment1", "default"))[0]
    pod["status"]["phase"] = "Pending"
    out = run("deployment.pods", view_of(c), name="deployment1")
    assert_verdict(out, "failed", says="1 running pod, expected 2")


def test_pods_with_the_labels_but_no_owner_do_not_count_and_are_named():
    c = base_cluster()
    dep = c.deployment("deployment1", replicas=0, image="httpd", labels=APP)
    dep["spec"]["replicas"] = 2
    c.bare_pod("fake-1", image="httpd", labels=APP, applied=True)
    c.bare_pod("fake-2", image="httpd", labels=APP, applied=True)
    out = run("deployment.pods", view_of(c), name="deployment1")
    assert_verdict(out, "failed")
    assert any("fake-1" in n.en for n in out.notes)


def test_pods_fail_for_a_missing_deployment():
    assert_verdict(run("deployment.pods", view_of(base_cluster()), name="deployment1"), "failed")
