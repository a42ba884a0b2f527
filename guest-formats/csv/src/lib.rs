//! atio encoder for CSV: a hand-written writer for plain columns, `arrow-csv`'s `WriterBuilder`
//! for everything else.
//!
//! Both write the same bytes: arrow-csv's `Writer` output with the chosen delimiter, quote
//! (doubled inside fields, a field quoted only when it holds the delimiter, the quote, `\r` or
//! `\n`), null text and a `\n` line end. Which one runs is decided once, in `open`:
//!
//! * **Fast path** (module `fast`), when every column is an integer, float, boolean or string
//!   (`Utf8`, `LargeUtf8`, `Utf8View`) column, naive timestamps counting as strings when no
//!   `timestamp-format` is given (they are turned into Arrow's default text by the SDK's
//!   [`text::timestamps_as_text`]). Rows are formatted with `itoa`/`ryu` straight into a reused
//!   buffer, without arrow-csv's per-value `dyn fmt::Write` string and `csv` record. (Should a
//!   timestamp column keep its type because chrono cannot represent one of its values, that
//!   batch goes through arrow-csv, which reports the value.)
//! * **arrow-csv**, for any other schema (dates, times, decimals, timestamps with a time zone
//!   or a `timestamp-format`, binary, dictionaries, ...). Each batch is formatted row by row
//!   into the `csv` crate's buffer, which empties into the session's [`SinkWriter`].
//!
//! The sink hands the host 1 MiB chunks, so there is no per-row (or per-batch) host call.
//! Memory is bounded by one batch's formatting state plus the buffers.
//!
//! Nested columns (lists, structs, maps, unions) have no CSV representation and are rejected
//! in `open` as `unsupported`, naming the column. With `header=true` the header line is written
//! even when no batch arrives.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;

use arrow_csv::{Writer, WriterBuilder};
use atio_encoder_sdk::arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, OptionSpec, Options, RecordBatch, SinkWriter, Summary,
    export_encoder, text,
};
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

use crate::fast::FastCsv;

#[cfg(test)]
mod differential;
mod fast;

/// The CSV encoder.
pub struct CsvEncoder {
    output: Output,
    /// No `timestamp-format`: timestamps take Arrow's default text, produced by the SDK's
    /// faster formatter (same bytes).
    fast_timestamps: bool,
}

/// Who writes the CSV; see the crate docs.
enum Output {
    Arrow {
        writer: Writer<SinkWriter>,
        schema: SchemaRef,
        wrote_any: bool,
        header: bool,
    },
    Fast {
        csv: FastCsv,
        /// Formatted rows not yet handed to `out` (at first, the header).
        buf: Vec<u8>,
        out: SinkWriter,
        /// arrow-csv with the same options and no header, for a batch the fast path cannot
        /// write.
        fallback: WriterBuilder,
    },
}

impl std::fmt::Debug for CsvEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = match self.output {
            Output::Arrow { .. } => "arrow-csv",
            Output::Fast { .. } => "fast",
        };
        f.debug_struct("CsvEncoder")
            .field("path", &path)
            .finish_non_exhaustive()
    }
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

/// Errors of `arrow-csv` while formatting values: bad data, except host refusals.
fn csv_error(e: ArrowError) -> EncodeError {
    match e {
        ArrowError::IoError(..) | ArrowError::ExternalError(_) => EncodeError::from(e),
        other => EncodeError::invalid_input(format!("csv: {other}")),
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
        let mut builder = WriterBuilder::new()
            .with_delimiter(delimiter)
            .with_header(header)
            .with_quote(quote)
            .with_null(null.clone());
        if let Some(f) = format_option(options, "date-format", Kind::Date)? {
            builder = builder.with_date_format(f);
        }
        if let Some(f) = format_option(options, "datetime-format", Kind::DateTime)? {
            builder = builder.with_datetime_format(f);
        }
        let timestamp_format = format_option(options, "timestamp-format", Kind::DateTime)?;
        let fast_timestamps = timestamp_format.is_none();
        if let Some(f) = timestamp_format {
            builder = builder.with_timestamp_format(f);
        }
        if let Some(f) = format_option(options, "timestamp-tz-format", Kind::TimestampTz)? {
            builder = builder.with_timestamp_tz_format(f);
        }
        if let Some(f) = format_option(options, "time-format", Kind::Time)? {
            builder = builder.with_time_format(f);
        }

        for field in schema.fields() {
            if field.data_type().is_nested() {
                return Err(EncodeError::unsupported(format!(
                    "column `{}` has type {}, which CSV cannot hold (nested types are not \
                     supported)",
                    field.name(),
                    field.data_type()
                )));
            }
        }
        // Catch any other type the formatter cannot display now, not at the first batch:
        // formatting an empty batch builds every column's formatter and writes nothing.
        let mut probe = builder.clone().with_header(false).build(Vec::new());
        probe
            .write(&RecordBatch::new_empty(Arc::clone(&schema)))
            .map_err(|e| EncodeError::unsupported(format!("csv: {e}")))?;

        let written = written_schema(&schema, fast_timestamps);
        let output = if FastCsv::supports(&written) {
            let csv = FastCsv::new(delimiter, quote, &null)
                .with_timestamp_text(timestamp_text_columns(&schema, fast_timestamps));
            let mut buf = Vec::new();
            if header {
                csv.header(&written, &mut buf);
            }
            Output::Fast {
                csv,
                buf,
                out,
                fallback: builder.with_header(false),
            }
        } else {
            Output::Arrow {
                writer: builder.build(out),
                schema,
                wrote_any: false,
                header,
            }
        };
        Ok(Self {
            output,
            fast_timestamps,
        })
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        let converted;
        let batch = if self.fast_timestamps {
            converted = text::timestamps_as_text(batch);
            &converted
        } else {
            batch
        };
        match &mut self.output {
            Output::Arrow {
                writer, wrote_any, ..
            } => {
                *wrote_any = true;
                writer.write(batch).map_err(csv_error)
            }
            Output::Fast {
                csv,
                buf,
                out,
                fallback,
            } => {
                if !csv.write_batch(batch, buf, out)? {
                    fallback
                        .clone()
                        .build(&mut *buf)
                        .write(batch)
                        .map_err(csv_error)?;
                }
                out.write_all(buf)?;
                buf.clear();
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<Summary, EncodeError> {
        match self.output {
            Output::Arrow {
                mut writer,
                schema,
                wrote_any,
                header,
            } => {
                if !wrote_any && header {
                    // The header is written with the first batch; make sure a file with no
                    // rows still has it.
                    writer
                        .write(&RecordBatch::new_empty(schema))
                        .map_err(csv_error)?;
                }
            }
            Output::Fast { buf, mut out, .. } => out.write_all(&buf)?,
        }
        Ok(Summary::new())
    }
}

export_encoder!(CsvEncoder);

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
