#!/usr/bin/env python3
"""Plexus trunk benchmarks, all measured in one run on this machine.

Prints, for the record in bench/README.md:
  1. `plexus build` of examples/jaffle_gaggle (release binary, whole process, wall clock),
     and the build's own in-process seconds;
  2. the anchor: the same three tables computed by DuckDB from hand-written SQL
     (bench/jaffle_duckdb.sql), in-process and as a whole process;
  3. whether Plexus's exported CSVs are byte-identical to DuckDB's;
  4. `plexus demo` end to end at its default size (generate + build), whole process.

Usage: python3 bench/run.py [--repeat N] [--skip-build] [--json]
Needs: cargo, and the `duckdb` Python package (installed with pip if missing).
"""
import argparse
import filecmp
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/plexus-target"))
PLEXUS = os.path.join(TARGET, "release", "plexus")
TABLES = ["contacts", "gaggles", "corporate_accounts"]


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def timed(cmd, repeat, warmup=1, **kw):
    """Wall-clock seconds of `repeat` runs of a whole process (after `warmup` runs)."""
    for _ in range(warmup):
        run(cmd, **kw)
    times = []
    last = None
    for _ in range(repeat):
        t = time.perf_counter()
        last = run(cmd, **kw)
        times.append(time.perf_counter() - t)
    return times, last


def summary(times):
    return {"best": min(times), "median": statistics.median(times), "runs": len(times)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--skip-build", action="store_true", help="use the release binary as it is")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    try:
        import duckdb  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "duckdb"], check=True)

    if not args.skip_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "plexus"], cwd=ROOT, check=True,
                       env={**os.environ, "CARGO_TARGET_DIR": TARGET})
    env = {**os.environ, "NO_COLOR": "1"}
    data = os.environ.get("JAFFLE_GAGGLE_DATA", os.path.join(ROOT, "..", "shared", "data", "jaffle_gaggle"))
    env["JAFFLE_GAGGLE_DATA"] = os.path.abspath(data)

    work = tempfile.mkdtemp(prefix="plexus-bench-")
    try:
        project = os.path.join(work, "jaffle_gaggle")
        shutil.copytree(os.path.join(ROOT, "examples", "jaffle_gaggle"), project,
                        ignore=shutil.ignore_patterns("warehouse", ".plexus*"))

        # 1. plexus build, whole process
        times, last = timed([PLEXUS, "build", "--json", "--no-progress", "--project", project], args.repeat, env=env)
        report = json.loads(last.stdout)
        inproc = []
        for _ in range(args.repeat):
            inproc.append(json.loads(run([PLEXUS, "build", "--json", "--project", project], env=env).stdout)["seconds"])
        plexus_out = os.path.join(work, "plexus_out")
        os.makedirs(plexus_out)
        for t in TABLES:
            run([PLEXUS, "export", t, "--project", project, "--format", "csv", "-o", os.path.join(plexus_out, t + ".csv")], env=env)

        # 2. DuckDB anchor: in-process (its own timer) and whole process
        duck_out = os.path.join(work, "duckdb_out")
        duck = json.loads(run([sys.executable, os.path.join(BENCH, "jaffle_duckdb.py"), "--out", duck_out,
                               "--repeat", str(args.repeat), "--json"], env=env).stdout)
        duck_times, _ = timed([sys.executable, os.path.join(BENCH, "jaffle_duckdb.py"), "--out", duck_out, "--repeat", "1"],
                              args.repeat, env=env)

        # 3. identical outputs?
        identical = {t: filecmp.cmp(os.path.join(plexus_out, t + ".csv"), os.path.join(duck_out, t + ".csv"), shallow=False)
                     for t in TABLES}

        # 4. plexus demo end to end
        demo_times = []
        for i in range(max(3, args.repeat // 3)):
            d = os.path.join(work, f"demo{i}")
            t = time.perf_counter()
            run([PLEXUS, "demo", "--dir", d, "--json"], env=env)
            demo_times.append(time.perf_counter() - t)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    duck_inproc = duck.get("duckdb_query_seconds", duck.get("seconds"))
    results = {
        "plexus_build_jaffle_wall": summary(times),
        "plexus_build_jaffle_inprocess": summary(inproc),
        "plexus_build_stages": {s["name"]: s["seconds"] for s in report["stages"]},
        "duckdb_jaffle_inprocess_best": duck_inproc,
        "duckdb_jaffle_wall": summary(duck_times),
        "outputs_identical_to_duckdb": identical,
        "plexus_demo_wall": summary(demo_times),
        "machine": {"cores": os.cpu_count()},
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"plexus build examples/jaffle_gaggle  wall     best {results['plexus_build_jaffle_wall']['best']:.3f} s  "
          f"median {results['plexus_build_jaffle_wall']['median']:.3f} s  ({args.repeat} runs)")
    print(f"plexus build examples/jaffle_gaggle  in-proc  best {min(inproc):.3f} s  median {statistics.median(inproc):.3f} s")
    print("  stages: " + ", ".join(f"{k} {v:.3f} s" for k, v in results["plexus_build_stages"].items()))
    print(f"duckdb  same three tables            in-proc  best {duck_inproc:.3f} s")
    print(f"duckdb  same three tables            wall     best {min(duck_times):.3f} s  median {statistics.median(duck_times):.3f} s"
          " (python + import duckdb + SQL + CSVs)")
    print("outputs identical to DuckDB's: " + ", ".join(f"{t} {'yes' if ok else 'NO'}" for t, ok in identical.items()))
    print(f"plexus demo (default size)           wall     best {min(demo_times):.3f} s  median {statistics.median(demo_times):.3f} s")


if __name__ == "__main__":
    main()
