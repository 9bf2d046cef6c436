//! Resolves iCalendar `TZID` values to IANA time zones (chrono-tz).
//!
//! Accepted, in order: an IANA name (`America/New_York`); a `VTIMEZONE`
//! of the file whose `X-LIC-LOCATION` is an IANA name; a Windows zone name
//! (`Pacific Standard Time`, as Outlook writes); a path that ends in an IANA
//! name (`/mozilla.org/20050126_1/America/New_York`).

use std::collections::HashMap;
use std::str::FromStr;

use chrono_tz::Tz;

/// Windows zone names to IANA zones (CLDR windowsZones.xml, territory 001).
const WINDOWS_ZONES: [(&str, &str); 60] = [
    ("Dateline Standard Time", "Etc/GMT+12"),
    ("UTC-11", "Etc/GMT+11"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Pacific Standard Time (Mexico)", "America/Tijuana"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Mountain Standard Time (Mexico)", "America/Mazatlan"),
    ("Mountain Standard Time", "America/Denver"),
    ("Central America Standard Time", "America/Guatemala"),
    ("Central Standard Time (Mexico)", "America/Mexico_City"),
    ("Central Standard Time", "America/Chicago"),
    ("Canada Central Standard Time", "America/Regina"),
    ("SA Pacific Standard Time", "America/Bogota"),
    ("Eastern Standard Time (Mexico)", "America/Cancun"),
    ("Eastern Standard Time", "America/New_York"),
    ("US Eastern Standard Time", "America/Indiana/Indianapolis"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Venezuela Standard Time", "America/Caracas"),
    ("SA Western Standard Time", "America/La_Paz"),
    ("Pacific SA Standard Time", "America/Santiago"),
    ("Newfoundland Standard Time", "America/St_Johns"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    ("SA Eastern Standard Time", "America/Cayenne"),
    ("Greenland Standard Time", "America/Nuuk"),
    ("UTC", "Etc/UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("W. Central Africa Standard Time", "Africa/Lagos"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("FLE Standard Time", "Europe/Kyiv"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Egypt Standard Time", "Africa/Cairo"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Arabic Standard Time", "Asia/Baghdad"),
    ("Arab Standard Time", "Asia/Riyadh"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("E. Africa Standard Time", "Africa/Nairobi"),
    ("Iran Standard Time", "Asia/Tehran"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("Pakistan Standard Time", "Asia/Karachi"),
    ("India Standard Time", "Asia/Kolkata"),
    ("Nepal Standard Time", "Asia/Kathmandu"),
    ("Bangladesh Standard Time", "Asia/Dhaka"),
    ("SE Asia Standard Time", "Asia/Bangkok"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Taipei Standard Time", "Asia/Taipei"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
];

/// Looks up an IANA zone name.
fn iana(name: &str) -> Option<Tz> {
    Tz::from_str(name).ok()
}

/// Maps a Windows zone name to its IANA zone.
fn windows(name: &str) -> Option<Tz> {
    WINDOWS_ZONES
        .iter()
        .find(|(win, _)| win.eq_ignore_ascii_case(name))
        .and_then(|(_, iana_name)| iana(iana_name))
}

/// The zones a file's `TZID`s may refer to.
#[derive(Debug, Default)]
pub(crate) struct TzResolver {
    /// `VTIMEZONE` TZID -> IANA zone, from `X-LIC-LOCATION`.
    custom: HashMap<String, Tz>,
}

impl TzResolver {
    /// Registers a `VTIMEZONE` whose `TZID` is `tzid` and whose
    /// `X-LIC-LOCATION` (if any) is `location`.
    pub(crate) fn add_vtimezone(&mut self, tzid: &str, location: Option<&str>) {
        if let Some(tz) = location.and_then(|l| self.builtin(l)) {
            self.custom.insert(tzid.trim().to_owned(), tz);
        }
    }

    /// Resolves a name without the file's `VTIMEZONE`s.
    fn builtin(&self, name: &str) -> Option<Tz> {
        let name = name.trim().trim_matches('"').trim();
        if name.is_empty() {
            return None;
        }
        iana(name).or_else(|| windows(name)).or_else(|| {
            name.match_indices('/')
                .find_map(|(i, _)| iana(&name[i + 1..]))
        })
    }

    /// Resolves a `TZID` parameter value, `None` when unknown.
    pub(crate) fn resolve(&self, tzid: &str) -> Option<Tz> {
        let name = tzid.trim().trim_matches('"').trim();
        iana(name)
            .or_else(|| self.custom.get(name).copied())
            .or_else(|| self.builtin(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_windows_mapping_is_a_known_zone() {
        for (win, iana_name) in WINDOWS_ZONES {
            assert!(iana(iana_name).is_some(), "{win} -> {iana_name}");
        }
    }

    #[test]
    fn resolves_names() {
        let mut r = TzResolver::default();
        assert_eq!(r.resolve("America/New_York"), Some(Tz::America__New_York));
        assert_eq!(r.resolve("\"Europe/Paris\""), Some(Tz::Europe__Paris));
        assert_eq!(
            r.resolve("Pacific Standard Time"),
            Some(Tz::America__Los_Angeles)
        );
        assert_eq!(
            r.resolve("/mozilla.org/20050126_1/America/New_York"),
            Some(Tz::America__New_York)
        );
        assert_eq!(r.resolve("Mars/Olympus_Mons"), None);
        assert_eq!(r.resolve(""), None);
        r.add_vtimezone("Custom Zone 1", Some("Europe/Berlin"));
        assert_eq!(r.resolve("Custom Zone 1"), Some(Tz::Europe__Berlin));
    }
}
