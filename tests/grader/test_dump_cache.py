"""A class dump is parsed once for all the rows that read it, with the verdicts of parsing it per row."""
from __future__ import annotations

import gc
import importlib.util
import json
import os
import threading
from pathlib import Path

import pytest
import yaml

from grader import rubric as rubric_mod
from grader.classroom import batch, roster as roster_mod
from grader.sources import snapshot
from grader.sources.dump_cache import DumpCache, IndexedDump
from grader.sources.gcpause import paused_gc
from grader.report import json_report

ROOT = Path(__file__).resolve().parents[2]
CORRECT = ROOT / "examples" / "service-discovery" / "correct"
RUBRIC = rubric_mod.load("service-discovery")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_batch", ROOT / "bench" / "batch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _class_dump(folder: Path, namespaces: list[str], fmt: str, phase: str = "built") -> Path:
    items = _bench().class_cluster(CORRECT / f"{phase}.yaml", namespaces)
    doc = {"apiVersion": "v1", "kind": "List", "items": items}
    path = folder / f"class-{phase}.{fmt}"
    path.write_text(json.dumps(doc) if fmt == "json" else yaml.safe_dump(doc), encoding="utf-8")
    return path


def _roster(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_rows_on_one_class_dump_parse_it_once_and_grade_as_if_alone(tmp_path, fmt):
    namespaces = ["s000", "s001", "s002", "s003"]
    built = _class_dump(tmp_path, namespaces, fmt)
    cleaned = _class_dump(tmp_path, namespaces, fmt, "cleaned")
    roster = _roster(tmp_path / "roster.csv", ["student_id,namespace,built,cleaned"] +
                     [f"{ns},{ns},{built.name},{cleaned.name}" for ns in namespaces])
    job = batch.Batch(RUBRIC, roster_mod.load_roster(roster, RUBRIC), tmp_path / "out",
                      batch.BatchOptions(jobs=4, resume=False))

    result = job.run()

    assert result.errors == 0 and job.dumps.parses == 2  # two files, one parse each, for four students
    plain = batch.Batch(RUBRIC, roster_mod.load_roster(roster, RUBRIC), tmp_path / "plain",
                        batch.BatchOptions(jobs=4, resume=False))
    plain.dumps.uses = {}  # every row parses its files itself, as before
    plain.run()
    assert plain.dumps.parses == 0
    for ns in namespaces:
        cached, alone = (json_report.from_json((tmp_path / out / ns / "report.json").read_bytes())
                         for out in ("out", "plain"))
        assert cached.namespace == ns and cached.earned == alone.earned > 0
        assert [(c.id, c.status, c.outcome.message) for _, c in cached.checks()] == \
            [(c.id, c.status, c.outcome.message) for _, c in alone.checks()]
    # the cut for one namespace is what loading the file for that namespace alone keeps
    for ns in ("s001", "default"):
        keep = snapshot.keep_for(RUBRIC, ns)
        alone = snapshot.load(built, keep)
        cut = job.dumps._indexed(built).cut(keep)
        assert cut.objects == alone.objects and cut.kinds == alone.kinds


def test_a_student_sees_only_their_namespace_of_the_class_dump(tmp_path):
    namespaces = ["s000", "s001"]
    items = _bench().class_cluster(CORRECT / "built.yaml", namespaces)
    items = [o for o in items if not (o["metadata"].get("namespace") == "s001" and o["kind"] == "Service")]
    built = tmp_path / "class.json"
    built.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}), encoding="utf-8")
    roster = _roster(tmp_path / "roster.csv", ["student_id,namespace,built"] + [f"{ns},{ns},class.json" for ns in namespaces])

    result = batch.Batch(RUBRIC, roster_mod.load_roster(roster, RUBRIC), tmp_path / "out",
                         batch.BatchOptions(jobs=2, resume=False)).run()

    earned = {r.student_id: r.report.earned for r in result.results}
    assert earned["s000"] > earned["s001"]


def test_a_rewritten_dump_is_parsed_again_and_a_dump_of_one_row_is_not_cached(tmp_path):
    built = _class_dump(tmp_path, ["s000", "s001"], "json")
    cache = DumpCache(RUBRIC, {built: {"s000", "s001"}, tmp_path / "own.json": {"s000"}})
    first = cache.load_all([built], "s000")[0]
    assert cache.load_all([built], "s001")[0].objects != first.objects and cache.parses == 1

    stat = built.stat()
    os.utime(built, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    cache.load_all([built], "s000")
    assert cache.parses == 2

    own = tmp_path / "own.json"
    own.write_bytes(built.read_bytes())
    cache.load_all([own], "s000")
    assert cache.parses == 2  # the plain path, nothing kept


def test_index_keeps_cluster_scoped_objects_for_every_namespace(tmp_path):
    built = _class_dump(tmp_path, ["s000"], "json")
    indexed = IndexedDump.of(snapshot.load(built))
    cut = indexed.cut(snapshot.keep_for(RUBRIC, "s000"))
    assert any(o["kind"] == "Namespace" and o["metadata"]["name"] == "default" for o in cut.objects)
    assert {o["metadata"].get("namespace") for o in cut.objects if o["kind"] == "Pod"} == {"s000"}


def test_the_gc_pause_nests_across_threads_and_respects_a_disabled_gc():
    assert gc.isenabled()
    inside = threading.Event()
    release = threading.Event()

    def other() -> None:
        with paused_gc():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=other)
    t.start()
    inside.wait(5)
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other thread is still parsing
    release.set()
    t.join(5)
    assert gc.isenabled()

    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
