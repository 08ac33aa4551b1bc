#!/bin/sh
# labgrade-job: grade the student on roster row JOB_COMPLETION_INDEX.
#
# Run by each pod of the Indexed Job in deploy/job.yaml (installed in the
# image as /usr/local/bin/labgrade-job). Row N is the N-th data row of the
# roster CSV (0-based, after the header line), so completions can exceed the
# class size: an index past the end prints a "no-student" line and succeeds.
#
# Writes to $LABGRADE_OUT: NNNN-<namespace>.json (the full report), .xml
# (JUnit) and .txt (the console report, in $LABGRADE_LANG); prints exactly one
# JSON line on stdout (index, status, student, exit code and the whole report)
# so that `kubectl logs` alone collects the class. Diagnostics go to stderr.
#
# Student strings (id, name, namespace) come from the roster: Python's csv
# module reads them, and they travel only as quoted variables and single argv
# items, never evaluated, never part of a command line. The namespace must be
# a DNS-1123 label. Arguments given to this script (the Job's `args:`) are
# passed on to `labgrade grade` unchanged.
#
# With LABGRADE_STATE_DIR set (a directory that outlives the pod: a
# PersistentVolumeClaim), each student gets `--state DIR/NNNN-<namespace>.state.yaml`:
# the first run of the Job grades the built phase live and keeps it, a run
# after the students' cleanup grades the cleaned phase and the built one from
# that file, as `labgrade grade --state` does on a laptop.
#
# Exit status: 0 when the student was graded (whatever the score), when the
# index is past the roster's end, or when the row itself is unusable (a retry
# cannot fix it; its JSON line says "roster-error"); 2 when the Job is
# misconfigured (no index, unreadable roster); otherwise non-zero, labgrade's
# own status where it has one, so that the Job retries the pod.
#
# Once `labgrade batch ROSTER --index N` exists, this script can give way to
#   labgrade batch /roster/roster.csv --rubric service-discovery \
#     --index "$JOB_COMPLETION_INDEX" --out /results
set -u

roster=${LABGRADE_ROSTER:-/roster/roster.csv}
rubric=${LABGRADE_RUBRIC:-service-discovery}
out=${LABGRADE_OUT:-/results}
python=${LABGRADE_PYTHON:-python3}
labgrade=${LABGRADE_BIN:-labgrade}
state_dir=${LABGRADE_STATE_DIR:-}
index=${JOB_COMPLETION_INDEX:-}

die() {
    printf 'labgrade-job: %s\n' "$*" >&2
    exit 2
}

case $index in
    '' | *[!0-9]*) die "JOB_COMPLETION_INDEX must be a row number (0, 1, ...), got '$index'" ;;
esac

# The Python half, its mode first. Student strings reach it only as argv
# items and leave it only as plain lines or inside a JSON line.
#
#   pick ROSTER INDEX: prints the row's student_id, name, namespace and file
#     stem, one a line (status 0); or prints the "no-student" (status 3) or
#     "roster-error" (status 4) JSON line; status 2 when the roster is unusable.
#     Rows are counted as `labgrade batch` counts them: blank rows and rows
#     whose student_id starts with "#" are skipped; UTF-8, UTF-16 or GBK text;
#     comma, semicolon or tab separated. Columns are found by the header
#     (student_id,name,namespace[,context,...] in any order); a roster without
#     one is read as student_id,name,namespace. An empty student_id falls back
#     to the namespace.
#   line INDEX STATUS CODE STUDENT_ID NAME NAMESPACE [REPORT]: prints the JSON
#     line, with the report read from REPORT; status 1 (and "grader-failed" in
#     the line) when REPORT is not JSON.
helper_py='
import csv, io, json, re, sys

def line(index, status, code=None, sid="", name="", ns="", report=None):
    text = json.dumps({"index": int(index), "status": status, "exit_code": code,
                       "student_id": sid or None, "name": name or None,
                       "namespace": ns or None, "report": report},
                      ensure_ascii=False, separators=(",", ":"))
    # lone surrogates (exec output in a report) stay escapes: UTF-8 cannot hold them
    print(re.sub("[\ud800-\udfff]", lambda m: "\\u%04x" % ord(m.group()), text))

def decode(raw):
    """As labgrade batch reads rosters: UTF-16 with a BOM, UTF-8 (BOM or
    not), or GB18030/GBK, what Excel on a Chinese Windows saves."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")

def pick(path, index):
    index = int(index)
    try:
        with open(path, "rb") as f:
            text = decode(f.read())
        first = next((l for l in text.splitlines() if l.strip()), "")
        counts = {d: first.count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=lambda d: (counts[d], d == ","))
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter if counts[delimiter] else ",")
                if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        print("labgrade-job: cannot read the roster %s: %s" % (path, exc), file=sys.stderr)
        return 2
    columns = {"student_id": 0, "name": 1, "namespace": 2}
    first = [c.strip().lower() for c in rows[0]] if rows else []
    if "student_id" in first or "namespace" in first:
        rows.pop(0)
        if "namespace" not in first:
            print("labgrade-job: the roster %s has no namespace column" % path, file=sys.stderr)
            return 2
        columns = {k: first.index(k) if k in first else None for k in columns}
    field = lambda row, k: row[columns[k]].strip() if columns[k] is not None and columns[k] < len(row) else ""
    rows = [r for r in rows if not field(r, "student_id").startswith("#")]
    if index >= len(rows):
        print("labgrade-job: no row %d: the roster has %d students" % (index, len(rows)), file=sys.stderr)
        line(index, "no-student")
        return 3
    row = rows[index]
    sid, name, ns = (field(row, k) for k in columns)
    sid = sid or ns
    problem = None
    if any(ch in v for v in (sid, name, ns) for ch in "\r\n"):
        problem = "a field holds a line break"
    elif not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", ns):
        problem = "namespace %r is not a Kubernetes namespace name" % ns
    if problem:
        print("labgrade-job: row %d: %s" % (index, problem), file=sys.stderr)
        line(index, "roster-error", None, sid, name, ns)
        return 4
    print(sid, name, ns, "%04d-%s" % (index, ns), sep="\n")
    return 0

def report(index, status, code, sid, name, ns, path=""):
    data = None
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            print("labgrade-job: the report %s is unreadable: %s" % (path, exc), file=sys.stderr)
            status = "grader-failed"
    line(index, status, int(code), sid, name, ns, data)
    return 1 if path and data is None else 0

sys.exit({"pick": pick, "line": report}[sys.argv[1]](*sys.argv[2:]))
'
helper() { # UTF-8 whatever the locale: names are often Chinese
    PYTHONIOENCODING=utf-8 "$python" -c "$helper_py" "$@"
}

row=$(helper pick "$roster" "$index")
case $? in
    0) ;;
    3 | 4) printf '%s\n' "$row"; exit 0 ;;
    *) die "cannot pick row $index from $roster" ;;
esac
{
    IFS= read -r student_id
    IFS= read -r name
    IFS= read -r namespace
    IFS= read -r stem
} <<EOF
$row
EOF

mkdir -p "$out" || die "cannot create $out"
json=$out/$stem.json
junit=$out/$stem.xml
text=$out/$stem.txt
rm -f "$json" "$junit" "$text"
if [ -n "$state_dir" ]; then
    mkdir -p "$state_dir" || die "cannot create $state_dir"
    set -- "--state=$state_dir/$stem.state.yaml" "$@"
fi

printf 'labgrade-job: row %s: grading namespace %s\n' "$index" "$namespace" >&2
"$labgrade" grade "--rubric=$rubric" "--namespace=$namespace" "--student=$student_id" \
    "--json=$json" "--junit=$junit" --no-color "$@" >"$text"
code=$?

# 0: graded; 1: graded, below a --fail-under given in args (an uncaught crash
# also exits 1, but writes no report). Anything else, or no report: failed.
if { [ "$code" -eq 0 ] || [ "$code" -eq 1 ]; } && [ -s "$json" ]; then
    helper line "$index" graded "$code" "$student_id" "$name" "$namespace" "$json"
    exit # 0, or 1 when the report is not JSON (the line then says grader-failed)
fi
helper line "$index" grader-failed "$code" "$student_id" "$name" "$namespace"
[ "$code" -eq 0 ] && exit 1
exit "$code"
