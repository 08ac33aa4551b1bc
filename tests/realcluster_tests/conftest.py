"""The real cluster, once per test session (see tests/realcluster/cluster.py).

Missing binaries are built first (cached under ~/.cache/labgrade-realcluster); a failing build
or a cluster that does not come up is an ERROR of every test that needs it, never a skip: these
tests are the project's judge of what Kubernetes does.

Under pytest-xdist (pyproject's addopts say ``-n auto``) tests/conftest.py sends every test
here to one worker, which starts the one cluster while the others run the rest of the suite.
Should they be spread anyway (``--dist loadfile``), or two pytest runs share the machine, a
lock file makes the second session wait until the first one's cluster is down before it
starts its own: never two control planes at once (on 2 cores neither would come up in time).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from tests.realcluster import build
from tests.realcluster.cluster import STATE_ROOT, Cluster


def pytest_configure(config):
    config.addinivalue_line("markers", "realcluster: needs the real control plane of tests/realcluster (runs by default)")


def pytest_collection_modifyitems(items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.realcluster)


_CLUSTER: list[Cluster] = []


@pytest.fixture(scope="session")
def real_cluster() -> Cluster:
    if os.geteuid() != 0:
        pytest.fail("the real-cluster tests need root (ip netns add)")
    STATE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(STATE_ROOT / "session.lock", "w") as lock:
        waited = time.monotonic()
        fcntl.flock(lock, fcntl.LOCK_EX)  # another pytest process's cluster: wait for it to go down
        if time.monotonic() - waited > 1:
            print(f"realcluster: waited {time.monotonic() - waited:.0f}s for another session's cluster", flush=True)
        build.build(log=lambda m: print(m, flush=True))  # seconds when cached; BuildError -> test error
        cluster = Cluster()
        _CLUSTER.append(cluster)
        try:
            cluster.up(timeout=float(os.environ.get("LABGRADE_REALCLUSTER_UP_TIMEOUT", "300")))
            print(f"realcluster: up in {cluster.timings['up']:.1f}s; logs in {cluster.logs}", flush=True)
            yield cluster
        finally:
            cluster.down()
            _CLUSTER.remove(cluster)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and "real_cluster" in getattr(item, "fixturenames", ()):
        for c in list(_CLUSTER) or []:
            tails = []
            for log in sorted(c.logs.glob("*.log")):
                if log.name == "audit.jsonl":
                    continue
                lines = [ln[:300] for ln in log.read_text(errors="replace").splitlines()[-5:]]
                tails.append(f"--- {log.name}\n" + "\n".join(lines))
            rep.sections.append(("realcluster logs", f"logs in {c.logs}\n" + "\n".join(tails)))
