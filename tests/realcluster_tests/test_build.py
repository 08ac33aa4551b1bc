"""The component builder: cached builds cost nothing, a failing build says what go said."""

from __future__ import annotations

import time

import pytest

from tests.realcluster import build


def test_a_built_cache_is_a_no_op():
    build.build(log=lambda m: None)  # whatever is missing gets built first (the fixture would too)
    lines: list[str] = []
    t0 = time.monotonic()
    build.build(log=lines.append)
    assert time.monotonic() - t0 < 10
    per_component = [ln for ln in lines if ln.startswith("build: ") and not ln.startswith("build: done")]
    assert per_component and all(": cached (" in ln for ln in per_component), lines
    assert set(build.binaries()) == {c.name for c in build.COMPONENTS} | {"busybox"}


def test_a_failing_build_is_an_error_with_the_go_error(monkeypatch, tmp_path):
    monkeypatch.setenv("GOPROXY", "off")  # offline: go fails at once, with its own words
    c = build.Component("does-not-exist", "kwok", "sigs.k8s.io/kwok/cmd/does-not-exist", "v0")
    monkeypatch.setattr(build, "bin_dir", lambda: tmp_path)
    with pytest.raises(build.BuildError) as e:
        build.build_one(c, force=True, log=lambda m: None)
    text = str(e.value)
    assert text.startswith("building does-not-exist v0 failed (exit 1):")
    # go's own error: the package it cannot find, or (with a module cache that lacks one of
    # the module's dependencies, e.g. a Windows-only one) the lookup GOPROXY=off refused.
    detail = text.split(":", 1)[1]
    assert "sigs.k8s.io/kwok/cmd/does-not-exist" in detail or "module lookup disabled by GOPROXY=off" in detail, detail
    assert not c.path.exists()


def test_the_cli_rejects_an_unknown_component(capsys):
    assert build.main(["kube-nothing"]) == 2
    assert "unknown component" in capsys.readouterr().err


def test_the_sweep_drops_a_dead_clusters_data_and_spares_live_ones(monkeypatch, tmp_path):
    import json

    from tests.realcluster import cluster

    monkeypatch.setattr(cluster, "STATE_ROOT", tmp_path)
    dead, live = tmp_path / "lgrc-999999999-0000-x", tmp_path / f"lgrc-{__import__('os').getpid()}-0000-y"
    for d in (dead, live):
        (d / "etcd").mkdir(parents=True)
        (d / "cluster.json").write_text(json.dumps({"name": d.name.rsplit("-", 1)[0], "workdir": str(d),
                                                    "procs": [], "api_port": None}))
    assert cluster.sweep_stale() == []  # neither has a netns left to take down
    assert not (dead / "etcd").exists() and (live / "etcd").exists()
