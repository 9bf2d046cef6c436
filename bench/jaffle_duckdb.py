#!/usr/bin/env python3
"""DuckDB speed anchor for the JaffleGaggle example.

Runs bench/jaffle_duckdb.sql (hand-written SQL implementing
docs/JAFFLE_GAGGLE_SPEC.md) in-process with the `duckdb` Python package and
writes contacts.csv, gaggles.csv and corporate_accounts.csv in the spec's §7
format.

Data dir: env JAFFLE_GAGGLE_DATA, default ../shared/data/jaffle_gaggle relative
to the repository root (the parent of bench/).

Timed section (duckdb_query_seconds): executing the whole SQL script (CSV
reading included) plus fetching and writing the three CSVs; best of --repeat.

Usage: python3 bench/jaffle_duckdb.py [--out DIR] [--repeat N] [--threads N] [--json]
"""
import argparse
import csv
import datetime as dt
import json
import os
import sys
import time

import duckdb

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
SQL_PATH = os.path.join(BENCH_DIR, "jaffle_duckdb.sql")

# Output columns, in the spec's table order (§3, §4, §5). contacts omits
# user_cohort, which the spec allows to ignore.
TABLES = {
    "contacts": (
        ["user_id", "email", "corporate_email", "user_name", "gaggle_id",
         "created_at", "first_event", "most_recent_event", "number_of_events",
         "first_order", "most_recent_order", "number_of_orders"],
        "user_id",
    ),
    "gaggles": (
        ["gaggle_id", "gaggle_name", "created_at", "first_event",
         "most_recent_event", "number_of_events", "number_of_users",
         "first_order", "most_recent_order", "number_of_orders",
         "corporate_email", "first_event_corporate",
         "most_recent_event_corporate", "number_of_events_corporate",
         "number_of_users_corporate", "first_order_corporate",
         "most_recent_order_corporate", "number_of_orders_corporate"],
        "gaggle_id, corporate_email NULLS FIRST",
    ),
    "corporate_accounts": (
        ["corporate_email", "number_of_gaggles", "number_of_users_corporate",
         "number_of_events_corporate", "number_of_orders_corporate",
         "first_event_corporate", "first_order_corporate",
         "most_recent_event_corporate", "most_recent_order_corporate",
         "number_of_users_associated", "number_of_events_associated",
         "number_of_orders_associated", "first_event_associated",
         "first_order_associated", "most_recent_event_associated",
         "most_recent_order_associated", "first_user_id",
         "most_active_user_id", "most_orders_user_id"],
        "corporate_email",
    ),
}


def data_dir():
    d = os.environ.get("JAFFLE_GAGGLE_DATA", "../shared/data/jaffle_gaggle")
    if not os.path.isabs(d):
        d = os.path.join(REPO_ROOT, d)
    return os.path.abspath(d)


def load_sql(ddir):
    with open(SQL_PATH, encoding="utf-8") as f:
        sql = f.read()
    return sql.replace("__DATA_DIR__", ddir.replace("'", "''"))


def fmt(v):
    if v is None:
        return ""  # NULL -> empty field
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    return v  # ints print without decimals; strings as-is


def run_once(con, sql, out_dir):
    con.execute(sql)
    for name, (cols, order) in TABLES.items():
        rows = con.execute(
            f"SELECT {', '.join(cols)} FROM {name} ORDER BY {order}").fetchall()
        with open(os.path.join(out_dir, name + ".csv"), "w", newline="",
                  encoding="utf-8") as f:
            w = csv.writer(f, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            w.writerow(cols)
            w.writerows([fmt(v) for v in r] for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(BENCH_DIR, "out", "duckdb"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0,
                    help="DuckDB threads (0 = DuckDB default)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()

    ddir = data_dir()
    if not os.path.isfile(os.path.join(ddir, "raw_user.csv")):
        sys.exit(f"data not found in {ddir} (set JAFFLE_GAGGLE_DATA)")
    os.makedirs(a.out, exist_ok=True)
    sql = load_sql(ddir)

    times = []
    for _ in range(max(1, a.repeat)):
        con = duckdb.connect(":memory:")
        if a.threads:
            con.execute(f"SET threads = {int(a.threads)}")
        t0 = time.perf_counter()
        run_once(con, sql, a.out)
        times.append(time.perf_counter() - t0)
        con.close()
    best = min(times)

    if a.json:
        print(json.dumps({
            "engine": "duckdb",
            "duckdb_version": duckdb.__version__,
            "example": "jaffle_gaggle",
            "duckdb_query_seconds": round(best, 6),
            "repeat": len(times),
            "all_seconds": [round(t, 6) for t in times],
            "out_dir": os.path.abspath(a.out),
            "data_dir": ddir,
        }))
    else:
        print(f"duckdb jaffle_gaggle: {best:.3f} s (best of {len(times)})")


if __name__ == "__main__":
    main()
