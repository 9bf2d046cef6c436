//! Query-string parameters, checked: an unknown, repeated or malformed parameter is a 400
//! that names it.

use chrono::{DateTime, NaiveDate, Utc};

use crate::api::ApiError;

/// The parameters of one request, in order.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `raw` (the part after `?`), accepting only `allowed` names; `repeatable` ones
    /// may appear more than once.
    pub fn parse(
        raw: Option<&str>,
        allowed: &[&str],
        repeatable: &[&str],
    ) -> Result<Params, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if !allowed.contains(&k.as_ref()) {
                return Err(ApiError::bad(
                    &k,
                    format!(
                        "unknown parameter `{k}`; this endpoint takes {}",
                        if allowed.is_empty() {
                            "none".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                ));
            }
            if !repeatable.contains(&k.as_ref()) && pairs.iter().any(|(p, _)| *p == k) {
                return Err(ApiError::bad(&k, format!("parameter `{k}` is given twice")));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Params { pairs })
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable `name` (comma-separated values count as several).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// `name` as an integer in `min..=max`, or `default`.
    pub fn int(
        &self,
        name: &str,
        default: usize,
        min: usize,
        max: usize,
    ) -> Result<usize, ApiError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::bad(
                    name,
                    format!(
                        "parameter `{name}` must be a whole number from {min} to {max}, not `{v}`"
                    ),
                )),
            },
        }
    }

    /// `name` as a time (RFC 3339, or a date `YYYY-MM-DD` meaning its start in UTC), in
    /// microseconds since the epoch. `end_of_day` makes a bare date mean its last instant.
    pub fn time(&self, name: &str, end_of_day: bool) -> Result<Option<i64>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let v = v.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(v) {
            return Ok(Some(t.with_timezone(&Utc).timestamp_micros()));
        }
        if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            let start = d
                .and_hms_opt(0, 0, 0)
                .map(|t| t.and_utc().timestamp_micros());
            return Ok(start.map(|s| {
                if end_of_day {
                    s + 86_400_000_000 - 1
                } else {
                    s
                }
            }));
        }
        Err(ApiError::bad(
            name,
            format!(
                "parameter `{name}` must be a date (2024-05-01) or an RFC 3339 time (2024-05-01T10:00:00Z), not `{v}`"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_parameters_are_named() {
        let e = Params::parse(Some("q=a&x=1"), &["q"], &[]).unwrap_err();
        assert_eq!(e.parameter.as_deref(), Some("x"));
        let e = Params::parse(Some("q=a&q=b"), &["q"], &[]).unwrap_err();
        assert!(e.message.contains("twice"), "{}", e.message);
        let p = Params::parse(Some("source=a&source=b,c"), &["source"], &["source"]).unwrap();
        assert_eq!(p.all("source"), ["a", "b", "c"]);
    }

    #[test]
    fn times_and_limits_are_checked() {
        let p = Params::parse(
            Some("from=2024-05-01&to=2024-05-01&limit=0"),
            &["from", "to", "limit"],
            &[],
        )
        .unwrap();
        let (from, to) = (
            p.time("from", false).unwrap().unwrap(),
            p.time("to", true).unwrap().unwrap(),
        );
        assert_eq!(to - from, 86_400_000_000 - 1);
        assert_eq!(
            p.int("limit", 50, 1, 200).unwrap_err().parameter.as_deref(),
            Some("limit")
        );
        let p = Params::parse(Some("from=yesterday"), &["from"], &[]).unwrap();
        assert!(
            p.time("from", false)
                .unwrap_err()
                .message
                .contains("yesterday")
        );
    }
}
