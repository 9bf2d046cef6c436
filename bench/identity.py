#!/usr/bin/env python3
"""Identity engine figures, measured in one run on this machine.

Prints, for the record in bench/README.md:
  1. the resolution core (`cargo bench -p plexus-identity --bench resolve`): identifier
     occurrences per second through interning, assertion sets and the guarded resolver on
     one thread, and the time to resolve a 1,000,000-node chain;
  2. `plexus demo` data at --persons N (default 100,000): generation time, source rows,
     then `plexus build` wall time, peak RSS (from /usr/bin/time) and seconds per stage;
  3. `plexus eval` against the demo's ground truth: pairwise precision, recall and F1,
     impure clusters, next to the best F1 the data allows (summary.json).

Usage: python3 bench/identity.py [--persons N] [--skip-core] [--keep DIR] [--json]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
from benchlib import warn_if_busy  # noqa: E402
ROOT = os.path.dirname(BENCH)
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/plexus-target"))
PLEXUS = os.path.join(TARGET, "release", "plexus")
ENV = {**os.environ, "NO_COLOR": "1", "CARGO_TARGET_DIR": TARGET}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=ENV, **kw)


def timed_rss(cmd):
    """Wall seconds and peak RSS (MiB) of one whole process, and its stdout."""
    t = time.perf_counter()
    out = run(["/usr/bin/time", "-f", "PEAK_RSS_KB=%M"] + cmd)
    wall = time.perf_counter() - t
    rss = int(re.search(r"PEAK_RSS_KB=(\d+)", out.stderr).group(1)) / 1024
    return wall, rss, out.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--skip-core", action="store_true", help="skip the resolution-core bench")
    ap.add_argument("--keep", help="generate the demo into DIR and keep it")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = {"machine": {"cores": os.cpu_count()}, "persons": args.persons}

    if not args.skip_core:
        out = run(["cargo", "bench", "--quiet", "-p", "plexus-identity", "--bench", "resolve"], cwd=ROOT)
        results["core"] = [l for l in out.stdout.splitlines() if l.strip()]

    run(["cargo", "build", "--release", "--quiet", "--bin", "plexus"], cwd=ROOT)
    work = args.keep or tempfile.mkdtemp(prefix="plexus-identity-bench-")
    project = os.path.join(work, "demo")
    try:
        shutil.rmtree(project, ignore_errors=True)
        t = time.perf_counter()
        # Generate only (the demo command also builds; time the build on its own below).
        gen = json.loads(run([PLEXUS, "demo", "--json", "--no-progress", "--persons", str(args.persons),
                              "--dir", project]).stdout)
        results["demo_generate_and_build_wall"] = time.perf_counter() - t
        rows = sum(s["rows_read"] for s in gen["sources"])
        results["source_rows"] = rows
        results["busy_cores_before_build"] = warn_if_busy()
        wall, rss, out = timed_rss([PLEXUS, "build", "--json", "--no-progress", "--project", project])
        report = json.loads(out)
        results["build"] = {
            "wall": wall,
            "peak_rss_mib": rss,
            "in_process": report["seconds"],
            "stages": {s["name"]: s["seconds"] for s in report["stages"]},
            "persons": report["persons"],
            "rows_per_second": rows / wall,
        }
        ev = json.loads(run([PLEXUS, "eval", "--json", "--project", project, "--truth",
                             os.path.join(project, "ground_truth", "records.csv")]).stdout)
        summary = json.load(open(os.path.join(project, "ground_truth", "summary.json")))
        results["eval"] = {k: ev[k] for k in ("precision", "recall", "f1", "impure_clusters", "split_persons",
                                              "predicted_persons", "true_persons")}
        results["eval"]["largest_cluster_records"] = ev["largest_cluster"]["records"]
        results["eval"]["best_possible_f1"] = summary["identity"]["best_possible"]["f1"]
        results["eval"]["expected_persons"] = summary["identity"]["expected_persons"]
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    if args.json:
        print(json.dumps(results, indent=2))
        return
    for line in results.get("core", []):
        print(line)
    b, e = results["build"], results["eval"]
    print(f"demo at {args.persons} persons: {results['source_rows']:,} source rows")
    print(f"plexus build: {b['wall']:.1f} s wall, peak RSS {b['peak_rss_mib']:.0f} MiB, "
          f"{b['rows_per_second'] / 1e6:.2f}M rows/s, {b['persons']:,} persons")
    print("  stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in b["stages"].items()))
    print(f"plexus eval: precision {e['precision']:.6f}, recall {e['recall']:.6f}, F1 {e['f1']:.6f} "
          f"(best the data allows {e['best_possible_f1']:.6f}); impure clusters {e['impure_clusters']}, "
          f"split persons {e['split_persons']}, largest cluster {e['largest_cluster_records']} records; "
          f"persons {e['predicted_persons']:,} (expected {e['expected_persons']:,})")


if __name__ == "__main__":
    main()
