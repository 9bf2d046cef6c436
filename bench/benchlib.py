"""Helpers the bench scripts share."""

import json
import re
import subprocess
import sys


def build(plexus, root):
    """Runs `plexus build --json` under /usr/bin/time -v; returns (rows read, seconds of the
    `load sources` stage, seconds of the whole build, peak RSS in MB)."""
    out = subprocess.run(
        ["/usr/bin/time", "-v", plexus, "build", "--project", root, "--json", "--no-progress"],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        sys.exit(f"build failed in {root}:\n{out.stdout}\n{out.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1))
    report = json.loads(out.stdout)
    stages = {s["name"]: s["seconds"] for s in report["stages"]}
    rows = sum(s["rows_read"] for s in report["sources"])
    return rows, stages.get("load sources", 0.0), report["seconds"], rss / 1024
