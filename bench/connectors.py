#!/usr/bin/env python3
"""Connector throughput: `plexus build` of a project with one source of each kind.

Issue figures: mbox >= 200 MB/s, Segment NDJSON >= 1M events/s, CSV >= 2M rows/s per build
on 2 cores, with memory flat in the input size. Stripe and iCalendar (no figure in the
issue) are measured the same way: a list object of invoices, charges and refunds, and a
calendar of single calls and weekly series (some with an EXDATE, some with a moved instance
written at the end of the file, as exports that append changes do).

For each kind the script writes a file at two sizes (the full size and a quarter of it),
builds a one-source project, and prints the rows, the seconds of the `load sources` stage
(reading, parsing, mapping and collecting identifiers: what the connector costs) and of the
whole build, the throughput over `load sources`, and the peak RSS from `/usr/bin/time -v`
for both sizes. Each kind's files name the same people at both sizes (the quarter-size file
already holds every one of them), so the identity graph is the same and only the number of
rows grows: flat memory means the two peaks are close.

With `--event-memory SIZE` every build is given that budget for the timeline's wide event
columns (`plexus build --event-memory`), which it then reads in passes: the memory that
still grows with the rows is what every event keeps (its narrow columns, its timeline and
participant entries, its source key's hash).

Usage: python3 bench/connectors.py [--plexus PATH] [--scale F] [--keep DIR] [--kinds K,...]
                                   [--event-memory SIZE] [--repeat N]
  --plexus  the binary (default: $CARGO_TARGET_DIR/release/plexus)
  --scale   multiply every size (default 1.0: 300 MB of mail, 1M Segment calls, 2M CSV rows,
            300,000 Stripe objects, 200,000 calendar events)
  --keep    write the projects here and keep them (a second run reuses their files)
  --kinds   only these kinds (comma-separated: mbox, segment, stripe, ics, csv)
  --event-memory  passed to every `plexus build` (such as 128MiB; default: the build's own)
  --repeat  build each project N times and report the median throughput (and the best, and
            the highest peak RSS): on a shared machine one run can be 20% off
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

from benchlib import build, warn_if_busy

MAIL_TEMPLATE = (
    "From MAILER-DAEMON Mon Mar  4 10:00:00 2024\n"
    "X-GM-THRID: {thread}\n"
    "X-Gmail-Labels: Inbox,Important\n"
    "Message-ID: <msg-{i}@mail.example.org>\n"
    "Date: Mon, 04 Mar 2024 10:{mm:02d}:00 +0000\n"
    "From: =?utf-8?q?Customer_{c}?= <customer{c}@client{d}.example.org>\n"
    "To: Support <support@acme.example.org>, Ann <ann@acme.example.org>\n"
    "Cc: Team {d} <team{d}@client{d}.example.org>\n"
    "Subject: =?utf-8?q?Re:_Question_about_invoice_{i}?=\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/alternative; boundary="b{i}"\n'
    "\n"
    "--b{i}\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "{plain}\n"
    "--b{i}\n"
    "Content-Type: text/html; charset=utf-8\n"
    "\n"
    "<html><body><p>{html}</p></body></html>\n"
    "--b{i}--\n"
    "\n"
)

# Distinct people in every CSV file, whatever its size: the identity graph stays the same,
# so peak memory at two sizes shows whether reading streams. The quarter-size file (500,000
# rows) names every one.
PEOPLE = 50_000
# The same for mail and Segment, whose rows are fewer or spread over more identifiers: the
# quarter-size mbox (about 19,000 messages) and Segment file (250,000 calls, whose pattern
# repeats every 21 * SEGMENT_USERS calls) name every one.
MAIL_PEOPLE = 10_000
SEGMENT_USERS = 10_000
STRIPE_CUSTOMERS = 10_000
ICS_PEOPLE = 10_000

PARAGRAPH = (
    "Hello team, thanks for the quick answer yesterday. We looked at the export again and "
    "the totals match now, but the March invoice still shows the old seat count. Could you "
    "check whether the plan change went through? Best regards. "
)


def write_mbox(path, target_bytes):
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        size = 0
        while size < target_bytes:
            body = PARAGRAPH * (3 + n % 8)
            text = MAIL_TEMPLATE.format(
                i=n, thread=1790000000000000000 + n // 4, mm=n % 60,
                c=n % MAIL_PEOPLE, d=n % 3000, plain=body, html=body,
            )
            f.write(text)
            size += len(text.encode())
            n += 1
    return n


def write_segment(path, calls):
    with open(path, "w", encoding="utf-8") as f:
        for i in range(calls):
            kind = i % 10
            # A user's 21 calls span three anonymous ids of 7 calls each; the anonymous ids
            # cycle three times as slowly as the users, so each one stays with one user
            # and the file resolves into SEGMENT_USERS persons (cycling both by the same
            # count chained every user into one person through the shared anonymous ids).
            anon = f"anon-{(i // 7) % (3 * SEGMENT_USERS):012x}"
            user = f"user-{(i // 21) % SEGMENT_USERS:09d}"
            ts = f"2024-03-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.000Z"
            if kind == 0:
                call = {"type": "identify", "messageId": f"m{i}", "anonymousId": anon,
                        "userId": user, "timestamp": ts,
                        "traits": {"email": f"{user}@corp{i % 900}.example.org",
                                   "name": f"User {(i // 21) % SEGMENT_USERS}", "plan": "pro"}}
            elif kind < 4:
                call = {"type": "page", "messageId": f"m{i}", "anonymousId": anon,
                        "timestamp": ts, "name": "Pricing",
                        "properties": {"url": "https://acme.example.org/pricing",
                                       "path": "/pricing", "referrer": "https://search.example"},
                        "context": {"ip": "203.0.113.9", "library": {"name": "analytics.js",
                                    "version": "2.11.1"}}}
            else:
                call = {"type": "track", "messageId": f"m{i}", "anonymousId": anon,
                        "userId": user if kind > 6 else None, "event": "Report Created",
                        "timestamp": ts,
                        "properties": {"report_id": i, "rows": i % 1000, "format": "pdf"},
                        "context": {"ip": "203.0.113.9"}}
                if call["userId"] is None:
                    del call["userId"]
            f.write(json.dumps(call, separators=(",", ":")))
            f.write("\n")


def write_stripe(path, objects):
    """One Stripe list object, one object per line as the demo writes it: per payment an
    invoice and its charge, and every 50th charge refunded (the refund after its charge)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"object":"list","url":"/v1/charges","has_more":false,"data":[\n')
        for i in range(objects):
            pay = i // 2
            cus = f"cus_{pay % STRIPE_CUSTOMERS:014d}"
            email = f"billing{pay % STRIPE_CUSTOMERS}@client{pay % STRIPE_CUSTOMERS % 3000}.example.org"
            created = 1700000000 + pay * 60
            if i % 2 == 0:
                obj = {"id": f"in_{pay:020d}", "object": "invoice", "amount_due": 4900,
                       "amount_paid": 4900, "attempt_count": 1, "created": created,
                       "currency": "usd", "customer": cus, "customer_email": email,
                       "customer_name": f"Client {pay % STRIPE_CUSTOMERS}", "status": "paid",
                       "status_transitions": {"paid_at": created + 30, "finalized_at": created},
                       "subscription": f"sub_{pay % STRIPE_CUSTOMERS:014d}",
                       "lines": {"object": "list", "data": [{"id": f"il_{pay}", "amount": 4900,
                                 "description": "1 x Pro (at $49.00 / month)"}]},
                       "metadata": {}}
            elif pay % 50 == 49 and i % 4 == 3:
                obj = {"id": f"re_{pay:020d}", "object": "refund", "amount": 4900,
                       "charge": f"ch_{pay - 1:020d}", "created": created + 86400,
                       "currency": "usd", "reason": "requested_by_customer",
                       "status": "succeeded"}
            else:
                obj = {"id": f"ch_{pay:020d}", "object": "charge", "amount": 4900,
                       "amount_captured": 4900, "amount_refunded": 0, "captured": True,
                       "billing_details": {"email": None, "name": f"Client {pay % STRIPE_CUSTOMERS}",
                                           "phone": None, "address": {"country": "US"}},
                       "created": created + 30, "currency": "usd", "customer": cus,
                       "invoice": f"in_{pay:020d}", "paid": True, "status": "succeeded",
                       "receipt_email": email, "metadata": {}}
            f.write(json.dumps(obj, separators=(",", ":")))
            f.write(",\n" if i + 1 < objects else "\n")
        f.write("]}\n")


def write_ics(path, events):
    """A Google Calendar export: the team's zone, then per event a call with one customer
    (UTC), every fifth a weekly series of six in the team's zone (every third series skips
    a week with EXDATE), and for every tenth series a moved instance at the end of the file."""
    moved = []
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
                "VERSION:2.0\r\nX-WR-CALNAME:Acme team\r\n"
                "BEGIN:VTIMEZONE\r\nTZID:America/Los_Angeles\r\nX-LIC-LOCATION:America/Los_Angeles\r\n"
                "BEGIN:DAYLIGHT\r\nTZOFFSETFROM:-0800\r\nTZOFFSETTO:-0700\r\nTZNAME:PDT\r\n"
                "DTSTART:19700308T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nEND:DAYLIGHT\r\n"
                "BEGIN:STANDARD\r\nTZOFFSETFROM:-0700\r\nTZOFFSETTO:-0800\r\nTZNAME:PST\r\n"
                "DTSTART:19701101T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nEND:STANDARD\r\n"
                "END:VTIMEZONE\r\n")
        for i in range(events):
            c = i % ICS_PEOPLE
            day = 1 + i % 28
            month = 1 + (i // 28) % 12
            uid = f"{i:08x}a1b2c3d4e5f6@google.com"
            head = (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20240101T000000Z\r\n"
                    f"ORGANIZER;CN=Ann Example:mailto:ann@acme.example.org\r\n"
                    f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Customer {c}:\r\n"
                    f" mailto:customer{c}@client{c % 3000}.example.org\r\n"
                    f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Ann Example:\r\n"
                    f" mailto:ann@acme.example.org\r\n"
                    f"DESCRIPTION:Agenda: the plan change and the March invoice\\, then questions.\r\n"
                    f"LOCATION:https://meet.google.com/abc-defg-hij\r\nSTATUS:CONFIRMED\r\n")
            if i % 5 == 0:
                f.write(head + f"SUMMARY:Onboarding check-in {c}\r\n"
                        f"DTSTART;TZID=America/Los_Angeles:2024{month:02d}{day:02d}T100000\r\n"
                        f"DTEND;TZID=America/Los_Angeles:2024{month:02d}{day:02d}T103000\r\n"
                        f"RRULE:FREQ=WEEKLY;COUNT=6\r\n")
                later = datetime.date(2024, month, day) + datetime.timedelta(days=14)
                if i % 15 == 0:
                    f.write(f"EXDATE;TZID=America/Los_Angeles:{later:%Y%m%d}T100000\r\n")
                f.write("END:VEVENT\r\n")
                if i % 50 == 0:
                    moved.append((uid, later + datetime.timedelta(days=7)))
            else:
                f.write(head + f"SUMMARY:Demo call with customer {c}\r\n"
                        f"DTSTART:2024{month:02d}{day:02d}T{i % 24:02d}0000Z\r\n"
                        f"DTEND:2024{month:02d}{day:02d}T{i % 24:02d}3000Z\r\nEND:VEVENT\r\n")
        for uid, on in moved:
            f.write(f"BEGIN:VEVENT\r\nUID:{uid}\r\n"
                    f"RECURRENCE-ID;TZID=America/Los_Angeles:{on:%Y%m%d}T100000\r\n"
                    f"DTSTART;TZID=America/Los_Angeles:{on:%Y%m%d}T150000\r\n"
                    f"DTEND;TZID=America/Los_Angeles:{on:%Y%m%d}T153000\r\n"
                    f"SUMMARY:Onboarding check-in (moved)\r\nEND:VEVENT\r\n")
        f.write("END:VCALENDAR\r\n")


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("id,email,name,amount,created_at\n")
        for i in range(rows):
            f.write(
                f"{i},buyer{i % PEOPLE}@shop{i % PEOPLE % 5000}.example.org,Buyer {i % PEOPLE},"
                f"{(i % 997) / 10:.2f},2024-03-{1 + i % 28:02d} {i % 24:02d}:00:00\n"
            )


PROJECTS = {
    "mbox": ("mail.mbox", """
  - name: mail
    type: mbox
    path: data/mail.mbox
"""),
    "segment": ("calls.ndjson", """
  - name: calls
    type: segment
    path: data/calls.ndjson
"""),
    "stripe": ("billing.json", """
  - name: billing
    type: stripe
    path: data/billing.json
"""),
    "ics": ("calendar.ics", """
  - name: calendar
    type: ics
    path: data/calendar.ics
    window: { from: "2020-01-01", to: "2030-01-01" }
"""),
    "csv": ("orders.csv", """
  - name: orders
    type: csv
    path: data/orders.csv
    key: id
    event: { timestamp: created_at, name: "'order_placed'", value: amount }
    participants:
      - role: buyer
        identifiers: { email: email }
        traits: { name: name }
"""),
}


def main():
    ap = argparse.ArgumentParser()
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/plexus-target"))
    ap.add_argument("--plexus", default=os.path.join(target, "release", "plexus"))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--keep")
    ap.add_argument("--kinds", help="comma-separated kinds to run (default: all)")
    ap.add_argument("--event-memory", help="`plexus build --event-memory` for every build")
    ap.add_argument("--repeat", type=int, default=1, help="builds per project (median reported)")
    a = ap.parse_args()
    extra = ["--event-memory", a.event_memory] if a.event_memory else []
    base = a.keep or tempfile.mkdtemp(prefix="plexus-connectors-bench-")
    sizes = {"mbox": 300e6 * a.scale, "segment": int(1e6 * a.scale), "csv": int(2e6 * a.scale),
             "stripe": int(3e5 * a.scale), "ics": int(2e5 * a.scale)}
    warn_if_busy()
    print(f"# connectors, {os.cpu_count()} cores, {a.plexus} {' '.join(extra)}")
    repeat = max(1, a.repeat)
    best = f" {'best':>16}" if repeat > 1 else ""
    print(f"{'kind':<8} {'size':>6} {'input':>10} {'rows':>10} {'load s':>8} {'build s':>8} "
          f"{'throughput':>16}{best} {'peak RSS':>10}")
    kinds = a.kinds.split(",") if a.kinds else list(PROJECTS)
    unknown = [k for k in kinds if k not in PROJECTS]
    if unknown:
        sys.exit(f"unknown kind {', '.join(unknown)}: choose from {', '.join(PROJECTS)}")
    for kind, (file, source) in PROJECTS.items():
        if kind not in kinds:
            continue
        for part in (0.25, 1.0):
            root = os.path.join(base, f"{kind}-{part}")
            os.makedirs(os.path.join(root, "data"), exist_ok=True)
            path = os.path.join(root, "data", file)
            if not os.path.exists(path):
                if kind == "mbox":
                    write_mbox(path, sizes["mbox"] * part)
                elif kind == "segment":
                    write_segment(path, int(sizes["segment"] * part))
                elif kind == "stripe":
                    write_stripe(path, int(sizes["stripe"] * part))
                elif kind == "ics":
                    write_ics(path, int(sizes["ics"] * part))
                else:
                    write_csv(path, int(sizes["csv"] * part))
            with open(os.path.join(root, "plexus.yml"), "w") as f:
                f.write(f"name: bench_{kind}\nidentity: {{ blocklist: {{ builtin: false }} }}\n"
                        f"own_domains: [acme.example.org]\nsources:{source}")
            runs = [build(a.plexus, root, extra) for _ in range(repeat)]
            rows = runs[0][0]
            load = statistics.median(r[1] for r in runs)
            total = statistics.median(r[2] for r in runs)
            rss = max(r[3] for r in runs)
            mb = os.path.getsize(path) / 1e6

            def speed(seconds):
                if kind in ("mbox", "stripe", "ics"):
                    return f"{mb / seconds:,.0f} MB/s"
                return f"{rows / seconds / 1e6:,.2f} M rows/s"

            best = f" {speed(min(r[1] for r in runs)):>16}" if repeat > 1 else ""
            print(f"{kind:<8} {part:>6.2f} {mb:>8.0f}MB {rows:>10,} {load:>8.2f} {total:>8.2f} "
                  f"{speed(load):>16}{best} {rss:>8.0f}MB")
    if not a.keep:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
