"""The phase a live run grades comes from the cluster itself, is said on
the first line, and a re-run regrades it (issue 7: phases, state, order)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from grader.sources import bundle, snapshot
from grader.cli import main
from tests.standin.fixtures import load_dump, make_standin  # noqa: F401

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "service-discovery"


def objects(case: str, phase: str) -> list[dict]:
    return load_dump(EXAMPLES / case / f"{phase}.yaml")


def _checks(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {c["id"]: c for s in data["steps"] for c in s["checks"]}, data


def test_grading_the_same_built_cluster_twice_with_state_regrades_built(make_standin, tmp_path, capsys):
    """Twice on an untouched built cluster: the second run graded it as the
    cleaned phase (step 6 lost) and a third refused to grade. The cluster
    still holds the lab, so every run grades the built phase, the latest
    run wins, and the first line says which phase and why."""
    server = make_standin(objects("correct", "built"))
    cfg = str(server.kubeconfig_path(tmp_path))
    state = tmp_path / "state.yaml"
    common = ["grade", "--rubric", "service-discovery", "--kubeconfig", cfg, "--state", str(state), "--no-poll",
              "--no-color", "--lang", "en"]
    for run in range(3):
        capsys.readouterr()
        assert main(common + ["--json", str(tmp_path / f"r{run}.json")]) == 0
        out = capsys.readouterr().out
        first = out.splitlines()[0]
        assert first.startswith("! grading phase 'built' (after building): the lab's objects are in namespace default"), first
        checks, data = _checks(tmp_path / f"r{run}.json")
        assert checks["deployments-deleted"]["graded"] is False  # step 6 not graded, not lost
        assert data["notes"][0]["en"] == first[2:] or first[2:] in data["notes"][0]["en"]
    assert "graded again" in json.dumps(data["notes"])
    assert set(bundle.load_state(str(state))) == {"built"}


def test_after_the_cleanup_the_state_run_grades_cleaned(make_standin, tmp_path, capsys):
    server = make_standin(objects("correct", "built"))
    cfg = str(server.kubeconfig_path(tmp_path))
    state = tmp_path / "state.yaml"
    common = ["grade", "--rubric", "service-discovery", "--kubeconfig", cfg, "--state", str(state), "--no-poll", "--lang", "en"]
    assert main(common) == 0
    server.set_objects(objects("correct", "cleaned"))
    capsys.readouterr()
    assert main(common + ["--json", str(tmp_path / "final.json")]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("! grading phase 'cleaned' (after the cleanup): none of")
    checks, _ = _checks(tmp_path / "final.json")
    assert checks["deployment1-exists"]["status"] == "passed"  # from the state
    assert checks["services-deleted"]["status"] == "passed"


def test_collect_on_a_cleaned_cluster_writes_a_cleaned_bundle(make_standin, tmp_path, capsys):
    """collect silently wrote a built bundle of a cleaned cluster."""
    server = make_standin(objects("correct", "cleaned"))
    cfg = str(server.kubeconfig_path(tmp_path))
    out = tmp_path / "bundle.yaml"
    assert main(["collect", "--rubric", "service-discovery", "--kubeconfig", cfg, "-o", str(out), "--no-poll"]) == 0
    assert snapshot.load(out).phase == "cleaned"
    assert "grading phase 'cleaned'" in capsys.readouterr().out


def test_an_explicit_phase_wins_and_is_said(make_standin, tmp_path, capsys):
    server = make_standin(objects("correct", "cleaned"))
    cfg = str(server.kubeconfig_path(tmp_path))
    assert main(["grade", "--rubric", "service-discovery", "--kubeconfig", cfg, "--phase", "built", "--no-poll",
                 "--lang", "en"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "! grading phase 'built' (after building), as --phase says"


def test_an_unreachable_cluster_never_writes_the_state(tmp_path, capsys):
    from tests.standin.server import StandIn

    server = StandIn([]).start()
    cfg = server.kubeconfig_path(tmp_path)
    server.stop()
    state = tmp_path / "state.yaml"
    rc = main(["grade", "--rubric", "service-discovery", "--kubeconfig", str(cfg), "--state", str(state), "--no-poll"])
    assert rc == 2 and not state.exists()


def test_swapped_snapshots_are_warned_about_first_in_every_report(tmp_path, capsys):
    """cleaned.yaml then built.yaml gave 6/100 without a word: the first
    dump holds none of the lab and the second does, so say so on the first
    line, in JSON and in every report (not silently swap: the teacher may
    have named files oddly, and a warning keeps the grade explainable)."""
    case = EXAMPLES / "correct"
    js, xml, html = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.html"
    assert main(["grade", "--rubric", "service-discovery", "--snapshot", str(case / "cleaned.yaml"), "--snapshot",
                 str(case / "built.yaml"), "--json", str(js), "--junit", str(xml), "--html", str(html),
                 "--lang", "en", "--no-color"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("! the dumps look swapped")
    assert "--snapshot built=FILE --snapshot cleaned=FILE" in first or "--snapshot" in first
    assert "look swapped" in json.dumps(json.loads(js.read_text(encoding="utf-8"))["notes"])
    assert "look swapped" in xml.read_text(encoding="utf-8")
    assert "look swapped" in html.read_text(encoding="utf-8")
    assert main(["grade", "--rubric", "service-discovery", "--snapshot", str(case / "built.yaml"), "--snapshot",
                 str(case / "cleaned.yaml"), "--lang", "en", "--no-color"]) == 0
    assert "swapped" not in capsys.readouterr().out


def _partly_cleaned() -> list[dict]:
    """The correct cleaned cluster with clientpod forgotten."""
    clientpod = [o for o in objects("correct", "built") if o.get("kind") == "Pod" and o["metadata"]["name"] == "clientpod"]
    assert clientpod
    return objects("correct", "cleaned") + clientpod


def test_a_partial_cleanup_after_a_state_run_grades_cleaned_with_the_leftovers(make_standin, tmp_path, capsys):
    """Built graded with --state, then everything deleted but clientpod: the
    leftover made the run grade 'built' again, which replaced a full built
    record with zeros for steps 1-4 and left step 6 ungraded. Lab objects
    the state's built phase held are gone, so the cleanup has begun: the
    run grades 'cleaned', the built record stands, and clientpod costs its
    share of step 6."""
    server = make_standin(objects("correct", "built"))
    cfg = str(server.kubeconfig_path(tmp_path))
    state = tmp_path / "state.yaml"
    common = ["grade", "--rubric", "service-discovery", "--kubeconfig", cfg, "--state", str(state), "--no-poll",
              "--lang", "en", "--no-color"]
    assert main(common) == 0
    server.set_objects(_partly_cleaned())
    capsys.readouterr()
    assert main(common + ["--json", str(tmp_path / "final.json")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("! grading phase 'cleaned' (after the cleanup): the cleanup has begun"), first
    checks, data = _checks(tmp_path / "final.json")
    assert checks["deployment1-exists"]["status"] == "passed"  # the state's built record stands
    assert checks["service2-endpoints"]["status"] == "passed"
    assert checks["deployments-deleted"]["status"] == "passed"
    assert checks["services-deleted"]["status"] == "passed"
    assert checks["pods-deleted"]["status"] == "failed"
    assert "clientpod" in json.dumps(checks["pods-deleted"])
    assert set(bundle.load_state(str(state))) == {"built", "cleaned"}
    assert main(common + ["--phase", "built", "--json", str(tmp_path / "again.json")]) == 0  # the way back, said in the note
    assert _checks(tmp_path / "again.json")[0]["deployment1-exists"]["status"] == "failed"


def test_without_an_earlier_built_record_leftovers_still_grade_built(make_standin, tmp_path, capsys):
    """No state (or a state without the built phase): nothing shows a cleanup began, so the
    leftovers are a build, as before."""
    server = make_standin(_partly_cleaned())
    cfg = str(server.kubeconfig_path(tmp_path))
    assert main(["grade", "--rubric", "service-discovery", "--kubeconfig", cfg, "--state", str(tmp_path / "s.yaml"),
                 "--no-poll", "--lang", "en", "--no-color"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("! grading phase 'built' (after building): the lab's objects")


def test_a_build_still_growing_after_a_state_run_grades_built(make_standin, tmp_path, capsys):
    """Built recorded early (deployments only), then the services added: nothing recorded is
    gone, so the run is still the build, graded again."""
    early = [o for o in objects("correct", "built")
             if not (o.get("kind") in ("Service", "Endpoints", "EndpointSlice") and o["metadata"]["name"].startswith("service"))]
    server = make_standin(early)
    cfg = str(server.kubeconfig_path(tmp_path))
    state = tmp_path / "state.yaml"
    common = ["grade", "--rubric", "service-discovery", "--kubeconfig", cfg, "--state", str(state), "--no-poll",
              "--lang", "en", "--no-color"]
    assert main(common) == 0
    server.set_objects(objects("correct", "built"))
    capsys.readouterr()
    assert main(common) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("! grading phase 'built' (after building)")
