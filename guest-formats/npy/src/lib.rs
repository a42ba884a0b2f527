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
//! # Memory: the data is buffered until `finish`
//!
//! A `.npy` header states the array's shape, row count included, *before* the data, and the
//! host's output is append-only: a header cannot be written first and patched later. The
//! encoder does not know the row count until `finish`, so it keeps the **encoded** data (not
//! the Arrow batches) in memory and writes header and data at `finish`. Memory use is
//! therefore the size of the output file (rows × columns × item size, kept in chunks of at least
//! 1 MiB, never reallocated) plus one batch. If that
//! memory cannot be allocated, the session fails with `unsupported` (saying how much was
//! needed) instead of crashing. Formats that stream (Parquet, Arrow IPC) suit data larger than
//! memory.

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
    /// The encoded array data, C order, in chunks (no reallocation, so memory stays at the
    /// data size plus less than [`MIN_CHUNK`]).
    chunks: Vec<Vec<u8>>,
    buffered: usize,
}

impl std::fmt::Debug for NpyEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NpyEncoder")
            .field("descr", &self.descr)
            .field("rows", &self.rows)
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

/// The npy v1.0 header for `descr` and `shape`, padded so the data starts at a multiple of 64
/// bytes, as NumPy writes it.
fn header(descr: &str, shape: &str) -> Vec<u8> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + header length (2) + dict + padding + '\n'
    let unpadded = 10 + dict.len() + 1;
    let padding = (64 - unpadded % 64) % 64;
    let header_len = dict.len() + padding + 1;
    let mut out = Vec::with_capacity(10 + header_len);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header_len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + padding, b' ');
    out.push(b'\n');
    out
}

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

/// Smallest buffered chunk: small batches share chunks, large ones get their own.
const MIN_CHUNK: usize = 1 << 20;

impl Encoder for NpyEncoder {
    fn info() -> FormatInfo {
        FormatInfo::new("npy", env!("CARGO_PKG_VERSION"), "application/x-npy").extension("npy")
    }

    fn open(
        schema: SchemaRef,
        _options: &mut Options,
        out: SinkWriter,
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
        Ok(Self {
            out,
            descr,
            width,
            rows: 0,
            chunks: Vec::new(),
            buffered: 0,
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
        let fits = self
            .chunks
            .last()
            .is_some_and(|c| c.capacity() - c.len() >= needed);
        if !fits {
            let mut chunk = Vec::new();
            if chunk.try_reserve_exact(needed.max(MIN_CHUNK)).is_err() {
                return Err(EncodeError::unsupported(format!(
                    "out of memory: npy keeps the whole array in memory until the end \
                     ({} bytes so far, {needed} more needed); use a streaming format such as \
                     parquet or arrow for data this large",
                    self.buffered
                )));
            }
            self.chunks.push(chunk);
        }
        let data = self.chunks.last_mut().expect("pushed above");
        let columns: Vec<Buffer> = batch.columns().iter().map(column_bytes).collect();
        if let [only] = columns.as_slice() {
            data.extend_from_slice(only);
        } else {
            let slices: Vec<&[u8]> = columns.iter().map(|c| c.as_slice()).collect();
            match self.width {
                1 => interleave::<1>(&slices, rows, data),
                2 => interleave::<2>(&slices, rows, data),
                4 => interleave::<4>(&slices, rows, data),
                _ => interleave::<8>(&slices, rows, data),
            }
        }
        self.buffered += needed;
        self.rows += rows as u64;
        Ok(())
    }

    fn finish(mut self) -> Result<Summary, EncodeError> {
        let cols = self.schema.fields().len();
        let shape = if cols == 1 {
            format!("({},)", self.rows)
        } else {
            format!("({}, {})", self.rows, cols)
        };
        self.out.write_all(&header(self.descr, &shape))?;
        for chunk in std::mem::take(&mut self.chunks) {
            self.out.write_all(&chunk)?;
        }
        Ok(Summary::new()
            .with("shape", shape)
            .with("dtype", self.descr))
    }
}

export_encoder!(NpyEncoder);

#[cfg(test)]
mod tests;
