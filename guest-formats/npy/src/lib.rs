//! atio encoder for NumPy `.npy` files (format version 1.0).
//!
//! * One column of a numeric or boolean type becomes a 1-D array of shape `(rows,)`.
//! * Several columns, all of the **same** type, become a 2-D C-order (row-major) array of
//!   shape `(rows, columns)`: row `i` holds the values of every column at row `i`.
//!
//! Supported column types and their NumPy `descr`: `Int8` `|i1`, `Int16` `<i2`, `Int32` `<i4`,
//! `Int64` `<i8`, `UInt8` `|u1`, `UInt16` `<u2`, `UInt32` `<u4`, `UInt64` `<u8`, `Float16`
//! `<f2`, `Float32` `<f4`, `Float64` `<f8`, `Boolean` `|b1` (one byte per value, 0 or 1).
//! Anything else (strings, dates, nested types, columns of different types, no columns) is
//! rejected in `open` as `unsupported`, naming the column and its type. `.npy` has no nulls: a
//! null value is `invalid-input`, naming the column.
//!
//! The header is byte for byte what NumPy's `np.save` writes (version 1.0, padded so the
//! data starts at a multiple of 64 bytes, with room for the row count to grow to 21 digits),
//! so the whole file equals `np.save`'s for the same array.
//!
//! # Streaming, and when the data is buffered
//!
//! The header states the row count, which is known only at `finish`. Where the host's output
//! can rewrite a reserved header (a local file, a partition file), the encoder writes a
//! provisional header, streams the data as it comes and rewrites the header at `finish`:
//! memory stays at one batch whatever the array's size. Where it cannot (an object-store
//! upload), the encoder keeps the **encoded** data in memory (in chunks of at least 1 MiB,
//! never reallocated) and writes header and data at `finish`; memory is then the size of the
//! output, and if it cannot be allocated the session fails with `unsupported`, saying how much
//! was needed, instead of crashing.

use std::io::Write;

use atio_encoder_sdk::arrow_array::{Array, ArrayRef, BooleanArray};
use atio_encoder_sdk::arrow_buffer::Buffer;
use atio_encoder_sdk::arrow_schema::{DataType, SchemaRef};
use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, Options, RecordBatch, SinkWriter, Summary, export_encoder,
};

/// The `.npy` encoder; see the [crate docs](crate) for its memory use.
pub struct NpyEncoder {
    out: SinkWriter,
    schema: SchemaRef,
    descr: &'static str,
    /// Bytes per value.
    width: usize,
    rows: u64,
    /// `true`: the data goes straight to the output and the header is rewritten at `finish`.
    streaming: bool,
    /// Buffered mode: the encoded array data, C order, in chunks (no reallocation, so memory
    /// stays at the data size plus less than [`MIN_CHUNK`]).
    chunks: Vec<Vec<u8>>,
    buffered: usize,
    /// Streaming mode: one batch interleaved row by row (2-D arrays only), reused.
    scratch: Vec<u8>,
}

impl std::fmt::Debug for NpyEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpyEncoder")
            .field("descr", &self.descr)
            .field("rows", &self.rows)
            .field("streaming", &self.streaming)
            .field("buffered", &self.buffered)
            .finish_non_exhaustive()
    }
}

/// NumPy `descr` and item size for an Arrow type, if supported.
fn dtype(data_type: &DataType) -> Option<(&'static str, usize)> {
    Some(match data_type {
        DataType::Boolean => ("|b1", 1),
        DataType::Int8 => ("|i1", 1),
        DataType::UInt8 => ("|u1", 1),
        DataType::Int16 => ("<i2", 2),
        DataType::UInt16 => ("<u2", 2),
        DataType::Float16 => ("<f2", 2),
        DataType::Int32 => ("<i4", 4),
        DataType::UInt32 => ("<u4", 4),
        DataType::Float32 => ("<f4", 4),
        DataType::Int64 => ("<i8", 8),
        DataType::UInt64 => ("<u8", 8),
        DataType::Float64 => ("<f8", 8),
        _ => return None,
    })
}

/// NumPy's `repr` of the array's shape: `(rows,)` or `(rows, columns)`.
fn shape(rows: u64, columns: usize) -> String {
    if columns == 1 {
        format!("({rows},)")
    } else {
        format!("({rows}, {columns})")
    }
}

/// The npy v1.0 header as `np.save` writes it (`numpy.lib.format._write_array_header`): the
/// dict, spaces so the row count could grow to [`GROWTH_AXIS_MAX_DIGITS`] digits in place,
/// then 1 to 64 spaces and a newline so the data starts at a multiple of 64 bytes. Its length
/// depends on `descr` and `columns` only, never on `rows`.
fn header(descr: &str, rows: u64, columns: usize) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}",
        shape(rows, columns)
    );
    let digits = rows.to_string().len();
    dict.extend(std::iter::repeat_n(' ', GROWTH_AXIS_MAX_DIGITS - digits));
    // magic (6) + version (2) + header length (2), then the dict, padding and '\n'.
    let unpadded = dict.len() + 1;
    let padding = 64 - (10 + unpadded) % 64;
    let header_len = unpadded + padding;
    let mut out = Vec::with_capacity(10 + header_len);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + padding, b' ');
    out.push(b'\n');
    out
}

/// NumPy's room for the row count in a header (`numpy.lib.format.GROWTH_AXIS_MAX_DIGITS`);
/// a `u64` has at most 20.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// The raw little-endian bytes of a fixed-width column, without copying (booleans are
/// expanded to one byte each).
fn column_bytes(array: &ArrayRef) -> Buffer {
    if let Some(b) = array.as_any().downcast_ref::<BooleanArray>() {
        return Buffer::from_vec(b.values().iter().map(u8::from).collect::<Vec<u8>>());
    }
    let data = array.to_data();
    let width = data
        .data_type()
        .primitive_width()
        .expect("types are checked in open");
    data.buffers()[0].slice_with_length(data.offset() * width, data.len() * width)
}

/// Appends `columns` (each `rows * W` bytes) to `out` interleaved row by row.
fn interleave<const W: usize>(columns: &[&[u8]], rows: usize, out: &mut Vec<u8>) {
    for r in 0..rows {
        for c in columns {
            let v: &[u8; W] = c[r * W..(r + 1) * W].try_into().expect("W bytes");
            out.extend_from_slice(v);
        }
    }
}

/// Appends `columns` (each `rows` values of `width` bytes) to `out` interleaved row by row.
fn interleave_into(columns: &[Buffer], rows: usize, width: usize, out: &mut Vec<u8>) {
    let slices: Vec<&[u8]> = columns.iter().map(|c| c.as_slice()).collect();
    match width {
        1 => interleave::<1>(&slices, rows, out),
        2 => interleave::<2>(&slices, rows, out),
        4 => interleave::<4>(&slices, rows, out),
        _ => interleave::<8>(&slices, rows, out),
    }
}

/// Smallest buffered chunk: small batches share chunks, large ones get their own.
const MIN_CHUNK: usize = 1 << 20;

impl Encoder for NpyEncoder {
    fn info() -> FormatInfo {
        FormatInfo::new("npy", env!("CARGO_PKG_VERSION"), "application/x-npy").extension("npy")
    }

    fn open(
        schema: SchemaRef,
        _options: &mut Options,
        mut out: SinkWriter,
    ) -> Result<Self, EncodeError> {
        let fields = schema.fields();
        let Some(first) = fields.first() else {
            return Err(EncodeError::unsupported(
                "npy needs at least one column; the schema has none",
            ));
        };
        let Some((descr, width)) = dtype(first.data_type()) else {
            return Err(EncodeError::unsupported(format!(
                "column `{}` has type {}; npy supports only numeric and boolean columns \
                 (Int8..Int64, UInt8..UInt64, Float16/32/64, Boolean)",
                first.name(),
                first.data_type()
            )));
        };
        if let Some(other) = fields.iter().find(|f| f.data_type() != first.data_type()) {
            return Err(EncodeError::unsupported(format!(
                "column `{}` has type {} but column `{}` has type {}; npy writes one array, so \
                 all columns must have the same type",
                other.name(),
                other.data_type(),
                first.name(),
                first.data_type()
            )));
        }
        let provisional = header(descr, 0, fields.len());
        let streaming = out.reserve_header(provisional.len()).is_ok();
        if streaming {
            out.write_all(&provisional)?;
        }
        Ok(Self {
            out,
            descr,
            width,
            rows: 0,
            streaming,
            chunks: Vec::new(),
            buffered: 0,
            scratch: Vec::new(),
            schema,
        })
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        for (field, column) in self.schema.fields().iter().zip(batch.columns()) {
            if column.logical_null_count() > 0 {
                return Err(EncodeError::invalid_input(format!(
                    "column `{}` contains {} null value(s); npy arrays cannot hold nulls",
                    field.name(),
                    column.logical_null_count()
                )));
            }
        }
        let rows = batch.num_rows();
        let needed = rows * batch.num_columns() * self.width;
        if needed == 0 {
            return Ok(());
        }
        let columns: Vec<Buffer> = batch.columns().iter().map(column_bytes).collect();
        if self.streaming {
            if let [only] = columns.as_slice() {
                self.out.write_all(only)?;
            } else {
                self.scratch.clear();
                interleave_into(&columns, rows, self.width, &mut self.scratch);
                self.out.write_all(&self.scratch)?;
            }
        } else {
            let fits = self
                .chunks
                .last()
                .is_some_and(|c| c.capacity() - c.len() >= needed);
            if !fits {
                let mut chunk = Vec::new();
                if chunk.try_reserve_exact(needed.max(MIN_CHUNK)).is_err() {
                    return Err(EncodeError::unsupported(format!(
                        "out of memory: this output cannot rewrite a header (an object-store \
                         upload), so npy keeps the whole array in memory until the end \
                         ({} bytes so far, {needed} more needed); write it to a local file, \
                         or use a streaming format such as parquet or arrow",
                        self.buffered
                    )));
                }
                self.chunks.push(chunk);
            }
            let data = self.chunks.last_mut().expect("pushed above");
            if let [only] = columns.as_slice() {
                data.extend_from_slice(only);
            } else {
                interleave_into(&columns, rows, self.width, data);
            }
            self.buffered += needed;
        }
        self.rows += rows as u64;
        Ok(())
    }

    fn finish(mut self) -> Result<Summary, EncodeError> {
        let columns = self.schema.fields().len();
        let header = header(self.descr, self.rows, columns);
        if self.streaming {
            self.out.rewrite_header(&header)?;
        } else {
            self.out.write_all(&header)?;
            for chunk in std::mem::take(&mut self.chunks) {
                self.out.write_all(&chunk)?;
            }
        }
        Ok(Summary::new()
            .with("shape", shape(self.rows, columns))
            .with("dtype", self.descr))
    }
}

export_encoder!(NpyEncoder);

#[cfg(test)]
mod tests;
