"""A wrong command line: one prefix, and a "did you mean" (issue 7)."""
from __future__ import annotations

from grader.cli import main


def test_an_unknown_flag_says_labgrade_once_and_suggests_the_right_one(capsys):
    assert main(["grade", "--rubric", "service-discovery", "--snapshots", "x.yaml"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("labgrade") == 1, err
    assert err == "labgrade: error: unrecognized arguments: --snapshots x.yaml (did you mean --snapshot?)"


def test_a_misspelt_command_is_suggested(capsys):
    assert main(["grad"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("labgrade: error: ") and err.count("labgrade:") == 1
    assert err.endswith("(did you mean 'grade'?)")


def test_a_subcommand_error_names_the_subcommand_once(capsys):
    assert main(["grade"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "labgrade: error: grade: the following arguments are required: --rubric"
