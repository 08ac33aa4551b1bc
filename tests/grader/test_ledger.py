"""The progress ledger: one record per step done, an hmac chain a student
cannot edit, drop from or reorder undetected, and the final report built
from it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader import rubric
from grader.classroom import ledger, ledger_report
from grader.errors import InputError
from grader.outcome import Status
from grader.view import build_view

KEY = b"course-secret-2026"
NS_UID = "4279e0a2-8bee-402c-aa61-5c0425cfb2fb"
K8S_UID = "00d62e71-534d-46f0-b690-5ece1effe3ea"
TIMES = ["2026-11-20T10:31:00Z", "2026-11-20T10:35:00Z", "2026-11-20T10:38:00Z",
         "2026-11-20T10:40:00Z", "2026-11-20T10:42:00Z", "2026-11-20T10:55:00Z"]


@pytest.fixture(scope="module")
def lab() -> rubric.Rubric:
    return rubric.load("service-discovery")


def entry(lab: rubric.Rubric, step_id: str, at: str, *, ns_uid: str = NS_UID, namespace: str = "default",
          extra_uids: dict | None = None) -> dict:
    """What ``labgrade check`` records when ``step_id`` passes."""
    step = next(s for s in lab.steps if s.id == step_id)
    return {
        "step": step.id, "lab": lab.lab, "at": at, "namespace": namespace,
        "uids": {ledger.NAMESPACE_KEY: ns_uid, ledger.KUBERNETES_KEY: K8S_UID, **(extra_uids or {})},
        "checks": [{"id": c.id, "status": "passed", "earned": c.points, "points": c.points,
                    "observed": {"zh": "看到了", "en": "seen"}, "message": {"zh": "通过", "en": "passed"}}
                   for c in step.checks],
        "probes": [],
    }


def write(lab: rubric.Rubric, path: Path, key: bytes | None, steps=("step1", "step2", "step3", "step4", "step5", "step6")) -> Path:
    book = ledger.Ledger(str(path), key)
    for step_id in steps:
        book.append([entry(lab, step_id, TIMES[int(step_id[-1]) - 1])])
    return path


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


# -- the format -------------------------------------------------------------------------

def test_each_record_is_one_json_line_chained_to_the_one_before(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", KEY, steps=("step1", "step2"))
    first, second = (json.loads(line) for line in lines(path))
    assert set(first) == {"step", "lab", "at", "namespace", "uids", "checks", "probes", "prev", "hmac"}
    assert first["prev"] is None and second["prev"] == first["hmac"]
    assert len(first["hmac"]) == 64 and int(first["hmac"], 16) >= 0
    assert first["checks"][0] == {"id": "deployment1-exists", "status": "passed", "earned": 3.0, "points": 3.0,
                                  "observed": {"zh": "看到了", "en": "seen"}, "message": {"zh": "通过", "en": "passed"}}
    # The hmac covers the record without itself, keys sorted, compact, UTF-8.
    assert ledger.canonical(second).startswith(b'{"at":"2026-11-20T10:35:00Z","checks":')
    assert ledger.sign(KEY, second) == second["hmac"]


def test_without_a_key_records_carry_no_hmac(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", None, steps=("step1",))
    record = json.loads(lines(path)[0])
    assert record["hmac"] is None and record["prev"] is None


def test_a_step_already_recorded_is_never_recorded_again(lab, tmp_path):
    """Two check windows on one ledger: the second one's step1 is dropped,
    its step2 chains onto the first window's record."""
    path = tmp_path / "ledger.jsonl"
    a, b = ledger.Ledger(str(path), KEY), ledger.Ledger(str(path), KEY)
    a.append([entry(lab, "step1", TIMES[0])])
    records, written = b.append([entry(lab, "step1", TIMES[1], extra_uids={"Deployment/deployment1": "other"}),
                                 entry(lab, "step2", TIMES[1])])
    assert [w["step"] for w in written] == ["step2"]
    assert [r.step for r in records] == ["step1", "step2"]
    assert records[0].at == TIMES[0]
    ledger.verify(ledger.read(str(path)), KEY, str(path))


@pytest.mark.parametrize("key", [KEY, None], ids=["signed", "unsigned"])
def test_appending_after_a_last_record_without_its_newline_keeps_both(lab, tmp_path, key):
    """An editor that strips the final newline: the next record must not be glued onto the last one."""
    path = write(lab, tmp_path / "ledger.jsonl", key, steps=("step1",))
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    book = ledger.Ledger(str(path), key)

    records, written = book.append([entry(lab, "step2", TIMES[1])])

    assert [r.step for r in records] == ["step1", "step2"] and [w["step"] for w in written] == ["step2"]
    assert [(r.step, r.line) for r in book.records()] == [("step1", 1), ("step2", 2)]
    assert ledger_report.report_from_ledger(lab, str(path), key).steps[1].earned == 15


@pytest.mark.parametrize("key", [KEY, None], ids=["signed", "unsigned"])
def test_a_ledger_saved_with_a_byte_order_mark_and_crlf_still_reads_and_grows(lab, tmp_path, key):
    """Opened and saved in a Windows editor: a BOM and CRLF line ends, the records untouched."""
    path = write(lab, tmp_path / "ledger.jsonl", key, steps=("step1",))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    book = ledger.Ledger(str(path), key)

    book.append([entry(lab, "step2", TIMES[1])])

    assert [(r.step, r.line) for r in book.records()] == [("step1", 1), ("step2", 2)]
    assert ledger_report.report_from_ledger(lab, str(path), key).earned == 30


def test_a_record_holding_a_line_separator_stays_one_record(lab, tmp_path):
    """JSON leaves U+2028 and NEL unescaped; only a newline ends a record."""
    path = tmp_path / "ledger.jsonl"
    e = entry(lab, "step5", TIMES[4])
    e["probes"] = [{"type": "exec", "pod": "clientpod", "stdout": "It works!\u2028\x85next", "stderr": ""}]
    ledger.Ledger(str(path), KEY).append([e])
    (record,) = ledger.read(str(path))
    assert record.data["probes"][0]["stdout"] == "It works!\u2028\x85next"


# -- the hmac chain ------------------------------------------------------------------------

def rewrite(path: Path, new_lines: list[str]) -> None:
    path.write_text("".join(new_lines), encoding="utf-8")


def edit_points(path: Path) -> None:
    ls = lines(path)
    record = json.loads(ls[2])
    record["checks"][1]["status"] = "passed"
    record["checks"][1]["earned"] = 99  # more points than the check has
    ls[2] = json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"
    rewrite(path, ls)


def remove_second(path: Path) -> None:
    ls = lines(path)
    rewrite(path, ls[:1] + ls[2:])


def remove_first(path: Path) -> None:
    rewrite(path, lines(path)[1:])


def swap_second_and_third(path: Path) -> None:
    ls = lines(path)
    rewrite(path, [ls[0], ls[2], ls[1]] + ls[3:])


def repeat_second(path: Path) -> None:
    ls = lines(path)
    rewrite(path, ls[:2] + [ls[1]] + ls[2:])


def repeat_last(path: Path) -> None:
    ls = lines(path)
    rewrite(path, ls + [ls[-1]])


def strip_hmac_of_fourth(path: Path) -> None:
    ls = lines(path)
    record = json.loads(ls[3])
    del record["hmac"]
    ls[3] = json.dumps(record) + "\n"
    rewrite(path, ls)


@pytest.mark.parametrize("tamper, line, message", [
    (edit_points, 3, "record 3 was edited or is not signed with this key"),
    (remove_second, 2, "record 2 is out of place (a record before it was removed): the hmac chain breaks here"),
    (remove_first, 1, "record 1 is out of place (the records before it were removed)"),
    (swap_second_and_third, 2, "record 2 is out of place (the records were reordered)"),
    (strip_hmac_of_fourth, 4, "record 4 is not signed (no hmac)"),
    (repeat_second, 3, "record 3 is out of place (it repeats record 2): the hmac chain breaks here"),
    (repeat_last, 7, "record 7 is out of place (it repeats record 6): the hmac chain breaks here"),
])
def test_a_tampered_ledger_is_rejected_naming_the_record(lab, tmp_path, tamper, line, message):
    path = write(lab, tmp_path / "ledger.jsonl", KEY)
    tamper(path)
    with pytest.raises(InputError) as err:
        ledger_report.report_from_ledger(lab, str(path), KEY)
    assert str(err.value).startswith(f"{path}:{line}: {message}")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("field, value, line, message", [
    ("hmac", "é" * 64, 2, "record 2 was edited or is not signed with this key"),
    ("prev", "é" * 64, 2, "record 2 was edited or is not signed with this key"),
    ("hmac", "\ud800" * 64, 2, "record 2 was edited or is not signed with this key"),
    ("lab", "\ud800", 2, "record 2 was edited or is not signed with this key"),
])
def test_a_non_ascii_hmac_or_prev_is_a_tampered_record_not_a_crash(lab, tmp_path, field, value, line, message):
    """hmac.compare_digest raises TypeError on a non-ASCII str: a student's
    hand edit crashed `grade --ledger` (and a whole batch of them) instead of
    being named."""
    path = write(lab, tmp_path / "ledger.jsonl", KEY)
    ls = lines(path)
    record = json.loads(ls[1])
    record[field] = value
    ls[1] = json.dumps(record, ensure_ascii="\ud800" in value) + "\n"  # a lone surrogate as JSON's escape
    rewrite(path, ls)
    with pytest.raises(InputError) as err:
        ledger_report.report_from_ledger(lab, str(path), KEY)
    assert str(err.value).startswith(f"{path}:{line}: {message}")


def test_a_ledger_signed_with_another_key_is_rejected(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", b"last-year's key")
    with pytest.raises(InputError) as err:
        ledger_report.report_from_ledger(lab, str(path), KEY)
    assert str(err.value) == (f"{path}:1: record 1 was edited or is not signed with this key "
                              "(no record verifies: is LABGRADE_KEY the key the ledger was written with?)")


def test_an_unsigned_ledger_is_rejected_under_a_key(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", None)
    with pytest.raises(InputError, match=r":1: record 1 is not signed \(no hmac\): it was written without LABGRADE_KEY"):
        ledger_report.report_from_ledger(lab, str(path), KEY)


def test_truncating_the_end_only_loses_the_students_own_steps(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", KEY)
    rewrite(path, lines(path)[:4])
    report = ledger_report.report_from_ledger(lab, str(path), KEY)
    assert report.earned == 70


def test_check_refuses_to_extend_a_tampered_or_signed_ledger(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", KEY, steps=("step1", "step2", "step3"))
    swap_second_and_third(path)
    with pytest.raises(InputError, match="record 2 is out of place"):
        ledger.Ledger(str(path), KEY).append([entry(lab, "step4", TIMES[3])])
    with pytest.raises(InputError, match="signed but LABGRADE_KEY is not set"):
        ledger.Ledger(str(path), None).records()


# -- the report ----------------------------------------------------------------------------

def test_a_complete_signed_ledger_gives_every_step_its_points(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", KEY)
    report = ledger_report.report_from_ledger(lab, str(path), KEY, student="s042")
    assert [s.status for s in report.steps] == [Status.PASSED] * 6
    assert (report.earned, report.points, report.ungraded) == (100, 100, 0)
    assert report.student == "s042" and report.namespace == "default"
    assert {s.kind for s in report.sources} == {"ledger"}
    _, check = report.checks()[0]
    assert check.outcome.message.en == "passed"
    assert check.outcome.notes[0].en == f"recorded at {TIMES[0]} ({path}, record 1)"
    assert not any("unsigned" in n.en for _, c in report.checks() for n in c.outcome.notes)


def test_steps_not_in_the_ledger_are_failed_and_say_so(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", KEY, steps=("step1", "step2", "step3"))
    report = ledger_report.report_from_ledger(lab, str(path), KEY)
    by_step = {s.id: s for s in report.steps}
    assert report.earned == 50
    for step_id in ("step4", "step5", "step6"):
        step = by_step[step_id]
        assert step.status is Status.FAILED and step.earned == 0
        assert all(c.outcome.message.en == "not recorded as done in the ledger" for c in step.checks)
        assert all(c.outcome.message.zh == "记录文件中没有本步骤完成的记录" for c in step.checks)
        assert all(c.outcome.graded for c in step.checks)  # lost, not "not graded"


def test_an_unsigned_ledger_is_graded_with_one_note_for_the_report(lab, tmp_path):
    """Issue 7: the note was missing from the console and repeated 22 times
    in HTML and JSON. It is the report's: said once, in every report."""
    path = write(lab, tmp_path / "ledger.jsonl", None, steps=("step1", "step2"))
    report = ledger_report.report_from_ledger(lab, str(path), None)
    assert report.earned == 30
    unsigned = "the ledger is unsigned (written without LABGRADE_KEY): its records could have been edited"
    assert [n.en for n in report.notes][0] == unsigned
    assert [n.en for n in report.notes][1:] == ["steps not verified against the graded cluster: step1, step2, because "
                                                "the graded cluster could not be reached to confirm this record is its. "
                                                "A ledger kept on the student's own machine is a convenience, not proof"]
    assert not any(n.en == unsigned for _, c in report.checks() for n in c.outcome.notes)


def test_a_signed_ledger_graded_without_the_key_says_it_was_not_verified(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", KEY, steps=("step1",))
    report = ledger_report.report_from_ledger(lab, str(path), None)
    assert any("signed but was not verified" in n.en for n in report.notes)


def test_hand_edited_points_never_exceed_the_rubric(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", None, steps=("step1",))
    edit = json.loads(lines(path)[0])
    edit["checks"][1]["status"] = "failed"
    edit["checks"][1]["earned"] = 500
    rewrite(path, [json.dumps(edit) + "\n"])
    report = ledger_report.report_from_ledger(lab, str(path), None)
    assert report.steps[0].earned == 15  # 500/5 clamps to the check's 5 points


@pytest.mark.parametrize("raw, message", [
    ('"earned":NaN', "record 1 is not valid JSON (NaN is not a JSON number)"),
    ('"earned":-Infinity', "record 1 is not valid JSON (-Infinity is not a JSON number)"),
    ('"earned":1e999', "record 1 has a malformed check entry"),  # read as infinity: full points for a failed check
    ('"points":1e999', "record 1 has a malformed check entry"),
])
def test_a_non_finite_number_in_a_record_is_one_clear_line(lab, tmp_path, raw, message):
    path = write(lab, tmp_path / "ledger.jsonl", None, steps=("step1",))
    line = lines(path)[0].replace('"status":"passed"', '"status":"failed"', 1)
    field = raw.split(":")[0]
    rewrite(path, [line.replace(f'{field}:3.0', raw, 1)])
    assert raw in path.read_text(encoding="utf-8")
    with pytest.raises(InputError) as err:
        ledger_report.report_from_ledger(lab, str(path), None)
    assert str(err.value) == f"{path}:1: {message}"


def test_a_step_recorded_twice_keeps_the_first_record(lab, tmp_path):
    path = tmp_path / "ledger.jsonl"
    first = entry(lab, "step1", TIMES[0], extra_uids={"Deployment/deployment1": "uid-a"})
    again = entry(lab, "step1", TIMES[3], extra_uids={"Deployment/deployment1": "uid-b"})
    rewrite(path, [json.dumps(first) + "\n", json.dumps(again) + "\n"])
    report = ledger_report.report_from_ledger(lab, str(path), None)
    check = report.steps[0].checks[0]
    assert check.outcome.notes[0].en.startswith(f"recorded at {TIMES[0]}")
    assert any(n.en == "this step was recorded again (record 2, with other object uids); the first record counts"
               for n in check.outcome.notes)
    assert report.steps[0].earned == 15


def test_records_from_another_cluster_or_namespace_are_flagged(lab, tmp_path):
    """A ledger stitched from two students' files: record 2 names another
    default namespace (another cluster) and another lab namespace."""
    path = tmp_path / "ledger.jsonl"
    rewrite(path, [json.dumps(entry(lab, "step1", TIMES[0])) + "\n",
                   json.dumps(entry(lab, "step2", TIMES[1], ns_uid="ffffffff-0000-4000-8000-000000000000",
                                    namespace="student7")) + "\n"])
    report = ledger_report.report_from_ledger(lab, str(path), None)
    notes = [n.en for n in report.steps[1].checks[0].outcome.notes]
    assert "recorded in namespace student7, not default" in notes
    assert "recorded in another cluster than record 1 (the default namespace has another uid)" in notes
    assert not any("another cluster" in n.en for n in report.steps[0].checks[0].outcome.notes)


def test_a_ledger_copied_from_another_cluster_is_flagged_against_the_graded_cluster(lab, tmp_path):
    path = write(lab, tmp_path / "ledger.jsonl", KEY, steps=("step1",))
    cluster = build_view([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default", "uid": "another-clusters-uid"}},
    ], kinds=("Namespace", "Service"))
    report = ledger_report.report_from_ledger(lab, str(path), KEY, cluster=cluster)
    assert any("the ledger may be copied" in n.en for n in report.steps[0].checks[0].outcome.notes)


@pytest.mark.parametrize("change, message", [
    ({"lab": "pod-basics"}, "record 1 is for lab 'pod-basics', not 'service-discovery'"),
    ({"step": "step9"}, "record 1 is for step 'step9', which rubric service-discovery does not have"),
    ({"at": "yesterday"}, "record 1 has an unreadable time 'yesterday'"),
    ({"checks": {"id": "x"}}, "record 1 has no valid 'checks'"),
])
def test_a_record_that_does_not_belong_is_one_clear_line(lab, tmp_path, change, message):
    path = tmp_path / "ledger.jsonl"
    rewrite(path, [json.dumps({**entry(lab, "step1", TIMES[0]), **change}) + "\n"])
    with pytest.raises(InputError) as err:
        ledger_report.report_from_ledger(lab, str(path), None)
    assert str(err.value) == f"{path}:1: {message}"


def test_a_broken_line_and_a_missing_file_are_input_errors(lab, tmp_path):
    path = tmp_path / "ledger.jsonl"
    rewrite(path, [json.dumps(entry(lab, "step1", TIMES[0])) + "\n", "\n", '{"step": "step2", \n'])
    with pytest.raises(InputError, match=r"ledger.jsonl:3: record 2 is not valid JSON"):
        ledger_report.report_from_ledger(lab, str(path), None)
    with pytest.raises(InputError, match="nowhere.jsonl: no such ledger file"):
        ledger_report.report_from_ledger(lab, str(tmp_path / "nowhere.jsonl"), None)


def test_an_empty_ledger_reports_every_step_as_not_recorded(lab, tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_text("")
    report = ledger_report.report_from_ledger(lab, str(path), KEY)
    assert report.earned == 0 and all(s.status is Status.FAILED for s in report.steps)


def test_key_comes_from_the_environment():
    assert ledger.key_from_env({"LABGRADE_KEY": "s3cret"}) == b"s3cret"
    assert ledger.key_from_env({"LABGRADE_KEY": ""}) is None
    assert ledger.key_from_env({}) is None
