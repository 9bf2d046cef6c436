#!/usr/bin/env python3
"""Load test of `plexus serve` on the demo: timeline and search latency under load, and the
web app's first-load transfer.

    python3 bench/serve.py --persons 100000 [--keep DIR] [--duration 15] [--connections 50]

Generates and builds the demo (or reuses DIR/warehouse with --keep DIR when it exists),
starts the release binary's server on 127.0.0.1, and drives it with `wrk` (Debian package)
over a list of real URLs: the timelines of 2,000 random persons (first page, 50 events) and
searches for 2,000 prefixes of real names and emails. Prints requests/s and latency
percentiles as wrk measures them (p50, p90, p99), and the bytes of the page's first load.
Server and load generator share the machine's cores.
"""
import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "plexus")

LUA = r"""
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %%d, \"seconds\": %%f, \"errors\": %%d, \"non2xx\": %%d, \"p50_ms\": %%f, \"p90_ms\": %%f, \"p99_ms\": %%f, \"max_ms\": %%f}\n",
    summary.requests, summary.duration / 1e6, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def sql(project, query):
    out = subprocess.run([BIN, "sql", "--project", project, "--format", "json", query],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def wrk(base, paths, duration, connections, tmp):
    listing = os.path.join(tmp, "paths.txt")
    with open(listing, "w") as f:
        f.write("\n".join(paths) + "\n")
    script = os.path.join(tmp, "rotate.lua")
    with open(script, "w") as f:
        f.write(LUA % listing)
    out = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "-s", script, base],
                         check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("JSON "))
    r = json.loads(line[5:])
    r["rps"] = r["requests"] / r["seconds"]
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=100000)
    ap.add_argument("--keep", help="project folder to (re)use")
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--port", type=int, default=7791)
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    tmp = tempfile.mkdtemp(prefix="plexus-serve-bench-")
    project = args.keep or os.path.join(tmp, "acme")
    if not os.path.exists(os.path.join(project, "warehouse", "build_manifest.parquet")):
        subprocess.run([BIN, "demo", "--persons", str(args.persons), "--dir", project, "--quiet"], check=True)
    rows = sql(project, "SELECT count(*) AS persons FROM persons")[0]
    timeline_rows = sql(project, "SELECT count(*) AS n FROM timeline")[0]["n"]
    print(f"warehouse: {rows['persons']} persons, {timeline_rows} timeline rows ({project})")

    started = time.time()
    server = subprocess.Popen([BIN, "serve", "--project", project, "--addr", f"127.0.0.1:{args.port}", "--quiet"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{args.port}"
    try:
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health") as r:
                    if r.status == 200:
                        break
            except Exception:
                if server.poll() is not None:
                    sys.exit(server.stderr.read().decode())
                time.sleep(0.1)
        load_s = time.time() - started
        rss = int(re.search(r"VmRSS:\s+(\d+)", open(f"/proc/{server.pid}/status").read()).group(1)) / 1024
        print(f"server ready in {load_s:.2f} s, RSS {rss:.0f} MiB")

        rng = random.Random(7)
        ids = [r["person_id"] for r in sql(project, "SELECT person_id FROM persons ORDER BY random() LIMIT 2000")]
        timelines = [f"/api/persons/{i}/timeline" for i in ids]
        words = sql(project, "SELECT name, email FROM persons WHERE name IS NOT NULL AND email IS NOT NULL ORDER BY random() LIMIT 2000")
        searches = []
        for w in words:
            text = w["email"] if rng.random() < 0.5 else w["name"].split()[-1]
            searches.append("/api/search?q=" + urllib.request.quote(text[: rng.randint(3, max(3, len(text)))]))

        # The page's first load: the HTML, script and style sheet, and the API calls a person
        # page makes (profile, sources, first timeline page).
        first = 0
        for path in ["/", "/assets/app.js", "/assets/app.css", f"/api/persons/{ids[0]}", "/api/sources",
                     f"/api/persons/{ids[0]}/timeline?limit=50"]:
            with urllib.request.urlopen(base + path) as r:
                first += len(r.read())

        results = {}
        for name, paths in [("timeline", timelines), ("search", searches)]:
            results[name] = wrk(base, paths, args.duration, args.connections, tmp)
        print()
        print(f"{'endpoint':<10} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
        for name, r in results.items():
            print(f"{name:<10} {r['rps']:>8.0f} {r['p50_ms']:>8.2f} {r['p90_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['max_ms']:>8.1f} {r['errors'] + r['non2xx']:>7}")
        print(f"\nfirst load of a person page: {first / 1024:.1f} KiB (uncompressed)")
        print(json.dumps({"persons": rows["persons"], "timeline_rows": timeline_rows, "ready_s": load_s, "rss_mib": rss,
                          "first_load_bytes": first, **{k: v for k, v in results.items()}}))
    finally:
        server.terminate()
        server.wait()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
