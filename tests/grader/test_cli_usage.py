"""A wrong command line: one prefix, and a "did you mean" (issue 7)."""
from __future__ import annotations

from grader.cli import main


def test_an_unknown_flag_says_labgrade_once_and_suggests_the_right_one(capsys):
    assert main(["grade", "--rubric", "service-discovery", "--snapshots", "x.yaml"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("labgrade") == 1, err
    assert err == "labgrade: error: grade: unrecognized arguments: --snapshots x.yaml (did you mean --snapshot?)"


def test_an_unknown_flag_is_matched_against_its_own_subcommands_options_only(capsys):
    # --output is collect's and baseline's, --student grade's: neither is batch's or grade's own
    assert main(["grade", "--rubric", "service-discovery", "--output", "r.yaml"]) == 2
    assert capsys.readouterr().err.strip() == "labgrade: error: grade: unrecognized arguments: --output r.yaml"
    assert main(["batch", "r.csv", "--rubric", "service-discovery", "--out", "o", "--student", "s1"]) == 2
    assert capsys.readouterr().err.strip() == "labgrade: error: batch: unrecognized arguments: --student s1"
    assert main(["verify", "step1", "--no-poll"]) == 2
    assert capsys.readouterr().err.strip().endswith("verify: unrecognized arguments: --no-poll (did you mean --poll?)")


def test_a_misspelt_command_is_suggested(capsys):
    assert main(["grad"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("labgrade: error: ") and err.count("labgrade:") == 1
    assert err.endswith("(did you mean 'grade'?)")


def test_a_subcommand_error_names_the_subcommand_once(capsys):
    assert main(["grade"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "labgrade: error: grade: the following arguments are required: --rubric"
