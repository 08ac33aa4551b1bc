"""What every test starts from, whoever started pytest; and how pytest-xdist shares the suite out."""
from __future__ import annotations

from pathlib import Path

import pytest

REAL_CLUSTER_TESTS = Path(__file__).resolve().parent / "realcluster_tests"


@pytest.fixture(autouse=True)
def _no_inherited_terminal_size(monkeypatch):
    """No ``COLUMNS``/``LINES`` from the runner: the console report wraps at ``COLUMNS``, and
    a value from the developer's shell or from a pytest-xdist worker (which sees
    ``COLUMNS=80``) would make a wrapped line differ from one run to the next. A test
    about the width sets it itself."""
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist; without it, never called
def pytest_xdist_make_scheduler(config, log):
    """``-n N`` (``--dist load``, the default): every test goes to whichever worker is free,
    except tests/realcluster_tests, which go to one worker as one unit, first, so that worker
    starts the one real cluster of the session while the others run the rest. (xdist's own
    ``--dist loadgroup`` would do this with ``xdist_group`` marks, but with pytest 9.2 it
    silently stops grouping: it renames node ids through a field pytest no longer reads.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    prefix = REAL_CLUSTER_TESTS.relative_to(config.rootpath).as_posix() + "/"

    class RealClusterOnOneWorker(LoadScopeScheduling):
        # LoadScopeScheduling hands out units, the biggest first (--loadscope-reorder, its default).
        def _split_scope(self, nodeid: str) -> str:
            return prefix if nodeid.startswith(prefix) else nodeid

    return RealClusterOnOneWorker(config, log)
