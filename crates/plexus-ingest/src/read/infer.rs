//! Column type inference for text formats (CSV): the narrowest type every value fits.
//!
//! Order tried: integer, float, boolean, timestamp, date, text. Empty fields are NULL and
//! fit every type. Integers with a leading zero or a sign (`007`, `+33…`) stay text: they
//! are codes and phone numbers, not quantities.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
    TimestampMicrosecondArray,
};

/// The type a column of text values is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Bool,
    Timestamp,
    Date,
    Text,
}

/// Converts a column of text into the narrowest type all its values fit.
pub fn infer_column(column: &ArrayRef) -> ArrayRef {
    let Some(strings) = column.as_any().downcast_ref::<StringArray>() else {
        return column.clone();
    };
    let mut candidates = [
        Kind::Int,
        Kind::Float,
        Kind::Bool,
        Kind::Timestamp,
        Kind::Date,
    ];
    let mut alive = candidates.len();
    let mut any = false;
    for value in strings.iter().flatten() {
        any = true;
        let mut i = 0;
        while i < alive {
            if fits(candidates[i], value) {
                i += 1;
            } else {
                candidates.swap(i, alive - 1);
                alive -= 1;
            }
        }
        if alive == 0 {
            return column.clone();
        }
    }
    if !any {
        return column.clone();
    }
    let chosen = [
        Kind::Int,
        Kind::Float,
        Kind::Bool,
        Kind::Timestamp,
        Kind::Date,
    ]
    .into_iter()
    .find(|k| candidates[..alive].contains(k))
    .unwrap_or(Kind::Text);
    match chosen {
        Kind::Int => Arc::new(
            strings
                .iter()
                .map(|v| v.and_then(parse_int))
                .collect::<Int64Array>(),
        ),
        Kind::Float => Arc::new(
            strings
                .iter()
                .map(|v| v.and_then(parse_float))
                .collect::<Float64Array>(),
        ),
        Kind::Bool => Arc::new(
            strings
                .iter()
                .map(|v| v.and_then(parse_bool))
                .collect::<BooleanArray>(),
        ),
        Kind::Timestamp => Arc::new(
            strings
                .iter()
                .map(|v| v.and_then(parse_naive_timestamp))
                .collect::<TimestampMicrosecondArray>(),
        ),
        Kind::Date => Arc::new(
            strings
                .iter()
                .map(|v| v.and_then(parse_date))
                .collect::<Date32Array>(),
        ),
        Kind::Text => column.clone(),
    }
}

fn fits(kind: Kind, v: &str) -> bool {
    match kind {
        Kind::Int => parse_int(v).is_some(),
        Kind::Float => parse_float(v).is_some(),
        Kind::Bool => parse_bool(v).is_some(),
        Kind::Timestamp => parse_naive_timestamp(v).is_some(),
        Kind::Date => parse_date(v).is_some(),
        Kind::Text => true,
    }
}

fn parse_int(v: &str) -> Option<i64> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    v.parse().ok()
}

fn parse_float(v: &str) -> Option<f64> {
    let body = v.strip_prefix('-').unwrap_or(v);
    let ok = !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'-' || b == b'+'
        })
        && body.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && !(body.len() > 1 && body.starts_with('0') && !body.starts_with("0."));
    if ok { v.parse().ok() } else { None }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" | "TRUE" | "True" => Some(true),
        "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Naive timestamps: `YYYY-MM-DD HH:MM:SS[.f]` or with a `T`. Values with a zone stay text
/// here; mappings parse them (see `values::parse_timestamp`).
pub fn parse_naive_timestamp(v: &str) -> Option<i64> {
    if v.len() < 19 {
        return None;
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
        .map(|t| t.and_utc().timestamp_micros())
}

fn parse_date(v: &str) -> Option<i32> {
    if v.len() != 10 {
        return None;
    }
    let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((d - epoch).num_days()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, TimeUnit};

    fn infer(values: &[Option<&str>]) -> DataType {
        let a: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
        infer_column(&a).data_type().clone()
    }

    #[test]
    fn infers_the_narrowest_type() {
        assert_eq!(infer(&[Some("1"), None, Some("-20")]), DataType::Int64);
        assert_eq!(infer(&[Some("1"), Some("2.5")]), DataType::Float64);
        assert_eq!(infer(&[Some("true"), Some("false")]), DataType::Boolean);
        assert_eq!(
            infer(&[Some("2021-09-01 19:37:51")]),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(infer(&[Some("2021-09-01")]), DataType::Date32);
        assert_eq!(infer(&[Some("1"), Some("x")]), DataType::Utf8);
    }

    #[test]
    fn codes_and_phones_stay_text() {
        assert_eq!(infer(&[Some("007"), Some("12")]), DataType::Utf8);
        assert_eq!(infer(&[Some("+33612345678")]), DataType::Utf8);
        assert_eq!(infer(&[Some("$40,000")]), DataType::Utf8);
    }

    #[test]
    fn all_null_stays_text() {
        assert_eq!(infer(&[None, None]), DataType::Utf8);
    }
}
