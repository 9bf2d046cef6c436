//! Timestamps: the demo's time window and fast, allocation-free formatting.
//!
//! Timestamps are `i64` seconds since the Unix epoch, UTC. Formatting is done
//! by hand (civil-from-days) because the generator writes millions of them
//! and needs neither time zones nor a general formatter.

use rand::Rng;

/// First second of the demo's history: 2025-01-01T00:00:00Z.
pub(crate) const START: i64 = days_from_civil(2025, 1, 1) * 86_400;
/// Last second of the demo's history: 2026-10-31T23:59:59Z.
pub(crate) const END: i64 = days_from_civil(2026, 11, 1) * 86_400 - 1;
/// One day in seconds.
pub(crate) const DAY: i64 = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Date of a day number since 1970-01-01: `(year, month, day)`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// How a timestamp is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TsStyle {
    /// `2026-03-01 10:00:00`, used in the CSV files.
    Csv,
    /// `2026-03-01T10:00:00Z`, used in the NDJSON file.
    Iso,
}

/// Appends the rendering of `secs` to `out`.
pub(crate) fn push_ts(out: &mut Vec<u8>, secs: i64, style: TsStyle) {
    let days = secs.div_euclid(DAY);
    let rem = secs.rem_euclid(DAY);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s) = (rem / 3600, (rem / 60) % 60, rem % 60);
    let mut buf = *b"0000-00-00T00:00:00Z";
    put2(&mut buf[0..2], (y / 100) as u32);
    put2(&mut buf[2..4], (y % 100) as u32);
    put2(&mut buf[5..7], mo);
    put2(&mut buf[8..10], d);
    put2(&mut buf[11..13], h as u32);
    put2(&mut buf[14..16], mi as u32);
    put2(&mut buf[17..19], s as u32);
    match style {
        TsStyle::Iso => out.extend_from_slice(&buf),
        TsStyle::Csv => {
            buf[10] = b' ';
            out.extend_from_slice(&buf[..19]);
        }
    }
}

/// Writes a two-digit number.
fn put2(dst: &mut [u8], v: u32) {
    dst[0] = b'0' + (v / 10) as u8;
    dst[1] = b'0' + (v % 10) as u8;
}

/// Day and month names of mail dates.
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A mail date of instant `secs` seen at UTC offset `offset_min` (minutes):
/// RFC 5322's `Tue, 05 Mar 2024 09:30:00 -0500`, or with `from_line` the
/// mbox separator's `Tue Mar 05 14:30:00 +0000 2024` (Gmail Takeout's form).
pub(crate) fn mail_date(secs: i64, offset_min: i32, from_line: bool) -> String {
    let local = secs + i64::from(offset_min) * 60;
    let days = local.div_euclid(DAY);
    let rem = local.rem_euclid(DAY);
    let (y, mo, d) = civil_from_days(days);
    let wd = WEEKDAYS[(days + 4).rem_euclid(7) as usize];
    let mon = MONTHS[mo as usize - 1];
    let (h, mi, s) = (rem / 3600, (rem / 60) % 60, rem % 60);
    let sign = if offset_min < 0 { '-' } else { '+' };
    let off = offset_min.unsigned_abs();
    let zone = format!("{sign}{:02}{:02}", off / 60, off % 60);
    if from_line {
        format!("{wd} {mon} {d:02} {h:02}:{mi:02}:{s:02} {zone} {y}")
    } else {
        format!("{wd}, {d:02} {mon} {y} {h:02}:{mi:02}:{s:02} {zone}")
    }
}

/// A timestamp as an owned string (for the less hot CSV paths).
pub(crate) fn ts_string(secs: i64, style: TsStyle) -> String {
    let mut v = Vec::with_capacity(20);
    push_ts(&mut v, secs, style);
    // Only ASCII digits and separators were written.
    String::from_utf8_lossy(&v).into_owned()
}

/// A uniformly random second in `[lo, hi]` (returns `lo` if the range is empty).
pub(crate) fn between(rng: &mut impl Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

/// Moves a timestamp into business hours (08:00-18:59 UTC) most of the time,
/// keeping its day, so activity looks like people at work.
pub(crate) fn business_hours(rng: &mut impl Rng, t: i64) -> i64 {
    if rng.random_bool(0.8) {
        let day = t.div_euclid(DAY) * DAY;
        day + rng.random_range(8 * 3600..19 * 3600)
    } else {
        t
    }
}

/// A random moment in `[lo, hi]`, moved into business hours most of the time.
pub(crate) fn work_time(rng: &mut impl Rng, lo: i64, hi: i64) -> i64 {
    let t = between(rng, lo, hi);
    business_hours(rng, t)
}

/// A random moment in `[lo, hi]` that leans towards later dates (density
/// growing linearly), like the sign-ups of a growing business.
pub(crate) fn growing(rng: &mut impl Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        return lo;
    }
    let u: f64 = rng.random::<f64>().sqrt();
    lo + ((hi - lo) as f64 * u) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_dates() {
        let t = days_from_civil(2024, 3, 5) * DAY + 14 * 3600 + 30 * 60;
        assert_eq!(mail_date(t, 0, true), "Tue Mar 05 14:30:00 +0000 2024");
        assert_eq!(mail_date(t, -300, false), "Tue, 05 Mar 2024 09:30:00 -0500");
        assert_eq!(mail_date(t, 330, false), "Tue, 05 Mar 2024 20:00:00 +0530");
        assert_eq!(mail_date(0, 0, false), "Thu, 01 Jan 1970 00:00:00 +0000");
    }

    #[test]
    fn window_bounds() {
        assert_eq!(ts_string(START, TsStyle::Iso), "2025-01-01T00:00:00Z");
        assert_eq!(ts_string(END, TsStyle::Csv), "2026-10-31 23:59:59");
    }

    #[test]
    fn formatting_matches_chrono() {
        let mut t = START - 400 * DAY;
        while t < END + 400 * DAY {
            let expect = chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            assert_eq!(Some(ts_string(t, TsStyle::Iso)), expect);
            t += 7919 * 13;
        }
    }
}
