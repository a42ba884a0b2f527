//! The hand-written CSV writer for plain columns: integers, floats, booleans and strings.
//!
//! It writes exactly the bytes of `arrow-csv`'s `Writer` (arrow-csv 60 on csv 1.4 / csv-core
//! 0.1.13) with `QuoteStyle::Necessary`, doubled quotes and a `\n` terminator:
//!
//! * values as Arrow displays them: integers in decimal (`itoa`, the same digits as arrow's
//!   `lexical_core`), floats with `ryu` as arrow does (`NaN`, `inf`, `-inf`, `-0.0`, `1e16`),
//!   booleans `true`/`false`, strings as they are, nulls as the `null` text;
//! * a field (null text and header names included) is quoted iff it contains the delimiter,
//!   the quote, `\r` or `\n`, and a quote inside it is doubled;
//! * a record whose text is empty (one column holding an empty value) is written as two quotes,
//!   as the `csv` crate does so that the line is not blank.
//!
//! Rows go into a reused byte buffer, handed to the output whenever it passes
//! [`SINK_BUFFER_SIZE`].

use std::io::{self, Write};

use atio_encoder_sdk::RecordBatch;
use atio_encoder_sdk::SINK_BUFFER_SIZE;
use atio_encoder_sdk::arrow_array::cast::AsArray;
use atio_encoder_sdk::arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use atio_encoder_sdk::arrow_array::{Array, LargeStringArray, StringArray, StringViewArray};
use atio_encoder_sdk::arrow_buffer::{BooleanBuffer, NullBuffer};
use atio_encoder_sdk::arrow_schema::{DataType, Schema};

/// Whether the fast path writes columns of this type.
pub(crate) fn supports_type(data_type: &DataType) -> bool {
    use DataType::*;
    matches!(
        data_type,
        Int8 | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float32
            | Float64
            | Boolean
            | Utf8
            | LargeUtf8
            | Utf8View
    )
}

/// Every byte `itoa` writes for an integer.
const INTEGER_BYTES: &[u8] = b"0123456789-";
/// Every byte `ryu` writes for a float (`1.5e-7`, `NaN`, `-inf`).
const FLOAT_BYTES: &[u8] = b"0123456789-.eNaninf";
/// Every byte of `true` and `false`.
const BOOLEAN_BYTES: &[u8] = b"truefals";
/// Every byte of a timestamp's default text (`-0044-03-15T12:00:00.5`, `+10000-01-01T00:00:00`).
const TIMESTAMP_BYTES: &[u8] = b"0123456789-+:T.";

/// The fast CSV writer's settings, fixed in `open`.
#[derive(Debug)]
pub(crate) struct FastCsv {
    delimiter: u8,
    quote: u8,
    /// Bytes that make a field quoted: delimiter, quote, `\r`, `\n` (csv-core's table).
    special: [bool; 256],
    /// The null text as written in a field (quoted if it has to be).
    null: Vec<u8>,
    /// Whether a formatted integer, float or boolean can contain a special byte (only with an
    /// unusual delimiter or quote such as `.`, `-` or `e`), so its text has to be checked.
    check_integers: bool,
    check_floats: bool,
    check_booleans: bool,
    check_timestamps: bool,
    /// Per column: a string column holding the SDK's timestamp text (see
    /// [`FastCsv::with_timestamp_text`]).
    timestamp_text: Vec<bool>,
}

/// One column of a batch, borrowed from its arrays.
struct Column<'a> {
    nulls: Option<&'a NullBuffer>,
    values: Values<'a>,
}

enum Values<'a> {
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    Bool(&'a BooleanBuffer),
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Utf8View(&'a StringViewArray),
}

impl<'a> Column<'a> {
    /// `None` for a type the fast path does not write.
    fn new(array: &'a dyn Array) -> Option<Self> {
        let values = match array.data_type() {
            DataType::Int8 => Values::I8(array.as_primitive::<Int8Type>().values()),
            DataType::Int16 => Values::I16(array.as_primitive::<Int16Type>().values()),
            DataType::Int32 => Values::I32(array.as_primitive::<Int32Type>().values()),
            DataType::Int64 => Values::I64(array.as_primitive::<Int64Type>().values()),
            DataType::UInt8 => Values::U8(array.as_primitive::<UInt8Type>().values()),
            DataType::UInt16 => Values::U16(array.as_primitive::<UInt16Type>().values()),
            DataType::UInt32 => Values::U32(array.as_primitive::<UInt32Type>().values()),
            DataType::UInt64 => Values::U64(array.as_primitive::<UInt64Type>().values()),
            DataType::Float32 => Values::F32(array.as_primitive::<Float32Type>().values()),
            DataType::Float64 => Values::F64(array.as_primitive::<Float64Type>().values()),
            DataType::Boolean => Values::Bool(array.as_boolean().values()),
            DataType::Utf8 => Values::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => Values::LargeUtf8(array.as_string::<i64>()),
            DataType::Utf8View => Values::Utf8View(array.as_string_view()),
            _ => return None,
        };
        // For these types the null buffer holds all the nulls; skip it when it has none.
        let nulls = array.nulls().filter(|nulls| nulls.null_count() > 0);
        Some(Self { nulls, values })
    }
}

impl FastCsv {
    /// Whether every column of `schema` has a type the fast path writes (and there is one).
    pub(crate) fn supports(schema: &Schema) -> bool {
        !schema.fields().is_empty() && schema.fields().iter().all(|f| supports_type(f.data_type()))
    }

    pub(crate) fn new(delimiter: u8, quote: u8, null: &str) -> Self {
        let mut special = [false; 256];
        for byte in [delimiter, quote, b'\r', b'\n'] {
            special[usize::from(byte)] = true;
        }
        let any_special = |bytes: &[u8]| bytes.iter().any(|&b| special[usize::from(b)]);
        let mut csv = Self {
            delimiter,
            quote,
            special,
            null: Vec::new(),
            check_integers: any_special(INTEGER_BYTES),
            check_floats: any_special(FLOAT_BYTES),
            check_booleans: any_special(BOOLEAN_BYTES),
            check_timestamps: any_special(TIMESTAMP_BYTES),
            timestamp_text: Vec::new(),
        };
        let mut encoded = Vec::new();
        csv.text(null.as_bytes(), &mut encoded);
        csv.null = encoded;
        csv
    }

    /// Marks the string columns that hold timestamp text from
    /// [`text::timestamps_as_text`](atio_encoder_sdk::text::timestamps_as_text): their bytes are
    /// known, so they are checked for special bytes only when the delimiter or quote could be
    /// one of them, like numbers.
    pub(crate) fn with_timestamp_text(mut self, columns: Vec<bool>) -> Self {
        self.timestamp_text = columns;
        self
    }

    /// Appends the header line: the column names of `schema`.
    pub(crate) fn header(&self, schema: &Schema, out: &mut Vec<u8>) {
        let start = out.len();
        for (index, field) in schema.fields().iter().enumerate() {
            if index > 0 {
                out.push(self.delimiter);
            }
            self.text(field.name().as_bytes(), out);
        }
        self.end_record(start, out);
    }

    /// Appends the rows of `batch` to `buf`, handing `buf` to `sink` (and clearing it) whenever
    /// it passes [`SINK_BUFFER_SIZE`]. Returns `false`, having written nothing, if a column has
    /// a type the fast path does not write.
    pub(crate) fn write_batch(
        &self,
        batch: &RecordBatch,
        buf: &mut Vec<u8>,
        sink: &mut impl Write,
    ) -> io::Result<bool> {
        let Some(columns) = batch
            .columns()
            .iter()
            .map(|array| Column::new(array.as_ref()))
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(false);
        };
        let mut integers = itoa::Buffer::new();
        let mut floats = ryu::Buffer::new();
        let (int, float, boolean) = (self.check_integers, self.check_floats, self.check_booleans);
        let is_timestamp = |index: usize| self.timestamp_text.get(index).copied().unwrap_or(false);
        for row in 0..batch.num_rows() {
            let start = buf.len();
            for (index, column) in columns.iter().enumerate() {
                if index > 0 {
                    buf.push(self.delimiter);
                }
                if column.nulls.is_some_and(|nulls| nulls.is_null(row)) {
                    buf.extend_from_slice(&self.null);
                    continue;
                }
                match column.values {
                    Values::I8(v) => self.value(integers.format(v[row]), int, buf),
                    Values::I16(v) => self.value(integers.format(v[row]), int, buf),
                    Values::I32(v) => self.value(integers.format(v[row]), int, buf),
                    Values::I64(v) => self.value(integers.format(v[row]), int, buf),
                    Values::U8(v) => self.value(integers.format(v[row]), int, buf),
                    Values::U16(v) => self.value(integers.format(v[row]), int, buf),
                    Values::U32(v) => self.value(integers.format(v[row]), int, buf),
                    Values::U64(v) => self.value(integers.format(v[row]), int, buf),
                    Values::F32(v) => self.value(floats.format(v[row]), float, buf),
                    Values::F64(v) => self.value(floats.format(v[row]), float, buf),
                    Values::Bool(v) => {
                        let text = if v.value(row) { "true" } else { "false" };
                        self.value(text, boolean, buf);
                    }
                    Values::Utf8(a) if is_timestamp(index) => {
                        self.value(a.value(row), self.check_timestamps, buf);
                    }
                    Values::Utf8(a) => self.text(a.value(row).as_bytes(), buf),
                    Values::LargeUtf8(a) => self.text(a.value(row).as_bytes(), buf),
                    Values::Utf8View(a) => self.text(a.value(row).as_bytes(), buf),
                }
            }
            self.end_record(start, buf);
            if buf.len() >= SINK_BUFFER_SIZE {
                sink.write_all(buf)?;
                buf.clear();
            }
        }
        Ok(true)
    }

    /// A formatted number or boolean: checked for special bytes only if it can contain one.
    #[inline]
    fn value(&self, text: &str, check: bool, out: &mut Vec<u8>) {
        if check {
            self.text(text.as_bytes(), out);
        } else {
            out.extend_from_slice(text.as_bytes());
        }
    }

    /// A field, quoted if it contains a special byte, with its quotes doubled.
    #[inline]
    fn text(&self, field: &[u8], out: &mut Vec<u8>) {
        if !field.iter().any(|&b| self.special[usize::from(b)]) {
            out.extend_from_slice(field);
            return;
        }
        out.push(self.quote);
        for part in field.split_inclusive(|&b| b == self.quote) {
            out.extend_from_slice(part);
            if part.last() == Some(&self.quote) {
                out.push(self.quote);
            }
        }
        out.push(self.quote);
    }

    /// Ends the record that started at `start`: an empty record (one empty field) becomes two
    /// quotes, as csv-core writes it.
    #[inline]
    fn end_record(&self, start: usize, out: &mut Vec<u8>) {
        if out.len() == start {
            out.extend_from_slice(&[self.quote, self.quote]);
        }
        out.push(b'\n');
    }
}
