//! Column type inference for text formats (CSV): the narrowest type every value fits.
//!
//! Order tried: integer, float, boolean, timestamp, date, text. Empty fields are NULL and
//! fit every type. Integers with a leading zero or a sign (`007`, `+33…`) stay text: they
//! are codes and phone numbers, not quantities.

use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, TimeUnit};

/// The type a column of text values is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 64-bit integers.
    Int,
    /// 64-bit floats.
    Float,
    /// `true` / `false`.
    Bool,
    /// Naive timestamps, as microseconds (taken as UTC).
    Timestamp,
    /// Calendar dates.
    Date,
    /// Anything else.
    Text,
}

/// The narrowest candidates first: the first one every value fits wins.
const ORDER: [Kind; 5] = [
    Kind::Int,
    Kind::Float,
    Kind::Bool,
    Kind::Timestamp,
    Kind::Date,
];

/// Infers one column's type from its values as they stream past, so a file can be typed
/// in a first pass without keeping its values.
#[derive(Debug, Clone)]
pub struct Inference {
    candidates: [Kind; 5],
    alive: usize,
    any: bool,
}

impl Default for Inference {
    fn default() -> Self {
        Inference {
            candidates: ORDER,
            alive: ORDER.len(),
            any: false,
        }
    }
}

impl Inference {
    /// Narrows the candidates by one non-empty value.
    ///
    /// A value fits exactly one of: integer and float, float, boolean, timestamp, date,
    /// or none (see the `fits_are_one_of_few_sets` test). So the first candidate it fits,
    /// in the order tried, tells what it fits, and the rest need not be parsed: an
    /// integer column parses each value once, not as a float too.
    pub fn observe(&mut self, value: &str) {
        self.any = true;
        let alive = &self.candidates[..self.alive];
        let first_fit = ORDER
            .into_iter()
            .find(|k| alive.contains(k) && fits(*k, value));
        let keep = |k: Kind| match first_fit {
            Some(Kind::Int) => matches!(k, Kind::Int | Kind::Float),
            Some(fit) => k == fit,
            None => false,
        };
        let mut i = 0;
        while i < self.alive {
            if keep(self.candidates[i]) {
                i += 1;
            } else {
                self.candidates.swap(i, self.alive - 1);
                self.alive -= 1;
            }
        }
    }

    /// Folds in what another inference saw (of other values of the same column): the
    /// types both still allow.
    pub fn merge(&mut self, other: &Inference) {
        self.any |= other.any;
        let mut i = 0;
        while i < self.alive {
            if other.candidates[..other.alive].contains(&self.candidates[i]) {
                i += 1;
            } else {
                self.candidates.swap(i, self.alive - 1);
                self.alive -= 1;
            }
        }
    }

    /// True once only text is left (later values cannot change the answer).
    pub fn is_text(&self) -> bool {
        self.alive == 0
    }

    /// The narrowest type every value seen fits (text if no value was seen).
    pub fn kind(&self) -> Kind {
        if !self.any {
            return Kind::Text;
        }
        ORDER
            .into_iter()
            .find(|k| self.candidates[..self.alive].contains(k))
            .unwrap_or(Kind::Text)
    }
}

impl Kind {
    /// The Arrow type of a column of this kind.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Bool => DataType::Boolean,
            Kind::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            Kind::Date => DataType::Date32,
            Kind::Text => DataType::Utf8,
        }
    }
}

/// A column of a batch being parsed, in its kind's Arrow builder: each value is parsed as
/// it is read, instead of being copied into text and converted afterwards (CSV numbers,
/// times and dates: a copy and a pass over the column less per batch).
#[derive(Debug)]
pub enum TypedBuilder {
    /// [`Kind::Text`].
    Text(StringBuilder),
    /// [`Kind::Int`].
    Int(Int64Builder),
    /// [`Kind::Float`].
    Float(Float64Builder),
    /// [`Kind::Bool`].
    Bool(BooleanBuilder),
    /// [`Kind::Timestamp`].
    Timestamp(TimestampMicrosecondBuilder),
    /// [`Kind::Date`].
    Date(Date32Builder),
}

impl TypedBuilder {
    /// A builder for `rows` values of `kind`; text gets room for `text_bytes` bytes.
    pub fn new(kind: Kind, rows: usize, text_bytes: usize) -> TypedBuilder {
        match kind {
            Kind::Text => TypedBuilder::Text(StringBuilder::with_capacity(rows, text_bytes)),
            Kind::Int => TypedBuilder::Int(Int64Builder::with_capacity(rows)),
            Kind::Float => TypedBuilder::Float(Float64Builder::with_capacity(rows)),
            Kind::Bool => TypedBuilder::Bool(BooleanBuilder::with_capacity(rows)),
            Kind::Timestamp => {
                TypedBuilder::Timestamp(TimestampMicrosecondBuilder::with_capacity(rows))
            }
            Kind::Date => TypedBuilder::Date(Date32Builder::with_capacity(rows)),
        }
    }

    /// Appends one field: empty is NULL; any other value is parsed as the kind (a value
    /// that does not fit, which [`Inference`] rules out, is NULL).
    pub fn append(&mut self, field: &str) {
        if field.is_empty() {
            self.append_null();
            return;
        }
        match self {
            TypedBuilder::Text(b) => b.append_value(field),
            TypedBuilder::Int(b) => b.append_option(parse_int(field)),
            TypedBuilder::Float(b) => b.append_option(parse_float(field)),
            TypedBuilder::Bool(b) => b.append_option(parse_bool(field)),
            TypedBuilder::Timestamp(b) => b.append_option(parse_naive_timestamp(field)),
            TypedBuilder::Date(b) => b.append_option(parse_date(field)),
        }
    }

    fn append_null(&mut self) {
        match self {
            TypedBuilder::Text(b) => b.append_null(),
            TypedBuilder::Int(b) => b.append_null(),
            TypedBuilder::Float(b) => b.append_null(),
            TypedBuilder::Bool(b) => b.append_null(),
            TypedBuilder::Timestamp(b) => b.append_null(),
            TypedBuilder::Date(b) => b.append_null(),
        }
    }

    /// The column so far; the builder starts again.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            TypedBuilder::Text(b) => Arc::new(b.finish()),
            TypedBuilder::Int(b) => Arc::new(b.finish()),
            TypedBuilder::Float(b) => Arc::new(b.finish()),
            TypedBuilder::Bool(b) => Arc::new(b.finish()),
            TypedBuilder::Timestamp(b) => Arc::new(b.finish()),
            TypedBuilder::Date(b) => Arc::new(b.finish()),
        }
    }
}

/// Converts a column of text into the narrowest type all its values fit.
#[cfg(test)]
pub fn infer_column(column: &ArrayRef) -> ArrayRef {
    use datafusion::arrow::array::{Array, StringArray};
    let Some(strings) = column.as_any().downcast_ref::<StringArray>() else {
        return column.clone();
    };
    let mut inference = Inference::default();
    for value in strings.iter().flatten() {
        inference.observe(value);
        if inference.is_text() {
            return column.clone();
        }
    }
    let mut builder = TypedBuilder::new(inference.kind(), strings.len(), 0);
    for value in strings.iter() {
        builder.append(value.unwrap_or_default());
    }
    builder.finish()
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

/// Naive timestamps: `YYYY-MM-DD HH:MM:SS[.f]` or with a `T`, as microseconds since the
/// epoch (taken as UTC). Values with a zone stay text here; mappings parse them (see
/// `values::parse_timestamp`). Hand-written rather than `chrono`'s format parser: type
/// inference tries it on every value of every column.
pub fn parse_naive_timestamp(v: &str) -> Option<i64> {
    let b = v.as_bytes();
    if b.len() < 19 || !(b[10] == b' ' || b[10] == b'T') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let days = days_from_date(&b[..10])?;
    let (h, m, s) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let mut micros = 0i64;
    if b.len() > 19 {
        let frac = b[19..].strip_prefix(b".")?;
        if frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
            return None;
        }
        for i in 0..6 {
            micros = micros * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
        }
    }
    Some(((days * 24 + h) * 60 + m) * 60_000_000 + s * 1_000_000 + micros)
}

/// Two or four ASCII digits as a number.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + i64::from(d - b'0'))
    })
}

/// Days since 1970-01-01 of `YYYY-MM-DD`, validating the calendar date.
fn days_from_date(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&b[..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(y).ok()?,
        u32::try_from(m).ok()?,
        u32::try_from(d).ok()?,
    )?;
    Some(i64::from(date.num_days_from_ce()) - 719_163)
}

fn parse_date(v: &str) -> Option<i32> {
    i32::try_from(days_from_date(v.as_bytes())?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        Array, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray,
        TimestampMicrosecondArray,
    };

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

    /// Every kind's builder parses its values in place, empty fields are NULL.
    #[test]
    fn typed_builders_parse_each_kind_with_nulls() {
        fn build(kind: Kind, values: &[&str]) -> ArrayRef {
            let mut b = TypedBuilder::new(kind, values.len(), 8);
            for v in values {
                b.append(v);
            }
            let first = b.finish();
            // The builder starts again after `finish`.
            b.append(values[0]);
            assert_eq!(b.finish().len(), 1);
            first
        }
        let a = build(Kind::Int, &["12", "", "-3"]);
        let expected = Int64Array::from(vec![Some(12), None, Some(-3)]);
        assert_eq!(a.as_any().downcast_ref::<Int64Array>(), Some(&expected));
        let a = build(Kind::Float, &["1.5", "", "2"]);
        let expected = Float64Array::from(vec![Some(1.5), None, Some(2.0)]);
        assert_eq!(a.as_any().downcast_ref::<Float64Array>(), Some(&expected));
        let a = build(Kind::Bool, &["true", "", "False"]);
        let expected = BooleanArray::from(vec![Some(true), None, Some(false)]);
        assert_eq!(a.as_any().downcast_ref::<BooleanArray>(), Some(&expected));
        let a = build(Kind::Timestamp, &["1970-01-01 00:00:01.5", ""]);
        let expected = TimestampMicrosecondArray::from(vec![Some(1_500_000), None]);
        assert_eq!(
            a.as_any().downcast_ref::<TimestampMicrosecondArray>(),
            Some(&expected)
        );
        let a = build(Kind::Date, &["1970-01-02", ""]);
        let expected = Date32Array::from(vec![Some(1), None]);
        assert_eq!(a.as_any().downcast_ref::<Date32Array>(), Some(&expected));
        let a = build(Kind::Text, &["a,b", "", "é"]);
        let expected = StringArray::from(vec![Some("a,b"), None, Some("é")]);
        assert_eq!(a.as_any().downcast_ref::<StringArray>(), Some(&expected));
        // A value the inference would have ruled out is NULL, never a panic.
        let a = build(Kind::Int, &["x"]);
        assert!(a.is_null(0));
    }

    #[test]
    fn codes_and_phones_stay_text() {
        assert_eq!(infer(&[Some("007"), Some("12")]), DataType::Utf8);
        assert_eq!(infer(&[Some("+33612345678")]), DataType::Utf8);
        assert_eq!(infer(&[Some("$40,000")]), DataType::Utf8);
    }

    #[test]
    fn naive_timestamps_parse_exactly() {
        let chrono = |v: &str| {
            chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc().timestamp_micros())
        };
        for v in [
            "2021-09-01 19:37:51",
            "1969-12-31 23:59:59",
            "2024-02-29 00:00:00",
            "2026-03-01 10:00:00.123456",
            "2026-03-01 10:00:00.5",
        ] {
            assert_eq!(parse_naive_timestamp(v), chrono(v), "{v}");
        }
        assert_eq!(
            parse_naive_timestamp("2026-03-01T10:00:00"),
            parse_naive_timestamp("2026-03-01 10:00:00")
        );
        for bad in [
            "2023-02-29 00:00:00",
            "2021-13-01 00:00:00",
            "2021-09-01 24:00:00",
            "2021-09-01 19:37",
            "2021-09-01 19:37:51Z",
            "2021/09/01 19:37:51",
            "2021-09-01 19:37:51.",
        ] {
            assert_eq!(parse_naive_timestamp(bad), None, "{bad}");
        }
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("2021-02-30"), None);
    }

    /// What `observe` relies on: the kinds a value fits are one of a few sets.
    fn fitting(value: &str) -> Vec<Kind> {
        ORDER.into_iter().filter(|k| fits(*k, value)).collect()
    }

    fn assert_fits_one_of_few_sets(value: &str) {
        let allowed: [&[Kind]; 6] = [
            &[Kind::Int, Kind::Float],
            &[Kind::Float],
            &[Kind::Bool],
            &[Kind::Timestamp],
            &[Kind::Date],
            &[],
        ];
        let fit = fitting(value);
        assert!(allowed.contains(&&fit[..]), "{value:?} fits {fit:?}");
    }

    #[test]
    fn fits_are_one_of_few_sets() {
        for v in [
            "0",
            "-0",
            "007",
            "1",
            "-1",
            "1.5",
            "0.5",
            "1e5",
            "1E-5",
            "-2.5e+3",
            "inf",
            "NaN",
            "true",
            "False",
            "2021-09-01",
            "2021-09-01 19:37:51",
            "2021-09-01T19:37:51.25",
            "1234567890123456789",
            "9999999999999999999",
            "2021-09-01 19:37:51Z",
            "-",
        ] {
            assert_fits_one_of_few_sets(v);
        }
    }

    proptest::proptest! {
        #[test]
        fn fits_are_one_of_few_sets_for_any_text(v in "[0-9eE.+\\-: T]{0,24}|[a-zA-Z]{0,6}|.{0,12}") {
            assert_fits_one_of_few_sets(&v);
        }

        /// Observing values one at a time ends in the same type as trying every kind on
        /// every value.
        #[test]
        fn observe_agrees_with_trying_every_kind(values in proptest::collection::vec(
            "-?[0-9]{1,3}|[0-9]\\.[0-9]|true|2021-0[1-9]-1[0-9]|2021-09-01 1[0-9]:00:00|x", 0..6)) {
            let mut inference = Inference::default();
            for v in &values {
                inference.observe(v);
            }
            let expected = if values.is_empty() {
                Kind::Text
            } else {
                ORDER
                    .into_iter()
                    .find(|k| values.iter().all(|v| fits(*k, v)))
                    .unwrap_or(Kind::Text)
            };
            proptest::prop_assert_eq!(inference.kind(), expected);
        }
    }

    #[test]
    fn all_null_stays_text() {
        assert_eq!(infer(&[None, None]), DataType::Utf8);
    }
}
