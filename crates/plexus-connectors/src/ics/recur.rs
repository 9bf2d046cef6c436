//! Expands an event's `RRULE`s with the `rrule` crate, in the event's own
//! time zone, so a weekly 10:00 New York meeting stays at 10:00 local time
//! when daylight saving time starts (its UTC hour moves).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use rrule::{RRule, RRuleSet, Unvalidated};

use super::value::{IcsTime, Zone, local_to_utc};
use crate::text::short_error;

/// Occurrences a series may generate before the window opens; beyond this
/// the series is given up (a rule firing every minute since 1970, say).
const MAX_BEFORE_WINDOW: usize = 200_000;

/// The instant range and cap occurrences are collected for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Inclusive start, microseconds since the epoch.
    pub start: i64,
    /// Exclusive end, microseconds since the epoch.
    pub end: i64,
    /// Most occurrences kept per rule.
    pub max: usize,
}

/// The `rrule` crate's zone for an event time (floating and DATE: UTC).
fn rrule_zone(zone: Zone) -> rrule::Tz {
    match zone {
        Zone::Named(tz) => rrule::Tz::Tz(tz),
        Zone::Utc | Zone::Floating => rrule::Tz::UTC,
    }
}

/// The series start as the `rrule` crate wants it.
fn series_start(start: IcsTime) -> Option<DateTime<rrule::Tz>> {
    Some(start.to_utc()?.with_timezone(&rrule_zone(start.zone)))
}

/// Reads an `UNTIL` value: UTC with `Z`; a DATE means the end of that day;
/// a local time is read in the series zone (RFC 5545 wants UTC there, but
/// exports vary).
fn until_utc(value: &str, start: IcsTime) -> Option<DateTime<Utc>> {
    let v = value.trim();
    if v.len() == 8 {
        let date = NaiveDate::parse_from_str(v, "%Y%m%d").ok()?;
        let naive = if start.date_only {
            date.and_time(NaiveTime::MIN)
        } else {
            date.and_hms_opt(23, 59, 59)?
        };
        return match start.zone {
            Zone::Named(tz) => local_to_utc(tz, naive),
            _ => Some(Utc.from_utc_datetime(&naive)),
        };
    }
    let (body, utc) = match v.strip_suffix(['Z', 'z']) {
        Some(b) => (b, true),
        None => (v, false),
    };
    let naive = chrono::NaiveDateTime::parse_from_str(body, "%Y%m%dT%H%M%S").ok()?;
    match (utc, start.zone) {
        (false, Zone::Named(tz)) => local_to_utc(tz, naive),
        _ => Some(Utc.from_utc_datetime(&naive)),
    }
}

/// One generated occurrence: its UTC start and its local date in the
/// series zone (for DATE-valued `EXDATE`s on timed series).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Occurrence {
    pub micros: i64,
    pub local_date: NaiveDate,
}

/// Expands one `RRULE` value for a series starting at `start`, keeping the
/// occurrences inside `window` (at most `window.max`).
pub(crate) fn expand(
    rule: &str,
    start: IcsTime,
    window: Window,
) -> Result<Vec<Occurrence>, String> {
    let rule = rule.trim();
    // RRULE grammar is ASCII; non-ASCII input also trips a byte-slicing
    // bug in rrule 0.14's weekday parser, so it is refused here.
    if !rule.is_ascii() {
        return Err(format!("invalid RRULE {rule:?}: only ASCII is allowed"));
    }
    let rule = rule
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("RRULE:"))
        .map_or(rule, |_| &rule[6..]);
    let mut until = None;
    let mut parts = Vec::new();
    for part in rule.split(';').filter(|p| !p.trim().is_empty()) {
        match part.split_once('=') {
            Some((k, v)) if k.trim().eq_ignore_ascii_case("UNTIL") => {
                until =
                    Some(until_utc(v, start).ok_or_else(|| format!("invalid RRULE UNTIL {v:?}"))?);
            }
            _ => parts.push(part.trim()),
        }
    }
    let dt_start = series_start(start).ok_or("DTSTART cannot be placed in its time zone")?;
    if until.is_some_and(|u| u < dt_start) {
        return Ok(Vec::new());
    }
    let mut parsed: RRule<Unvalidated> =
        parts.join(";").parse().map_err(|e: rrule::RRuleError| {
            format!("invalid RRULE: {}", short_error(&e.to_string()))
        })?;
    if let Some(u) = until {
        parsed = parsed.until(u.with_timezone(&rrule::Tz::UTC));
    }
    let rule = parsed
        .validate(dt_start)
        .map_err(|e| format!("invalid RRULE: {}", short_error(&e.to_string())))?;
    let set = RRuleSet::new(dt_start).rrule(rule).limit();
    let mut out = Vec::new();
    let mut before = 0usize;
    for dt in &set {
        let micros = dt.timestamp_micros();
        if micros >= window.end || out.len() >= window.max {
            break;
        }
        if micros < window.start {
            before += 1;
            if before > MAX_BEFORE_WINDOW {
                return Err(format!(
                    "RRULE repeats more than {MAX_BEFORE_WINDOW} times before the window starts; \
                     move DTSTART closer or narrow the rule"
                ));
            }
            continue;
        }
        out.push(Occurrence {
            micros,
            local_date: dt.date_naive(),
        });
    }
    Ok(out)
}

/// The local date of an instant in the series zone.
pub(crate) fn local_date(micros: i64, zone: Zone) -> Option<NaiveDate> {
    let utc = DateTime::<Utc>::from_timestamp_micros(micros)?;
    Some(match zone {
        Zone::Named(tz) => utc.with_timezone(&tz).date_naive(),
        Zone::Utc | Zone::Floating => utc.date_naive(),
    })
}

/// Adds `secs` seconds to an instant, `None` on overflow.
pub(crate) fn add_secs(micros: i64, secs: i64) -> Option<i64> {
    let d = Duration::try_seconds(secs)?.num_microseconds()?;
    micros.checked_add(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ics::tz::TzResolver;
    use crate::ics::value::parse_time;

    const ALL: Window = Window {
        start: i64::MIN,
        end: i64::MAX,
        max: 10_000,
    };

    fn start(v: &str, tz: Option<&str>) -> IcsTime {
        match parse_time(v, tz, &TzResolver::default()) {
            Ok(t) => t,
            Err(e) => panic!("{e:?}"),
        }
    }

    fn hours_utc(occ: &[Occurrence]) -> Vec<String> {
        occ.iter()
            .map(|o| crate::time::rfc3339_utc(o.micros))
            .collect()
    }

    #[test]
    fn weekly_new_york_keeps_local_time_across_dst() {
        let s = start("20240226T100000", Some("America/New_York"));
        let occ = expand("FREQ=WEEKLY;COUNT=4", s, ALL).expect("ok");
        assert_eq!(
            hours_utc(&occ),
            vec![
                "2024-02-26T15:00:00Z",
                "2024-03-04T15:00:00Z",
                "2024-03-11T14:00:00Z",
                "2024-03-18T14:00:00Z"
            ]
        );
    }

    #[test]
    fn until_in_utc_date_and_local_forms() {
        let s = start("20240304T100000", Some("America/New_York"));
        assert_eq!(
            expand("FREQ=DAILY;UNTIL=20240306T150000Z", s, ALL).map(|v| v.len()),
            Ok(3)
        );
        assert_eq!(
            expand("RRULE:FREQ=DAILY;UNTIL=20240306", s, ALL).map(|v| v.len()),
            Ok(3)
        );
        assert_eq!(
            expand("FREQ=DAILY;UNTIL=20240306T095959", s, ALL).map(|v| v.len()),
            Ok(2)
        );
        assert_eq!(
            expand("FREQ=DAILY;UNTIL=20200101T000000Z", s, ALL),
            Ok(vec![])
        );
        let d = start("20240304", None);
        assert_eq!(
            expand("FREQ=DAILY;UNTIL=20240306", d, ALL).map(|v| v.len()),
            Ok(3)
        );
    }

    #[test]
    fn window_and_cap() {
        let s = start("20240101T090000Z", None);
        let window = Window {
            start: start("20240110T000000Z", None).micros().unwrap_or(0),
            end: start("20240120T000000Z", None).micros().unwrap_or(0),
            max: 100,
        };
        assert_eq!(expand("FREQ=DAILY", s, window).map(|v| v.len()), Ok(10));
        let capped = Window { max: 3, ..window };
        assert_eq!(expand("FREQ=DAILY", s, capped).map(|v| v.len()), Ok(3));
    }

    #[test]
    fn invalid_rules_explain() {
        let s = start("20240101T090000Z", None);
        for bad in [
            "FREQ=FORTNIGHTLY",
            "FREQ=WEEKLY;BYDAY=XX",
            "FREQ=DAILY;UNTIL=soon",
            "FREQ=WEEKLY;BYDAY=MO\u{fffd}",
        ] {
            let e = expand(bad, s, ALL).unwrap_err();
            assert!(e.contains("RRULE"), "{bad}: {e}");
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(add_secs(0, 60), Some(60_000_000));
        assert_eq!(add_secs(i64::MAX, 60), None);
        let ny = Zone::Named(chrono_tz::Tz::America__New_York);
        // 2024-03-05T02:00Z is still March 4 in New York.
        let m = start("20240305T020000Z", None).micros().unwrap_or(0);
        assert_eq!(local_date(m, ny), NaiveDate::from_ymd_opt(2024, 3, 4));
    }
}
