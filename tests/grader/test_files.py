"""Input files are read with one clear line when they cannot be (grader/files.py)."""
from __future__ import annotations

import os

import pytest

from grader import rubric
from grader.errors import InputError
from grader.files import read_input


def test_an_input_file_is_read_whole(tmp_path):
    (tmp_path / "r.csv").write_bytes(b"student_id\n")
    assert read_input(tmp_path / "r.csv", "roster CSV") == b"student_id\n"


def test_a_missing_file_and_a_folder_are_one_line_each(tmp_path):
    with pytest.raises(InputError, match="no such roster CSV file"):
        read_input(tmp_path / "none.csv", "roster CSV")
    with pytest.raises(InputError, match="is a folder, not a roster CSV file"):
        read_input(tmp_path, "roster CSV")


def test_an_endless_or_too_big_input_is_refused_after_the_limit(tmp_path):
    with pytest.raises(InputError, match="is over 0 MB; not a rubric file"):
        read_input("/dev/zero", "rubric", limit=1000)  # it read until memory ran out
    (tmp_path / "big.yaml").write_bytes(b"#" * 1001)
    with pytest.raises(InputError, match="big.yaml: is over"):
        read_input(tmp_path / "big.yaml", "rubric", limit=1000)
    assert len(read_input(tmp_path / "big.yaml", "rubric", limit=1001)) == 1001


def test_a_pipe_still_reads(tmp_path):
    r, w = os.pipe()
    os.write(w, b"apiVersion: v1\n")
    os.close(w)
    try:
        assert read_input(f"/proc/self/fd/{r}", "kubeconfig") == b"apiVersion: v1\n"
    finally:
        os.close(r)


def test_a_rubric_path_goes_through_the_same_reader(tmp_path):
    with pytest.raises(InputError, match="is a folder, not a rubric file"):
        rubric.load(str(tmp_path))
    with pytest.raises(InputError, match="no such rubric file"):
        rubric.load(str(tmp_path / "none.yaml"))
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="bin.yaml: cannot read: 'utf-8' codec"):
        rubric.load(str(tmp_path / "bin.yaml"))


def test_a_symlink_planted_where_the_temporary_file_goes_is_not_followed(tmp_path):
    """The temporary name was predictable (pid, thread): whoever can write in a
    results folder could point it at a file elsewhere, and the grader wrote
    the report through it there (a teacher's ~/.bashrc)."""
    import threading

    from grader.files import write_atomic

    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("the teacher's file\n")
    planted = out / f".report.json.{os.getpid()}.{threading.get_ident()}.tmp"
    planted.symlink_to(victim)
    write_atomic(out / "report.json", "{}\n")
    assert victim.read_text() == "the teacher's file\n"
    assert (out / "report.json").read_text() == "{}\n" and not (out / "report.json").is_symlink()
    assert [p.name for p in out.iterdir() if p.name.endswith(".tmp") and p != planted] == []


def test_a_written_file_keeps_the_umask_mode(tmp_path):
    from grader.files import write_atomic

    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "class.html", "<p>")
    finally:
        os.umask(old)
    assert (tmp_path / "class.html").stat().st_mode & 0o777 == 0o644
