#!/usr/bin/env python3
"""PostgreSQL source: `plexus build` of a project reading a 1,000,000-row table.

Issue figure: a PostgreSQL table of 1M rows loads in <= 5 s.

The script creates `plexus_bench.users` (id, email, full_name, plan, mrr numeric, seats,
active, signed_up_at timestamptz, updated_at timestamp, attrs jsonb) with generate_series in
the server given (default this machine's, 127.0.0.1:5432, database test), then prints:

- the floor: psql's `\\copy (SELECT ...) TO '/dev/null' WITH (FORMAT binary)` of the same
  rows (what the server and the wire cost, nothing decoded);
- a full load: `plexus build` (the `load sources` stage: read, decode, map, collect
  identifiers; and the whole build), and the peak RSS;
- an incremental load after 1% of the rows changed (`cursor: updated_at`,
  `primary_key: id`): rows read from the database and the same two times.

Usage: python3 bench/postgres.py [--plexus PATH] [--rows N] [--url URL] [--keep DIR]
  --plexus  the binary (default: $CARGO_TARGET_DIR/release/plexus)
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from benchlib import build
import time

SETUP = """
DROP SCHEMA IF EXISTS plexus_bench CASCADE;
CREATE SCHEMA plexus_bench;
CREATE TABLE plexus_bench.users (
  id bigint PRIMARY KEY, email text NOT NULL, full_name text, plan text,
  mrr numeric(10,2), seats int, active boolean,
  signed_up_at timestamptz NOT NULL, updated_at timestamp NOT NULL, attrs jsonb);
INSERT INTO plexus_bench.users
SELECT i, 'user' || i || '@company' || (i % 20000) || '.example.org',
       'User ' || i, (ARRAY['free','team','business'])[1 + i % 3],
       (i % 500) * 1.5, 1 + i % 40, i % 7 <> 0,
       timestamptz '2023-01-01 00:00:00+00' + i * interval '11 seconds',
       timestamp '2024-01-01 00:00:00' + i * interval '1 second',
       jsonb_build_object('source', 'bench', 'n', i % 100)
FROM generate_series(1, {rows}) AS i;
CREATE INDEX ON plexus_bench.users (updated_at);
ANALYZE plexus_bench.users;
"""

SOURCE = """name: bench_postgres
identity: {{ blocklist: {{ builtin: false }} }}
sources:
  - name: users
    type: postgres
    url: {url}
    table: plexus_bench.users
    cursor: updated_at
    primary_key: id
    event:
      timestamp: signed_up_at
      name: "'signed_up'"
      properties: {{ plan: plan, mrr: mrr }}
    participants:
      - role: user
        identifiers: {{ user_id: id, email: email }}
        traits: {{ name: full_name }}
"""


def psql(url, sql):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"psql failed: {out.stderr}")


def cursor_rows(plexus, root):
    out = subprocess.run(
        [plexus, "sql", "--project", root, "--format", "json",
         "SELECT rows_read, rows_kept, full_load FROM source_cursors"],
        capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


def main():
    ap = argparse.ArgumentParser()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/plexus-target"))
    ap.add_argument("--plexus", default=os.path.join(target, "release", "plexus"))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--url", default=os.environ.get(
        "PLEXUS_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--keep")
    a = ap.parse_args()
    print(f"# postgres source, {a.rows:,} rows, {os.cpu_count()} cores, {a.plexus}")
    t = time.time()
    psql(a.url, SETUP.format(rows=a.rows))
    print(f"table created in {time.time() - t:.1f} s")

    t = time.time()
    psql(a.url, "\\copy (SELECT * FROM plexus_bench.users) TO '/dev/null' WITH (FORMAT binary)")
    floor = time.time() - t
    print(f"{'floor: psql binary copy to /dev/null':<44} {floor:>7.2f} s")

    root = a.keep or tempfile.mkdtemp(prefix="plexus-postgres-bench-")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "plexus.yml"), "w") as f:
        f.write(SOURCE.format(url=a.url))
    _, load, total, rss = build(a.plexus, root)
    c = cursor_rows(a.plexus, root)
    print(f"{'full load (load sources / build)':<44} {load:>7.2f} s {total:>7.2f} s  "
          f"{a.rows / load / 1e6:.2f} M rows/s  rows read {c['rows_read']:,}  peak {rss:.0f} MB")

    changed = a.rows // 100
    psql(a.url, f"UPDATE plexus_bench.users SET plan = 'enterprise', "
                f"updated_at = now()::timestamp WHERE id % 100 = 0")
    _, load, total, rss = build(a.plexus, root)
    c = cursor_rows(a.plexus, root)
    print(f"{'incremental, 1% changed (load / build)':<44} {load:>7.2f} s {total:>7.2f} s  "
          f"rows read {c['rows_read']:,} (changed {changed:,}), kept {c['rows_kept']:,}  "
          f"peak {rss:.0f} MB")
    psql(a.url, "DROP SCHEMA plexus_bench CASCADE")
    if not a.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
