//! Time helpers shared by the parsers: every record time is `i64`
//! microseconds since the Unix epoch, UTC.

use chrono::{DateTime, SecondsFormat, Utc};

/// Microseconds in one second.
pub(crate) const MICROS_PER_SEC: i64 = 1_000_000;

/// Converts Unix seconds to microseconds, `None` when out of range.
pub(crate) fn secs_to_micros(secs: i64) -> Option<i64> {
    secs.checked_mul(MICROS_PER_SEC)
}

/// Formats microseconds since the epoch as RFC 3339 UTC with whole seconds
/// (`2024-03-04T15:00:00Z`), or the raw number when out of chrono's range.
pub(crate) fn rfc3339_utc(micros: i64) -> String {
    match DateTime::<Utc>::from_timestamp_micros(micros) {
        Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Secs, true),
        None => micros.to_string(),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`); the caller validates month and day.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Number of days in `month` of `year`.
fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap { 29 } else { 28 }
        }
    }
}

/// A tiny cursor over ASCII digits and separators.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// Reads exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let end = self.pos.checked_add(n)?;
        let chunk = self.bytes.get(self.pos..end)?;
        let mut value: u32 = 0;
        for &b in chunk {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
        }
        self.pos = end;
        Some(value)
    }

    /// Consumes `b` if it is next.
    fn eat(&mut self, b: u8) -> bool {
        if self.bytes.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The next byte, if any.
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// True when every byte was consumed.
    fn done(&self) -> bool {
        self.pos >= self.bytes.len()
    }
}

/// Parses an ISO 8601 / RFC 3339 timestamp into microseconds since the epoch.
///
/// Accepts `YYYY-MM-DD`, optionally followed by `T` (or a space) and
/// `HH:MM[:SS[.fraction]]`, optionally followed by `Z` or an offset
/// `±HH:MM`, `±HHMM` or `±HH`. A time without zone is read as UTC.
/// Fractions beyond microseconds are truncated. Hand-written because it is on
/// the Segment hot path (a million lines a second) where a general parser
/// costs more than the JSON decoding; anything it does not accept is
/// rejected by the caller.
pub(crate) fn parse_iso8601_micros(s: &str) -> Option<i64> {
    let mut c = Cursor {
        bytes: s.trim().as_bytes(),
        pos: 0,
    };
    let year = i64::from(c.digits(4)?);
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(2)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut secs_of_day: i64 = 0;
    let mut micros: i64 = 0;
    let mut offset_secs: i64 = 0;
    if matches!(c.peek(), Some(b'T' | b't' | b' ')) {
        c.pos += 1;
        let hour = c.digits(2)?;
        if !c.eat(b':') {
            return None;
        }
        let minute = c.digits(2)?;
        let mut second = 0;
        if c.eat(b':') {
            second = c.digits(2)?;
            if c.eat(b'.') || c.eat(b',') {
                let mut scale = 100_000;
                let mut any = false;
                while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
                    any = true;
                    micros += i64::from(b - b'0') * scale;
                    scale /= 10;
                    c.pos += 1;
                }
                if !any {
                    return None;
                }
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        secs_of_day = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
        match c.peek() {
            Some(b'Z' | b'z') => c.pos += 1,
            Some(sign @ (b'+' | b'-')) => {
                c.pos += 1;
                let oh = c.digits(2)?;
                let om = if c.eat(b':') {
                    c.digits(2)?
                } else if c.done() {
                    0
                } else {
                    c.digits(2)?
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                let off = i64::from(oh) * 3600 + i64::from(om) * 60;
                offset_secs = if sign == b'+' { off } else { -off };
            }
            _ => {}
        }
    }
    if !c.done() {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + secs_of_day - offset_secs;
    secs.checked_mul(MICROS_PER_SEC)?.checked_add(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_micros(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.timestamp_micros())
            .unwrap_or(i64::MIN)
    }

    #[test]
    fn matches_chrono_on_rfc3339() {
        for s in [
            "2015-02-23T22:28:55.111Z",
            "2015-02-23T22:28:55Z",
            "2015-02-23T22:28:55+01:00",
            "2015-02-23T22:28:55.123456789-05:30",
            "1969-12-31T23:59:59Z",
            "2000-02-29T00:00:00Z",
            "1600-03-01T12:00:00Z",
        ] {
            assert_eq!(parse_iso8601_micros(s), Some(chrono_micros(s)), "{s}");
        }
    }

    #[test]
    fn accepts_iso_variants() {
        let base = chrono_micros("2024-03-10T07:00:00Z");
        assert_eq!(parse_iso8601_micros("2024-03-10T07:00:00"), Some(base));
        assert_eq!(parse_iso8601_micros("2024-03-10 07:00:00Z"), Some(base));
        assert_eq!(parse_iso8601_micros("2024-03-10T09:00:00+0200"), Some(base));
        assert_eq!(parse_iso8601_micros("2024-03-10T09:00:00+02"), Some(base));
        assert_eq!(parse_iso8601_micros("2024-03-10T07:00Z"), Some(base));
        assert_eq!(
            parse_iso8601_micros("2024-03-10"),
            Some(chrono_micros("2024-03-10T00:00:00Z"))
        );
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-03-10T25:00:00Z",
            "2024-03-10T07:00:00Zjunk",
            "2024-03-10T07:00:00.Z",
            "1700000000",
        ] {
            assert_eq!(parse_iso8601_micros(s), None, "{s}");
        }
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(i64::MAX), i64::MAX.to_string());
    }
}
