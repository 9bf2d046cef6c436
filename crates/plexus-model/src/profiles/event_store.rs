//! Events' columns in memory, addressed by ordinal (the event's row in `events.parquet`,
//! or its rank among the events of a [`Selection`]), for the timeline's gather.
//!
//! The timeline repeats each event's columns on every entity's row, in entity order, so
//! the gather reads events in no useful order and they must be at hand: every event's
//! narrow columns, and the wide columns of the events of the rows being assembled (a
//! selection, when they do not all fit the memory budget). Held as the
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
use datafusion::arrow::compute::{cast, interleave, take, take_record_batch};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use hashbrown::HashTable;

use super::timeline::{TimelineError, for_each_batch, read_error};
use crate::entities::schema::EVENT_ID_PREFIX;

/// The value number of a null in an interned column.
const NULL: u32 = u32::MAX;

/// Every event, or the events of a [`Selection`], its columns in `names` order,
/// addressed by ordinal.
pub(super) struct Events {
    path: PathBuf,
    /// Events held (of the selection, when read with one).
    len: usize,
    /// First (held) ordinal of each batch kept as read (for columns kept as read).
    starts: Vec<u32>,
    /// The length of every batch but the last, when they are all as long (the reader's
    /// batch size): then an ordinal's batch is a division away, not a search.
    stride: Option<u32>,
    /// Microseconds since the epoch, per ordinal (`i64::MIN` for a null timestamp), when
    /// `names[0]` is the timestamp; else empty.
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
    /// Event ids that are all Plexus's own ([`plexus_identity::stable_id`]s): the number
    /// of each, 8 bytes instead of 21 bytes of text and 4 of offset, and already the key
    /// the timeline sorts ties by.
    Ids(Vec<u64>),
}

/// How [`Events::read_with`] reads the file.
#[derive(Clone, Copy)]
pub(super) struct ReadPlan<'a> {
    /// Whether `names[0]` is the timestamp (kept once, in [`Events::times`]).
    pub time: bool,
    /// The column of event ids, never interned (distinct per event), held as numbers
    /// while every id is a stable id.
    pub id: Option<usize>,
    /// Only these events are held, in file order; `None`: every event.
    pub keep: Option<&'a Selection>,
}

impl Events {
    /// Reads the columns `names` of every event of `events.parquet`; `names[0]` must be
    /// the timestamp and `names[id]` the event id.
    #[cfg(test)]
    pub(super) fn read(path: &Path, names: &[&str], id: usize) -> Result<Events, TimelineError> {
        Events::read_with(
            path,
            names,
            ReadPlan {
                time: true,
                id: Some(id),
                keep: None,
            },
        )
    }

    /// Reads the columns `names` of `events.parquet` as `plan` says.
    pub(super) fn read_with(
        path: &Path,
        names: &[&str],
        plan: ReadPlan<'_>,
    ) -> Result<Events, TimelineError> {
        let error = read_error(path);
        let mut events = Events {
            path: path.to_path_buf(),
            len: 0,
            starts: Vec::new(),
            stride: None,
            times: Vec::new(),
            columns: Vec::with_capacity(names.len()),
        };
        // A selection that holds every event reads as no selection: the arrays as read.
        let keep = plan.keep.filter(|k| !k.is_all());
        let mut first = true;
        // The file's ordinal of the next batch's first row.
        let mut read = 0usize;
        // The columns of numbers while they are read, by position: `Column::Numbers` once
        // the file is read.
        let mut numbers: Vec<(usize, Float64Builder)> = Vec::new();
        for_each_batch(path, names, |batch| {
            let offset = read;
            read += batch.num_rows();
            if read >= u32::MAX as usize {
                return Err(error(format!(
                    "more than {} events: more than a timeline holds",
                    u32::MAX - 1
                )));
            }
            // The rows of this batch to hold (`None`: all of them).
            let rows: Option<UInt32Array> = match keep {
                None => None,
                Some(keep) => {
                    let rows = keep.rows_in(offset, batch.num_rows());
                    if rows.is_empty() {
                        return Ok(());
                    }
                    Some(UInt32Array::from(rows))
                }
            };
            let batch = match &rows {
                None => batch,
                Some(rows) => take_record_batch(&batch, rows).map_err(|e| error(e.to_string()))?,
            };
            events.starts.push(events.len as u32);
            events.len += batch.num_rows();
            if plan.time {
                let t = cast(batch.column(0), &DataType::Int64)
                    .map_err(|e| error(format!("column `{}`: {e}", names[0])))?;
                let t = t.as_primitive::<Int64Type>();
                events
                    .times
                    .extend((0..t.len()).map(|i| if t.is_null(i) { i64::MIN } else { t.value(i) }));
            }
            for (c, array) in batch.columns().iter().enumerate() {
                let text = array.as_string_opt::<i32>();
                let is_id = plan.id == Some(c);
                if is_id && text.is_none() {
                    return Err(error(format!("column `{}` is not text", names[c])));
                }
                if c == 0 && plan.time {
                    if first {
                        events
                            .columns
                            .push(Column::Times(array.data_type().clone()));
                    }
                    continue;
                }
                if first {
                    // The first batch decides: text that repeats is interned, numbers are
                    // put in one array, ids that are all stable ids are kept as numbers.
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
                        Some(text) if is_id => match id_numbers(text) {
                            Some(ids) => Column::Ids(ids),
                            None => Column::Arrays(vec![array.clone()]),
                        },
                        Some(text) => {
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
                    Column::Ids(ids) => {
                        let text = text
                            .ok_or_else(|| error(format!("column `{}` is not text", names[c])))?;
                        match id_numbers(text) {
                            Some(more) => ids.extend(more),
                            None => {
                                // An id of another tool: every id as text from now on.
                                let starts = &events.starts[..events.starts.len() - 1];
                                let mut arrays = ids_as_text(ids, starts);
                                arrays.push(array.clone());
                                events.columns[c] = Column::Arrays(arrays);
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
        // The reader's batches are all as long but the last, which is shorter; the batches
        // of a selection are as long as their members, in any order.
        events.stride = match keep {
            None => uniform_stride(&events.starts),
            Some(_) => None,
        };
        for (c, mut builder) in numbers {
            events.columns[c] = Column::Numbers(builder.finish());
        }
        if first {
            // No events at all: every column is there, empty.
            if plan.time {
                events.columns.push(Column::Times(DataType::Int64));
            }
            let rest = names.len() - events.columns.len();
            events
                .columns
                .extend((0..rest).map(|_| Column::Arrays(Vec::new())));
        }
        Ok(events)
    }

    /// How many events.
    pub(super) fn len(&self) -> usize {
        self.len
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
    /// not text, or of ids held as numbers).
    pub(super) fn text(&self, c: usize, ordinal: u32) -> Option<&str> {
        match &self.columns[c] {
            Column::Interned(interned) => interned.get(ordinal),
            Column::Times(_) | Column::Numbers(_) | Column::Ids(_) => None,
            Column::Arrays(arrays) => {
                let (b, r) = self.locate(ordinal);
                let text = arrays[b].as_string_opt::<i32>()?;
                (!text.is_null(r)).then(|| text.value(r))
            }
        }
    }

    /// The event id of `ordinal` in column `c`, when the ids are held as text (empty
    /// when they are numbers: see [`Events::id_numbers`]).
    pub(super) fn id(&self, ordinal: u32, c: usize) -> &str {
        self.text(c, ordinal).unwrap_or("")
    }

    /// The event ids of column `c` as numbers, when every one is a stable id.
    pub(super) fn id_numbers(&self, c: usize) -> Option<&[u64]> {
        match &self.columns[c] {
            Column::Ids(ids) => Some(ids),
            _ => None,
        }
    }

    /// Whether column `c` is a column of numbers (`Float64`), which [`Events::number`]
    /// reads.
    pub(super) fn is_number(&self, c: usize) -> bool {
        match &self.columns[c] {
            Column::Numbers(_) => true,
            // No batch at all: no events, nothing that is not a number.
            Column::Arrays(arrays) => arrays.is_empty(),
            Column::Interned(_) | Column::Times(_) | Column::Ids(_) => false,
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
            Column::Ids(ids) => {
                let mut out = StringBuilder::with_capacity(ordinals.len(), ordinals.len() * 21);
                for &o in ordinals {
                    out.append_value(id_text(ids[o as usize]).as_str());
                }
                Ok(Arc::new(out.finish()))
            }
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

    /// Bytes this store holds (its columns and times), about.
    pub(super) fn bytes(&self) -> usize {
        let columns: usize = self
            .columns
            .iter()
            .map(|c| match c {
                Column::Times(_) => 0,
                Column::Arrays(arrays) => arrays.iter().map(|a| a.get_array_memory_size()).sum(),
                Column::Interned(i) => i.text.len() + i.offsets.len() * 8 + i.values.len() * 4,
                Column::Numbers(n) => n.get_array_memory_size(),
                Column::Ids(ids) => ids.len() * 8,
            })
            .sum();
        columns + self.times.len() * 8
    }

    /// An error about the events file.
    pub(super) fn error(&self, message: String) -> TimelineError {
        TimelineError::Read {
            path: self.path.clone(),
            message,
        }
    }
}

/// The numbers of a batch of event ids, when each is a stable id (`evt_` + 16 hex digits).
fn id_numbers(text: &StringArray) -> Option<Vec<u64>> {
    if text.null_count() > 0 {
        return None;
    }
    text.iter()
        .map(|id| plexus_identity::stable_id_number(EVENT_ID_PREFIX, id?))
        .collect()
}

/// The id of a stable id's number: `evt_` and its 16 hex digits, the text it was read from.
fn id_text(n: u64) -> IdText {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 20];
    text[..4].copy_from_slice(b"evt_");
    for (i, digit) in text[4..].iter_mut().enumerate() {
        *digit = HEX[((n >> ((15 - i) * 4)) & 0xf) as usize];
    }
    IdText(text)
}

/// An event id written from its number, without an allocation.
struct IdText([u8; 20]);

impl IdText {
    fn as_str(&self) -> &str {
        // Only ASCII is ever written into it.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Ids held as numbers, back as text: one array per batch starting at `starts`.
fn ids_as_text(ids: &[u64], starts: &[u32]) -> Vec<ArrayRef> {
    let ends = starts
        .iter()
        .skip(1)
        .map(|&s| s as usize)
        .chain([ids.len()]);
    starts
        .iter()
        .zip(ends)
        .map(|(&start, end)| {
            let mut out =
                StringBuilder::with_capacity(end - start as usize, 20 * (end - start as usize));
            for &n in &ids[start as usize..end] {
                out.append_value(id_text(n).as_str());
            }
            Arc::new(out.finish()) as ArrayRef
        })
        .collect()
}

/// A set of event ordinals (the events one pass of the timeline needs), as bits, with the
/// count of members before each word: the position of a member among the members (its
/// ordinal in a store read with this selection) is a load and a bit count away.
pub(super) struct Selection {
    words: Vec<u64>,
    /// Members before each word (filled by [`Selection::finish`]).
    before: Vec<u32>,
    members: usize,
    len: usize,
}

impl Selection {
    /// No event of `len` events.
    pub(super) fn new(len: usize) -> Selection {
        Selection {
            words: vec![0; len.div_ceil(64)],
            before: Vec::new(),
            members: 0,
            len,
        }
    }

    /// Whether event `o` is a member.
    pub(super) fn contains(&self, o: u32) -> bool {
        self.words[o as usize / 64] & (1 << (o % 64)) != 0
    }

    /// Adds event `o`; true if it was not a member.
    pub(super) fn insert(&mut self, o: u32) -> bool {
        let (w, bit) = (o as usize / 64, 1u64 << (o % 64));
        let new = self.words[w] & bit == 0;
        self.words[w] |= bit;
        self.members += new as usize;
        new
    }

    /// Removes every member.
    pub(super) fn clear(&mut self) {
        self.words.fill(0);
        self.before.clear();
        self.members = 0;
    }

    /// Counts the members before each word, for [`Selection::rank`].
    pub(super) fn finish(&mut self) {
        let mut before = Vec::with_capacity(self.words.len());
        let mut n = 0u32;
        for w in &self.words {
            before.push(n);
            n += w.count_ones();
        }
        self.before = before;
    }

    /// Whether every event is a member.
    pub(super) fn is_all(&self) -> bool {
        self.members == self.len
    }

    /// How many members.
    pub(super) fn members(&self) -> usize {
        self.members
    }

    /// The position of member `o` among the members (after [`Selection::finish`]).
    pub(super) fn rank(&self, o: u32) -> u32 {
        let w = o as usize / 64;
        let below = self.words[w] & ((1u64 << (o % 64)) - 1);
        self.before[w] + below.count_ones()
    }

    /// The members among the events `offset..offset + n`, less `offset`.
    fn rows_in(&self, offset: usize, n: usize) -> Vec<u32> {
        let mut rows = Vec::new();
        let end = (offset + n).min(self.len);
        let mut w = offset / 64;
        while w * 64 < end {
            let mut word = self.words[w];
            while word != 0 {
                let o = w * 64 + word.trailing_zeros() as usize;
                word &= word - 1;
                if o >= offset && o < end {
                    rows.push((o - offset) as u32);
                }
            }
            w += 1;
        }
        rows
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
                len: len as usize,
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
        write_in_groups(&path, &batch, 30_000);

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

    /// Writes `batch` to `path` in row groups of `rows` rows.
    fn write_in_groups(path: &Path, batch: &datafusion::arrow::array::RecordBatch, rows: usize) {
        use datafusion::parquet::arrow::ArrowWriter;
        use datafusion::parquet::file::properties::WriterProperties;
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(rows))
            .build();
        let file = std::fs::File::create(path).expect("create");
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).expect("writer");
        w.write(batch).expect("write");
        w.close().expect("close");
    }

    /// Writes `ids` (and a text column that repeats) in row groups of 1,000 rows.
    fn write_ids(path: &Path, ids: &[String]) {
        use datafusion::arrow::array::{RecordBatch, TimestampMicrosecondArray};
        use datafusion::arrow::datatypes::{Field, Schema, TimeUnit};
        let n = ids.len();
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("event_id", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(
                    TimestampMicrosecondArray::from_iter_values((0..n).map(|i| i as i64))
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from_iter_values(ids)),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| ["a", "b", "c"][i % 3]),
                )),
            ],
        )
        .expect("batch");
        write_in_groups(path, &batch, 1_000);
    }

    fn plexus_id(i: usize) -> String {
        format!(
            "evt_{:016x}",
            (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)
        )
    }

    /// Plexus's own event ids are held as numbers and given back as the same text; one id
    /// of another tool, late in the file, turns the whole column back into text.
    #[test]
    fn stable_ids_are_numbers_until_one_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.parquet");
        let names = ["timestamp", "event_id", "name"];
        let mut ids: Vec<String> = (0..150_000).map(plexus_id).collect();
        write_ids(&path, &ids);
        let events = Events::read(&path, &names, 1).expect("read");
        let numbers = events.id_numbers(1).expect("numbers");
        assert_eq!(numbers.len(), ids.len());
        let pick = [149_999u32, 0, 65_536, 70_001];
        let gathered = events.gather(1, &pick).expect("gather");
        let gathered = gathered.as_string::<i32>();
        for (k, &o) in pick.iter().enumerate() {
            assert_eq!(gathered.value(k), ids[o as usize]);
        }

        ids[140_000] = "evt_not-hex".into();
        write_ids(&path, &ids);
        let events = Events::read(&path, &names, 1).expect("read");
        assert!(events.id_numbers(1).is_none());
        for o in [0u32, 65_535, 65_536, 131_071, 131_072, 140_000, 149_999] {
            assert_eq!(events.id(o, 1), ids[o as usize], "ordinal {o}");
        }
    }

    /// A store read with a selection holds only its members, each at its rank, with the
    /// values of a store of every event.
    #[test]
    fn a_selection_holds_its_members_at_their_ranks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("events.parquet");
        let n = 140_000usize;
        let ids: Vec<String> = (0..n).map(|i| format!("ev-{i}")).collect();
        write_ids(&path, &ids);
        let names = ["event_id", "name"];
        let all = Events::read_with(
            &path,
            &names,
            ReadPlan {
                time: false,
                id: None,
                keep: None,
            },
        )
        .expect("read");
        assert_eq!(all.len(), n);
        // Members in runs and alone, across batches; none in the second batch.
        let mut keep = Selection::new(n);
        let members: Vec<u32> = (0..n as u32)
            .filter(|&o| {
                (o < 300 || o % 977 == 5 || (o > 139_000)) && !(65_536..131_072).contains(&o)
            })
            .collect();
        for &o in &members {
            assert!(keep.insert(o));
        }
        assert!(!keep.insert(members[0]), "a member is inserted once");
        keep.finish();
        assert_eq!(keep.members(), members.len());
        assert!(!keep.is_all());
        let some = Events::read_with(
            &path,
            &names,
            ReadPlan {
                time: false,
                id: None,
                keep: Some(&keep),
            },
        )
        .expect("read");
        assert_eq!(some.len(), members.len());
        for (rank, &o) in members.iter().enumerate() {
            assert!(keep.contains(o));
            assert_eq!(keep.rank(o), rank as u32);
            assert_eq!(some.text(0, rank as u32), all.text(0, o), "ordinal {o}");
            assert_eq!(some.text(1, rank as u32), all.text(1, o), "ordinal {o}");
        }
        let ranks: Vec<u32> = members.iter().map(|&o| keep.rank(o)).collect();
        let gathered = some.gather(0, &ranks).expect("gather");
        let gathered = gathered.as_string::<i32>();
        for (k, &o) in members.iter().enumerate() {
            assert_eq!(gathered.value(k), ids[o as usize]);
        }
        assert!(some.bytes() < all.bytes());
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
