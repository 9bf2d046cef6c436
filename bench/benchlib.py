"""Helpers the bench scripts share."""

import json
import os
import re
import subprocess
import sys
import time


def build(plexus, root, extra=()):
    """Runs `plexus build --json` (with the arguments `extra`) under /usr/bin/time -v; returns
    (rows read, seconds of the `load sources` stage, seconds of the whole build, peak RSS in
    MB)."""
    out = subprocess.run(
        ["/usr/bin/time", "-v", plexus, "build", "--project", root, "--json", "--no-progress",
         *extra],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"build failed in {root}:\n{out.stdout}\n{out.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    report = json.loads(out.stdout)
    stages = {s["name"]: s["seconds"] for s in report["stages"]}
    rows = sum(s["rows_read"] for s in report["sources"])
    return rows, stages.get("load sources", 0.0), report["seconds"], rss / 1024


def busy_cores(seconds=1.0):
    """Cores' worth of CPU the whole machine used over `seconds`, from /proc/stat (None where
    there is no /proc/stat)."""
    def ticks():
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    try:
        total0, idle0 = ticks()
        time.sleep(seconds)
        total1, idle1 = ticks()
    except OSError:
        return None
    cores = os.cpu_count() or 1
    spent = total1 - total0
    return cores * (spent - (idle1 - idle0)) / spent if spent else 0.0


def warn_if_busy(limit=0.2):
    """Warns on stderr when something else keeps the CPU busy before a measurement. A niced
    process does not make room: with the scheduler's autogroups (Linux's default), a busy
    process started from another session gets an equal share whatever its nice value, so a
    `cargo build` in another terminal halves a 2-core benchmark."""
    busy = busy_cores()
    if busy is not None and busy > limit:
        print(f"# warning: {busy:.2f} cores were busy before the benchmark started; "
              "its figures will be low (stop other work, or `kill -STOP` it while measuring)",
              file=sys.stderr)
    return busy
