//! The CSV writer: hand-written text for plain columns (integers, floats, booleans, strings,
//! timestamp text), arrow-cast's display (what arrow-csv writes) for the other flat types, JSON
//! text for nested columns with `nested=json`.
//!
//! It writes the bytes of `arrow-csv`'s `Writer` (arrow-csv 60 on csv 1.4 / csv-core 0.1.13)
//! with `QuoteStyle::Necessary`, doubled quotes and a `\n` terminator, except where those
//! bytes would not read back as the value:
//!
//! * values as Arrow displays them: integers in decimal (`itoa`, the same digits as arrow's
//!   `lexical_core`), floats with `ryu` as arrow does (`inf`, `-inf`, `-0.0`, `1e16`),
//!   booleans `true`/`false`, strings as they are, nulls as the `null` text;
//! * a field (null text and header names included) is quoted iff it contains the delimiter,
//!   the quote, `\r` or `\n`, and a quote inside it is doubled — and, unlike arrow-csv, a value
//!   is also quoted when its text is empty, equals the `null` text, or is one of the texts
//!   readers take for null by default ([`NULL_TOKENS`]: `NA`, `NaN`, `null`, ...). So an empty
//!   string is `""` while a null is nothing, and NaN is `"NaN"`; pyarrow reads every value
//!   back with `strings_can_be_null=True, quoted_strings_can_be_null=False`;
//! * a record whose text is empty (one column holding a null) is written as two quotes, as the
//!   `csv` crate does so that the line is not blank (the encoder refuses this where the column
//!   could also hold an empty text: see `lib.rs`);
//! * durations are the integer count of the column's unit (which pyarrow reads as that
//!   duration; arrow-csv writes ISO 8601 text, `<invalid>` past chrono's range), binary values
//!   hex or base64 text, named time zones the UTC instant (`...Z`).
//!
//! Rows go into a reused byte buffer, handed to the output whenever it passes
//! [`SINK_BUFFER_SIZE`].

use std::io::Write;
use std::sync::Arc;

use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_json::writer::{EncoderOptions, NullableEncoder, make_encoder};
use atio_encoder_sdk::arrow_array::cast::AsArray;
use atio_encoder_sdk::arrow_array::timezone::Tz;
use atio_encoder_sdk::arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use atio_encoder_sdk::arrow_array::{
    Array, ArrayRef, BinaryArray, BinaryViewArray, FixedSizeBinaryArray, LargeBinaryArray,
    LargeStringArray, StringArray, StringViewArray,
};
use atio_encoder_sdk::arrow_buffer::{BooleanBuffer, NullBuffer, ScalarBuffer};
use atio_encoder_sdk::arrow_schema::{DataType, FieldRef, Schema, TimeUnit};
use atio_encoder_sdk::{EncodeError, RecordBatch, SINK_BUFFER_SIZE, text};

use crate::values::{BinaryText, JsonValues, Settings};

/// Every byte `itoa` writes for an integer.
const INTEGER_BYTES: &[u8] = b"0123456789-";
/// Every byte `ryu` writes for a float (`1.5e-7`, `NaN`, `-inf`).
const FLOAT_BYTES: &[u8] = b"0123456789-.eNaninf";
/// Every byte of `true` and `false`.
const BOOLEAN_BYTES: &[u8] = b"truefals";
/// Every byte of a timestamp's default text (`-0044-03-15T12:00:00.5`, `+10000-01-01T00:00:00`).
const TIMESTAMP_BYTES: &[u8] = b"0123456789-+:T.";

/// Texts that CSV readers take for null unless quoted: pyarrow's default `null_values` (pandas'
/// list). A value with one of these texts is quoted.
pub(crate) const NULL_TOKENS: [&[u8]; 16] = [
    b"#N/A",
    b"#N/A N/A",
    b"#NA",
    b"-1.#IND",
    b"-1.#QNAN",
    b"-NaN",
    b"-nan",
    b"1.#IND",
    b"1.#QNAN",
    b"N/A",
    b"NA",
    b"NULL",
    b"NaN",
    b"n/a",
    b"nan",
    b"null",
];

/// The CSV writer's settings, fixed in `open`.
#[derive(Debug)]
pub(crate) struct FastCsv {
    delimiter: u8,
    quote: u8,
    /// Bytes that make a field quoted: delimiter, quote, `\r`, `\n` (csv-core's table).
    special: [bool; 256],
    /// The null text as written in a field (quoted if it has to be).
    null: Vec<u8>,
    /// The null text as given.
    null_text: Vec<u8>,
    /// Whether a formatted integer, float or boolean can contain a special byte (only with an
    /// unusual delimiter or quote such as `.`, `-` or `e`) or be the null text, so its text has
    /// to be checked.
    check_integers: bool,
    check_floats: bool,
    check_booleans: bool,
    check_timestamps: bool,
    /// Per column: a string column holding the SDK's timestamp text (see
    /// [`FastCsv::with_timestamp_text`]).
    timestamp_text: Vec<bool>,
    /// arrow-cast's formats for the other types (the `*-format` options).
    formats: Formats,
    binary: BinaryText,
    /// arrow-json's options for `nested=json` cells.
    json: EncoderOptions,
}

/// The `*-format` options, as arrow-csv passes them to arrow-cast.
#[derive(Debug, Default)]
pub(crate) struct Formats {
    pub(crate) date: Option<String>,
    pub(crate) datetime: Option<String>,
    pub(crate) timestamp: Option<String>,
    pub(crate) timestamp_tz: Option<String>,
    pub(crate) time: Option<String>,
}

impl Formats {
    pub(crate) fn options(&self) -> FormatOptions<'_> {
        FormatOptions::default()
            .with_date_format(self.date.as_deref())
            .with_datetime_format(self.datetime.as_deref())
            .with_timestamp_format(self.timestamp.as_deref())
            .with_timestamp_tz_format(self.timestamp_tz.as_deref())
            .with_time_format(self.time.as_deref())
    }
}

/// One column of a batch, borrowed from its arrays.
struct Column<'a> {
    field: &'a FieldRef,
    nulls: Option<NullBuffer>,
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
    Duration(ScalarBuffer<i64>),
    Binary(&'a BinaryArray),
    LargeBinary(&'a LargeBinaryArray),
    FixedSizeBinary(&'a FixedSizeBinaryArray),
    BinaryView(&'a BinaryViewArray),
    /// A nested column written as JSON text (`nested=json`).
    Json(NullableEncoder<'a>),
    /// Anything else, as arrow-cast displays it.
    Formatted(ArrayFormatter<'a>),
}

impl<'a> Column<'a> {
    fn new(
        field: &'a FieldRef,
        array: &'a dyn Array,
        csv: &'a FastCsv,
        formats: &FormatOptions<'a>,
    ) -> Result<Self, EncodeError> {
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
            DataType::Duration(_) => {
                let data = array.to_data();
                Values::Duration(ScalarBuffer::new(
                    data.buffers()[0].clone(),
                    data.offset(),
                    data.len(),
                ))
            }
            DataType::Binary => Values::Binary(array.as_binary()),
            DataType::LargeBinary => Values::LargeBinary(array.as_binary()),
            DataType::FixedSizeBinary(_) => Values::FixedSizeBinary(array.as_fixed_size_binary()),
            DataType::BinaryView => Values::BinaryView(array.as_binary_view()),
            t if t.is_nested() => Values::Json(
                make_encoder(field, array, &csv.json)
                    .map_err(|e| csv_value_error(field, &e.to_string()))?,
            ),
            _ => Values::Formatted(
                ArrayFormatter::try_new(array, formats)
                    .map_err(|e| csv_value_error(field, &e.to_string()))?,
            ),
        };
        // Dictionaries and run-end encoded columns: the values' nulls as well as the keys'.
        let nulls = array.logical_nulls().filter(|n| n.null_count() > 0);
        Ok(Self {
            field,
            nulls,
            values,
        })
    }
}

/// A value that has no CSV text (a date past chrono's range, say), naming the column.
fn csv_value_error(field: &FieldRef, error: &str) -> EncodeError {
    EncodeError::unsupported_column(
        field.name(),
        field.data_type(),
        format!("holds a value that cannot be written as CSV text: {error}"),
        "write it as parquet or arrow",
    )
}

/// `array` with a named time zone (`UTC`, `Europe/Paris`), which arrow-cast cannot display
/// without chrono-tz, relabelled `+00:00`: the same instants, written in UTC (`...Z`). `None`
/// for every other column.
fn utc_relabelled(array: &ArrayRef) -> Option<ArrayRef> {
    let DataType::Timestamp(unit, Some(zone)) = array.data_type() else {
        return None;
    };
    if zone.parse::<Tz>().is_ok() {
        return None;
    }
    const UTC: &str = "+00:00";
    Some(match unit {
        TimeUnit::Second => Arc::new(
            array
                .as_primitive::<TimestampSecondType>()
                .clone()
                .with_timezone(UTC),
        ),
        TimeUnit::Millisecond => Arc::new(
            array
                .as_primitive::<TimestampMillisecondType>()
                .clone()
                .with_timezone(UTC),
        ),
        TimeUnit::Microsecond => Arc::new(
            array
                .as_primitive::<TimestampMicrosecondType>()
                .clone()
                .with_timezone(UTC),
        ),
        TimeUnit::Nanosecond => Arc::new(
            array
                .as_primitive::<TimestampNanosecondType>()
                .clone()
                .with_timezone(UTC),
        ),
    })
}

impl FastCsv {
    pub(crate) fn new(delimiter: u8, quote: u8, null: &str) -> Self {
        let mut special = [false; 256];
        for byte in [delimiter, quote, b'\r', b'\n'] {
            special[usize::from(byte)] = true;
        }
        let any_special = |bytes: &[u8]| bytes.iter().any(|&b| special[usize::from(b)]);
        // The null text could be a number's or a boolean's text: those must be checked too.
        let could_be_null =
            |bytes: &[u8]| !null.is_empty() && null.bytes().all(|b| bytes.contains(&b));
        let check = |bytes: &[u8]| any_special(bytes) || could_be_null(bytes);
        let settings = Settings {
            non_finite: crate::values::NonFinite::Error,
            binary: BinaryText::Error,
            format: "CSV",
            instead: "parquet or arrow",
        };
        let mut csv = Self {
            delimiter,
            quote,
            special,
            null: Vec::new(),
            null_text: null.as_bytes().to_vec(),
            check_integers: check(INTEGER_BYTES),
            check_floats: check(FLOAT_BYTES),
            check_booleans: check(BOOLEAN_BYTES),
            check_timestamps: check(TIMESTAMP_BYTES),
            timestamp_text: Vec::new(),
            formats: Formats::default(),
            binary: BinaryText::Error,
            json: JsonValues::options(settings, false),
        };
        let mut encoded = Vec::new();
        csv.plain(null.as_bytes(), &mut encoded);
        csv.null = encoded;
        csv
    }

    /// Marks the string columns that hold timestamp text from
    /// [`text::timestamps_as_text`]: their bytes are known, so they are checked for special
    /// bytes only when the delimiter or quote could be one of them, like numbers.
    pub(crate) fn with_timestamp_text(mut self, columns: Vec<bool>) -> Self {
        self.timestamp_text = columns;
        self
    }

    /// The `*-format` options for the types arrow-cast displays.
    pub(crate) fn with_formats(mut self, formats: Formats) -> Self {
        self.formats = formats;
        self
    }

    /// How binary values are written, and the settings of `nested=json` cells.
    pub(crate) fn with_values(mut self, settings: Settings) -> Self {
        self.binary = settings.binary;
        self.json = JsonValues::options(settings, false);
        self
    }

    /// Appends the header line: the column names of `schema` (nothing for no columns: a
    /// blank line would be a column named ``).
    pub(crate) fn header(&self, schema: &Schema, out: &mut Vec<u8>) {
        if schema.fields().is_empty() {
            return;
        }
        let start = out.len();
        for (index, field) in schema.fields().iter().enumerate() {
            if index > 0 {
                out.push(self.delimiter);
            }
            self.plain(field.name().as_bytes(), out);
        }
        self.end_record(start, out);
    }

    /// Appends the rows of `batch` to `buf`, handing `buf` to `sink` (and clearing it) whenever
    /// it passes [`SINK_BUFFER_SIZE`].
    pub(crate) fn write_batch(
        &self,
        batch: &RecordBatch,
        buf: &mut Vec<u8>,
        sink: &mut impl Write,
    ) -> Result<(), EncodeError> {
        let relabelled: Vec<Option<ArrayRef>> =
            batch.columns().iter().map(utc_relabelled).collect();
        let arrays: Vec<&dyn Array> = batch
            .columns()
            .iter()
            .zip(&relabelled)
            .map(|(array, relabelled)| relabelled.as_ref().unwrap_or(array).as_ref())
            .collect();
        let formats = self.formats.options();
        let mut columns = batch
            .schema_ref()
            .fields()
            .iter()
            .zip(arrays)
            .map(|(field, array)| Column::new(field, array, self, &formats))
            .collect::<Result<Vec<_>, _>>()?;
        let mut integers = itoa::Buffer::new();
        let mut floats = ryu::Buffer::new();
        let mut scratch = String::new();
        let mut json = Vec::new();
        let (int, float, boolean) = (self.check_integers, self.check_floats, self.check_booleans);
        let is_timestamp = |index: usize| self.timestamp_text.get(index).copied().unwrap_or(false);
        for row in 0..batch.num_rows() {
            let start = buf.len();
            for (index, column) in columns.iter_mut().enumerate() {
                if index > 0 {
                    buf.push(self.delimiter);
                }
                if column
                    .nulls
                    .as_ref()
                    .is_some_and(|nulls| nulls.is_null(row))
                {
                    buf.extend_from_slice(&self.null);
                    continue;
                }
                match &mut column.values {
                    Values::I8(v) => self.value(integers.format(v[row]), int, buf),
                    Values::I16(v) => self.value(integers.format(v[row]), int, buf),
                    Values::I32(v) => self.value(integers.format(v[row]), int, buf),
                    Values::I64(v) => self.value(integers.format(v[row]), int, buf),
                    Values::U8(v) => self.value(integers.format(v[row]), int, buf),
                    Values::U16(v) => self.value(integers.format(v[row]), int, buf),
                    Values::U32(v) => self.value(integers.format(v[row]), int, buf),
                    Values::U64(v) => self.value(integers.format(v[row]), int, buf),
                    // ryu's NaN text is a null token: `field` quotes it.
                    Values::F32(v) => {
                        let v = v[row];
                        self.value(floats.format(v), float || v.is_nan(), buf);
                    }
                    Values::F64(v) => {
                        let v = v[row];
                        self.value(floats.format(v), float || v.is_nan(), buf);
                    }
                    Values::Bool(v) => {
                        let text = if v.value(row) { "true" } else { "false" };
                        self.value(text, boolean, buf);
                    }
                    Values::Utf8(a) if is_timestamp(index) => {
                        self.value(a.value(row), self.check_timestamps, buf);
                    }
                    Values::Utf8(a) => self.field(a.value(row).as_bytes(), buf),
                    Values::LargeUtf8(a) => self.field(a.value(row).as_bytes(), buf),
                    Values::Utf8View(a) => self.field(a.value(row).as_bytes(), buf),
                    Values::Duration(v) => self.value(integers.format(v[row]), int, buf),
                    Values::Binary(a) => self.bytes(a.value(row), &mut scratch, buf),
                    Values::LargeBinary(a) => self.bytes(a.value(row), &mut scratch, buf),
                    Values::FixedSizeBinary(a) => self.bytes(a.value(row), &mut scratch, buf),
                    Values::BinaryView(a) => self.bytes(a.value(row), &mut scratch, buf),
                    Values::Json(encoder) => {
                        json.clear();
                        encoder.encode(row, &mut json);
                        self.field(&json, buf);
                    }
                    Values::Formatted(formatter) => {
                        scratch.clear();
                        formatter
                            .value(row)
                            .write(&mut scratch)
                            .map_err(|e| csv_value_error(column.field, &e.to_string()))?;
                        self.field(scratch.as_bytes(), buf);
                    }
                }
            }
            self.end_record(start, buf);
            if buf.len() >= SINK_BUFFER_SIZE {
                sink.write_all(buf)?;
                buf.clear();
            }
        }
        Ok(())
    }

    /// A formatted number or boolean: checked for special bytes only if it can contain one.
    #[inline]
    fn value(&self, text: &str, check: bool, out: &mut Vec<u8>) {
        if check {
            self.field(text.as_bytes(), out);
        } else {
            out.extend_from_slice(text.as_bytes());
        }
    }

    /// A binary value as hex or base64 text (`open` refused binary columns otherwise).
    fn bytes(&self, value: &[u8], scratch: &mut String, out: &mut Vec<u8>) {
        scratch.clear();
        match self.binary {
            BinaryText::Base64 => text::write_base64(scratch, value),
            BinaryText::Hex | BinaryText::Error => text::write_hex(scratch, value),
        }
        self.field(scratch.as_bytes(), out);
    }

    /// A value's field: quoted if it contains a special byte or could be read as null (see
    /// the module docs), with its quotes doubled.
    #[inline]
    fn field(&self, field: &[u8], out: &mut Vec<u8>) {
        self.quoted_if(field, self.reads_as_null(field), out);
    }

    /// A field that is not a value (the null text, a column name): quoted only if it contains
    /// a special byte, as arrow-csv does.
    fn plain(&self, field: &[u8], out: &mut Vec<u8>) {
        self.quoted_if(field, false, out);
    }

    /// `field`, quoted if `force` or if it contains a special byte.
    #[inline]
    fn quoted_if(&self, field: &[u8], force: bool, out: &mut Vec<u8>) {
        if !force && !field.iter().any(|&b| self.special[usize::from(b)]) {
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

    /// Whether a reader would take this unquoted text for null.
    #[inline]
    fn reads_as_null(&self, field: &[u8]) -> bool {
        // Every token starts with one of these bytes and is at most 8 long: most fields are
        // ruled out without comparing.
        let maybe_token =
            field.len() <= 8 && matches!(field.first(), Some(b'#' | b'-' | b'1' | b'N' | b'n'));
        field.is_empty()
            || field == self.null_text.as_slice()
            || (maybe_token && NULL_TOKENS.contains(&field))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_null_token_is_quoted() {
        let csv = FastCsv::new(b',', b'"', "");
        for token in NULL_TOKENS {
            assert!(csv.reads_as_null(token), "{token:?}");
        }
        assert!(csv.reads_as_null(b""));
        for text in [&b"N"[..], b"nulls", b"1", b"-", b"#", b"NaNa", b"a"] {
            assert!(!csv.reads_as_null(text), "{text:?}");
        }
    }
}
