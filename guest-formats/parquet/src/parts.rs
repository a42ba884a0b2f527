//! Parquet in parts: a part is a row group, a column run is some of its column chunks.
//!
//! Each run is encoded by an `ArrowWriter` over the run's own columns into a small Parquet file
//! in memory: its column chunks are the very bytes the whole-file writer would write (a column
//! chunk depends only on its column, the row group's rows and the writer properties). `end`
//! returns the chunks, and as metadata the small file's footer (page indexes included). `tail`
//! reads those footers back and replays every chunk, at its final offset, into a
//! `SerializedFileWriter` whose output keeps only what comes after the data: the page indexes
//! and the footer, with every offset as in the file the host assembled.

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

use atio_encoder_sdk::parts::{EncodedPart, PartEncoder, PartPlan, PlacedPart};
use atio_encoder_sdk::{EncodeError, Options, RecordBatch, SchemaRef, Summary};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::{
    ColumnChunkMetaData, PageIndexPolicy, ParquetMetaData, ParquetMetaDataOptions,
    ParquetMetaDataReader,
};
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::statistics::Statistics;

use crate::types::Conversion;
use crate::{Settings, parquet_error, unwritable_schema};

/// Parquet's magic number, at both ends of a file.
const MAGIC: &[u8] = b"PAR1";

/// The part encoder of one instance.
pub struct ParquetParts {
    conversion: Conversion,
    settings: Settings,
    part: Option<RunWriter>,
}

impl std::fmt::Debug for ParquetParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetParts")
            .field("in_part", &self.part.is_some())
            .finish_non_exhaustive()
    }
}

/// Room beyond a run's estimated size for its page headers and footer.
const RESERVE_SLACK: usize = 64 << 10;

/// The small file of one column run.
struct RunWriter {
    writer: ArrowWriter<SharedBuffer>,
    buffer: SharedBuffer,
    conversion: Conversion,
}

/// A `Write` whose bytes stay reachable after the writer that owns it is done. It drops the
/// magic number the writer starts with (the head has it), so the part's bytes need no move.
#[derive(Clone)]
struct SharedBuffer(Arc<Mutex<(usize, Vec<u8>)>>);

impl SharedBuffer {
    fn new() -> Self {
        Self(Arc::new(Mutex::new((MAGIC.len(), Vec::new()))))
    }

    /// Makes room for `bytes` more.
    fn reserve(&self, bytes: usize) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.1.reserve(bytes);
    }

    /// Everything written after the magic number.
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner).1)
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (skip, buffer) = &mut *state;
        let skipped = (*skip).min(bytes.len());
        *skip -= skipped;
        buffer.extend_from_slice(&bytes[skipped..]);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn internal(e: ParquetError) -> EncodeError {
    parquet_error(&e, "parquet", EncodeError::Internal)
}

impl PartEncoder for ParquetParts {
    fn open(schema: SchemaRef, options: &mut Options) -> Result<Self, EncodeError> {
        let settings = Settings::parse(options)?;
        let conversion = Conversion::new(&schema)?;
        // Refuse here, as a session would at open, what the writer cannot hold.
        ArrowWriter::try_new(
            io::sink(),
            Arc::clone(&conversion.schema),
            Some(settings.properties(false)),
        )
        .map_err(unwritable_schema)?;
        Ok(Self {
            conversion,
            settings,
            part: None,
        })
    }

    fn plan(&self) -> PartPlan {
        PartPlan {
            rows: self.settings.rows as u64,
            bytes: self.settings.bytes as u64,
            split_columns: true,
        }
    }

    fn head(&mut self) -> Result<Vec<u8>, EncodeError> {
        Ok(MAGIC.to_vec())
    }

    fn begin(&mut self, _part: u64, _: &[usize], schema: SchemaRef) -> Result<(), EncodeError> {
        let conversion = Conversion::new(&schema)?;
        let buffer = SharedBuffer::new();
        let writer = ArrowWriter::try_new(
            buffer.clone(),
            Arc::clone(&conversion.schema),
            Some(self.settings.properties(false)),
        )
        .map_err(unwritable_schema)?;
        self.part = Some(RunWriter {
            writer,
            buffer,
            conversion,
        });
        Ok(())
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        let part = self
            .part
            .as_mut()
            .ok_or_else(|| EncodeError::internal("a batch outside a part"))?;
        let batch = part.conversion.apply(batch)?;
        part.writer.write(&batch).map_err(internal)
    }

    fn end(&mut self) -> Result<EncodedPart, EncodeError> {
        let mut part = self
            .part
            .take()
            .ok_or_else(|| EncodeError::internal("end outside a part"))?;
        // The encoded row group is about its estimated size: one allocation for it, instead of
        // a buffer doubling (a copy and fresh pages each time) while the chunks flush.
        part.buffer
            .reserve(part.writer.in_progress_size() + RESERVE_SLACK);
        let metadata = part.writer.finish().map_err(internal)?;
        let mut file = part.buffer.take();
        let data_end = data_end(&metadata)?;
        let footer = file.split_off(data_end - MAGIC.len());
        let mut described = (data_end as u64).to_le_bytes().to_vec();
        described.extend_from_slice(&footer);
        Ok(EncodedPart {
            bytes: file,
            metadata: described,
        })
    }

    fn tail(&mut self, parts: &[PlacedPart]) -> Result<(Vec<u8>, Summary), EncodeError> {
        let data_end = parts
            .last()
            .map_or(MAGIC.len() as u64, |p| p.offset + p.length);
        let sink = FooterSink::new(data_end);
        let writer = ArrowWriter::try_new(
            sink.clone(),
            Arc::clone(&self.conversion.schema),
            Some(self.settings.properties(true)),
        )
        .map_err(unwritable_schema)?;
        let (mut file, _) = writer.into_serialized_writer().map_err(internal)?;
        let mut row_groups = 0;
        let mut runs = parts.iter().peekable();
        while let Some(first) = runs.peek() {
            let part = first.part;
            let mut row_group = file.next_row_group().map_err(internal)?;
            while let Some(run) = runs.next_if(|run| run.part == part) {
                for close in run_chunks(run)? {
                    row_group.append_column(&Zeros, close).map_err(internal)?;
                }
            }
            row_group.close().map_err(internal)?;
            row_groups += 1;
        }
        file.close().map_err(internal)?;
        if sink.position() < data_end {
            return Err(EncodeError::internal(format!(
                "the parts end at byte {data_end}, but their column chunks at byte {}",
                sink.position()
            )));
        }
        Ok((
            sink.kept(),
            Summary::new()
                .with("row-groups", row_groups)
                .with("compression", self.settings.label.clone()),
        ))
    }
}

/// Where a run's small file stops holding column chunks.
fn data_end(metadata: &ParquetMetaData) -> Result<usize, EncodeError> {
    let end = metadata
        .row_groups()
        .iter()
        .flat_map(|group| group.columns())
        .map(|column| {
            let (start, length) = column.byte_range();
            start + length
        })
        .max()
        .unwrap_or(MAGIC.len() as u64);
    usize::try_from(end).map_err(|_| EncodeError::internal("a part larger than memory"))
}

/// A run's column chunks as the writer's close results, from its small file's footer.
fn run_chunks(run: &PlacedPart) -> Result<Vec<ColumnCloseResult>, EncodeError> {
    let bad = |what: &str| EncodeError::internal(format!("part {}: {what}", run.part));
    let (end, footer) = run
        .metadata
        .split_first_chunk::<8>()
        .ok_or_else(|| bad("its metadata is cut short"))?;
    let end = u64::from_le_bytes(*end);
    if end != run.length + MAGIC.len() as u64 {
        return Err(bad("its metadata does not match its length"));
    }
    let file = FooterOnly {
        start: end,
        footer: Bytes::copy_from_slice(footer),
    };
    // Page encoding stats as written (not folded into a mask, the reader's default), so the
    // footer lists them as one session's does.
    let metadata = ParquetMetaDataReader::new()
        .with_page_index_policy(PageIndexPolicy::Optional)
        .with_metadata_options(Some(
            ParquetMetaDataOptions::new().with_encoding_stats_as_mask(false),
        ))
        .parse_and_finish(&file)
        .map_err(internal)?;
    let [group] = metadata.row_groups() else {
        return Err(bad("its small file does not hold one row group"));
    };
    let rows = group.num_rows() as u64;
    let page_index = metadata.page_index_for_row_group(0);
    group
        .columns()
        .iter()
        .enumerate()
        .map(|(i, column)| {
            Ok(ColumnCloseResult {
                bytes_written: column.compressed_size() as u64,
                rows_written: rows,
                metadata: as_written(column.clone())?,
                bloom_filter: None,
                column_index: page_index.column_index(i).cloned(),
                offset_index: page_index.offset_index(i).cloned(),
            })
        })
        .collect()
}

/// A column chunk's metadata as the writer held it before writing the footer it was read
/// from: the one flag reading loses is whether the statistics also fill the deprecated
/// `min`/`max` fields, which the writer does for columns with a signed sort order.
fn as_written(column: ColumnChunkMetaData) -> Result<ColumnChunkMetaData, EncodeError> {
    let Some(statistics) = column.statistics().cloned() else {
        return Ok(column);
    };
    let signed = column.column_descr().sort_order().is_signed();
    let statistics = match statistics {
        Statistics::Boolean(s) => Statistics::Boolean(s.with_backwards_compatible_min_max(signed)),
        Statistics::Int32(s) => Statistics::Int32(s.with_backwards_compatible_min_max(signed)),
        Statistics::Int64(s) => Statistics::Int64(s.with_backwards_compatible_min_max(signed)),
        Statistics::Int96(s) => Statistics::Int96(s.with_backwards_compatible_min_max(signed)),
        Statistics::Float(s) => Statistics::Float(s.with_backwards_compatible_min_max(signed)),
        Statistics::Double(s) => Statistics::Double(s.with_backwards_compatible_min_max(signed)),
        Statistics::ByteArray(s) => {
            Statistics::ByteArray(s.with_backwards_compatible_min_max(signed))
        }
        Statistics::FixedLenByteArray(s) => {
            Statistics::FixedLenByteArray(s.with_backwards_compatible_min_max(signed))
        }
    };
    column
        .into_builder()
        .set_statistics(statistics)
        .build()
        .map_err(internal)
}

/// A small file of which only the part after the column chunks is at hand.
struct FooterOnly {
    start: u64,
    footer: Bytes,
}

impl Length for FooterOnly {
    fn len(&self) -> u64 {
        self.start + self.footer.len() as u64
    }
}

impl ChunkReader for FooterOnly {
    type T = io::Cursor<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let bytes = self.get_bytes(start, (self.len() - start.min(self.len())) as usize)?;
        Ok(io::Cursor::new(bytes))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let from = start.checked_sub(self.start).ok_or_else(|| {
            ParquetError::General(format!("byte {start} lies in the column chunks"))
        })? as usize;
        let to = from + length;
        if to > self.footer.len() {
            return Err(ParquetError::EOF(format!(
                "bytes {start}..{} beyond the end of the file",
                start + length as u64
            )));
        }
        Ok(self.footer.slice(from..to))
    }
}

/// Column chunk bytes the tail does not have: the host writes the real ones.
struct Zeros;

impl Length for Zeros {
    fn len(&self) -> u64 {
        u64::MAX
    }
}

impl ChunkReader for Zeros {
    type T = io::Repeat;

    fn get_read(&self, _start: u64) -> parquet::errors::Result<Self::T> {
        Ok(io::repeat(0))
    }

    fn get_bytes(&self, _start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        Ok(Bytes::from(vec![0; length]))
    }
}

/// Counts every byte the tail's writer writes and keeps those from `keep_from` on.
#[derive(Clone)]
struct FooterSink(Arc<Mutex<(u64, u64, Vec<u8>)>>);

impl FooterSink {
    fn new(keep_from: u64) -> Self {
        Self(Arc::new(Mutex::new((0, keep_from, Vec::new()))))
    }

    fn position(&self) -> u64 {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    fn kept(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner).2)
    }
}

impl Write for FooterSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let (position, keep_from, kept) = &mut *state;
        let end = *position + bytes.len() as u64;
        if end > *keep_from {
            let skip = keep_from.saturating_sub(*position) as usize;
            kept.extend_from_slice(&bytes[skip..]);
        }
        *position = end;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
