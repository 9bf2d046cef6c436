//! What the previous warehouse knew about person ids, so that ids that disappear (merged,
//! renamed) redirect to where their identifiers live now.

use std::collections::HashSet;
use std::fs::File;
use std::path::Path;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::parquet::arrow::ProjectionMask;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use plexus_model::entities::PreviousIds;

/// Reads `columns` of `<dir>/<table>.parquet` batch by batch; nothing if the file is
/// missing or unreadable (an earlier build's warehouse is a hint, never a requirement).
fn scan(dir: &Path, table: &str, columns: &[&str], mut each: impl FnMut(&RecordBatch)) {
    let Ok(file) = File::open(dir.join(format!("{table}.parquet"))) else {
        return;
    };
    let Ok(builder) = ParquetRecordBatchReaderBuilder::try_new(file) else {
        return;
    };
    let schema = builder.parquet_schema();
    let wanted: Vec<usize> = columns
        .iter()
        .filter_map(|c| schema.columns().iter().position(|d| d.name() == *c))
        .collect();
    if wanted.len() != columns.len() {
        return; // an older layout without these columns
    }
    let mask = ProjectionMask::leaves(schema, wanted);
    let Ok(reader) = builder.with_projection(mask).build() else {
        return;
    };
    for batch in reader.flatten() {
        each(&batch);
    }
}

/// Text of column `name` in `batch` at `row` ("" when null or not text).
fn text<'a>(batch: &'a RecordBatch, name: &str, row: usize) -> &'a str {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
        .filter(|c| c.is_valid(row))
        .map_or("", |c| c.value(row))
}

/// The previous build's person ids that `current` no longer has, with their identifiers,
/// and its redirects.
pub fn previous_ids(dir: &Path, current: &HashSet<&str>) -> PreviousIds {
    let mut prev = PreviousIds::default();
    scan(dir, "persons", &["person_id"], |b| {
        for r in 0..b.num_rows() {
            let id = text(b, "person_id", r);
            prev.existed.insert(id.to_string());
            if !current.contains(id) {
                prev.gone.insert(id.to_string(), Vec::new());
            }
        }
    });
    if !prev.gone.is_empty() {
        scan(
            dir,
            "person_identifiers",
            &["person_id", "type", "value", "status"],
            |b| {
                for r in 0..b.num_rows() {
                    if text(b, "status", r) != "linked" {
                        continue;
                    }
                    if let Some(list) = prev.gone.get_mut(text(b, "person_id", r)) {
                        list.push((text(b, "type", r).into(), text(b, "value", r).into()));
                    }
                }
            },
        );
    }
    scan(dir, "id_redirects", &["old_id", "new_id", "reason"], |b| {
        for r in 0..b.num_rows() {
            prev.redirects.push((
                text(b, "old_id", r).into(),
                text(b, "new_id", r).into(),
                text(b, "reason", r).into(),
            ));
        }
    });
    prev
}
