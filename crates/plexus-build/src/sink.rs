//! The build's [`TableSink`]: every streamed table goes to its own file in the
//! staging folder, written on a background thread so encoding and compression overlap with
//! reading the next batch. Scratch tables (names starting with `spill_`) go to the staging
//! folder's scratch area: spills as Arrow IPC streams (see [`plexus_warehouse::SpillWriter`]),
//! deleted once rewritten; the raw rows that models query (`spill_raw_`) as Parquet, which
//! DataFusion reads. The other tables become warehouse tables.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use datafusion::arrow::array::RecordBatch;
use plexus_model::entities::{SinkError, TableSink};
use plexus_warehouse::{SpillWriter, Staging, TableWriter, WarehouseError};

/// Batches in flight to one writer thread: enough to keep it busy, few enough that memory
/// stays flat when the disk is slower than the reader.
const IN_FLIGHT: usize = 4;

/// Prefix of the tables that are scratch (spills, raw rows), not warehouse tables.
const SPILL_PREFIX: &str = "spill_";

/// Prefix of the scratch tables of raw rows that models query: Parquet, not IPC.
pub const RAW_PREFIX: &str = "spill_raw_";

/// What a streamed table is, from its name: where it goes and how it is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A warehouse table: Parquet in the staging folder.
    Table,
    /// A spill read back once by this build: Arrow IPC in the scratch area.
    Spill,
    /// Raw rows that models query: Parquet in the scratch area.
    Raw,
}

impl Kind {
    fn of(name: &str) -> Kind {
        if name.starts_with(RAW_PREFIX) {
            Kind::Raw
        } else if name.starts_with(SPILL_PREFIX) {
            Kind::Spill
        } else {
            Kind::Table
        }
    }
}

/// A warehouse table's Parquet writer or a spill's IPC writer.
enum Writer {
    Table(TableWriter),
    Spill(SpillWriter),
}

impl Writer {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), WarehouseError> {
        match self {
            Writer::Table(w) => w.write(batch),
            Writer::Spill(w) => w.write(batch),
        }
    }

    fn finish(self) -> Result<u64, WarehouseError> {
        match self {
            Writer::Table(w) => w.finish(),
            Writer::Spill(w) => w.finish(),
        }
    }
}

/// One table's writer thread.
struct Background {
    path: PathBuf,
    tx: SyncSender<RecordBatch>,
    handle: JoinHandle<Result<u64, WarehouseError>>,
}

impl Background {
    fn spawn(path: PathBuf, name: &str, first: RecordBatch) -> Result<Background, SinkError> {
        let writer = match Kind::of(name) {
            Kind::Raw => {
                TableWriter::create_scratch(&path, name, first.schema()).map(Writer::Table)
            }
            Kind::Spill => SpillWriter::create(&path, name, first.schema()).map(Writer::Spill),
            Kind::Table => {
                TableWriter::create(&path, name, first.schema(), std::slice::from_ref(&first))
                    .map(Writer::Table)
            }
        };
        let mut writer = writer.map_err(|e| sink_error(name, &e))?;
        let (tx, rx) = sync_channel::<RecordBatch>(IN_FLIGHT);
        let handle = std::thread::Builder::new()
            .name(format!("write {name}"))
            .spawn(move || {
                writer.write(&first)?;
                for batch in rx {
                    writer.write(&batch)?;
                }
                writer.finish()
            })
            .map_err(|e| SinkError(format!("cannot start the writer of `{name}`: {e}")))?;
        Ok(Background { path, tx, handle })
    }

    /// Closes the file; returns the rows written.
    fn finish(self, name: &str) -> Result<u64, SinkError> {
        drop(self.tx);
        match self.handle.join() {
            Ok(result) => result.map_err(|e| sink_error(name, &e)),
            Err(_) => Err(SinkError(format!("the writer of `{name}` panicked"))),
        }
    }
}

fn sink_error(name: &str, e: &dyn std::error::Error) -> SinkError {
    let mut message = format!("table `{name}`: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    SinkError(message)
}

/// Streams tables into a [`Staging`] folder.
pub struct StagingSink<'a> {
    staging: &'a Staging,
    open: BTreeMap<String, Background>,
    done: BTreeMap<String, (PathBuf, u64)>,
}

impl<'a> StagingSink<'a> {
    /// A sink writing into `staging`.
    pub fn new(staging: &'a Staging) -> Self {
        StagingSink {
            staging,
            open: BTreeMap::new(),
            done: BTreeMap::new(),
        }
    }

    fn path(&self, name: &str) -> Result<PathBuf, SinkError> {
        let scratch = |file: String| {
            self.staging
                .scratch_path(&file)
                .map_err(|e| sink_error(name, &e))
        };
        match Kind::of(name) {
            Kind::Table => Ok(self.staging.table_path(name)),
            Kind::Spill => scratch(format!("{name}.arrows")),
            Kind::Raw => scratch(format!("{name}.parquet")),
        }
    }

    /// Closes table `name` if it is open; returns its file and rows, if it was written.
    pub fn close(&mut self, name: &str) -> Result<Option<(PathBuf, u64)>, SinkError> {
        if let Some(w) = self.open.remove(name) {
            let path = w.path.clone();
            let rows = w.finish(name)?;
            self.done.insert(name.to_string(), (path, rows));
        }
        Ok(self.done.get(name).cloned())
    }

    /// Closes every table; returns `(name, file, rows)` of each warehouse table written
    /// (spills left out).
    pub fn finish(mut self) -> Result<Vec<(String, PathBuf, u64)>, SinkError> {
        let names: Vec<String> = self.open.keys().cloned().collect();
        for n in names {
            self.close(&n)?;
        }
        Ok(std::mem::take(&mut self.done)
            .into_iter()
            .filter(|(n, _)| Kind::of(n) == Kind::Table)
            .map(|(n, (p, r))| (n, p, r))
            .collect())
    }
}

impl TableSink for StagingSink<'_> {
    fn append(&mut self, name: &str, batch: RecordBatch) -> Result<(), SinkError> {
        if let Some(w) = self.open.get(name) {
            if w.tx.send(batch).is_err() {
                // The writer stopped: its error says why.
                let w = self.open.remove(name).expect("the writer is open");
                return Err(match w.finish(name) {
                    Err(e) => e,
                    Ok(_) => SinkError(format!("the writer of `{name}` stopped")),
                });
            }
            return Ok(());
        }
        if self.done.contains_key(name) {
            return Err(SinkError(format!("table `{name}` is already closed")));
        }
        let path = self.path(name)?;
        let w = Background::spawn(path, name, batch)?;
        self.open.insert(name.to_string(), w);
        Ok(())
    }

    fn rewrite(
        &mut self,
        from: &str,
        to: &str,
        map: &mut dyn FnMut(RecordBatch) -> Result<RecordBatch, SinkError>,
    ) -> Result<(), SinkError> {
        let Some((path, written)) = self.close(from)? else {
            return Ok(()); // nothing was spilled
        };
        let reader = plexus_warehouse::read_spill(&path, from).map_err(|e| sink_error(from, &e))?;
        let mut read = 0u64;
        for batch in reader {
            let batch = batch.map_err(|e| sink_error(from, &e))?;
            read += batch.num_rows() as u64;
            let mapped = map(batch)?;
            self.append(to, mapped)?;
        }
        if read != written {
            return Err(SinkError(format!(
                "spill `{from}`: read back {read} rows of the {written} written (was `{}` changed during the build?)",
                path.display()
            )));
        }
        self.done.remove(from);
        let _ = std::fs::remove_file(&path);
        Ok(())
    }
}

impl Drop for StagingSink<'_> {
    fn drop(&mut self) {
        // A failed build: stop the writers (the staging folder goes away with the build).
        for (_, w) in std::mem::take(&mut self.open) {
            drop(w.tx);
            let _ = w.handle.join();
        }
    }
}
