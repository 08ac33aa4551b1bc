"""Hostile and odd dumps: one line and exit 2 each, never a traceback, a
MemoryError or a misleading message; and a big cluster's dump costs memory
for the lab's namespace only."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from grader import rubric
from grader.sources import dumpread, snapshot
from grader.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "service-discovery"
RUBRIC = rubric.load("service-discovery")


def grade(capsys, *paths: Path, extra: tuple[str, ...] = ()) -> tuple[int, str, str]:
    args = ["grade", "--rubric", "service-discovery", "--no-color", "-q"]
    for p in paths:
        args += ["--snapshot", str(p)]
    rc = main(args + list(extra))
    out, err = capsys.readouterr()
    return rc, out, err


def one_line_error(rc: int, err: str, path: Path, words: str, line: int | None = None) -> None:
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "Error:" not in err.split(": ", 2)[-1][:6]
    where = f"{path}:{line}:" if line else f"{path}"
    assert err.startswith(f"labgrade: error: {where}"), err
    assert words in err, err


def test_a_yaml_alias_bomb_is_refused_with_one_line(tmp_path, capsys):
    lines = ["apiVersion: v1", "kind: List", "items:", "- apiVersion: v1", "  kind: Pod", "  metadata:",
             "    name: bomb", "    labels: {}", "  spec:", "    a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"    a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(10))}]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    rc, _, err = grade(capsys, bomb)
    one_line_error(rc, err, bomb, "aliases that would expand it by more than")


def test_a_recursive_alias_is_refused(tmp_path, capsys):
    p = tmp_path / "loop.yaml"
    p.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: &s {again: *s}\n")
    rc, _, err = grade(capsys, p)
    one_line_error(rc, err, p, "refers to itself")


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(dumpread, "MAX_DUMP_MB", 1)
    p = tmp_path / "big.yaml"
    p.write_text("apiVersion: v1\nkind: List\nitems: []\n" + "#" * (2 * 1024 * 1024) + "\n")
    rc, _, err = grade(capsys, p)
    one_line_error(rc, err, p, "over the 1 MB labgrade reads from one dump")


def test_the_size_limit_is_the_documented_figure():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"{dumpread.MAX_DUMP_MB} MB" in readme


@pytest.mark.parametrize("text", [
    "[" * 5000 + "]" * 5000,
    '{"a":' * 5000 + "1" + "}" * 5000,
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: " + "[" * 5000 + "]" * 5000 + "\n",
])
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path, capsys, text):
    p = tmp_path / "deep.json"
    p.write_text(text)
    rc, _, err = grade(capsys, p)
    one_line_error(rc, err, p, "nested too deeply")


def test_nan_is_refused_with_its_line(tmp_path, capsys):
    p = tmp_path / "nan.yaml"
    p.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: deployment1, namespace: default}\n"
                 "spec:\n  replicas: .nan\n")
    rc, _, err = grade(capsys, p)
    one_line_error(rc, err, p, "NaN or infinity", line=5)
    q = tmp_path / "nan.json"
    q.write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"x": NaN}}')
    rc, _, err = grade(capsys, q)
    one_line_error(rc, err, q, "holds NaN")


def test_unquoted_timestamps_grade_like_quoted_ones(tmp_path, capsys):
    original = EXAMPLES / "correct" / "built.yaml"
    text = original.read_text(encoding="utf-8")
    assert "creationTimestamp: \"" in text
    unquoted = tmp_path / "built.yaml"
    unquoted.write_text(re.sub(r': "(\d{4}-\d\d-\d\dT[0-9:.]+Z)"', r": \1", text))
    _, out_quoted, _ = grade(capsys, original)
    rc, out_unquoted, err = grade(capsys, unquoted)
    assert rc == 0, err
    assert out_unquoted == out_quoted
    snap = snapshot.load(unquoted)
    assert all(isinstance(o["metadata"].get("creationTimestamp", ""), str) for o in snap.objects)


def test_latin1_is_named_not_misread_as_utf16(tmp_path, capsys):
    p = tmp_path / "latin1.yaml"
    p.write_bytes("apiVersion: v1\nkind: Pod\nmetadata:\n  name: caf\u00e9s\n".encode("latin-1"))
    rc, _, err = grade(capsys, p)
    one_line_error(rc, err, p, "is not UTF-8 text (Latin-1", line=4)


def test_bom_less_utf16_still_reads(tmp_path):
    p = tmp_path / "u16.yaml"
    p.write_bytes((EXAMPLES / "correct" / "built.yaml").read_text(encoding="utf-8").encode("utf-16-le"))
    assert snapshot.load(p).objects


def test_kubectl_table_output_says_so_and_shows_the_yaml_command(tmp_path, capsys):
    p = tmp_path / "pods.txt"
    p.write_text("NAME                           READY   STATUS    RESTARTS   AGE\n"
                 "deployment1-5d9c8f7b9d-abcde   1/1     Running   0          5m\n")
    rc, _, err = grade(capsys, p)
    one_line_error(rc, err, p, "looks like kubectl's table output", line=1)
    assert "-o yaml > FILE" in err and "kubectl get " in err


def test_escape_sequences_in_a_dump_never_reach_the_terminal(tmp_path, capsys):
    p = tmp_path / "esc.yaml"
    p.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"kind": "\x1b]0;pwned\x07\x1b[2J\u202ePod", "metadata": {}}]}))
    rc, _, err = grade(capsys, p)
    assert rc == 2
    assert "\x1b" not in err and "\u202e" not in err and "\x07" not in err
    assert "\\u202e" in err  # shown, not obeyed


def test_batch_error_txt_is_sanitised_and_redacted(tmp_path, capsys):
    cls = tmp_path / "class"
    cls.mkdir()
    (cls / "esc.yaml").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"kind": "\x1b]0;pwned\x07Pod\u202e", "metadata": {}}]}))
    (cls / "roster.csv").write_text("student_id,built\nmallory,esc.yaml\n")
    out = tmp_path / "out"
    assert main(["batch", str(cls / "roster.csv"), "--rubric", "service-discovery", "--out", str(out), "-q"]) == 1
    _, err = capsys.readouterr()
    text = (out / "mallory" / "error.txt").read_text(encoding="utf-8")
    assert "has no metadata.name" in text
    for bad in ("\x1b", "\x07", "\u202e"):
        assert bad not in text and bad not in err


# -- memory follows the namespace ------------------------------------------------------

def big_cluster(path: Path, pods: int, as_json: bool = False) -> None:
    """The correct lab in ``default`` plus ``pods`` pods in other namespaces."""
    lab = yaml.load((EXAMPLES / "correct" / "built.yaml").read_text(encoding="utf-8"),
                    Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["items"]
    template = next(o for o in lab if o["kind"] == "Pod")
    noise = []
    for i in range(pods):
        pod = json.loads(json.dumps(template))
        pod["metadata"].update(name=f"noise-{i}", namespace=f"team-{i % 50}", uid=f"uid-noise-{i}")
        noise.append(pod)
    doc = {"apiVersion": "v1", "items": noise[: pods // 2] + lab + noise[pods // 2:], "kind": "List",
           "metadata": {"resourceVersion": ""}}
    if as_json:  # kubectl's shape: json.MarshalIndent with four spaces
        path.write_text(json.dumps(doc, indent=4) + "\n")
    else:  # kubectl's shape: keys sorted, block style (libyaml writes the same text, 4x sooner)
        path.write_text(yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=True,
                                  default_flow_style=False))


@pytest.mark.parametrize("as_json", [False, True])
def test_objects_outside_the_lab_namespace_are_not_kept_and_verdicts_do_not_change(tmp_path, capsys, as_json):
    p = tmp_path / ("big.json" if as_json else "big.yaml")
    big_cluster(p, 200, as_json)
    assert dumpread.stream_file(p, str(p), snapshot.keep_for(RUBRIC, "default")) is not None  # line by line
    kept = snapshot.load_all([p], RUBRIC, None)[0]
    assert not any(o["metadata"].get("namespace", "").startswith("team-") for o in kept.objects)
    assert "Pod" in kept.kinds and "Deployment" in kept.kinds
    everything = snapshot.load(p)
    assert len(everything.objects) - len(kept.objects) >= 200
    _, out_big, _ = grade(capsys, p)
    _, out_small, _ = grade(capsys, EXAMPLES / "correct" / "built.yaml")
    assert out_big.replace(str(p), "X") == out_small.replace(str(EXAMPLES / "correct" / "built.yaml"), "X")


def test_a_truncated_big_dump_is_still_named_truncated(tmp_path, capsys):
    p = tmp_path / "big.yaml"
    big_cluster(p, 50)
    text = p.read_text()
    p.write_text(text[: text.index("\nkind: List")] + "\n")
    rc, _, err = grade(capsys, p)
    assert rc == 2 and "truncated" in err


@pytest.mark.parametrize("as_json", [False, True])
def test_a_stray_nul_byte_is_one_line_naming_the_files_own_line(tmp_path, capsys, as_json):
    """kubectl's Lists are read line by line; the List's own fields after its
    items (where a NUL a broken copy appended ends up) were parsed apart and
    their error named a line counted from there."""
    built = EXAMPLES / "correct" / "built.yaml"
    text = json.dumps(yaml.safe_load(built.read_text()), indent=4) + "\n" if as_json else built.read_text()
    p = tmp_path / ("nul.json" if as_json else "nul.yaml")
    p.write_text(text + "\x00")
    rc, _, err = grade(capsys, p)
    last = text.count("\n") + 1
    one_line_error(rc, err, p, "not valid JSON" if as_json else "control character U+0000 is not allowed", line=last)


def test_a_control_character_inside_an_item_names_its_line(tmp_path, capsys):
    text = (EXAMPLES / "correct" / "built.yaml").read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(text) if "name: deployment2" in line)
    text[at] = text[at].replace("deployment2", "deploy\x01ment2")
    p = tmp_path / "ctl.yaml"
    p.write_text("".join(text))
    rc, _, err = grade(capsys, p)
    one_line_error(rc, err, p, "control character U+0001 is not allowed", line=at + 1)
