//! One file encoded by several sandboxed instances at once (the optional `atio:encoder/parts`
//! export, contract 0.1.2).
//!
//! Threads, all scoped (joined before [`encode`] returns, so none outlives the staging file):
//! - the caller reads the input and cuts it into parts as the encoder's plan says (rows, Arrow
//!   bytes); where the plan allows, a part is split into runs of consecutive columns (Parquet's
//!   column chunks), about three per worker, given to the workers largest first — each worker
//!   streams its first run and gets its other runs whole when the part ends — else parts go
//!   round-robin to the workers;
//! - one worker per instance, each with its own deadline, memory cap and store;
//! - one writer that places the encoded runs in file order (head, parts, tail), asks instance 0
//!   for the tail, and releases a credit per written part, so at most `2 × workers` parts are
//!   in memory whatever the input size.
//!
//! The cut depends only on the input and the plan, and a part's bytes only on its rows, so the
//! file is the same bytes for any number of instances. The first error wins: it sets `cancel`,
//! which traps every running guest call within one epoch tick (see `plugin::parts`), stops the
//! reader and the writer; the destination is dropped, which removes a staging file.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;

use crate::error::{Error, ErrorKind, Result, Step};
use crate::plugin::parts::{PartInstance, PartPlan, PlacedPart};
use crate::plugin::{Plugin, PluginLimits};

/// Batches queued for one worker.
const WORK_QUEUE: usize = 4;
/// Parts in memory at once (being read, encoded or waiting for their turn), per worker.
const PARTS_IN_FLIGHT_PER_WORKER: usize = 2;
/// How often blocked threads look at `cancel`.
const POLL: Duration = Duration::from_millis(20);

/// What a write in parts hands back.
#[derive(Debug)]
pub(crate) struct Encoded<W> {
    pub destination: W,
    pub rows: u64,
    /// Time inside the instances, all added up.
    pub guest_time: Duration,
    /// Time the caller spent reading the input.
    pub read_time: Duration,
    pub instances: usize,
}

/// Part encoders ready to run, with what the first one said.
pub(crate) struct Workers {
    instances: Vec<PartInstance>,
    plan: PartPlan,
    head: Vec<u8>,
    cancel: Arc<AtomicBool>,
    path: PathBuf,
    /// `--plugin-output-quota`, over the whole file.
    quota: Option<u64>,
    name: String,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("instances", &self.instances.len())
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

/// Opens `threads` part encoders of `plugin`, or `None` when it encodes in one session (no
/// `parts` export, or `unsupported` for these options).
pub(crate) fn open(
    plugin: &Arc<Plugin>,
    schema: &SchemaRef,
    options: &[(String, String)],
    limits: &PluginLimits,
    path: &Path,
    threads: usize,
) -> Result<Option<Workers>> {
    let cancel = Arc::new(AtomicBool::new(false));
    let Some(mut first) = plugin.open_parts(schema, options, limits, path, cancel.clone())? else {
        return Ok(None);
    };
    let plan = first.plan()?;
    let head = first.head()?;
    let mut instances = vec![first];
    // Parts that are never split cannot use more instances than there are parts, but the count
    // of parts is unknown until the input ends; an idle instance costs only its memory.
    for _ in 1..threads.max(1) {
        match plugin.open_parts(schema, options, limits, path, cancel.clone())? {
            Some(instance) => instances.push(instance),
            None => {
                return Err(Error::new(
                    ErrorKind::Plugin,
                    Step::Encode,
                    path,
                    format!(
                        "{} encoder: its part encoder opened once, then refused the same schema \
                         and options",
                        plugin.info.name
                    ),
                ));
            }
        }
    }
    Ok(Some(Workers {
        instances,
        plan,
        head,
        cancel,
        path: path.to_path_buf(),
        quota: limits.output_quota,
        name: format!("{} encoder", plugin.info.name),
    }))
}

/// The first error of a write, and the flag that stops everyone else.
struct Failure {
    first: Mutex<Option<Error>>,
    cancel: Arc<AtomicBool>,
}

impl Failure {
    fn set(&self, error: Error) {
        let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some(error);
        }
        drop(first);
        self.cancel.store(true, Ordering::SeqCst);
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    fn take(&self) -> Option<Error> {
        self.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// What a worker is asked to do, in order.
enum Work {
    Begin {
        part: u64,
        columns: Vec<u32>,
        schema: SchemaRef,
    },
    Batch(RecordBatch),
    End {
        part: u64,
        run: usize,
        runs: usize,
        rows: u64,
        columns: Vec<u32>,
    },
    Tail(Vec<PlacedPart>),
}

/// What the writer receives.
enum Done {
    Run {
        part: u64,
        run: usize,
        runs: usize,
        rows: u64,
        columns: Vec<u32>,
        bytes: Vec<u8>,
        metadata: Vec<u8>,
    },
    /// The reader is done: this many parts in all.
    AllSent(u64),
    /// The tail's bytes (its summary's facts are not recorded, as a session's are not).
    Tail(Vec<u8>),
}

/// Encodes every batch of `source` with `workers` into `destination`.
pub(crate) fn encode<W: Write + Send>(
    workers: Workers,
    source: impl Iterator<Item = Result<RecordBatch>>,
    destination: W,
    written: &AtomicU64,
    mut on_batch: impl FnMut(&RecordBatch),
) -> Result<Encoded<W>> {
    let Workers {
        instances,
        plan,
        head,
        cancel,
        path,
        quota,
        name,
    } = workers;
    let failure = Failure {
        first: Mutex::new(None),
        cancel,
    };
    let count = instances.len();
    let in_flight = count * PARTS_IN_FLIGHT_PER_WORKER;
    let (done_tx, done_rx) = channel::<Done>();
    let (credit_tx, credit_rx) = sync_channel::<()>(in_flight);
    let guest_time = AtomicU64::new(0);

    let outcome = std::thread::scope(|scope| {
        let mut work_txs = Vec::with_capacity(count);
        let mut tail_tx = None;
        for (index, instance) in instances.into_iter().enumerate() {
            let (work_tx, work_rx) = sync_channel::<Work>(WORK_QUEUE);
            if index == 0 {
                tail_tx = Some(work_tx.clone());
            }
            work_txs.push(work_tx);
            let done_tx = done_tx.clone();
            let (failure, guest_time) = (&failure, &guest_time);
            let spawned = std::thread::Builder::new()
                .name(format!("atio-encode-{index}"))
                .spawn_scoped(scope, move || {
                    let mut instance = instance;
                    if let Err(error) = work(&mut instance, &work_rx, &done_tx, failure) {
                        failure.set(error);
                    }
                    guest_time
                        .fetch_add(instance.guest_time().as_nanos() as u64, Ordering::Relaxed);
                });
            if let Err(error) = spawned {
                failure.set(Error::io(Step::Encode, &path, error));
            }
        }
        let writer = {
            let failure = &failure;
            let tail_tx = tail_tx.take();
            let path = &path;
            std::thread::Builder::new()
                .name("atio-parts-writer".into())
                .spawn_scoped(scope, move || {
                    let mut out = Placer {
                        destination,
                        offset: 0,
                        quota,
                        name: &name,
                        failure,
                        written,
                        path,
                    };
                    out.write(&head)?;
                    place(out, done_rx, tail_tx, credit_tx)
                })
        };
        let writer = match writer {
            Ok(writer) => writer,
            Err(error) => {
                failure.set(Error::io(Step::Encode, &path, error));
                drop(work_txs);
                return None;
            }
        };
        let mut reader = Reader {
            plan,
            workers: work_txs,
            credits: credit_rx,
            free_credits: in_flight,
            failure: &failure,
            next_part: 0,
            current: None,
            rows: 0,
            read_time: Duration::ZERO,
        };
        let read_result = reader.read(source, &mut on_batch);
        let parts = reader.next_part;
        let (rows, read_time) = (reader.rows, reader.read_time);
        drop(reader);
        match read_result {
            Ok(()) => {
                let _ = done_tx.send(Done::AllSent(parts));
            }
            Err(error) => failure.set(error),
        }
        drop(done_tx);
        match writer.join() {
            Ok(Some(destination)) => Some((destination, rows, read_time)),
            Ok(None) => None,
            Err(_) => {
                failure.set(Error::new(
                    ErrorKind::Plugin,
                    Step::Write,
                    &path,
                    "the thread placing encoded parts panicked",
                ));
                None
            }
        }
    });
    // Every thread has stopped here: the scope joined them.
    if let Some(error) = failure.take() {
        return Err(error);
    }
    let Some((destination, rows, read_time)) = outcome else {
        return Err(Error::new(
            ErrorKind::Plugin,
            Step::Encode,
            &path,
            "encoding in parts stopped without an error",
        ));
    };
    Ok(Encoded {
        destination,
        rows,
        guest_time: Duration::from_nanos(guest_time.load(Ordering::Relaxed)),
        read_time,
        instances: count,
    })
}

/// A worker: runs what it is sent on its instance until its queue closes or the write fails.
fn work(
    instance: &mut PartInstance,
    queue: &Receiver<Work>,
    done: &Sender<Done>,
    failure: &Failure,
) -> Result<()> {
    while let Ok(work) = queue.recv() {
        if failure.cancelled() {
            return Ok(());
        }
        match work {
            Work::Begin {
                part,
                columns,
                schema,
            } => instance.begin(part, &columns, &schema)?,
            Work::Batch(batch) => instance.write_batch(&batch)?,
            Work::End {
                part,
                run,
                runs,
                rows,
                columns,
            } => {
                let encoded = instance.end()?;
                let _ = done.send(Done::Run {
                    part,
                    run,
                    runs,
                    rows,
                    columns,
                    bytes: encoded.bytes,
                    metadata: encoded.metadata,
                });
            }
            Work::Tail(placed) => {
                let (bytes, _summary) = instance.tail(&placed)?;
                let _ = done.send(Done::Tail(bytes));
            }
        }
    }
    Ok(())
}

/// The part being read: its runs of columns and the worker of each.
struct CurrentPart {
    part: u64,
    runs: Vec<Run>,
    rows: u64,
    bytes: u64,
}

struct Run {
    worker: usize,
    columns: Vec<u32>,
    /// The run's batches, held until the part ends because its worker encodes an earlier run
    /// of this part first; `None` for the run a worker encodes as the batches come.
    held: Option<Vec<RecordBatch>>,
}

/// The caller's side: reads, cuts parts, hands batches to workers.
struct Reader<'a> {
    plan: PartPlan,
    workers: Vec<SyncSender<Work>>,
    credits: Receiver<()>,
    free_credits: usize,
    failure: &'a Failure,
    next_part: u64,
    current: Option<CurrentPart>,
    rows: u64,
    /// Time inside the source's `next` (not waiting for workers).
    read_time: Duration,
}

impl Reader<'_> {
    fn read(
        &mut self,
        mut source: impl Iterator<Item = Result<RecordBatch>>,
        on_batch: &mut impl FnMut(&RecordBatch),
    ) -> Result<()> {
        loop {
            let started = Instant::now();
            let Some(batch) = source.next() else { break };
            self.read_time += started.elapsed();
            if self.failure.cancelled() {
                return Ok(());
            }
            let batch = batch?;
            let mut rest = batch.clone();
            while rest.num_rows() > 0 {
                if self.current.is_none() && !self.begin(&rest)? {
                    return Ok(());
                }
                let current = self.current.as_mut().expect("begun above");
                let room = match self.plan.rows {
                    0 => usize::MAX,
                    limit => usize::try_from(limit - current.rows).unwrap_or(usize::MAX),
                };
                let now = if rest.num_rows() > room {
                    let now = rest.slice(0, room);
                    rest = rest.slice(room, rest.num_rows() - room);
                    now
                } else {
                    let empty = rest.slice(0, 0);
                    std::mem::replace(&mut rest, empty)
                };
                current.rows += now.num_rows() as u64;
                current.bytes += arrow_bytes(&now);
                self.rows += now.num_rows() as u64;
                for run in &mut current.runs {
                    let projected = now
                        .project(&run.columns.iter().map(|&c| c as usize).collect::<Vec<_>>())
                        .expect("run columns are the batch's");
                    match &mut run.held {
                        Some(held) => held.push(projected),
                        None => {
                            if self.workers[run.worker]
                                .send(Work::Batch(projected))
                                .is_err()
                            {
                                return Ok(());
                            }
                        }
                    }
                }
                let full = (self.plan.rows > 0 && current.rows >= self.plan.rows)
                    || (self.plan.bytes > 0 && current.bytes >= self.plan.bytes);
                if full && !self.end()? {
                    return Ok(());
                }
            }
            on_batch(&batch);
        }
        if self.current.is_some() {
            self.end()?;
        }
        Ok(())
    }

    /// Starts the next part, its runs chosen from `first`'s columns; `false` if the write is
    /// stopping.
    fn begin(&mut self, first: &RecordBatch) -> Result<bool> {
        // A credit per part in flight: the writer returns one per part placed.
        while self.free_credits == 0 {
            match self.credits.recv_timeout(POLL) {
                Ok(()) => self.free_credits += 1,
                Err(RecvTimeoutError::Timeout) if !self.failure.cancelled() => {}
                Err(_) => return Ok(false),
            }
        }
        self.free_credits -= 1;
        let part = self.next_part;
        self.next_part += 1;
        let workers = self.workers.len();
        let runs = if self.plan.split_columns && workers > 1 {
            balanced_runs(first, workers)
        } else {
            vec![Run {
                worker: (part % workers as u64) as usize,
                columns: (0..first.num_columns() as u32).collect(),
                held: None,
            }]
        };
        let schema = first.schema();
        for run in runs.iter().filter(|run| run.held.is_none()) {
            let projected = Arc::new(
                schema
                    .project(&run.columns.iter().map(|&c| c as usize).collect::<Vec<_>>())
                    .expect("run columns are the schema's"),
            );
            let begin = Work::Begin {
                part,
                columns: run.columns.clone(),
                schema: projected,
            };
            if self.workers[run.worker].send(begin).is_err() {
                return Ok(false);
            }
        }
        self.current = Some(CurrentPart {
            part,
            runs,
            rows: 0,
            bytes: 0,
        });
        Ok(true)
    }

    /// Ends the current part on each of its workers, then sends each worker its held runs
    /// whole; `false` if the write is stopping.
    fn end(&mut self) -> Result<bool> {
        let current = self.current.take().expect("a part is open");
        let count = current.runs.len();
        let end = |index: usize, run: &Run| Work::End {
            part: current.part,
            run: index,
            runs: count,
            rows: current.rows,
            columns: run.columns.clone(),
        };
        // Streamed runs first: each worker's queue is in order, so a worker finishes its
        // streamed run before it starts the runs held for it.
        for (index, run) in current.runs.iter().enumerate() {
            if run.held.is_none() && self.workers[run.worker].send(end(index, run)).is_err() {
                return Ok(false);
            }
        }
        for (index, run) in current.runs.iter().enumerate() {
            let Some(held) = &run.held else { continue };
            let schema = held
                .first()
                .map(RecordBatch::schema)
                .expect("a part has rows");
            let queue = &self.workers[run.worker];
            let sent = queue
                .send(Work::Begin {
                    part: current.part,
                    columns: run.columns.clone(),
                    schema,
                })
                .is_ok()
                && held
                    .iter()
                    .all(|batch| queue.send(Work::Batch(batch.clone())).is_ok())
                && queue.send(end(index, run)).is_ok();
            if !sent {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The Arrow size of a batch's rows (its slices, not the buffers they share).
fn arrow_bytes(batch: &RecordBatch) -> u64 {
    batch.columns().iter().map(arrow_bytes_of).sum()
}

/// The Arrow size of one column's rows.
fn arrow_bytes_of(column: &arrow::array::ArrayRef) -> u64 {
    column.to_data().get_slice_memory_size().unwrap_or(0) as u64
}

/// `columns` split into at most `runs` runs of consecutive columns with about the same Arrow
/// size each (by the part's first batch).
fn column_runs(batch: &RecordBatch, runs: usize) -> Vec<Vec<u32>> {
    let sizes: Vec<u64> = batch
        .columns()
        .iter()
        .map(|column| arrow_bytes_of(column) + 1)
        .collect();
    let runs = runs.clamp(1, sizes.len().max(1));
    let total: u64 = sizes.iter().sum();
    let mut out: Vec<Vec<u32>> = vec![Vec::new()];
    let mut before = 0u64;
    for (column, size) in sizes.iter().enumerate() {
        let remaining_columns = sizes.len() - column;
        let remaining_runs = runs - out.len();
        // Start a new run once this one holds its share, or when every remaining column is
        // needed to give each remaining run one.
        let share = total * out.len() as u64 / runs as u64;
        let current_empty = out.last().is_some_and(Vec::is_empty);
        if !current_empty
            && remaining_runs > 0
            && (before + size / 2 >= share || remaining_columns <= remaining_runs)
        {
            out.push(Vec::new());
        }
        out.last_mut().expect("never empty").push(column as u32);
        before += size;
    }
    out
}

/// The destination with its write offset, the quota and where errors go.
struct Placer<'a, W> {
    destination: W,
    offset: u64,
    quota: Option<u64>,
    name: &'a str,
    failure: &'a Failure,
    written: &'a AtomicU64,
    path: &'a Path,
}

impl<W: Write> Placer<'_, W> {
    /// Appends `bytes`; `None` (the failure recorded) if that fails or passes the quota.
    fn write(&mut self, bytes: &[u8]) -> Option<()> {
        let after = self.offset + bytes.len() as u64;
        if let Some(quota) = self.quota.filter(|quota| after > *quota) {
            self.failure.set(Error::new(
                ErrorKind::Plugin,
                Step::Encode,
                self.path,
                format!(
                    "{}: output quota of {quota} bytes exceeded (see --plugin-output-quota)",
                    self.name
                ),
            ));
            return None;
        }
        if let Err(error) = self.destination.write_all(bytes) {
            self.failure.set(Error::io(Step::Write, self.path, error));
            return None;
        }
        self.offset = after;
        self.written.store(after, Ordering::Relaxed);
        Some(())
    }
}

/// Runs per instance a part is split into before they are spread over the instances.
const RUNS_PER_WORKER: usize = 3;

/// `first`'s columns as runs of consecutive columns (about `RUNS_PER_WORKER` per worker, of
/// about the same Arrow size), each given to the least loaded worker, largest first (LPT), so
/// that one expensive column does not leave the others idle. A worker's first run in file order
/// streams; its other runs are held and sent whole when the part ends.
fn balanced_runs(first: &RecordBatch, workers: usize) -> Vec<Run> {
    let groups = column_runs(first, workers * RUNS_PER_WORKER);
    let sizes: Vec<u64> = groups
        .iter()
        .map(|columns| {
            columns
                .iter()
                .map(|&c| arrow_bytes_of(first.column(c as usize)) + 1)
                .sum()
        })
        .collect();
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(sizes[index]));
    let mut load = vec![0u64; workers];
    let mut owner = vec![0usize; groups.len()];
    for index in order {
        let worker = (0..workers)
            .min_by_key(|&worker| (load[worker], worker))
            .expect("at least one worker");
        load[worker] += sizes[index];
        owner[index] = worker;
    }
    let mut streamed = vec![false; workers];
    groups
        .into_iter()
        .zip(owner)
        .map(|(columns, worker)| {
            let held = std::mem::replace(&mut streamed[worker], true).then(Vec::new);
            Run {
                worker,
                columns,
                held,
            }
        })
        .collect()
}

/// The writer: runs in file order as they come (after the head), then the tail from
/// instance 0.
fn place<W: Write>(
    mut out: Placer<'_, W>,
    done: Receiver<Done>,
    tail_worker: Option<SyncSender<Work>>,
    credits: SyncSender<()>,
) -> Option<W> {
    let mut waiting: BTreeMap<(u64, usize), Done> = BTreeMap::new();
    let mut next = (0u64, 0usize);
    let mut total: Option<u64> = None;
    let mut placed: Vec<PlacedPart> = Vec::new();
    let mut tail_worker = tail_worker;
    loop {
        if out.failure.cancelled() {
            return None;
        }
        if total == Some(next.0)
            && let Some(worker) = tail_worker.take()
        {
            // Every part is placed: the tail, from instance 0.
            if worker
                .send(Work::Tail(std::mem::take(&mut placed)))
                .is_err()
            {
                return None;
            }
        }
        let message = match done.recv_timeout(POLL) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return None,
        };
        match message {
            Done::AllSent(parts) => total = Some(parts),
            Done::Tail(bytes) => {
                out.write(&bytes)?;
                return Some(out.destination);
            }
            run @ Done::Run { .. } => {
                let Done::Run {
                    part, run: index, ..
                } = run
                else {
                    unreachable!("matched above")
                };
                waiting.insert((part, index), run);
                while let Some(Done::Run {
                    part,
                    run,
                    runs,
                    rows,
                    columns,
                    bytes,
                    metadata,
                }) = waiting.remove(&next)
                {
                    let offset = out.offset;
                    out.write(&bytes)?;
                    placed.push(PlacedPart {
                        part,
                        columns,
                        rows,
                        offset,
                        length: bytes.len() as u64,
                        metadata,
                    });
                    next = if run + 1 == runs {
                        let _ = credits.try_send(());
                        (part + 1, 0)
                    } else {
                        (part, run + 1)
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(widths: &[usize]) -> RecordBatch {
        let fields: Vec<Field> = (0..widths.len())
            .map(|i| Field::new(format!("c{i}"), DataType::Utf8, false))
            .collect();
        let columns = widths
            .iter()
            .map(|&w| Arc::new(StringArray::from(vec!["x".repeat(w); 100])) as _)
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    #[test]
    fn column_runs_are_consecutive_balanced_and_never_empty() {
        assert_eq!(
            column_runs(&batch(&[10, 10, 10, 10]), 2),
            vec![vec![0, 1], vec![2, 3]]
        );
        assert_eq!(
            column_runs(&batch(&[100, 1, 1, 1]), 2),
            vec![vec![0], vec![1, 2, 3]]
        );
        assert_eq!(
            column_runs(&batch(&[1, 1, 1, 100]), 2),
            vec![vec![0, 1, 2], vec![3]]
        );
        assert_eq!(column_runs(&batch(&[5, 5]), 4), vec![vec![0], vec![1]]);
        assert_eq!(column_runs(&batch(&[5, 5, 5]), 1), vec![vec![0, 1, 2]]);
        assert_eq!(
            column_runs(&batch(&[1, 1, 1]), 3),
            vec![vec![0], vec![1], vec![2]]
        );
    }

    #[test]
    fn balanced_runs_spread_the_load_and_stream_one_run_per_worker() {
        // The benchmark's shape: two narrow columns, a wide string, a tiny one, another narrow.
        let first = batch(&[8, 8, 40, 1, 8]);
        let runs = balanced_runs(&first, 2);
        let columns: Vec<u32> = runs.iter().flat_map(|run| run.columns.clone()).collect();
        assert_eq!(
            columns,
            vec![0, 1, 2, 3, 4],
            "every column once, in file order"
        );
        let size = |c: u32| arrow_bytes_of(first.column(c as usize));
        let load = |worker: usize| -> u64 {
            runs.iter()
                .filter(|run| run.worker == worker)
                .flat_map(|run| &run.columns)
                .map(|&c| size(c))
                .sum()
        };
        // Better than the best split into two runs of consecutive columns.
        let total: u64 = (0..5).map(size).sum();
        let best_consecutive = (1..5)
            .map(|cut| {
                let left: u64 = (0..cut).map(size).sum();
                left.max(total - left)
            })
            .min()
            .unwrap();
        assert!(
            load(0).max(load(1)) < best_consecutive,
            "{} / {}",
            load(0),
            load(1)
        );
        for worker in 0..2 {
            let mine: Vec<&Run> = runs.iter().filter(|run| run.worker == worker).collect();
            assert!(mine[0].held.is_none(), "a worker's first run streams");
            assert!(mine[1..].iter().all(|run| run.held.is_some()));
        }
    }

    #[test]
    fn arrow_bytes_counts_a_slice_not_its_buffers() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, false)]));
        let whole = RecordBatch::try_new(
            schema,
            vec![Arc::new(Int64Array::from_iter_values(0..1000)) as _],
        )
        .unwrap();
        assert_eq!(arrow_bytes(&whole), 8000);
        assert_eq!(arrow_bytes(&whole.slice(0, 10)), 80);
    }
}
