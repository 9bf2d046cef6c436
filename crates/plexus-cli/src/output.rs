//! Writing Arrow batches for people (tables) and programs (CSV, JSON, NDJSON).

use std::io::Write;

use comfy_table::{Cell, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// How values are written as text: NULL as empty, timestamps `YYYY-MM-DD HH:MM:SS`.
fn text_options() -> FormatOptions<'static> {
    FormatOptions::default()
        .with_null("")
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S"))
        .with_datetime_format(Some("%Y-%m-%d %H:%M:%S"))
}

/// Writes RFC 4180 CSV with a header.
pub fn write_csv(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> std::io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(out);
    w.write_record(schema.fields().iter().map(|f| f.name()))?;
    let opts = text_options();
    for b in batches {
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).map_err(std::io::Error::other))
            .collect::<Result<_, _>>()?;
        for row in 0..b.num_rows() {
            w.write_record(formatters.iter().map(|f| f.value(row).to_string()))?;
        }
    }
    w.flush()
}

/// Writes one JSON object per line (`ndjson`) or one JSON array (`json`).
pub fn write_json(
    out: &mut dyn Write,
    batches: &[RecordBatch],
    lines: bool,
) -> std::io::Result<()> {
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    let err = std::io::Error::other;
    if lines {
        let mut w = datafusion::arrow::json::LineDelimitedWriter::new(out);
        w.write_batches(&refs).map_err(err)?;
        w.finish().map_err(err)?;
    } else {
        let mut w = datafusion::arrow::json::ArrayWriter::new(&mut *out);
        w.write_batches(&refs).map_err(err)?;
        w.finish().map_err(err)?;
        drop(w);
        writeln!(out)?;
    }
    Ok(())
}

/// Most rows a terminal table shows; the rest are counted.
const TABLE_ROWS: usize = 200;

/// Renders a table for a terminal, with a row count below it.
pub fn render_table(schema: &SchemaRef, batches: &[RecordBatch]) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(
        schema
            .fields()
            .iter()
            .map(|f| Cell::new(f.name()).add_attribute(comfy_table::Attribute::Bold)),
    );
    let opts = text_options().with_null("NULL");
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut shown = 0;
    'outer: for b in batches {
        let formatters: Vec<_> = b
            .columns()
            .iter()
            .filter_map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).ok())
            .collect();
        for row in 0..b.num_rows() {
            if shown == TABLE_ROWS {
                break 'outer;
            }
            table.add_row(formatters.iter().map(|f| f.value(row).to_string()));
            shown += 1;
        }
    }
    let mut s = table.to_string();
    s.push('\n');
    if total > shown {
        s.push_str(&format!(
            "{shown} of {total} rows shown; use --format csv for all\n"
        ));
    } else {
        s.push_str(&format!(
            "{total} row{}\n",
            if total == 1 { "" } else { "s" }
        ));
    }
    s
}
