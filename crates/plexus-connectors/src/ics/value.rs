//! iCalendar DATE, DATE-TIME and DURATION values (RFC 5545 3.3.4, 3.3.5,
//! 3.3.6) and their conversion to UTC.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use super::tz::TzResolver;

/// Earliest and latest years accepted in a date; outside this range a value
/// is almost surely corrupt and recurrence expansion would run for ages.
const YEARS: std::ops::RangeInclusive<i32> = 1600..=2600;

/// How a date-time is anchored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Zone {
    /// `...Z`: already UTC.
    Utc,
    /// No zone ("floating", same wall time everywhere): read as UTC.
    Floating,
    /// `TZID=` an IANA zone.
    Named(Tz),
}

/// One DATE or DATE-TIME value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct IcsTime {
    /// Wall-clock time (midnight for a DATE).
    pub naive: NaiveDateTime,
    /// How `naive` is anchored (DATE values are `Floating`).
    pub zone: Zone,
    /// True for `VALUE=DATE` (all-day) values.
    pub date_only: bool,
}

/// Converts a wall-clock time in `tz` to UTC. An ambiguous time (the hour
/// repeated when clocks go back) takes its first occurrence; a time in the
/// gap when clocks go forward uses the offset before the gap, as RFC 5545
/// 3.3.5 specifies (02:30 on a spring-forward day becomes 03:30).
pub(crate) fn local_to_utc(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(dt) => Some(dt.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => {
            let probe = naive.checked_sub_signed(Duration::days(1))?;
            let before = tz.offset_from_utc_datetime(&probe).fix();
            let utc =
                naive.checked_sub_signed(Duration::seconds(i64::from(before.local_minus_utc())))?;
            Some(Utc.from_utc_datetime(&utc))
        }
    }
}

impl IcsTime {
    /// The instant in UTC (floating and DATE values read as UTC).
    pub(crate) fn to_utc(self) -> Option<DateTime<Utc>> {
        match self.zone {
            Zone::Utc | Zone::Floating => Some(Utc.from_utc_datetime(&self.naive)),
            Zone::Named(tz) => local_to_utc(tz, self.naive),
        }
    }

    /// Microseconds since the epoch, UTC.
    pub(crate) fn micros(self) -> Option<i64> {
        self.to_utc().map(|d| d.timestamp_micros())
    }
}

/// Why a value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueError {
    /// Not a DATE or DATE-TIME.
    Malformed,
    /// `TZID` names no known zone.
    UnknownZone(String),
}

/// Parses one DATE (`20240304`) or DATE-TIME (`20240304T100000`, with `Z`
/// for UTC or a `tzid` for a zone) value. Separators as in ISO 8601
/// extended format (`2024-03-04T10:00:00Z`) are tolerated.
pub(crate) fn parse_time(
    value: &str,
    tzid: Option<&str>,
    zones: &TzResolver,
) -> Result<IcsTime, ValueError> {
    let compact: String = value
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let (body, utc) = match compact.strip_suffix(['Z', 'z']) {
        Some(b) => (b, true),
        None => (compact.as_str(), false),
    };
    if body.len() == 8 && body.bytes().all(|b| b.is_ascii_digit()) {
        let date = NaiveDate::parse_from_str(body, "%Y%m%d").map_err(|_| ValueError::Malformed)?;
        if !YEARS.contains(&chrono::Datelike::year(&date)) {
            return Err(ValueError::Malformed);
        }
        return Ok(IcsTime {
            naive: date.and_time(chrono::NaiveTime::MIN),
            zone: Zone::Floating,
            date_only: true,
        });
    }
    let naive =
        NaiveDateTime::parse_from_str(body, "%Y%m%dT%H%M%S").map_err(|_| ValueError::Malformed)?;
    if !YEARS.contains(&chrono::Datelike::year(&naive)) {
        return Err(ValueError::Malformed);
    }
    let zone = if utc {
        Zone::Utc
    } else if let Some(tzid) = tzid.filter(|t| !t.trim().is_empty()) {
        let tz = zones
            .resolve(tzid)
            .ok_or_else(|| ValueError::UnknownZone(tzid.trim().to_owned()))?;
        Zone::Named(tz)
    } else {
        Zone::Floating
    };
    Ok(IcsTime {
        naive,
        zone,
        date_only: false,
    })
}

/// Parses a DURATION value (`PT1H30M`, `P1D`, `P2W`, `-PT15M`) into seconds.
pub(crate) fn parse_duration(value: &str) -> Option<i64> {
    let v = value.trim();
    let (sign, v) = match v.as_bytes().first()? {
        b'-' => (-1, &v[1..]),
        b'+' => (1, &v[1..]),
        _ => (1, v),
    };
    let mut rest = v.strip_prefix(['P', 'p'])?;
    let mut total: i64 = 0;
    let mut in_time = false;
    let mut any = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(['T', 't']) {
            in_time = true;
            rest = r;
            continue;
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        let secs = match (unit.to_ascii_uppercase(), in_time) {
            ('W', false) => 604_800,
            ('D', false) => 86_400,
            ('H', true) => 3_600,
            ('M', true) => 60,
            ('S', true) => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(secs)?)?;
        any = true;
        rest = &rest[digits + unit.len_utf8()..];
    }
    any.then_some(sign * total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zones() -> TzResolver {
        TzResolver::default()
    }

    fn micros(value: &str, tzid: Option<&str>) -> i64 {
        parse_time(value, tzid, &zones())
            .ok()
            .and_then(IcsTime::micros)
            .unwrap_or(i64::MIN)
    }

    #[test]
    fn utc_floating_and_dates() {
        assert_eq!(micros("20240304T150000Z", None), 1_709_564_400_000_000);
        // Floating times are read as UTC.
        assert_eq!(micros("20240304T150000", None), 1_709_564_400_000_000);
        let d = parse_time("20240304", None, &zones()).expect("date");
        assert!(d.date_only);
        assert_eq!(d.micros(), Some(1_709_510_400_000_000));
        assert_eq!(micros("2024-03-04T15:00:00Z", None), 1_709_564_400_000_000);
    }

    #[test]
    fn named_zones_and_dst() {
        // 10:00 New York is 15:00 UTC in winter (EST) and 14:00 in summer (EDT).
        assert_eq!(
            micros("20240304T100000", Some("America/New_York")),
            micros("20240304T150000Z", None)
        );
        assert_eq!(
            micros("20240311T100000", Some("America/New_York")),
            micros("20240311T140000Z", None)
        );
        // Spring-forward gap: 02:30 does not exist; offset before the gap.
        assert_eq!(
            micros("20240310T023000", Some("America/New_York")),
            micros("20240310T073000Z", None)
        );
        // Fall-back overlap: the first 01:30 (EDT).
        assert_eq!(
            micros("20241103T013000", Some("America/New_York")),
            micros("20241103T053000Z", None)
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_time("20240304T100000", Some("Nowhere/Special"), &zones()),
            Err(ValueError::UnknownZone("Nowhere/Special".into()))
        );
        for bad in [
            "",
            "tomorrow",
            "20241304",
            "20240304T250000",
            "00010101T000000Z",
        ] {
            assert_eq!(
                parse_time(bad, None, &zones()),
                Err(ValueError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT1H30M"), Some(5400));
        assert_eq!(parse_duration("P1D"), Some(86_400));
        assert_eq!(parse_duration("P2W"), Some(1_209_600));
        assert_eq!(parse_duration("P1DT2H"), Some(93_600));
        assert_eq!(parse_duration("-PT15M"), Some(-900));
        for bad in ["", "P", "PT", "1H", "PTH", "P1H", "PT1D", "P99999999999D"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
