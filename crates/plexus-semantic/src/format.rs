//! Showing results to people: numbers by their measure's format (`1,234`, `1,234.50`,
//! `12.5%`) and time periods by their granularity (`2024-03`, `2024-Q1`).

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, TimeUnit};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::QueryResult;
use crate::compile::{OutputColumn, Role};
use crate::defs::Format;

/// `n` with thousands separators and at most `decimals` decimals (exactly `decimals`
/// when `fixed`).
pub fn number(n: f64, decimals: usize, fixed: bool) -> String {
    if !n.is_finite() {
        return n.to_string();
    }
    let text = format!("{:.*}", decimals, n.abs());
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let frac = if fixed {
        frac
    } else {
        frac.trim_end_matches('0')
    };
    let sign = if n < 0.0 && (int != "0" || frac.chars().any(|c| c != '0')) {
        "-"
    } else {
        ""
    };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}.{frac}")
    }
}

/// One value of `format`.
pub fn value(n: f64, format: Format) -> String {
    match format {
        Format::Number => number(n, 2, false),
        Format::Currency => number(n, 2, true),
        Format::Percentage => format!("{}%", number(n * 100.0, 1, true)),
    }
}

/// The cells of a result as text, formats applied, NULL as `∅`-free empty text.
pub fn cells(result: &QueryResult) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let opts = FormatOptions::default()
        .with_null("")
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S"))
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S"));
    for batch in &result.batches {
        let columns: Vec<Vec<String>> = result
            .columns
            .iter()
            .zip(batch.columns())
            .map(|(c, a)| column(c, a, &opts))
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(columns.iter().map(|c| c[r].clone()).collect());
        }
    }
    rows
}

fn column(c: &OutputColumn, a: &ArrayRef, opts: &FormatOptions) -> Vec<String> {
    let plain = || -> Vec<String> {
        match ArrayFormatter::try_new(a.as_ref(), opts) {
            Ok(f) => (0..a.len()).map(|i| f.value(i).to_string()).collect(),
            Err(_) => vec![String::new(); a.len()],
        }
    };
    match (&c.role, c.format) {
        (Role::TimeDimension { granularity }, _) => {
            let Ok(t) = cast(a, &DataType::Timestamp(TimeUnit::Microsecond, None)) else {
                return plain();
            };
            let t = t.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
            (0..t.len())
                .map(|i| {
                    if t.is_null(i) {
                        return String::new();
                    }
                    let Some(d) = chrono::DateTime::from_timestamp_micros(t.value(i)) else {
                        return String::new();
                    };
                    use chrono::Datelike;
                    match granularity.as_str() {
                        "year" => d.format("%Y").to_string(),
                        "quarter" => format!("{}-Q{}", d.year(), d.month0() / 3 + 1),
                        "month" => d.format("%Y-%m").to_string(),
                        _ => d.format("%Y-%m-%d").to_string(),
                    }
                })
                .collect()
        }
        (Role::Measure | Role::Metric, Some(f)) if a.data_type().is_numeric() => {
            let Ok(n) = cast(a, &DataType::Float64) else {
                return plain();
            };
            let n = n.as_primitive::<Float64Type>();
            (0..n.len())
                .map(|i| {
                    if n.is_null(i) {
                        String::new()
                    } else {
                        value(n.value(i), f)
                    }
                })
                .collect()
        }
        _ => plain(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(1234567.891, 2, false), "1,234,567.89");
        assert_eq!(number(1000.0, 2, false), "1,000");
        assert_eq!(number(-12.5, 2, true), "-12.50");
        assert_eq!(number(-0.001, 2, false), "0");
        assert_eq!(value(0.1234, Format::Percentage), "12.3%");
        assert_eq!(value(99.5, Format::Currency), "99.50");
        assert_eq!(value(3.0, Format::Number), "3");
    }
}
