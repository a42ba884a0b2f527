//! atio encoder for CSV: every value written so that it reads back as itself, or refused.
//!
//! One writer (module `fast`) formats every row into a reused buffer that goes to the
//! session's [`SinkWriter`] in 1 MiB chunks: hand-written text for integers, floats, booleans,
//! strings and naive timestamps (turned into Arrow's default text by the SDK's
//! [`text::timestamps_as_text`] when no `timestamp-format` is given), arrow-cast's display —
//! what `arrow-csv` writes — for the other flat types (dates, times, decimals, zoned
//! timestamps, intervals, dictionaries, ...), and arrow-json's text, as the JSON-lines encoder
//! writes it, for nested columns with `nested=json`. The bytes are arrow-csv's except where
//! arrow-csv's would not read back as the value (see `fast`): values that could be read as
//! null are quoted (an empty string is `""`, a null nothing; NaN is `"NaN"`), durations are
//! integer counts of their unit, named time zones are written in UTC.
//!
//! Refused as `unsupported` in `open`, naming the column, its type and the way out: nested
//! columns (lists, structs, maps, unions) unless `nested=json`, binary unless `binary=hex` or
//! `binary=base64`. Refused when a batch shows them: a null in a one-column table whose value
//! text can be empty when the `null` text is empty (the line would be `""`, an empty value),
//! rows of a table with no columns, values with no text (dates past chrono's range), NaN or
//! infinity inside `nested=json` cells. With `header=true` the header line is written even
//! when no batch arrives; a table with no columns gives an empty file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;

use atio_encoder_sdk::arrow_array::Array;
use atio_encoder_sdk::arrow_schema::{DataType, Field, Schema, SchemaRef};
use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, OptionSpec, Options, RecordBatch, SinkWriter, Summary,
    export_encoder, text,
};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

use crate::fast::{FastCsv, Formats};
use crate::values::{BinaryText, NonFinite, Settings};

#[cfg(test)]
mod differential;
mod fast;
#[cfg(test)]
mod fidelity_tests;
/// The JSON-lines encoder's value encoding, for `nested=json` cells; the CSV uses only part
/// of it.
#[allow(dead_code)]
#[path = "../../jsonl/src/values.rs"]
mod values;

/// The CSV encoder.
#[derive(Debug)]
pub struct CsvEncoder {
    csv: FastCsv,
    /// Formatted rows not yet handed to `out` (at first, the header).
    buf: Vec<u8>,
    out: SinkWriter,
    /// No `timestamp-format`: timestamps take Arrow's default text, produced by the SDK's
    /// faster formatter (same bytes).
    fast_timestamps: bool,
    /// The table's one column, if a null in it cannot be told from an empty value.
    ambiguous_null: Option<Arc<Field>>,
    /// `nested=json` columns with floats somewhere inside: checked for NaN and infinity.
    nested_floats: Vec<usize>,
    /// `nested=json` columns with maps somewhere inside: checked for duplicate keys.
    nested_maps: Vec<usize>,
    /// The settings of `nested=json` cells, for messages.
    settings: Settings,
    no_columns: bool,
}

/// The schema of the batches the writer sees: with `fast_timestamps`, naive timestamps
/// become UTF-8 text (see [`text::timestamps_as_text`]).
fn written_schema(schema: &Schema, fast_timestamps: bool) -> Schema {
    if !fast_timestamps {
        return schema.clone();
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| match field.data_type() {
            DataType::Timestamp(_, None) => field.as_ref().clone().with_data_type(DataType::Utf8),
            _ => field.as_ref().clone(),
        })
        .collect();
    Schema::new(fields)
}

/// Per column: whether it reaches the writer as the SDK's timestamp text.
fn timestamp_text_columns(schema: &Schema, fast_timestamps: bool) -> Vec<bool> {
    schema
        .fields()
        .iter()
        .map(|field| fast_timestamps && matches!(field.data_type(), DataType::Timestamp(_, None)))
        .collect()
}

/// A single-byte (ASCII) character option.
fn ascii_option(options: &mut Options, name: &str, default: char) -> Result<u8, EncodeError> {
    let c = options.take_char(name, default)?;
    if c.is_ascii() && c != '\n' && c != '\r' {
        Ok(c as u8)
    } else {
        Err(EncodeError::invalid_options(format!(
            "option `{name}`: must be a single ASCII character other than a line break, got `{c}`"
        )))
    }
}

/// Which kind of value a format option is applied to, to check it in `open`.
#[derive(Clone, Copy)]
enum Kind {
    Date,
    DateTime,
    Time,
    TimestampTz,
}

/// Reads a chrono strftime option and checks it by formatting a sample value.
fn format_option(
    options: &mut Options,
    name: &str,
    kind: Kind,
) -> Result<Option<String>, EncodeError> {
    let Some(format) = options.take_str(name)? else {
        return Ok(None);
    };
    let date = NaiveDate::from_ymd_opt(2001, 2, 3).expect("valid date");
    let time = NaiveTime::from_hms_micro_opt(4, 5, 6, 7).expect("valid time");
    let datetime = NaiveDateTime::new(date, time);
    let mut out = String::new();
    let ok = match kind {
        Kind::Date => write!(out, "{}", date.format(&format)),
        Kind::DateTime => write!(out, "{}", datetime.format(&format)),
        Kind::Time => write!(out, "{}", time.format(&format)),
        Kind::TimestampTz => {
            let offset = FixedOffset::east_opt(3600).expect("valid offset");
            let ts = DateTime::<FixedOffset>::from_naive_utc_and_offset(datetime, offset);
            write!(out, "{}", ts.format(&format))
        }
    };
    match ok {
        Ok(()) => Ok(Some(format)),
        Err(_) => Err(EncodeError::invalid_options(format!(
            "option `{name}`: `{format}` is not a valid chrono strftime format for this kind \
             of value (see https://docs.rs/chrono/latest/chrono/format/strftime/)"
        ))),
    }
}

/// Refuses a column CSV cannot hold with these options, naming it.
fn check_column(field: &Field, nested: bool, settings: &Settings) -> Result<(), EncodeError> {
    let data_type = field.data_type();
    let refuse = |problem: &str, instead: &str| {
        Err(EncodeError::unsupported_column(
            field.name(),
            data_type,
            problem,
            instead,
        ))
    };
    if data_type.is_nested() {
        if !nested {
            return refuse(
                "cannot be written as CSV",
                "write it as parquet, arrow or jsonl, or pass -o nested=json to write nested \
                 values as JSON text",
            );
        }
        return values::check_type(field.name(), data_type, settings);
    }
    let (inner, wrapped) = match data_type {
        DataType::Dictionary(_, values) => (values.as_ref(), true),
        DataType::RunEndEncoded(_, values) => (values.data_type(), true),
        other => (other, false),
    };
    let binary = matches!(
        inner,
        DataType::Binary
            | DataType::LargeBinary
            | DataType::FixedSizeBinary(_)
            | DataType::BinaryView
    );
    if binary && settings.binary == BinaryText::Error {
        return refuse(
            "cannot be written as CSV: CSV text has no bytes",
            "write it as parquet or arrow, or pass -o binary=hex or -o binary=base64 to write \
             bytes as text",
        );
    }
    // Wrapped values take arrow-cast's text, which is right for every type but these two.
    if wrapped
        && (matches!(inner, DataType::Duration(_))
            || binary && settings.binary == BinaryText::Base64)
    {
        return refuse(
            "cannot be written as CSV with these options",
            "write it as parquet or arrow, or cast it to its value type first",
        );
    }
    Ok(())
}

/// Whether a value of this type can have empty text (so that a one-column record of it is
/// written `""`, like a null).
fn text_can_be_empty(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(0) => true,
        DataType::Dictionary(_, values) => text_can_be_empty(values),
        DataType::RunEndEncoded(_, values) => text_can_be_empty(values.data_type()),
        _ => false,
    }
}

impl Encoder for CsvEncoder {
    fn info() -> FormatInfo {
        let fmt = |name: &str, what: &str| {
            OptionSpec::new(
                name,
                format!("chrono strftime format for {what}; default RFC 3339 style"),
            )
        };
        FormatInfo::new("csv", env!("CARGO_PKG_VERSION"), "text/csv")
            .extension("csv")
            .option(
                OptionSpec::new(
                    "delimiter",
                    "field separator, one ASCII character; `\\t` or `tab` for tab",
                )
                .default_value(","),
            )
            .option(
                OptionSpec::new("header", "write the column names as the first line")
                    .default_value("true"),
            )
            .option(
                OptionSpec::new(
                    "quote",
                    "quote character, one ASCII character; quotes inside fields are doubled",
                )
                .default_value("\""),
            )
            .option(OptionSpec::new("null", "text written for null values").default_value(""))
            .option(fmt("date-format", "dates (Date32, Date64)"))
            .option(fmt("datetime-format", "date-times"))
            .option(fmt("timestamp-format", "timestamps without time zone"))
            .option(fmt("timestamp-tz-format", "timestamps with a time zone"))
            .option(fmt("time-format", "times of day (Time32, Time64)"))
            .option(
                OptionSpec::new(
                    "nested",
                    "lists, structs and maps, which CSV has no form for: `error` refuses them, \
                     `json` writes each value as JSON text in one cell (as jsonl writes it)",
                )
                .default_value("error"),
            )
            .option(
                OptionSpec::new(
                    "binary",
                    "binary values, which CSV text has no form for: `error` refuses binary \
                     columns, `hex` writes lowercase hexadecimal, `base64` standard base64",
                )
                .default_value("error"),
            )
    }

    fn open(
        schema: SchemaRef,
        options: &mut Options,
        out: SinkWriter,
    ) -> Result<Self, EncodeError> {
        let delimiter = ascii_option(options, "delimiter", ',')?;
        let header = options.take_bool("header", true)?;
        let quote = ascii_option(options, "quote", '"')?;
        if quote == delimiter {
            return Err(EncodeError::invalid_options(format!(
                "options `quote` and `delimiter` must differ, both are `{}`",
                quote as char
            )));
        }
        let null = options.take_str("null")?.unwrap_or_default();
        let formats = Formats {
            date: format_option(options, "date-format", Kind::Date)?,
            datetime: format_option(options, "datetime-format", Kind::DateTime)?,
            timestamp: format_option(options, "timestamp-format", Kind::DateTime)?,
            timestamp_tz: format_option(options, "timestamp-tz-format", Kind::TimestampTz)?,
            time: format_option(options, "time-format", Kind::Time)?,
        };
        let fast_timestamps = formats.timestamp.is_none();
        let nested = options.take_enum("nested", &["error", "json"], "error")? == "json";
        let binary = options.take_enum("binary", &BinaryText::CHOICES, "error")?;
        let settings = Settings {
            non_finite: NonFinite::Error,
            binary: BinaryText::parse(binary),
            format: "CSV",
            instead: "parquet or arrow",
        };
        for field in schema.fields() {
            check_column(field, nested, &settings)?;
        }

        let written = written_schema(&schema, fast_timestamps);
        let csv = FastCsv::new(delimiter, quote, &null)
            .with_timestamp_text(timestamp_text_columns(&schema, fast_timestamps))
            .with_formats(formats)
            .with_values(settings);
        // Catch any other type the writer cannot display now, not at the first batch: writing
        // an empty batch builds every column's formatter and writes nothing.
        csv.write_batch(
            &RecordBatch::new_empty(Arc::new(written.clone())),
            &mut Vec::new(),
            &mut std::io::sink(),
        )?;
        let mut buf = Vec::new();
        if header {
            csv.header(&written, &mut buf);
        }
        let fields = schema.fields();
        let ambiguous_null =
            (fields.len() == 1 && null.is_empty() && text_can_be_empty(fields[0].data_type()))
                .then(|| Arc::clone(&fields[0]));
        let nested_floats = (0..fields.len())
            .filter(|&i| {
                fields[i].data_type().is_nested() && values::has_floats(fields[i].data_type())
            })
            .collect();
        let nested_maps = (0..fields.len())
            .filter(|&i| values::has_maps(fields[i].data_type()))
            .collect();
        Ok(Self {
            csv,
            buf,
            out,
            fast_timestamps,
            ambiguous_null,
            nested_floats,
            nested_maps,
            settings,
            no_columns: fields.is_empty(),
        })
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        self.check_batch(batch)?;
        let converted;
        let batch = if self.fast_timestamps {
            converted = text::timestamps_as_text(batch);
            &converted
        } else {
            batch
        };
        self.csv.write_batch(batch, &mut self.buf, &mut self.out)?;
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    fn finish(mut self) -> Result<Summary, EncodeError> {
        self.out.write_all(&self.buf)?;
        Ok(Summary::new())
    }
}

impl CsvEncoder {
    /// Refuses what a batch holds that CSV cannot write back exactly (see the crate docs).
    fn check_batch(&self, batch: &RecordBatch) -> Result<(), EncodeError> {
        if self.no_columns && batch.num_rows() > 0 {
            return Err(EncodeError::unsupported(format!(
                "a table with no columns cannot be written as CSV: its {} rows would be blank \
                 lines; write it as parquet or arrow",
                batch.num_rows()
            )));
        }
        if let Some(field) = &self.ambiguous_null
            && batch.column(0).logical_null_count() > 0
        {
            return Err(EncodeError::unsupported_column(
                field.name(),
                field.data_type(),
                "holds a null, which in a one-column CSV with an empty `null` text is written \
                 `\"\"`, the same as an empty value",
                "pass -o null=<text> (e.g. -o null=NULL), or write it as parquet, arrow or jsonl",
            ));
        }
        for &index in &self.nested_maps {
            if values::find_duplicate_map_key(batch.column(index).as_ref()) {
                let field = batch.schema_ref().field(index).clone();
                return Err(values::duplicate_map_key_error(
                    field.name(),
                    field.data_type(),
                    &self.settings,
                ));
            }
        }
        for &index in &self.nested_floats {
            if values::find_non_finite(batch.column(index).as_ref()) {
                let field = batch.schema_ref().field(index).clone();
                return Err(EncodeError::unsupported_column(
                    field.name(),
                    field.data_type(),
                    "holds NaN or infinity inside a nested value, which JSON text cannot hold",
                    "write it as parquet or arrow",
                ));
            }
        }
        Ok(())
    }
}

export_encoder!(CsvEncoder, parts = atio_encoder_sdk::parts::Concatenated<CsvEncoder>);

#[cfg(test)]
mod tests {
    use super::*;
    use atio_encoder_sdk::arrow_array::types::Int32Type;
    use atio_encoder_sdk::arrow_array::{
        ArrayRef, Date32Array, Float64Array, Int32Array, ListArray, StringArray,
        TimestampSecondArray,
    };
    use atio_encoder_sdk::testing::Harness;

    fn batch() -> RecordBatch {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None, Some(3)]));
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("x,y"), Some("q\"t"), None]));
        let f: ArrayRef = Arc::new(Float64Array::from(vec![1.5, 2.0, -0.25]));
        let d: ArrayRef = Arc::new(Date32Array::from(vec![0, 365, 11000]));
        let t: ArrayRef = Arc::new(TimestampSecondArray::from(vec![0, 86_400, 1_000_000_000]));
        RecordBatch::try_from_iter([("a", a), ("s", s), ("f", f), ("d", d), ("t", t)]).unwrap()
    }

    fn text(options: &[(&str, &str)], batches: &[RecordBatch]) -> String {
        let schema = batch().schema();
        let done = Harness::<CsvEncoder>::encode(&schema, options, batches).unwrap();
        String::from_utf8(done.bytes).unwrap()
    }

    #[test]
    fn defaults() {
        assert_eq!(
            text(&[], &[batch()]),
            "a,s,f,d,t\n\
             1,\"x,y\",1.5,1970-01-01,1970-01-01T00:00:00\n\
             ,\"q\"\"t\",2.0,1971-01-01,1970-01-02T00:00:00\n\
             3,,-0.25,2000-02-13,2001-09-09T01:46:40\n"
        );
    }

    #[test]
    fn options_apply() {
        let out = text(
            &[
                ("delimiter", "tab"),
                ("header", "false"),
                ("null", "NULL"),
                ("quote", "'"),
                ("date-format", "%d/%m/%Y"),
                ("timestamp-format", "%Y%m%d %H%M"),
            ],
            &[batch()],
        );
        assert_eq!(
            out,
            "1\tx,y\t1.5\t01/01/1970\t19700101 0000\n\
             NULL\tq\"t\t2.0\t01/01/1971\t19700102 0000\n\
             3\tNULL\t-0.25\t13/02/2000\t20010909 0146\n"
        );
    }

    #[test]
    fn parts_are_the_bytes_of_one_session() {
        let b = batch();
        // 90,000 rows: two parts of up to 64Ki rows.
        let many: Vec<RecordBatch> = (0..30_000).map(|_| b.clone()).collect();
        for options in [
            &[][..],
            &[("header", "false")][..],
            &[("delimiter", ";")][..],
        ] {
            atio_encoder_sdk::testing::assert_concatenated_matches_session::<CsvEncoder>(
                &b.schema(),
                options,
                &many,
            );
            atio_encoder_sdk::testing::assert_concatenated_matches_session::<CsvEncoder>(
                &b.schema(),
                options,
                &[],
            );
        }
    }

    #[test]
    fn header_without_batches() {
        assert_eq!(text(&[], &[]), "a,s,f,d,t\n");
        assert_eq!(text(&[("header", "false")], &[]), "");
        let b = batch();
        assert_eq!(
            text(&[], &[b.slice(0, 0), b.slice(2, 1)]),
            "a,s,f,d,t\n3,,-0.25,2000-02-13,2001-09-09T01:46:40\n"
        );
    }

    #[test]
    fn big_input_goes_out_in_large_chunks() {
        let b = batch();
        let many: Vec<RecordBatch> = (0..20_000).map(|_| b.clone()).collect();
        let done = Harness::<CsvEncoder>::encode(&b.schema(), &[], &many).unwrap();
        assert_eq!(done.summary.rows, 60_000);
        assert!(done.host_writes.len() <= 4, "{:?}", done.host_writes);
    }

    #[test]
    fn rejects_bad_options_and_nested_columns() {
        let schema = batch().schema();
        for (opts, expected) in [
            (vec![("delimiter", "ab")], "option `delimiter`"),
            (vec![("delimiter", "é")], "single ASCII character"),
            (vec![("quote", ",")], "must differ"),
            (vec![("date-format", "%Q")], "option `date-format`"),
            (vec![("time-format", "%Y")], "option `time-format`"),
            (vec![("header", "perhaps")], "option `header`"),
            (vec![("nul", "x")], "did you mean `null`"),
        ] {
            let err = Harness::<CsvEncoder>::open(&schema, &opts).unwrap_err();
            assert!(
                matches!(err, EncodeError::InvalidOptions(_)),
                "{opts:?}: {err}"
            );
            assert!(err.message().contains(expected), "{opts:?}: {err}");
        }
        let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1)]),
        ]));
        let nested = RecordBatch::try_from_iter([("tags", list)]).unwrap();
        let err = Harness::<CsvEncoder>::open(&nested.schema(), &[]).unwrap_err();
        assert!(matches!(err, EncodeError::Unsupported(_)), "{err}");
        assert!(err.message().contains("column `tags`"), "{err}");
    }
}
