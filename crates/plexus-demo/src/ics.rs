//! `data/calendar.ics`: the sales and success team's calls with customers
//! as a Google Calendar export (RFC 5545): a `VCALENDAR` with
//! `X-WR-CALNAME`, the `America/Los_Angeles` `VTIMEZONE`, and one `VEVENT`
//! per call: `UID`, `DTSTART`/`DTEND` (UTC for single calls, the team's
//! zone for series), `ORGANIZER;CN=...:mailto:` (the Acme employee) and the
//! customer as `ATTENDEE;CN=...;PARTSTAT=...:mailto:` at the address the
//! conversation used, so calendar attendees are the same persons as the
//! mail's. Now and then a colleague is invited too and declines.
//!
//! Calls come from the mail (see [`Invite`]): a demo a few days after a
//! sales conversation the customer answered (one in ten is cancelled:
//! `STATUS:CANCELLED`, not an event), and for each onboarding mail a weekly
//! series of check-ins (`RRULE:FREQ=WEEKLY;COUNT=n`, a third of them with an
//! `EXDATE` for a skipped week). The ground truth lists each occurrence
//! (`uid/start`, as the connector keys them) with the customer's role,
//! their response.

use std::path::Path;

use rand::Rng;

use crate::DemoError;
use crate::out::LinesOut;
use crate::rng::{chance, stream, weighted};
use crate::segment::{mix, push_hex};
use crate::sources::Written;
use crate::time::{DAY, END, days_from_civil};
use crate::truth::{Id, Truth};
use crate::words::{EMPLOYEES, FIRST_NAMES, LAST_NAMES};
use crate::world::{Addr, World};

/// The file, relative to the project.
pub(crate) const PATH: &str = "data/calendar.ics";

/// The source's name in `plexus.yml` and the ground truth.
const SOURCE: &str = "calendar";

/// The team's time zone.
const TZID: &str = "America/Los_Angeles";

/// A call to put in the calendar, planned from the mail.
pub(crate) struct Invite {
    /// When the conversation it follows happened (Unix seconds).
    pub after: i64,
    /// The customer (person index) and the address the conversation used.
    pub person: u32,
    /// The address.
    pub addr: Addr,
    /// The Acme employee (index into [`EMPLOYEES`]).
    pub employee: u8,
    /// An onboarding series (else a single demo call).
    pub onboarding: bool,
}

/// UTC offset of Los Angeles at UTC instant `t`, in seconds (US rules since
/// 2007: daylight time from the second Sunday of March, 02:00 local, to the
/// first Sunday of November, 02:00 local).
fn la_offset(t: i64) -> i64 {
    let year = year_of(t);
    let sunday = |month: i64, nth: i64| {
        let first = days_from_civil(year, month, 1);
        // 1970-01-01 was a Thursday: weekday 0 = Sunday.
        let wd = (first + 4).rem_euclid(7);
        first + (7 - wd) % 7 + 7 * (nth - 1)
    };
    let start = sunday(3, 2) * DAY + 2 * 3600 + 8 * 3600; // 02:00 PST in UTC
    let end = sunday(11, 1) * DAY + 2 * 3600 + 7 * 3600; // 02:00 PDT in UTC
    if (start..end).contains(&t) {
        -7 * 3600
    } else {
        -8 * 3600
    }
}

/// The year of UTC instant `t`.
fn year_of(t: i64) -> i64 {
    let days = t.div_euclid(DAY);
    let mut y = 1970 + days / 366;
    while days_from_civil(y + 1, 1, 1) <= days {
        y += 1;
    }
    y
}

/// The UTC instant of Los Angeles wall-clock time `local` (seconds, as if
/// UTC); meeting hours are never in a DST gap or overlap.
fn la_to_utc(local: i64) -> i64 {
    let guess = local + 8 * 3600;
    local - la_offset(guess - 3600)
}

/// `YYYYMMDDTHHMMSS` of `secs` (as if UTC), with a `Z` when `utc`.
fn ics_time(secs: i64, utc: bool) -> String {
    let iso = crate::time::ts_string(secs, crate::time::TsStyle::Iso);
    let mut out: String = iso
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    if utc {
        out.push('Z');
    }
    out
}

/// RFC 3339 of a UTC instant, as the connector keys occurrences.
fn key_time(secs: i64) -> String {
    crate::time::ts_string(secs, crate::time::TsStyle::Iso)
}

/// Escapes a TEXT value (`\`, `;`, `,`, newlines).
fn text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Appends a content line folded at 75 octets (continuations start with a
/// space), ended by CRLF.
fn fold(out: &mut Vec<u8>, line: &str) {
    let mut width = 0;
    for ch in line.chars() {
        let n = ch.len_utf8();
        if width + n > 75 {
            out.extend_from_slice(b"\r\n ");
            width = 1;
        }
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        width += n;
    }
    out.extend_from_slice(b"\r\n");
}

/// The calendar's header: the `VCALENDAR` properties and the zone.
const HEADER: &str = "BEGIN:VCALENDAR\r
PRODID:-//Google Inc//Google Calendar 70.9054//EN\r
VERSION:2.0\r
CALSCALE:GREGORIAN\r
METHOD:PUBLISH\r
X-WR-CALNAME:Acme Analytics customer calls\r
X-WR-TIMEZONE:America/Los_Angeles\r
BEGIN:VTIMEZONE\r
TZID:America/Los_Angeles\r
X-LIC-LOCATION:America/Los_Angeles\r
BEGIN:DAYLIGHT\r
TZOFFSETFROM:-0800\r
TZOFFSETTO:-0700\r
TZNAME:PDT\r
DTSTART:19700308T020000\r
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r
END:DAYLIGHT\r
BEGIN:STANDARD\r
TZOFFSETFROM:-0700\r
TZOFFSETTO:-0800\r
TZNAME:PST\r
DTSTART:19701101T020000\r
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r
END:STANDARD\r
END:VTIMEZONE\r
";

/// Writes [`PATH`] and the truth of each occurrence.
pub(crate) fn calendar(
    root: &Path,
    world: &World,
    truth: &mut Truth,
    seed: u64,
    invites: &[Invite],
) -> Result<Written, DemoError> {
    let mut rng = stream(seed, 10);
    let salt = mix(seed ^ 0x4943_5343_414c);
    let mut out = LinesOut::create(root, PATH)?;
    out.header(HEADER.as_bytes())?;
    let mut ev: Vec<u8> = Vec::with_capacity(2048);
    let mut key = String::new();
    for (n, inv) in invites.iter().enumerate() {
        let person = &world.persons[inv.person as usize];
        let name = format!(
            "{} {}",
            FIRST_NAMES[person.first as usize].0, LAST_NAMES[person.last as usize].0
        );
        let email = world.email(inv.person, inv.addr);
        let (staff_name, staff_email, _) = EMPLOYEES[inv.employee as usize];
        let mut uid = Vec::with_capacity(40);
        push_hex(&mut uid, mix(salt.wrapping_add(n as u64)), 16);
        push_hex(&mut uid, mix(!salt ^ (n as u64) << 20), 10);
        uid.extend_from_slice(b"@google.com");
        let uid = String::from_utf8_lossy(&uid).into_owned();
        // A weekday 2 to 6 days later, 09:00 to 16:30 Los Angeles time.
        let day = (inv.after + rng.random_range(2..7) * DAY).div_euclid(DAY);
        let day = day
            + match (day + 4).rem_euclid(7) {
                0 => 1,
                6 => 2,
                _ => 0,
            };
        let local = day * DAY + 9 * 3600 + rng.random_range(0..16u32) as i64 * 1800;
        let start = la_to_utc(local);
        let (minutes, count) = if inv.onboarding {
            (30, rng.random_range(3..7u32))
        } else {
            (if chance(&mut rng, 0.5) { 30 } else { 45 }, 1)
        };
        // Occurrences: weekly at the same local time, within the data.
        let skipped =
            (inv.onboarding && chance(&mut rng, 0.33)).then(|| rng.random_range(1..count));
        let partstat = weighted(
            &mut rng,
            &[("ACCEPTED", 85), ("TENTATIVE", 10), ("NEEDS-ACTION", 5)],
        );
        let cancelled = !inv.onboarding && chance(&mut rng, 0.1);
        let colleague = chance(&mut rng, 0.15).then(|| {
            let k = (inv.employee as usize
                + 1
                + rng.random_range(0..EMPLOYEES.len() as u32 - 1) as usize)
                % EMPLOYEES.len();
            EMPLOYEES[k]
        });
        let occurrences: Vec<i64> = (0..count)
            .map(|k| la_to_utc(local + i64::from(k) * 7 * DAY))
            .collect();
        if start > END || occurrences.iter().any(|&t| t > END) {
            continue;
        }
        let stamp = inv.after.max(0);

        ev.clear();
        fold(&mut ev, "BEGIN:VEVENT");
        if inv.onboarding {
            fold(
                &mut ev,
                &format!("DTSTART;TZID={TZID}:{}", ics_time(local, false)),
            );
            fold(
                &mut ev,
                &format!(
                    "DTEND;TZID={TZID}:{}",
                    ics_time(local + minutes * 60, false)
                ),
            );
            fold(&mut ev, &format!("RRULE:FREQ=WEEKLY;COUNT={count}"));
            if let Some(k) = skipped {
                fold(
                    &mut ev,
                    &format!(
                        "EXDATE;TZID={TZID}:{}",
                        ics_time(local + i64::from(k) * 7 * DAY, false)
                    ),
                );
            }
        } else {
            fold(&mut ev, &format!("DTSTART:{}", ics_time(start, true)));
            fold(
                &mut ev,
                &format!("DTEND:{}", ics_time(start + minutes * 60, true)),
            );
        }
        fold(&mut ev, &format!("DTSTAMP:{}", ics_time(stamp, true)));
        fold(
            &mut ev,
            &format!("ORGANIZER;CN=\"{staff_name}\":mailto:{staff_email}"),
        );
        fold(&mut ev, &format!("UID:{uid}"));
        fold(
            &mut ev,
            &format!(
                "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={partstat};CN=\"{name}\";X-NUM-GUESTS=0:mailto:{email}"
            ),
        );
        if let Some((cname, cemail, _)) = colleague {
            fold(
                &mut ev,
                &format!(
                    "ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=OPT-PARTICIPANT;PARTSTAT=DECLINED;CN=\"{cname}\";X-NUM-GUESTS=0:mailto:{cemail}"
                ),
            );
        }
        fold(&mut ev, &format!("CREATED:{}", ics_time(stamp, true)));
        let company = if person.company == crate::world::NONE {
            name.clone()
        } else {
            world.companies[person.company as usize].name.clone()
        };
        let (summary, description) = if inv.onboarding {
            (
                format!("Acme Analytics onboarding check-in ({company})"),
                "Weekly check-in during onboarding: open questions, next steps.",
            )
        } else {
            (
                format!("Acme Analytics demo, {company}"),
                "Product demo, then questions.\nJoin: https://meet.google.com/",
            )
        };
        fold(&mut ev, &format!("DESCRIPTION:{}", text(description)));
        fold(&mut ev, "LOCATION:Google Meet");
        fold(&mut ev, "SEQUENCE:0");
        fold(
            &mut ev,
            &format!(
                "STATUS:{}",
                if cancelled { "CANCELLED" } else { "CONFIRMED" }
            ),
        );
        fold(&mut ev, &format!("SUMMARY:{}", text(&summary)));
        fold(&mut ev, "TRANSP:OPAQUE");
        fold(&mut ev, "END:VEVENT");
        out.line(&ev)?;
        if cancelled {
            continue;
        }
        let role = match partstat {
            "ACCEPTED" => "accepted",
            "TENTATIVE" => "tentative",
            _ => "invited",
        };
        for (k, &t) in occurrences.iter().enumerate() {
            if skipped == Some(k as u32) {
                continue;
            }
            key.clear();
            key.push_str(&uid);
            key.push('/');
            key.push_str(&key_time(t));
            truth.record_as(
                SOURCE,
                &key,
                inv.person,
                role,
                &[Id::Email(inv.person, inv.addr)],
            )?;
        }
    }
    out.header(b"END:VCALENDAR\r\n")?;
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn los_angeles_offsets() {
        let at = |y, m, d, h: i64| days_from_civil(y, m, d) * DAY + h * 3600;
        // 2026: PDT from 8 March 10:00 UTC to 1 November 09:00 UTC.
        assert_eq!(la_offset(at(2026, 3, 8, 9)), -8 * 3600);
        assert_eq!(la_offset(at(2026, 3, 8, 10)), -7 * 3600);
        assert_eq!(la_offset(at(2026, 11, 1, 8)), -7 * 3600);
        assert_eq!(la_offset(at(2026, 11, 1, 9)), -8 * 3600);
        assert_eq!(la_offset(at(2025, 7, 1, 0)), -7 * 3600);
        // 10:00 local is 18:00 UTC in winter, 17:00 in summer.
        assert_eq!(la_to_utc(at(2026, 1, 15, 10)), at(2026, 1, 15, 18));
        assert_eq!(la_to_utc(at(2026, 6, 15, 10)), at(2026, 6, 15, 17));
        assert_eq!(year_of(at(2026, 12, 31, 23)), 2026);
        assert_eq!(year_of(at(2027, 1, 1, 0)), 2027);
    }

    #[test]
    fn folding_and_text() {
        let mut out = Vec::new();
        fold(&mut out, &"é".repeat(50));
        let s = String::from_utf8(out).expect("utf8");
        assert!(s.split("\r\n").all(|l| l.len() <= 75), "{s:?}");
        assert_eq!(s.replace("\r\n ", ""), format!("{}\r\n", "é".repeat(50)));
        assert_eq!(text("a, b; c\nd"), "a\\, b\\; c\\nd");
        assert_eq!(ics_time(0, true), "19700101T000000Z");
    }
}
