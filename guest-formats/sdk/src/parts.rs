//! Encoding one file as independent parts on several instances at once (the optional WIT
//! interface `atio:encoder/parts`, contract 0.1.2).
//!
//! The host runs one [`PartEncoder`] per instance. It cuts the input into parts as
//! [`PartEncoder::plan`] says, sends each part (or, where the plan allows, each run of columns of
//! a part) to whichever instance is free, writes [`head`](PartEncoder::head), the parts in order,
//! then what [`tail`](PartEncoder::tail) returns. The file must be the same bytes however many
//! instances there were: a part's bytes may depend only on its own batches.
//!
//! Two ways to opt in, given with [`export_encoder!`](crate::export_encoder):
//! * [`Concatenated`]: for formats whose file is a header followed by rows that do not depend on
//!   each other (CSV, JSON lines): `export_encoder!(MyEncoder, parts = Concatenated<MyEncoder>)`.
//!   Each part is encoded by a fresh session of the encoder, without the header.
//! * an own [`PartEncoder`], for formats with a footer that indexes the parts (Parquet).
//!
//! [`testing::encode_in_parts`](crate::testing::encode_in_parts) plays the host natively, so a
//! test can check that any number of instances writes the same bytes as one session.

use std::fmt;
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::info::FormatInfo;
use crate::ipc::{self, BatchDecoder};
use crate::sink::{RawOutput, SinkHandle, SinkWriter};
use crate::{EncodeError, Encoder, Options, Summary};

/// How the host must cut the input into parts; a part ends at the first limit reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartPlan {
    /// Most rows in one part; 0: no limit by rows.
    pub rows: u64,
    /// A part ends after the batch that brings its Arrow in-memory size to this many bytes;
    /// 0: no limit by size.
    pub bytes: u64,
    /// Whether a part may be split into runs of consecutive top-level columns, each encoded on
    /// its own instance (every run has all the part's rows).
    pub split_columns: bool,
}

/// One encoded part or column run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedPart {
    /// Its bytes, in file order.
    pub bytes: Vec<u8>,
    /// What [`PartEncoder::tail`] will need; handed back unchanged.
    pub metadata: Vec<u8>,
}

/// A part or column run where the host placed it, as [`PartEncoder::tail`] sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlacedPart {
    /// Its number, from 0, in file order.
    pub part: u64,
    /// The top-level columns (indexes into the file's schema) it holds.
    pub columns: Vec<u32>,
    /// Its rows.
    pub rows: u64,
    /// Where its bytes begin in the file.
    pub offset: u64,
    /// How many bytes it has.
    pub length: u64,
    /// As [`PartEncoder::end`] returned it.
    pub metadata: Vec<u8>,
}

/// An encoder of independent parts: the optional half of a plugin, next to its [`Encoder`].
///
/// One value per instance. Calls: [`open`](Self::open), then in any order
/// [`plan`](Self::plan), [`head`](Self::head), parts ([`begin`](Self::begin), any number of
/// [`write_batch`](Self::write_batch), [`end`](Self::end)) and, on one instance,
/// [`tail`](Self::tail). After an error the SDK rejects every later call.
pub trait PartEncoder: Sized + 'static {
    /// As [`Encoder::open`], without an output: the same options are declared (by the
    /// encoder's [`Encoder::info`]) and must all be taken. Return
    /// [`EncodeError::Unsupported`] when these options cannot be encoded in parts: the host
    /// then uses one session, and the user sees nothing.
    fn open(schema: SchemaRef, options: &mut Options) -> Result<Self, EncodeError>;

    /// How to cut parts; the same on every instance for the same schema and options.
    fn plan(&self) -> PartPlan;

    /// The bytes before the first part.
    fn head(&mut self) -> Result<Vec<u8>, EncodeError>;

    /// Starts part number `part`, whose batches hold the file schema's `columns` (its fields
    /// are in `schema`).
    fn begin(&mut self, part: u64, columns: &[usize], schema: SchemaRef)
    -> Result<(), EncodeError>;

    /// Encodes one batch of the current part.
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError>;

    /// Ends the current part and returns it.
    fn end(&mut self) -> Result<EncodedPart, EncodeError>;

    /// The bytes after the last part and the file's summary (the SDK adds no row count: the
    /// host knows it).
    fn tail(&mut self, parts: &[PlacedPart]) -> Result<(Vec<u8>, Summary), EncodeError>;
}

/// The [`PartEncoder`] of an encoder that writes one session per file: `open` answers
/// `unsupported`, so the host uses a session. What `export_encoder!(E)` exports.
#[derive(Debug)]
pub struct SessionsOnly;

impl PartEncoder for SessionsOnly {
    fn open(_schema: SchemaRef, _options: &mut Options) -> Result<Self, EncodeError> {
        Err(EncodeError::unsupported(
            "this encoder writes a file in one session",
        ))
    }

    fn plan(&self) -> PartPlan {
        PartPlan::default()
    }

    fn head(&mut self) -> Result<Vec<u8>, EncodeError> {
        Err(unreachable_call())
    }

    fn begin(&mut self, _: u64, _: &[usize], _: SchemaRef) -> Result<(), EncodeError> {
        Err(unreachable_call())
    }

    fn write_batch(&mut self, _: &RecordBatch) -> Result<(), EncodeError> {
        Err(unreachable_call())
    }

    fn end(&mut self) -> Result<EncodedPart, EncodeError> {
        Err(unreachable_call())
    }

    fn tail(&mut self, _: &[PlacedPart]) -> Result<(Vec<u8>, Summary), EncodeError> {
        Err(unreachable_call())
    }
}

fn unreachable_call() -> EncodeError {
    EncodeError::internal("called a part encoder that could not be opened")
}

/// Rows per part for [`Concatenated`]: small enough to spread a file over instances early,
/// large enough that a part's fixed costs vanish.
pub const CONCATENATED_PART_ROWS: u64 = 64 * 1024;
/// Arrow bytes per part for [`Concatenated`]: bounds the memory of wide rows.
pub const CONCATENATED_PART_BYTES: u64 = 16 << 20;

/// The [`PartEncoder`] for formats whose file is a header followed by independent rows: each
/// part is a fresh session of `E` over its batches, less the header; the head is what a session
/// without batches writes; there is no tail.
///
/// `E` must write nothing at `finish` beyond what it wrote without batches, and each batch's
/// bytes must depend only on that batch (no state carried across batches). Then the file is
/// byte-identical to one session's: check it with
/// [`testing::assert_concatenated_matches_session`](crate::testing::assert_concatenated_matches_session).
pub struct Concatenated<E> {
    schema: SchemaRef,
    options: Vec<(String, String)>,
    head: Vec<u8>,
    summary: Summary,
    part: Option<MemorySession<E>>,
}

impl<E> fmt::Debug for Concatenated<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Concatenated")
            .field("head", &self.head.len())
            .field("in_part", &self.part.is_some())
            .finish()
    }
}

/// A session of `E` writing into memory.
struct MemorySession<E> {
    encoder: E,
    sink: SinkHandle,
    bytes: Arc<Mutex<Vec<u8>>>,
}

impl<E: Encoder> MemorySession<E> {
    fn open(schema: SchemaRef, options: &[(String, String)]) -> Result<Self, EncodeError> {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let (writer, sink) = SinkWriter::new(Box::new(MemoryOutput(Arc::clone(&bytes))));
        let mut options = Options::new(options.to_vec());
        let encoder = E::open(schema, &mut options, writer)?;
        options.check_all_taken(&E::info().options)?;
        Ok(Self {
            encoder,
            sink,
            bytes,
        })
    }

    fn finish(self) -> Result<(Vec<u8>, Summary), EncodeError> {
        let summary = self.encoder.finish()?;
        self.sink.finish()?;
        let bytes = std::mem::take(&mut *self.bytes.lock().unwrap_or_else(|e| e.into_inner()));
        Ok((bytes, summary))
    }
}

/// An output into memory that cannot rewrite a header (encoders then buffer theirs).
struct MemoryOutput(Arc<Mutex<Vec<u8>>>);

impl RawOutput for MemoryOutput {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(())
    }

    fn reserve_header(&mut self, _size: u32) -> Result<(), String> {
        Err("a part in memory cannot rewrite a header".into())
    }

    fn rewrite_header(&mut self, _header: &[u8]) -> Result<(), String> {
        Err("a part in memory cannot rewrite a header".into())
    }
}

impl<E: Encoder> PartEncoder for Concatenated<E> {
    fn open(schema: SchemaRef, options: &mut Options) -> Result<Self, EncodeError> {
        let pairs = options.take_all();
        let (head, summary) = MemorySession::<E>::open(Arc::clone(&schema), &pairs)?.finish()?;
        Ok(Self {
            schema,
            options: pairs,
            head,
            summary,
            part: None,
        })
    }

    fn plan(&self) -> PartPlan {
        PartPlan {
            rows: CONCATENATED_PART_ROWS,
            bytes: CONCATENATED_PART_BYTES,
            split_columns: false,
        }
    }

    fn head(&mut self) -> Result<Vec<u8>, EncodeError> {
        Ok(self.head.clone())
    }

    fn begin(&mut self, _part: u64, _: &[usize], _: SchemaRef) -> Result<(), EncodeError> {
        self.part = Some(MemorySession::open(
            Arc::clone(&self.schema),
            &self.options,
        )?);
        Ok(())
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        match &mut self.part {
            Some(part) => part.encoder.write_batch(batch),
            None => Err(EncodeError::internal("write-batch outside a part")),
        }
    }

    fn end(&mut self) -> Result<EncodedPart, EncodeError> {
        let part = self
            .part
            .take()
            .ok_or_else(|| EncodeError::internal("end outside a part"))?;
        let (mut bytes, _) = part.finish()?;
        if !bytes.starts_with(&self.head) {
            return Err(EncodeError::internal(
                "a part does not start with the head: this encoder cannot be concatenated",
            ));
        }
        bytes.drain(..self.head.len());
        Ok(EncodedPart {
            bytes,
            metadata: Vec::new(),
        })
    }

    fn tail(&mut self, _parts: &[PlacedPart]) -> Result<(Vec<u8>, Summary), EncodeError> {
        Ok((Vec::new(), self.summary.clone()))
    }
}

/// The state machine behind the WIT `part-encoder` resource: option checks, each part's own
/// Arrow IPC stream, and no call after an error.
pub(crate) struct PartsDriver<P> {
    encoder: Result<P, EncodeError>,
    decoder: Option<BatchDecoder>,
}

impl<P> fmt::Debug for PartsDriver<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartsDriver")
            .field("failed", &self.encoder.is_err())
            .field("in_part", &self.decoder.is_some())
            .finish()
    }
}

impl<P: PartEncoder> PartsDriver<P> {
    pub(crate) fn open(
        info: &FormatInfo,
        schema: &[u8],
        options: Vec<(String, String)>,
    ) -> Result<Self, EncodeError> {
        let mut options = Options::new(options);
        options.check_declared(&info.options)?;
        let (schema, _) = ipc::decode_schema(schema)?;
        let encoder = P::open(schema, &mut options)?;
        options.check_all_taken(&info.options)?;
        Ok(Self {
            encoder: Ok(encoder),
            decoder: None,
        })
    }

    pub(crate) fn plan(&self) -> PartPlan {
        self.encoder
            .as_ref()
            .map(PartEncoder::plan)
            .unwrap_or_default()
    }

    pub(crate) fn head(&mut self) -> Result<Vec<u8>, EncodeError> {
        self.call(|encoder| encoder.head())
    }

    pub(crate) fn begin(
        &mut self,
        part: u64,
        columns: &[u32],
        schema: &[u8],
    ) -> Result<(), EncodeError> {
        let (schema, decoder) = match ipc::decode_schema(schema) {
            Ok(decoded) => decoded,
            Err(e) => return Err(self.fail(e)),
        };
        let columns: Vec<usize> = columns.iter().map(|&c| c as usize).collect();
        self.call(|encoder| encoder.begin(part, &columns, schema))?;
        self.decoder = Some(decoder);
        Ok(())
    }

    pub(crate) fn write_batch(&mut self, ipc: Vec<u8>) -> Result<(), EncodeError> {
        let batch = match self.decoder.as_mut() {
            Some(decoder) => decoder.decode(ipc),
            None => Err(EncodeError::internal("write-batch outside a part")),
        };
        match batch {
            Ok(batch) => self.call(|encoder| encoder.write_batch(&batch)),
            Err(e) => Err(self.fail(e)),
        }
    }

    pub(crate) fn end(&mut self) -> Result<EncodedPart, EncodeError> {
        self.decoder = None;
        self.call(|encoder| encoder.end())
    }

    pub(crate) fn tail(&mut self, parts: &[PlacedPart]) -> Result<(Vec<u8>, Summary), EncodeError> {
        self.call(|encoder| encoder.tail(parts))
    }

    fn call<T>(
        &mut self,
        call: impl FnOnce(&mut P) -> Result<T, EncodeError>,
    ) -> Result<T, EncodeError> {
        let encoder = match &mut self.encoder {
            Ok(encoder) => encoder,
            Err(e) => {
                return Err(EncodeError::internal(format!(
                    "called after the part encoder failed ({e})"
                )));
            }
        };
        call(encoder).map_err(|e| self.fail(e))
    }

    fn fail(&mut self, e: EncodeError) -> EncodeError {
        self.encoder = Err(e.clone());
        self.decoder = None;
        e
    }
}
