//! `atio::write`: record batches → an encoder plugin → an atomically committed file.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arrow::array::{RecordBatch, RecordBatchReader};

use crate::error::Result;
use crate::formats::{self, EncoderChoice};
use crate::input;
use crate::options::Options;
use crate::output::Output;
use crate::parallel;
use crate::plugin::{Plugin, PluginLimits};
use crate::report::Report;

/// Options for [`write`].
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// How the file is committed.
    pub commit: Options,
    /// The encoder; `None` picks it by the output's extension.
    pub encoder: Option<EncoderChoice>,
    /// `key=value` options passed to the encoder, in order.
    pub encoder_options: Vec<(String, String)>,
    /// Sandbox limits for the encoder, applied to each instance.
    pub limits: PluginLimits,
    /// Most encoder instances encoding this file at once (encoders that export
    /// `atio:encoder/parts`: Parquet, CSV, JSON lines); `None`: one per core available
    /// ([`default_threads`](crate::default_threads)). The file is the same bytes for any count.
    pub threads: Option<usize>,
}

/// Progress of a streaming write, reported after each batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Rows encoded so far.
    pub rows: u64,
    /// Batches encoded so far.
    pub batches: u64,
    /// Output bytes so far.
    pub bytes: u64,
    /// Time inside the encoder so far.
    pub guest_time: Duration,
    /// Object-store targets: bytes the store has acknowledged (finished parts) so far.
    pub uploaded: Option<u64>,
}

/// Encodes every batch of `source` into `path` (a local path or an object-store URL such as
/// `s3://bucket/key.parquet`) and commits it atomically. Streams: memory is bounded by one batch
/// plus the encoder's own buffers (with several instances: the parts in flight, at most two per
/// instance; for objects, the parts being uploaded), never by the input size.
pub fn write(
    path: impl AsRef<Path>,
    source: impl RecordBatchReader,
    options: &WriteOptions,
) -> Result<Report> {
    write_with_progress(path, source, options, |_| {})
}

/// [`write`], calling `on_progress` after each batch.
pub fn write_with_progress(
    path: impl AsRef<Path>,
    source: impl RecordBatchReader,
    options: &WriteOptions,
    mut on_progress: impl FnMut(&Progress),
) -> Result<Report> {
    let path = path.as_ref();
    let plugin = formats::resolve(options.encoder.as_ref(), path, &options.limits)?;
    let file = Output::create(path, &options.commit)?;
    let target = file.target();
    let uploaded = file.upload_progress();
    let _span = tracing::debug_span!("write", path = %target.display(), format = %plugin.info.name)
        .entered();
    let schema = source.schema();
    let threads = options
        .threads
        .unwrap_or_else(crate::options::default_threads)
        .max(1);
    if let Some(workers) = parallel::open(
        &plugin,
        &schema,
        &options.encoder_options,
        &options.limits,
        &target,
        threads,
    )? {
        let written = AtomicU64::new(0);
        let mut progress = Progress::default();
        let batches = source.map(|batch| {
            batch.map_err(|error| input::arrow_error(Path::new(input::CALLER_BATCHES), error))
        });
        let encoded = parallel::encode(workers, batches, file, &written, |batch| {
            progress.rows += batch.num_rows() as u64;
            progress.batches += 1;
            progress.bytes = written.load(Ordering::Relaxed);
            progress.uploaded = uploaded
                .as_ref()
                .map(|uploaded| uploaded.load(Ordering::Relaxed));
            on_progress(&progress);
        })?;
        return commit(
            encoded.destination,
            &plugin,
            Encoded {
                rows: encoded.rows,
                guest_time: encoded.guest_time,
                read_time: encoded.read_time,
                instances: encoded.instances,
            },
        );
    }
    let mut session = plugin.open(
        &schema,
        &options.encoder_options,
        file,
        &options.limits,
        &target,
    )?;
    let mut progress = Progress::default();
    let mut read_time = Duration::ZERO;
    let mut source = source;
    loop {
        let started = std::time::Instant::now();
        let Some(batch) = source.next() else { break };
        read_time += started.elapsed();
        let batch: RecordBatch =
            batch.map_err(|error| input::arrow_error(Path::new(input::CALLER_BATCHES), error))?;
        session.write_batch(&batch)?;
        progress.rows += batch.num_rows() as u64;
        progress.batches += 1;
        progress.guest_time = session.guest_time();
        progress.bytes = session.bytes_written();
        progress.uploaded = uploaded
            .as_ref()
            .map(|uploaded| uploaded.load(Ordering::Relaxed));
        on_progress(&progress);
    }
    let finished = session.finish::<Output>()?;
    commit(
        finished.destination,
        &plugin,
        Encoded {
            rows: finished.rows,
            guest_time: finished.guest_time,
            read_time,
            instances: 1,
        },
    )
}

/// What encoding a file took, for its report and manifest.
struct Encoded {
    rows: u64,
    guest_time: Duration,
    read_time: Duration,
    instances: usize,
}

/// Records what produced the bytes, commits them, and reports.
fn commit(mut file: Output, plugin: &Plugin, encoded: Encoded) -> Result<Report> {
    file.describe(
        plugin.info.name.clone(),
        encoded.rows,
        plugin.encoder_info(),
        encoded.guest_time,
    );
    let mut report = file.commit()?;
    report.instances = Some(encoded.instances);
    report.timings.read = encoded.read_time;
    Ok(report)
}
