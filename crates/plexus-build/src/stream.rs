//! One source's batches through three stages at once: a thread reads them, worker threads
//! finish them (parsing CSV records, Segment calls and Stripe objects), map and prepare them (normalising
//! identifiers, building event columns), and the calling thread adds them to the
//! collection in the order they were read (interning identifiers and finding duplicate keys
//! need one owner).
//!
//! At most [`IN_FLIGHT`] batches are between the reader and the caller at any time, so
//! memory does not grow with the source.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::mpsc::sync_channel;

use datafusion::arrow::array::RecordBatch;
use plexus_ingest::{IngestError, Mapper, Piece, SourceReader};
use plexus_model::entities::{PreparedBatch, SinkError, SourcePlan};

/// Batches read but not yet added: enough to keep every worker busy.
const IN_FLIGHT: usize = 6;

/// The parts that read, map and prepare one source.
pub(crate) struct Stream<'a> {
    pub(crate) reader: &'a SourceReader,
    pub(crate) mapper: &'a Mapper,
    pub(crate) plan: &'a SourcePlan,
}

/// What a worker hands back: the raw batch and its prepared form (`None` when no row of
/// the piece loads), or why mapping failed.
type Done = (
    u64,
    Result<Option<(RecordBatch, PreparedBatch)>, IngestError>,
);

impl Stream<'_> {
    /// Streams every batch through `add` in reading order. Returns the reader's result
    /// (a mapping error counts as the reader's) and `add`'s, with the rows added; when
    /// `add` fails, reading stops at the next batch.
    pub(crate) fn run(
        &self,
        mut add: impl FnMut(&RecordBatch, PreparedBatch) -> Result<(), SinkError>,
    ) -> (Result<(), IngestError>, Result<u64, SinkError>) {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4);
        let (job_tx, job_rx) = sync_channel::<(u64, Piece)>(workers);
        let job_rx = Mutex::new(job_rx);
        let (done_tx, done_rx) = sync_channel::<Done>(IN_FLIGHT);
        // A token per batch in flight: the reader takes one before each batch, the caller
        // gives it back once the batch is added.
        let (token_tx, token_rx) = sync_channel::<()>(IN_FLIGHT);
        for _ in 0..IN_FLIGHT {
            token_tx
                .send(())
                .expect("the channel holds IN_FLIGHT tokens");
        }
        let (reader, mapper, plan) = (self.reader, self.mapper, self.plan);
        let (read, consumed) = std::thread::scope(|scope| {
            let read = std::thread::Builder::new()
                .name("read".into())
                .spawn_scoped(scope, move || {
                    let mut seq = 0u64;
                    reader.for_each_piece(plexus_ingest::BATCH_ROWS, &mut |piece| {
                        token_rx.recv().map_err(|_| IngestError::Stopped)?;
                        job_tx
                            .send((seq, piece))
                            .map_err(|_| IngestError::Stopped)?;
                        seq += 1;
                        Ok(())
                    })
                })
                .expect("a thread can be started");
            let mut pool = Vec::with_capacity(workers);
            for w in 0..workers {
                let (job_rx, done_tx) = (&job_rx, done_tx.clone());
                pool.push(
                    std::thread::Builder::new()
                        .name(format!("prepare {w}"))
                        .spawn_scoped(scope, move || {
                            loop {
                                let job = match job_rx.lock() {
                                    Ok(rx) => rx.recv(),
                                    Err(_) => return,
                                };
                                let Ok((seq, piece)) = job else { return };
                                let prepared = match reader.finish_piece(piece) {
                                    None => Ok(None),
                                    Some(batch) => mapper.map(&batch).map(|mapped| {
                                        let prepared = plan.prepare(&mapped);
                                        Some((batch, prepared))
                                    }),
                                };
                                if done_tx.send((seq, prepared)).is_err() {
                                    return;
                                }
                            }
                        })
                        .expect("a thread can be started"),
                );
            }
            drop(done_tx);

            let mut rows = 0u64;
            let mut failed_mapping = None;
            let mut waiting: BTreeMap<u64, Result<Option<(RecordBatch, PreparedBatch)>, _>> =
                BTreeMap::new();
            let mut next = 0u64;
            let mut consume = || -> Result<(), SinkError> {
                for (seq, done) in done_rx.iter() {
                    waiting.insert(seq, done);
                    while let Some(done) = waiting.remove(&next) {
                        next += 1;
                        match done {
                            Ok(finished) => {
                                if let Some((batch, prepared)) = finished {
                                    rows += batch.num_rows() as u64;
                                    add(&batch, prepared)?;
                                }
                                // The reader may be gone already: nothing waits for it.
                                let _ = token_tx.send(());
                            }
                            Err(e) => {
                                failed_mapping = Some(e);
                                return Ok(());
                            }
                        }
                    }
                }
                Ok(())
            };
            let consumed = consume();
            // A failed caller or mapping stops the reader and the workers at their next
            // batch.
            drop(done_rx);
            drop(token_tx);
            let read = read.join().expect("the source reader panicked");
            for worker in pool {
                worker.join().expect("a batch worker panicked");
            }
            let read = match failed_mapping {
                Some(e) => Err(e),
                None => read,
            };
            (read, consumed.map(|()| rows))
        });
        let mut rows = match (&read, &consumed) {
            (Ok(()), Ok(rows)) => *rows,
            _ => return (read, consumed),
        };
        // What could only be made once every batch was finished (a Stripe source's
        // refunds), added last on this thread.
        for batch in reader.last_batches(plexus_ingest::BATCH_ROWS) {
            let mapped = match mapper.map(&batch) {
                Ok(mapped) => mapped,
                Err(e) => return (Err(e), Ok(rows)),
            };
            let prepared = plan.prepare(&mapped);
            rows += batch.num_rows() as u64;
            if let Err(e) = add(&batch, prepared) {
                return (Ok(()), Err(e));
            }
        }
        (Ok(()), Ok(rows))
    }
}
