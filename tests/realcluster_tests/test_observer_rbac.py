"""deploy/observe.yaml on the real control plane: the API server accepts every object, and the
observer's cluster-wide LIST+WATCH (grader/sources/watch.py) is refused by the real RBAC authorizer
under deploy/rbac.yaml alone, then allowed and following changes once observe.yaml's watcher role is
bound: the ``watch`` verb the in-cluster observer and ``check --watch`` need.
"""

from __future__ import annotations

import yaml

from tests.realcluster.cluster import REPO
from tests.realcluster_tests.test_rbac import sa_kubeconfig  # noqa: F401 - the ServiceAccount's kubeconfig

OBSERVE = REPO / "deploy" / "observe.yaml"


def _watcher_rbac() -> str:
    docs = [d for d in yaml.safe_load_all(OBSERVE.read_text(encoding="utf-8"))
            if d and d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    assert {d["metadata"]["name"] for d in docs} == {"labgrade-watcher"}
    return yaml.safe_dump_all(docs)


def _watch(kubeconfig):
    from grader.sources.live import LiveSource, api_client
    from grader.sources.watch import ClusterWatch

    source = LiveSource(api_client(str(kubeconfig)), "", "built", reads=("Pod", "Service"))
    return ClusterWatch(source).start()


def test_the_api_server_accepts_every_object_of_observe_yaml(real_cluster, sa_kubeconfig):  # noqa: F811
    r = real_cluster.kubectl("apply", "--dry-run=server", "-f", str(OBSERVE), check=False)
    assert r.returncode == 0, r.stderr
    assert "deployment.apps/labgrade-observer created (server dry run)" in r.stdout


def test_the_watch_is_refused_without_the_watcher_binding_and_follows_changes_with_it(
        real_cluster, sa_kubeconfig, tmp_path):  # noqa: F811
    real_cluster.kubectl("delete", "clusterrolebinding", "labgrade-watcher", "--ignore-not-found")
    watch = _watch(sa_kubeconfig)
    try:
        assert watch.wait_synced(30)
        errors = {kind: state.error for kind, state in watch.kinds.items()}
        assert all(e is not None and "forbidden" in e.en.lower() for e in errors.values()), errors
    finally:
        watch.stop()

    real_cluster.kubectl("apply", "-f", "-", input=_watcher_rbac())
    try:
        ns = real_cluster.new_namespace("observed-class")
        watch = _watch(sa_kubeconfig)
        try:
            real_cluster.wait_for(lambda: watch.synced and all(s.error is None for s in watch.kinds.values()),
                                  30, "the watches to sync under the watcher role")
            real_cluster.wait_for(lambda: all(s.watches for s in watch.kinds.values()), 30, "the WATCHes to open")
            since = watch.generation
            real_cluster.kubectl("-n", ns, "create", "service", "clusterip", "watched", "--tcp=80:80")
            real_cluster.wait_for(lambda: any(o["metadata"]["name"] == "watched"
                                              for o in watch.kinds["Service"].objects.values()), 10,
                                  "the new Service through the watch")
            assert watch.generation > since
            assert watch.kinds["Service"].lists == 1, "a change comes through the WATCH, not a new LIST"
        finally:
            watch.stop()
    finally:
        real_cluster.kubectl("delete", "clusterrolebinding", "labgrade-watcher", "--ignore-not-found")
