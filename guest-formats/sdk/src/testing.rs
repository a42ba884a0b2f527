//! Run an [`Encoder`] natively, the way the host drives it, for unit tests.
//!
//! [`Harness`] performs the same steps as a real session (option checks, Arrow IPC encoding and
//! decoding of every batch, sink buffering, the final flush) with an in-memory output in place
//! of the host's, so an encoder crate can test itself with plain `cargo test` on the build
//! machine's target:
//!
//! ```
//! use atio_encoder_sdk::testing::Harness;
//! # use atio_encoder_sdk::*;
//! # use std::io::Write;
//! # struct Lines { out: SinkWriter }
//! # impl Encoder for Lines {
//! #     fn info() -> FormatInfo { FormatInfo::new("lines", "0.1.0", "text/plain") }
//! #     fn open(_: SchemaRef, _: &mut Options, out: SinkWriter) -> Result<Self, EncodeError> {
//! #         Ok(Lines { out })
//! #     }
//! #     fn write_batch(&mut self, b: &RecordBatch) -> Result<(), EncodeError> {
//! #         Ok(writeln!(self.out, "{}", b.num_rows())?)
//! #     }
//! #     fn finish(self) -> Result<Summary, EncodeError> { Ok(Summary::new()) }
//! # }
//! use arrow_array::{Int32Array, RecordBatch};
//! use std::sync::Arc;
//!
//! let batch = RecordBatch::try_from_iter([("a", Arc::new(Int32Array::from(vec![1, 2])) as _)])?;
//! let done = Harness::<Lines>::encode(&batch.schema(), &[], &[batch.clone(), batch])?;
//! assert_eq!(done.bytes, b"2\n2\n");
//! assert_eq!(done.summary.rows, 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::Schema;

use crate::info::FinishedSummary;
use crate::parts::{PartEncoder, PartsDriver, PlacedPart};
use crate::session::Driver;
use crate::sink::RawOutput;
use crate::{EncodeError, Encoder};

#[derive(Default)]
struct Recorded {
    bytes: Vec<u8>,
    writes: Vec<usize>,
    limit: Option<usize>,
    /// `false`: refuses `reserve-header`, like an object-store upload.
    rewritable: bool,
    /// The size accepted by `reserve-header`.
    reserved: Option<usize>,
}

/// An in-memory `output` that records every host write and can refuse bytes past a limit.
struct RecordingOutput(Arc<Mutex<Recorded>>);

impl RawOutput for RecordingOutput {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let mut r = self.0.lock().unwrap();
        if let Some(limit) = r.limit
            && r.bytes.len() + bytes.len() > limit
        {
            return Err(format!("output limit of {limit} bytes exceeded"));
        }
        r.bytes.extend_from_slice(bytes);
        r.writes.push(bytes.len());
        Ok(())
    }

    // The host's rules, so encoders meet them in unit tests.
    fn reserve_header(&mut self, size: u32) -> Result<(), String> {
        let mut r = self.0.lock().unwrap();
        if !r.rewritable {
            return Err("this test output is append-only".into());
        }
        if !r.bytes.is_empty() || r.reserved.is_some() {
            return Err("reserve-header after a write or a second time".into());
        }
        if size as usize > crate::MAX_HEADER_SIZE {
            return Err(format!("a header of {size} bytes is over the limit"));
        }
        r.reserved = Some(size as usize);
        Ok(())
    }

    fn rewrite_header(&mut self, header: &[u8]) -> Result<(), String> {
        let mut r = self.0.lock().unwrap();
        match r.reserved {
            Some(reserved) if header.len() <= reserved && header.len() <= r.bytes.len() => {
                r.bytes[..header.len()].copy_from_slice(header);
                Ok(())
            }
            reserved => Err(format!(
                "rewrite-header of {} bytes, {reserved:?} reserved, {} written",
                header.len(),
                r.bytes.len()
            )),
        }
    }
}

/// The result of a successful [`Harness::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// Everything written to the output.
    pub bytes: Vec<u8>,
    /// What the host would receive from `finish`.
    pub summary: FinishedSummary,
    /// The size of each `output.write` call the host would have seen, in order.
    pub host_writes: Vec<usize>,
}

/// A session of encoder `E` over an in-memory output; see the [module docs](self).
pub struct Harness<E> {
    driver: Driver<E>,
    stream: StreamWriter<Vec<u8>>,
    recorded: Arc<Mutex<Recorded>>,
}

impl<E> fmt::Debug for Harness<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

impl<E: Encoder> Harness<E> {
    /// Opens a session for `schema` with `options`, like the host's `session.open`.
    /// Its output can rewrite a reserved header, like a local file's.
    pub fn open(schema: &Schema, options: &[(&str, &str)]) -> Result<Self, EncodeError> {
        Self::open_inner(schema, options, None, true)
    }

    /// Like [`Harness::open`], but the output refuses `reserve-header`, like an object-store
    /// upload's: for testing an encoder's buffering path.
    pub fn open_append_only(
        schema: &Schema,
        options: &[(&str, &str)],
    ) -> Result<Self, EncodeError> {
        Self::open_inner(schema, options, None, false)
    }

    /// Like [`Harness::open`], but the output refuses any write that would take it past
    /// `limit` bytes, with the message `output limit of {limit} bytes exceeded`.
    pub fn open_with_limit(
        schema: &Schema,
        options: &[(&str, &str)],
        limit: usize,
    ) -> Result<Self, EncodeError> {
        Self::open_inner(schema, options, Some(limit), true)
    }

    fn open_inner(
        schema: &Schema,
        options: &[(&str, &str)],
        limit: Option<usize>,
        rewritable: bool,
    ) -> Result<Self, EncodeError> {
        let mut stream = StreamWriter::try_new(Vec::new(), schema)
            .map_err(|e| EncodeError::internal(format!("test harness: {e}")))?;
        let schema_bytes = std::mem::take(stream.get_mut());
        let recorded = Arc::new(Mutex::new(Recorded {
            limit,
            rewritable,
            ..Recorded::default()
        }));
        let options = options
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let driver = Driver::open(
            &schema_bytes,
            options,
            Box::new(RecordingOutput(Arc::clone(&recorded))),
        )?;
        Ok(Self {
            driver,
            stream,
            recorded,
        })
    }

    /// Encodes `batch` as the host would (Arrow IPC messages: dictionaries, then the batch)
    /// and passes it to `session.write-batch`.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        self.stream
            .write(batch)
            .map_err(|e| EncodeError::internal(format!("test harness: {e}")))?;
        let ipc = std::mem::take(self.stream.get_mut());
        self.driver.write_batch(ipc)
    }

    /// Passes raw bytes to `session.write-batch`.
    pub fn write_ipc(&mut self, ipc: Vec<u8>) -> Result<(), EncodeError> {
        self.driver.write_batch(ipc)
    }

    /// Bytes the host has received so far (the sink's buffer is not included).
    pub fn output(&self) -> Vec<u8> {
        self.recorded.lock().unwrap().bytes.clone()
    }

    /// `session.finish`. The harness stays usable so that tests can check that later calls
    /// are rejected.
    pub fn finish(&mut self) -> Result<Finished, EncodeError> {
        let summary = self.driver.finish()?;
        let r = self.recorded.lock().unwrap();
        Ok(Finished {
            bytes: r.bytes.clone(),
            summary,
            host_writes: r.writes.clone(),
        })
    }

    /// `session.abort`; returns what the host had received before it.
    pub fn abort(&mut self) -> Vec<u8> {
        self.driver.abort();
        self.output()
    }

    /// Opens a session, writes `batches`, finishes.
    pub fn encode(
        schema: &Schema,
        options: &[(&str, &str)],
        batches: &[RecordBatch],
    ) -> Result<Finished, EncodeError> {
        let mut h = Self::open(schema, options)?;
        for b in batches {
            h.write_batch(b)?;
        }
        h.finish()
    }
}

/// Plays the host of `atio:encoder/parts` natively: opens `instances` part encoders `P` (with
/// `E`'s declared options), cuts `batches` into parts as the plan says (splitting parts into runs
/// of columns, one per instance, where it allows), spreads them over the instances and assembles
/// head, parts and tail, as atio does. The bytes must not depend on `instances`.
pub fn encode_in_parts<E: Encoder, P: PartEncoder>(
    schema: &Schema,
    options: &[(&str, &str)],
    batches: &[RecordBatch],
    instances: usize,
) -> Result<Vec<u8>, EncodeError> {
    let info = E::info();
    let options: Vec<(String, String)> = options
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let schema_ipc = ipc_stream(schema)?;
    let mut drivers = (0..instances.max(1))
        .map(|_| PartsDriver::<P>::open(&info, &schema_ipc, options.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let plan = drivers[0].plan();
    let mut file = drivers[0].head()?;
    // Parts: lists of batch slices, cut as the host cuts them.
    let mut parts: Vec<Vec<RecordBatch>> = Vec::new();
    let (mut rows, mut bytes, mut open) = (0u64, 0u64, false);
    for batch in batches {
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            if !open {
                parts.push(Vec::new());
                (rows, bytes, open) = (0, 0, true);
            }
            let room = match plan.rows {
                0 => rest.num_rows(),
                limit => (limit - rows).min(rest.num_rows() as u64) as usize,
            };
            let now = rest.slice(0, room);
            rest = rest.slice(room, rest.num_rows() - room);
            rows += now.num_rows() as u64;
            bytes += now
                .columns()
                .iter()
                .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0) as u64)
                .sum::<u64>();
            parts.last_mut().expect("pushed above").push(now);
            if (plan.rows > 0 && rows >= plan.rows) || (plan.bytes > 0 && bytes >= plan.bytes) {
                open = false;
            }
        }
    }
    let count = drivers.len();
    let mut placed = Vec::new();
    for (number, part) in parts.iter().enumerate() {
        let columns: Vec<usize> = (0..schema.fields().len()).collect();
        let runs: Vec<Vec<usize>> = if plan.split_columns {
            let per = columns.len().div_ceil(count).max(1);
            columns.chunks(per).map(<[usize]>::to_vec).collect()
        } else {
            vec![columns]
        };
        for (run, columns) in runs.iter().enumerate() {
            let driver = &mut drivers[if plan.split_columns {
                run
            } else {
                number % count
            }];
            let projected = schema
                .project(columns)
                .map_err(|e| EncodeError::internal(e.to_string()))?;
            let mut stream = StreamWriter::try_new(Vec::new(), &projected)
                .map_err(|e| EncodeError::internal(e.to_string()))?;
            let wire: Vec<u32> = columns.iter().map(|&c| c as u32).collect();
            driver.begin(number as u64, &wire, &std::mem::take(stream.get_mut()))?;
            let mut rows = 0;
            for batch in part {
                let batch = batch
                    .project(columns)
                    .map_err(|e| EncodeError::internal(e.to_string()))?;
                rows += batch.num_rows() as u64;
                stream
                    .write(&batch)
                    .map_err(|e| EncodeError::internal(e.to_string()))?;
                driver.write_batch(std::mem::take(stream.get_mut()))?;
            }
            let encoded = driver.end()?;
            placed.push(PlacedPart {
                part: number as u64,
                columns: wire,
                rows,
                offset: file.len() as u64,
                length: encoded.bytes.len() as u64,
                metadata: encoded.metadata,
            });
            file.extend_from_slice(&encoded.bytes);
        }
    }
    let (tail, _) = drivers[0].tail(&placed)?;
    file.extend_from_slice(&tail);
    Ok(file)
}

fn ipc_stream(schema: &Schema) -> Result<Vec<u8>, EncodeError> {
    let mut stream = StreamWriter::try_new(Vec::new(), schema)
        .map_err(|e| EncodeError::internal(e.to_string()))?;
    Ok(std::mem::take(stream.get_mut()))
}

/// Asserts that [`Concatenated`](crate::parts::Concatenated)`<E>` writes, on 1, 2 and 3
/// instances, the very bytes one session of `E` writes.
pub fn assert_concatenated_matches_session<E: Encoder>(
    schema: &Schema,
    options: &[(&str, &str)],
    batches: &[RecordBatch],
) {
    let session = Harness::<E>::encode(schema, options, batches)
        .expect("one session encodes")
        .bytes;
    for instances in 1..=3 {
        let parts = encode_in_parts::<E, crate::parts::Concatenated<E>>(
            schema, options, batches, instances,
        )
        .expect("parts encode");
        assert!(
            parts == session,
            "{instances} instance(s) wrote {} bytes, one session {} (or other bytes)",
            parts.len(),
            session.len()
        );
    }
}
