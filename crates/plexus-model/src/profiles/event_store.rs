//! Every event's columns in memory, addressed by ordinal (the event's row in
//! `events.parquet`), for the timeline's gather.
//!
//! The timeline repeats each event's columns on every entity's row, in entity order, so
//! the gather reads events in no useful order and they must all be at hand. Held as the
//! Parquet reader returns them, the text columns were most of the timeline stage's
//! memory (at 100,000 demo persons: 3.0M events, `properties` alone 377 MB). Most event
//! text repeats, though: a source's name, an event name, a currency, a page view's
//! properties. A text column whose first batch repeats is therefore interned: each
//! distinct value is kept once, and each event holds a 4-byte number. Mostly distinct
//! columns (ids, source keys) stay as read; a column of numbers is put in one array,
//! addressed by ordinal.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, Float64Builder, Int64Array, StringArray, StringBuilder,
    UInt32Array,
};
use datafusion::arrow::compute::{cast, interleave, take};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use hashbrown::HashTable;

use super::timeline::{TimelineError, for_each_batch};

/// The value number of a null in an interned column.
const NULL: u32 = u32::MAX;

/// Every event, its columns in `names` order, addressed by ordinal.
pub(super) struct Events {
    path: PathBuf,
    /// First ordinal of each batch read (for columns kept as read).
    starts: Vec<u32>,
    /// The length of every batch but the last, when they are all as long (the reader's
    /// batch size): then an ordinal's batch is a division away, not a search.
    stride: Option<u32>,
    /// Microseconds since the epoch, per ordinal (`i64::MIN` for a null timestamp).
    pub(super) times: Vec<i64>,
    columns: Vec<Column>,
}

/// One column of every event.
enum Column {
    /// The timestamps, gathered from [`Events::times`] and cast back to their type.
    Times(DataType),
    /// The arrays as read, one per batch.
    Arrays(Vec<ArrayRef>),
    /// Each distinct text once, and each event's value number.
    Interned(Interned),
    /// Numbers (`Float64`) in one array, addressed by ordinal: the facts read the value
    /// of every timeline row, and one array is one load per row instead of finding the
    /// batch, downcasting it and reading its validity.
    Numbers(Float64Array),
}

impl Events {
    /// Reads the columns `names` of `events.parquet`; `names[0]` must be the timestamp
    /// (kept once, in [`Events::times`]) and `names[id]` the event id (never interned: it
    /// is distinct per event).
    pub(super) fn read(path: &Path, names: &[&str], id: usize) -> Result<Events, TimelineError> {
        let error = |message: String| TimelineError::Read {
            path: path.to_path_buf(),
            message,
        };
        let mut events = Events {
            path: path.to_path_buf(),
            starts: Vec::new(),
            stride: None,
            times: Vec::new(),
            columns: Vec::with_capacity(names.len()),
        };
        let mut first = true;
        // The columns of numbers while they are read, by position: `Column::Numbers` once
        // the file is read.
        let mut numbers: Vec<(usize, Float64Builder)> = Vec::new();
        for_each_batch(path, names, |batch| {
            if events.times.len() + batch.num_rows() >= u32::MAX as usize {
                return Err(error(format!(
                    "more than {} events: more than a timeline holds",
                    u32::MAX - 1
                )));
            }
            events.starts.push(events.times.len() as u32);
            let t = cast(batch.column(0), &DataType::Int64)
                .map_err(|e| error(format!("column `{}`: {e}", names[0])))?;
            let t = t.as_primitive::<Int64Type>();
            events
                .times
                .extend((0..t.len()).map(|i| if t.is_null(i) { i64::MIN } else { t.value(i) }));
            for (c, array) in batch.columns().iter().enumerate() {
                let text = array.as_string_opt::<i32>();
                if c == id && text.is_none() {
                    return Err(error(format!("column `{}` is not text", names[c])));
                }
                if c == 0 {
                    if first {
                        events
                            .columns
                            .push(Column::Times(array.data_type().clone()));
                    }
                    continue;
                }
                if first {
                    // The first batch decides: text that repeats is interned, numbers are
                    // put in one array.
                    if let Some(values) = array.as_primitive_opt::<Float64Type>() {
                        let mut builder = Float64Builder::new();
                        builder.extend(values.iter());
                        numbers.push((c, builder));
                        events
                            .columns
                            .push(Column::Numbers(Float64Array::from(Vec::<f64>::new())));
                        continue;
                    }
                    events.columns.push(match text {
                        Some(text) if c != id => {
                            let interned = Interned::from_first(text);
                            if interned.repeats() {
                                Column::Interned(interned)
                            } else {
                                Column::Arrays(vec![array.clone()])
                            }
                        }
                        _ => Column::Arrays(vec![array.clone()]),
                    });
                    continue;
                }
                match &mut events.columns[c] {
                    Column::Times(_) => {}
                    Column::Numbers(_) => {
                        let builder = numbers
                            .iter_mut()
                            .find_map(|(at, b)| (*at == c).then_some(b));
                        match (builder, array.as_primitive_opt::<Float64Type>()) {
                            (Some(builder), Some(values)) => builder.extend(values.iter()),
                            _ => {
                                return Err(error(format!("column `{}` changes type", names[c])));
                            }
                        }
                    }
                    Column::Arrays(arrays) => arrays.push(array.clone()),
                    Column::Interned(interned) => match text {
                        Some(text) => interned.extend(text),
                        None => return Err(error(format!("column `{}` is not text", names[c]))),
                    },
                }
            }
            first = false;
            Ok(())
        })?;
        events.stride = uniform_stride(&events.starts);
        for (c, mut builder) in numbers {
            events.columns[c] = Column::Numbers(builder.finish());
        }
        if first {
            // No events at all: every column is there, empty.
            events.columns.push(Column::Times(DataType::Int64));
            events
                .columns
                .extend((1..names.len()).map(|_| Column::Arrays(Vec::new())));
        }
        Ok(events)
    }

    /// How many events.
    pub(super) fn len(&self) -> usize {
        self.times.len()
    }

    /// `(batch, row)` of an ordinal.
    fn locate(&self, ordinal: u32) -> (usize, usize) {
        if let Some(stride) = self.stride {
            return ((ordinal / stride) as usize, (ordinal % stride) as usize);
        }
        let b = self.starts.partition_point(|&s| s <= ordinal) - 1;
        (b, (ordinal - self.starts[b]) as usize)
    }

    /// The text of column `c` of event `ordinal` (`None` for a null, or a column that is
    /// not text).
    pub(super) fn text(&self, c: usize, ordinal: u32) -> Option<&str> {
        match &self.columns[c] {
            Column::Interned(interned) => interned.get(ordinal),
            Column::Times(_) | Column::Numbers(_) => None,
            Column::Arrays(arrays) => {
                let (b, r) = self.locate(ordinal);
                let text = arrays[b].as_string_opt::<i32>()?;
                (!text.is_null(r)).then(|| text.value(r))
            }
        }
    }

    /// The event id of `ordinal`.
    pub(super) fn id(&self, ordinal: u32, id: usize) -> &str {
        self.text(id, ordinal).unwrap_or("")
    }

    /// Whether column `c` is a column of numbers (`Float64`), which [`Events::number`]
    /// reads.
    pub(super) fn is_number(&self, c: usize) -> bool {
        match &self.columns[c] {
            Column::Numbers(_) => true,
            // No batch at all: no events, nothing that is not a number.
            Column::Arrays(arrays) => arrays.is_empty(),
            Column::Interned(_) | Column::Times(_) => false,
        }
    }

    /// The number in column `c` of event `ordinal` (`None` for a null, or a column that
    /// is not of numbers).
    pub(super) fn number(&self, c: usize, ordinal: u32) -> Option<f64> {
        let Column::Numbers(numbers) = &self.columns[c] else {
            return None;
        };
        let o = ordinal as usize;
        numbers.is_valid(o).then(|| numbers.value(o))
    }

    /// Column `c` of the events `ordinals`, in that order.
    pub(super) fn gather(&self, c: usize, ordinals: &[u32]) -> Result<ArrayRef, TimelineError> {
        match &self.columns[c] {
            Column::Interned(interned) => Ok(Arc::new(interned.gather(ordinals))),
            Column::Numbers(numbers) => take(numbers, &UInt32Array::from(ordinals.to_vec()), None)
                .map_err(|e| self.error(e.to_string())),
            Column::Times(data_type) => {
                let times = Int64Array::from_iter(ordinals.iter().map(|&o| {
                    let t = self.times[o as usize];
                    (t != i64::MIN).then_some(t)
                }));
                cast(&times, data_type).map_err(|e| self.error(e.to_string()))
            }
            Column::Arrays(arrays) => {
                let at: Vec<(usize, usize)> = ordinals.iter().map(|&o| self.locate(o)).collect();
                let arrays: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
                interleave(&arrays, &at).map_err(|e| self.error(e.to_string()))
            }
        }
    }

    /// An error about the events file.
    pub(super) fn error(&self, message: String) -> TimelineError {
        TimelineError::Read {
            path: self.path.clone(),
            message,
        }
    }
}

/// A text column stored as its distinct values and one value number per event.
struct Interned {
    /// The distinct values, one after the other.
    text: String,
    /// Where each distinct value starts in `text`, and its end at the end.
    offsets: Vec<usize>,
    /// `(hash, value number)` of each distinct value.
    table: HashTable<(u64, u32)>,
    /// Each event's value number, or [`NULL`].
    values: Vec<u32>,
    hasher: foldhash::fast::FixedState,
}

impl Interned {
    fn from_first(array: &StringArray) -> Interned {
        let mut interned = Interned {
            text: String::new(),
            offsets: vec![0],
            table: HashTable::new(),
            values: Vec::new(),
            hasher: foldhash::fast::FixedState::with_seed(0x7106),
        };
        interned.extend(array);
        interned
    }

    /// Whether the values seen so far repeat enough to be worth interning: at most half
    /// of them distinct (a handful of values is always kept as read).
    fn repeats(&self) -> bool {
        let present = self.values.iter().filter(|&&v| v != NULL).count();
        present >= 64 && self.distinct() * 2 <= present
    }

    fn distinct(&self) -> usize {
        self.offsets.len() - 1
    }

    fn value(&self, v: u32) -> &str {
        let v = v as usize;
        &self.text[self.offsets[v]..self.offsets[v + 1]]
    }

    fn extend(&mut self, array: &StringArray) {
        use std::hash::BuildHasher;
        self.values.reserve(array.len());
        // Runs of one value are common (one source's events are written together).
        let mut last: Option<(&str, u32)> = None;
        for i in 0..array.len() {
            if array.is_null(i) {
                self.values.push(NULL);
                continue;
            }
            let s = array.value(i);
            if let Some((l, v)) = last
                && l == s
            {
                self.values.push(v);
                continue;
            }
            let hash = self.hasher.hash_one(s);
            let (text, offsets) = (&self.text, &self.offsets);
            let found = self.table.find(hash, |&(h, v)| {
                h == hash && &text[offsets[v as usize]..offsets[v as usize + 1]] == s
            });
            let v = match found {
                Some(&(_, v)) => v,
                None => {
                    let v = self.distinct() as u32;
                    self.text.push_str(s);
                    self.offsets.push(self.text.len());
                    self.table.insert_unique(hash, (hash, v), |&(h, _)| h);
                    v
                }
            };
            self.values.push(v);
            last = Some((s, v));
        }
    }

    fn get(&self, ordinal: u32) -> Option<&str> {
        match self.values[ordinal as usize] {
            NULL => None,
            v => Some(self.value(v)),
        }
    }

    fn gather(&self, ordinals: &[u32]) -> StringArray {
        // First every row's value number, in a pass of independent loads (the ordinals
        // are in no useful order, and the processor overlaps loads only when no one waits
        // for another), then the text, into a builder of the exact size.
        let numbers: Vec<u32> = ordinals.iter().map(|&o| self.values[o as usize]).collect();
        let bytes = numbers
            .iter()
            .filter(|&&v| v != NULL)
            .map(|&v| self.offsets[v as usize + 1] - self.offsets[v as usize])
            .sum();
        let mut out = StringBuilder::with_capacity(ordinals.len(), bytes);
        for &v in &numbers {
            match v {
                NULL => out.append_null(),
                v => out.append_value(self.value(v)),
            }
        }
        out.finish()
    }
}

/// The length of every batch but the last, when batches starting at `starts` are all as
/// long (see [`Events::locate`]).
fn uniform_stride(starts: &[u32]) -> Option<u32> {
    // An empty first batch gives no stride (and nothing to divide by).
    let stride = starts.get(1).copied().filter(|&s| s > 0)?;
    starts
        .iter()
        .enumerate()
        .all(|(b, &start)| start as usize == b * stride as usize)
        .then_some(stride)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinals_are_located_by_division_or_search_alike() {
        for (starts, len) in [
            (vec![0, 4, 8, 12], 14u32),
            (vec![0, 4, 8], 12),
            (vec![0, 3, 10, 11], 20),
            (vec![0, 5, 10, 12], 13),
            (vec![0], 7),
            // Empty batches (a reader may hand one out): searched, never divided by zero.
            (vec![0, 0], 3),
            (vec![0, 0, 0], 2),
        ] {
            let stride = uniform_stride(&starts);
            let irregular = starts
                .windows(2)
                .any(|w| w[1] - w[0] != starts[1] - starts[0]);
            assert_eq!(
                stride.is_none(),
                irregular || starts.len() < 2 || starts[1] == 0,
                "{starts:?}"
            );
            let mut events = Events {
                path: PathBuf::new(),
                starts: starts.clone(),
                stride,
                times: vec![0; len as usize],
                columns: Vec::new(),
            };
            let fast: Vec<_> = (0..len).map(|o| events.locate(o)).collect();
            events.stride = None;
            let searched: Vec<_> = (0..len).map(|o| events.locate(o)).collect();
            assert_eq!(fast, searched, "{starts:?}");
            let last = starts.len() - 1;
            assert_eq!(
                searched[len as usize - 1],
                (last, (len - 1 - starts[last]) as usize)
            );
        }
    }

    #[test]
    fn interned_text_keeps_every_value_and_null() {
        let values: Vec<Option<&str>> = (0..200)
            .map(|i| match i % 5 {
                0 => None,
                1 => Some("page"),
                2 => Some(""),
                _ => Some(if i % 2 == 0 { "track" } else { "identify" }),
            })
            .collect();
        let array = StringArray::from(values.clone());
        let mut interned = Interned::from_first(&array);
        assert!(interned.repeats());
        assert_eq!(interned.distinct(), 4);
        interned.extend(&StringArray::from(vec![Some("new"), Some("page"), None]));
        assert_eq!(interned.distinct(), 5);
        let mut all = values;
        all.extend([Some("new"), Some("page"), None]);
        for (o, v) in all.iter().enumerate() {
            assert_eq!(interned.get(o as u32), *v, "ordinal {o}");
        }
        let gathered = interned.gather(&[202, 1, 0, 200]);
        let got: Vec<Option<&str>> = gathered.iter().collect();
        assert_eq!(got, vec![None, Some("page"), None, Some("new")]);
    }

    /// Events read from a file give back every column as written, whichever way each
    /// column is held, across batches.
    #[test]
    fn events_read_back_as_written() {
        use datafusion::arrow::array::{Float64Array, RecordBatch, TimestampMicrosecondArray};
        use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
        use datafusion::parquet::arrow::ArrowWriter;
        use datafusion::parquet::file::properties::WriterProperties;

        let n = 70_000usize;
        let ids: Vec<String> = (0..n).map(|i| format!("evt_{i}")).collect();
        let names: Vec<&str> = (0..n)
            .map(|i| ["login", "page", "invoice_paid"][i % 3])
            .collect();
        let props: Vec<Option<String>> = (0..n)
            .map(|i| (i % 7 != 0).then(|| format!("{{\"plan\":{}}}", i % 11)))
            .collect();
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("event_id", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
            Field::new("value", DataType::Float64, true),
            Field::new("properties", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values((0..n).map(|i| i as i64 * 10))
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from_iter_values(&ids)),
                Arc::new(StringArray::from(names.clone())),
                Arc::new(Float64Array::from_iter(
                    (0..n).map(|i| i.is_multiple_of(2).then_some(i as f64)),
                )),
                Arc::new(StringArray::from_iter(props.iter().map(|p| p.as_deref()))),
            ],
        )
        .expect("batch");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.parquet");
        let props_w = WriterProperties::builder()
            .set_max_row_group_row_count(Some(30_000))
            .build();
        let mut w = ArrowWriter::try_new(
            std::fs::File::create(&path).expect("create"),
            schema,
            Some(props_w),
        )
        .expect("writer");
        w.write(&batch).expect("write");
        w.close().expect("close");

        let events = Events::read(
            &path,
            &["timestamp", "event_id", "name", "value", "properties"],
            1,
        )
        .expect("read");
        assert_eq!(events.len(), n);
        assert!(
            matches!(events.columns[2], Column::Interned(_)),
            "names repeat"
        );
        assert!(
            matches!(events.columns[4], Column::Interned(_)),
            "properties repeat"
        );
        assert!(
            matches!(events.columns[1], Column::Arrays(_)),
            "ids are distinct"
        );
        assert!(
            matches!(events.columns[3], Column::Numbers(_)),
            "values are one array"
        );
        assert!(events.is_number(3) && !events.is_number(2));
        for o in [0u32, 1, 29_999, 30_000, 65_535, 65_536, 69_999] {
            let i = o as usize;
            assert_eq!(events.times[i], i as i64 * 10);
            assert_eq!(events.id(o, 1), ids[i]);
            assert_eq!(events.text(2, o), Some(names[i]));
            assert_eq!(events.text(4, o), props[i].as_deref());
            assert_eq!(events.number(3, o), i.is_multiple_of(2).then_some(i as f64));
        }
        let pick = [69_999u32, 7, 30_000, 0];
        let values = events.gather(3, &pick).expect("gather");
        let values = values.as_primitive::<Float64Type>();
        for (k, &o) in pick.iter().enumerate() {
            assert_eq!(
                values.is_valid(k).then(|| values.value(k)),
                events.number(3, o)
            );
        }
        for c in [1, 2, 4] {
            let gathered = events.gather(c, &pick).expect("gather");
            let gathered = gathered.as_string::<i32>();
            for (k, &o) in pick.iter().enumerate() {
                assert_eq!(gathered.is_null(k), events.text(c, o).is_none());
                if !gathered.is_null(k) {
                    assert_eq!(Some(gathered.value(k)), events.text(c, o));
                }
            }
        }
    }

    #[test]
    fn a_file_without_events_reads_as_no_events() {
        use datafusion::arrow::datatypes::{Field, Schema};
        use datafusion::parquet::arrow::ArrowWriter;
        let schema = Arc::new(Schema::new(vec![
            Field::new("timestamp", DataType::Int64, true),
            Field::new("event_id", DataType::Utf8, false),
            Field::new("value", DataType::Float64, true),
        ]));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.parquet");
        let w = ArrowWriter::try_new(std::fs::File::create(&path).expect("create"), schema, None)
            .expect("writer");
        w.close().expect("close");
        let events = Events::read(&path, &["timestamp", "event_id", "value"], 1).expect("read");
        assert_eq!(events.len(), 0);
        assert!(events.is_number(2), "the value check passes on no events");
    }

    #[test]
    fn distinct_text_is_not_interned() {
        let ids: Vec<String> = (0..100).map(|i| format!("evt_{i}")).collect();
        let array = StringArray::from_iter_values(&ids);
        assert!(!Interned::from_first(&array).repeats());
    }
}
