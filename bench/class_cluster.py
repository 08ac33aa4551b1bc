"""A class on one shared cluster: how ``labgrade batch`` scales with the class.

For each class size, a stand-in API server in its own process (https with a
throwaway CA, 20 ms added to every request, like a nearby real cluster)
holds the correct example submission once per student namespace, and a
fresh ``labgrade batch`` process grades the roster (one namespace per
student, all on that cluster) through the real client: the class read (one
cluster-wide LIST per kind, paginated), then per student the wget in their
clientpod (pods/exec) and their DNS questions through the one shared
port-forward to CoreDNS. Prints wall time, students per second, the
grader's CPU and the stand-in's (both on the same machine), the requests by
kind, and the grader's peak memory, with two figures that say how much of
it was the machine: a fixed Python loop timed just before (this shared
virtual machine's CPU speed varies by half between runs) and the kernel
CPU this disk takes to create the same number of student folders by plain
``os`` calls (``--results-dir /dev/shm`` takes the disk out). Not a timed test.

    python -m bench.class_cluster                         # 50, 200 and 1000 students
    python -m bench.class_cluster --students 1000 --procs 1  # one grading process
    python -m bench.class_cluster --students 1000 --repeat 5  # five runs, their median
    python -m bench.class_cluster --plain-http            # without TLS
    python -m bench.class_cluster --results-dir /dev/shm  # results on a RAM filesystem
"""
from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.standin_process import StandInProcess  # noqa: E402

CORRECT = ROOT / "examples" / "service-discovery" / "correct" / "built.yaml"


def namespaces(n: int) -> list[str]:
    return [f"s{i:04d}" for i in range(n)]


def build(n: int) -> list[dict]:
    """The cluster, built in the server's process."""
    from bench.batch import class_cluster

    return class_cluster(CORRECT, namespaces(n))


def write_roster(path: Path, kubeconfig: str, n: int) -> None:
    lines = ["student_id,name,namespace,kubeconfig"] + [f"{ns},学生 {ns},{ns},{kubeconfig}" for ns in namespaces(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class TreeMemory:
    """The peak, over the run, of the proportional set size (PSS) summed over
    the batch process and the grading processes it forks: a forked child
    shares the parent's pages until it writes them, so adding up each one's
    RSS would count the class read several times, and ``ru_maxrss`` gives
    only the largest single process. Sampled every 50 ms from ``/proc``."""

    def __init__(self, pid: int):
        import threading

        self.pid = pid
        self.peak_kib = 0
        self.procs = 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        pids, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            pids.append(pid)
            try:
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
        return pids

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            total, pids = 0, self._tree()
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/smaps_rollup") as f:
                        total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
                except (OSError, StopIteration, ValueError):
                    pass
            self.peak_kib = max(self.peak_kib, total)
            self.procs = max(self.procs, len(pids))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def grade_in_a_fresh_process(roster: Path, out: Path, jobs: int, procs: int | None) -> dict[str, float]:
    """Wall seconds, exit code, peak memory, CPU seconds (user and system) and
    processes of one ``labgrade batch`` run (the CPU of its forked children included)."""
    cmd = [sys.executable, "-m", "grader.cli", "batch", str(roster), "--rubric", "service-discovery",
           "--out", str(out), "--jobs", str(jobs), "--no-resume", "--lang", "zh"]
    if procs is not None:
        cmd += ["--procs", str(procs)]
    log = out.parent / "batch.stderr"
    with log.open("wb") as stderr:  # a file, not a pipe: nobody reads a pipe while wait4 waits
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
        memory = TreeMemory(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        memory.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = log.read_text(encoding="utf-8", errors="replace")
    if proc.returncode not in (0, 1) or not (out / "gradebook.csv").exists():
        print(err[-2000:], file=sys.stderr)
    return {"wall": wall, "rc": proc.returncode, "rss_mib": usage.ru_maxrss / 1024, "pss_mib": memory.peak_kib / 1024,
            "procs": memory.procs, "cpu": usage.ru_utime + usage.ru_stime, "sys": usage.ru_stime}


def totals(out: Path) -> dict[str, int]:
    import csv

    seen: dict[str, int] = {}
    with (out / "gradebook.csv").open(encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            key = row.get("total") or row.get("status") or "?"
            seen[key] = seen.get(key, 0) + 1
    return seen


def machine_speed() -> float:
    """Milliseconds a fixed pure-Python loop takes here now: the same run
    varies by half on a shared virtual machine, and this says how fast the
    CPU was when the figures below were taken (compare runs by it)."""
    t0 = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    return (time.perf_counter() - t0) * 1000


def disk_cost(parent: Path, n: int, files: int = 4, size: int = 8192) -> tuple[float, float]:
    """Wall and kernel CPU seconds the filesystem under ``parent`` takes to
    create ``n`` new folders of ``files`` files each (plain ``os`` calls, no
    grader code): what writing one folder per student costs on this disk by
    itself. On some virtual disks this is seconds of kernel CPU per thousand
    folders, which would otherwise read as the grader's."""
    import shutil

    probe = Path(tempfile.mkdtemp(prefix="labgrade-disk-", dir=parent))
    try:
        before, t0 = os.times(), time.perf_counter()
        block = b"x" * size
        for i in range(n):
            folder = probe / f"s{i:04d}"
            folder.mkdir()
            for j in range(files):
                (folder / f"f{j}").write_bytes(block)
        return time.perf_counter() - t0, os.times().system - before.system
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def run(n: int, jobs: int, latency: float, tls: bool, results_dir: str | None = None,
        procs: int | None = None) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="labgrade-class-", dir=results_dir) as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        with StandInProcess(functools.partial(build, n), folder=work, latency=latency, tls=tls) as server:
            loaded = time.perf_counter() - t0
            roster = work / "roster.csv"
            write_roster(roster, server.kubeconfig, n)
            server.clear()
            load = os.getloadavg()[0]
            speed = machine_speed()
            standin_before = server.cpu()
            graded = grade_in_a_fresh_process(roster, work / "results", jobs, procs)
            standin_cpu = server.cpu() - standin_before
            counts, cluster_lists = server.counts()
            seen = totals(work / "results")
        disk_wall, disk_sys = disk_cost(work, n)
    return {**graded, "speed_ms": speed, "disk_wall": disk_wall, "disk_sys": disk_sys, "results_dir": str(work),
            "students": n, "load": load, "counts": counts, "cluster_lists": cluster_lists, "totals": seen, "objects": server.objects, "loaded": loaded,
            "standin_cpu": standin_cpu}


def report(r: dict) -> None:
    """One run's figures."""
    n = r["students"]
    counts = r["counts"]
    lists = counts.get("list (cluster-wide)", 0)
    per_ns = counts.get("list (one namespace)", 0)
    print(f"\n{n} students ({r['objects']} objects; server ready in {r['loaded']:.1f} s)")
    print(f"  wall time          {r['wall']:.2f} s   ({n / r['wall']:.0f} students/s)   exit {r['rc']}")
    print(f"  grader CPU         {r['cpu']:.1f} s ({r['cpu'] / n * 1000:.1f} ms per student, {r['sys']:.1f} s of it in "
          f"the kernel: files, sockets, GIL hand-offs); "
          f"machine load average {r['load']:.1f} at the start, "
          f"a fixed Python loop {r['speed_ms']:.0f} ms")
    print(f"  stand-in CPU       {r['standin_cpu']:.1f} s (the API server's process, on the same "
          f"{os.cpu_count()} CPUs)")
    print(f"  results disk       {r['disk_sys']:.1f} s of kernel CPU ({r['disk_wall']:.1f} s wall) for {n} new folders "
          f"of 4 files by plain os calls under {Path(r['results_dir']).parent}: this disk's own share of the above")
    print(f"  peak memory        {r['pss_mib']:.0f} MiB over {r['procs']} grading process(es) (PSS summed, "
          f"sampled every 50 ms; the largest one's max RSS {r['rss_mib']:.0f} MiB)")
    print(f"  totals             {r['totals']}")
    pages = ", ".join(f"{path.rsplit('/', 1)[1]} {c}" for path, c in sorted(r["cluster_lists"].items()))
    print(f"  LIST pages         {lists} cluster-wide over {len(r['cluster_lists'])} kinds ({pages}); "
          f"{per_ns} in one namespace; {counts.get('get', 0)} GETs")
    print(f"  probes             {counts.get('exec', 0)} exec, {counts.get('portforward', 0)} port-forward")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, action="append", help="class size (repeatable; default 50, 200, 1000)")
    ap.add_argument("--jobs", type=int, default=16)
    ap.add_argument("--procs", type=int, help="labgrade batch --procs (default: the batch's own choice)")
    ap.add_argument("--latency", type=float, default=0.020, help="seconds added to every request")
    ap.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="grade each class size N times and report the median (a shared VM's speed varies by half)")
    ap.add_argument("--plain-http", action="store_true", help="serve http instead of https")
    ap.add_argument("--results-dir", metavar="DIR",
                    help="where the results folders are made (default: the temporary folder; /dev/shm takes the disk out)")
    args = ap.parse_args(argv)
    sizes = args.students or [50, 200, 1000]
    tls = not args.plain_http
    print(f"stand-in in its own process, {'https' if tls else 'http'}, {args.latency * 1000:g} ms per request; "
          f"labgrade batch --jobs {args.jobs}"
          f"{'' if args.procs is None else f' --procs {args.procs}'} as a fresh process; {os.cpu_count()} CPUs")
    rows = []
    for n in sizes:
        runs = [run(n, args.jobs, args.latency, tls, args.results_dir, args.procs) for _ in range(args.repeat)]
        for r in runs:
            report(r)
        if len(runs) > 1:
            walls = sorted(r["wall"] for r in runs)
            print(f"\n{n} students, {len(runs)} runs: wall {', '.join(f'{w:.2f}' for w in walls)} s; "
                  f"median {walls[len(walls) // 2]:.2f} s (the table below shows the median run)")
        rows.append(sorted(runs, key=lambda r: r["wall"])[len(runs) // 2])
    if len(rows) > 1:
        print("\nstudents  wall s  students/s  CPU ms/student  stand-in CPU s  requests/student  peak MiB")
        for r in rows:
            total = sum(r["counts"].values())
            print(f"{r['students']:>8}  {r['wall']:6.2f}  {r['students'] / r['wall']:10.0f}  "
                  f"{r['cpu'] / r['students'] * 1000:14.1f}  {r['standin_cpu']:14.1f}  {total / r['students']:16.2f}  "
                  f"{r['pss_mib']:8.0f}")
    return 0 if all(r["rc"] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
