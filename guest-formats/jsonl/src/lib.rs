//! atio encoder for newline-delimited JSON (JSON Lines, NDJSON): one JSON object per row,
//! byte for byte what `arrow-json`'s `LineDelimited` writer produces with the same
//! `explicit-nulls` setting.
//!
//! Naive timestamps are first turned into their default text (see the SDK's `text`). Then one
//! of two paths writes the rows, chosen in `open` from the schema:
//!
//! * **Fast path** (`fast`), for flat schemas whose columns are all integers, `Float32` /
//!   `Float64`, `Boolean`, `Utf8`, `LargeUtf8` or `Utf8View` (naive timestamps included, as
//!   text): a hand-written row loop with each key escaped once, numbers written by
//!   `lexical-core` exactly as arrow-json writes them, into a reused buffer that goes to the
//!   session's [`SinkWriter`] every ~1 MiB and at the end of each batch. A batch whose columns
//!   turn out not to have those types (a timestamp column left as it was because a value has
//!   no text) goes through arrow-json instead.
//! * **arrow-json** for everything else (nested types, dates, decimals, binary, dictionaries,
//!   time-zoned timestamps, ...): its `LineDelimited` writer, which empties into the
//!   [`SinkWriter`]. Nested types become JSON arrays and objects.
//!
//! Both paths write the same bytes: arrow-json's, corrected by the `values` module where
//! arrow-json would not write the value (dictionaries with null values, maps with null values,
//! NaN and infinity, named time zones, extreme durations, binary). What JSON cannot hold
//! exactly is refused as `unsupported`, naming the column, its type and the way out: in `open`
//! for types (binary without a `binary` option, unions, maps with non-string keys, duplicate
//! column or struct field names), per batch for values (NaN or infinity without a
//! `non-finite` option, dates and times outside chrono's range).
//!
//! How values are written: integers and finite floats as JSON numbers (shortest round-trip
//! digits; a `Float16` as the `Float32` it widens to); decimals as JSON numbers with every
//! digit of their scale (`1.50` for `Decimal(5, 2)`), which pyarrow's JSON reader reads back
//! exactly; dates, times and naive timestamps as RFC 3339 text; timestamps with an offset zone
//! in local time with the offset, with a named zone as the UTC instant with `Z`; durations as
//! ISO 8601 text (`PT1.5S`); intervals as Arrow's text (`1 mons 2 days 0.000000003 secs`);
//! lists as arrays, structs and string-keyed maps as objects; dictionaries and run-end encoded
//! columns as their values.

#[cfg(test)]
mod differential_tests;
mod fast;
#[cfg(test)]
mod fidelity_tests;
mod values;

use std::sync::Arc;

use arrow_json::writer::{LineDelimited, Writer, WriterBuilder, make_encoder};
use atio_encoder_sdk::arrow_array::{Array, StructArray};
use atio_encoder_sdk::arrow_schema::{ArrowError, Field, SchemaRef};
use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, OptionSpec, Options, RecordBatch, SinkWriter, Summary,
    export_encoder, text,
};

use crate::fast::FastPath;
use crate::values::{BinaryText, JsonValues, NonFinite, Settings};

/// The JSON Lines encoder.
pub struct JsonlEncoder {
    /// arrow-json's writer; also the owner of the output the fast path writes to.
    writer: Writer<SinkWriter, LineDelimited>,
    /// `Some` if the schema qualifies for the fast path.
    fast: Option<FastPath>,
    /// The fast path's reused row buffer.
    buf: Vec<u8>,
    settings: Settings,
    /// With `non-finite=error`, the columns with floats somewhere in their type, checked in
    /// every batch.
    float_columns: Vec<usize>,
    /// The columns with maps somewhere in their type, checked for duplicate keys.
    map_columns: Vec<usize>,
}

#[cfg(test)]
thread_local! {
    /// Batches written by the fast path on this thread, so tests can tell which path ran.
    static FAST_BATCHES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl std::fmt::Debug for JsonlEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlEncoder").finish_non_exhaustive()
    }
}

/// Checks that every column has an exact JSON encoding, naming the first that has none.
fn check_schema(
    schema: &SchemaRef,
    explicit_nulls: bool,
    settings: &Settings,
) -> Result<(), EncodeError> {
    let fields = schema.fields();
    for (index, field) in fields.iter().enumerate() {
        if fields[..index].iter().any(|f| f.name() == field.name()) {
            return Err(EncodeError::unsupported_column(
                field.name(),
                field.data_type(),
                "cannot be written as JSON lines: another column has the same name, and a \
                 JSON object cannot hold a key twice",
                "rename one of them, or write parquet, arrow or csv",
            ));
        }
        values::check_type(field.name(), field.data_type(), settings)?;
    }
    // Whatever else arrow-json cannot encode: building the encoders for an empty batch tries.
    let options = JsonValues::options(*settings, explicit_nulls);
    let empty = RecordBatch::new_empty(Arc::clone(schema));
    for (field, column) in fields.iter().zip(empty.columns()) {
        let array: &dyn Array = column.as_ref();
        if let Err(e) = make_encoder(field, array, &options) {
            return Err(EncodeError::unsupported_column(
                field.name(),
                field.data_type(),
                format!("cannot be written as JSON lines ({e})"),
                format!("write it as {}", settings.instead),
            ));
        }
    }
    // The writer encodes each row as a struct of all columns; check that too.
    let root = Arc::new(Field::new_struct("", fields.clone(), false));
    let array = StructArray::from(empty);
    make_encoder(&root, &array, &options)
        .map(|_| ())
        .map_err(|e| EncodeError::unsupported(format!("json: {e}")))
}

/// Errors of arrow-json while writing a batch.
fn write_error(e: ArrowError) -> EncodeError {
    if let Some(carried) = values::from_arrow(&e) {
        return carried;
    }
    match e {
        ArrowError::IoError(..) | ArrowError::ExternalError(_) => EncodeError::from(e),
        other => EncodeError::invalid_input(format!("json: {other}")),
    }
}

impl Encoder for JsonlEncoder {
    fn info() -> FormatInfo {
        FormatInfo::new("jsonl", env!("CARGO_PKG_VERSION"), "application/x-ndjson")
            .extension("jsonl")
            .extension("ndjson")
            .option(
                OptionSpec::new(
                    "explicit-nulls",
                    "true: write null values as `\"key\": null`, so a column that is all null \
                     still reaches a reader; false: omit keys whose value is null",
                )
                .default_value("true"),
            )
            .option(
                OptionSpec::new(
                    "non-finite",
                    "NaN and infinity, which JSON numbers cannot be: `error` refuses a column \
                     holding one, `null` writes null, `string` writes \"NaN\", \"Infinity\", \
                     \"-Infinity\"",
                )
                .default_value("error"),
            )
            .option(
                OptionSpec::new(
                    "binary",
                    "binary values, which JSON has no type for: `error` refuses binary \
                     columns, `hex` writes lowercase hexadecimal text, `base64` standard base64",
                )
                .default_value("error"),
            )
    }

    fn open(
        schema: SchemaRef,
        options: &mut Options,
        out: SinkWriter,
    ) -> Result<Self, EncodeError> {
        let explicit_nulls = options.take_bool("explicit-nulls", true)?;
        let non_finite = options.take_enum("non-finite", &NonFinite::CHOICES, "error")?;
        let binary = options.take_enum("binary", &BinaryText::CHOICES, "error")?;
        let settings = Settings {
            non_finite: NonFinite::parse(non_finite),
            binary: BinaryText::parse(binary),
            format: "JSON lines",
            instead: "parquet or arrow",
        };
        check_schema(&schema, explicit_nulls, &settings)?;
        let writer = WriterBuilder::new()
            .with_explicit_nulls(explicit_nulls)
            .with_encoder_factory(JsonValues::factory(settings))
            .build::<_, LineDelimited>(out);
        let fast = FastPath::new(&schema, explicit_nulls, settings.non_finite);
        let float_columns = match settings.non_finite {
            NonFinite::Error => (0..schema.fields().len())
                .filter(|&i| values::has_floats(schema.field(i).data_type()))
                .collect(),
            NonFinite::Null | NonFinite::String => Vec::new(),
        };
        Ok(Self {
            writer,
            buf: Vec::new(),
            fast,
            settings,
            float_columns,
            map_columns: (0..schema.fields().len())
                .filter(|&i| values::has_maps(schema.field(i).data_type()))
                .collect(),
        })
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        for &index in &self.map_columns {
            if values::find_duplicate_map_key(batch.column(index).as_ref()) {
                let field = batch.schema_ref().field(index).clone();
                return Err(values::duplicate_map_key_error(
                    field.name(),
                    field.data_type(),
                    &self.settings,
                ));
            }
        }
        for &index in &self.float_columns {
            if values::find_non_finite(batch.column(index).as_ref()) {
                let field = batch.schema_ref().field(index).clone();
                return Err(values::non_finite_error(
                    field.name(),
                    field.data_type(),
                    &self.settings,
                ));
            }
        }
        // Same bytes as Arrow's default timestamp display, faster (see the SDK's `text`).
        let batch = text::timestamps_as_text(batch);
        if let Some(fast) = &self.fast
            && let Some(columns) = fast.columns(&batch)
        {
            #[cfg(test)]
            FAST_BATCHES.with(|n| n.set(n.get() + 1));
            fast.encode(
                &columns,
                batch.num_rows(),
                &mut self.buf,
                self.writer.get_mut(),
            )?;
            return Ok(());
        }
        self.writer.write(&batch).map_err(write_error)
    }

    fn finish(mut self) -> Result<Summary, EncodeError> {
        self.writer.finish()?;
        Ok(Summary::new())
    }
}

export_encoder!(JsonlEncoder, parts = atio_encoder_sdk::parts::Concatenated<JsonlEncoder>);

#[cfg(test)]
mod tests {
    use super::*;
    use atio_encoder_sdk::arrow_array::types::Int32Type;
    use atio_encoder_sdk::arrow_array::{
        ArrayRef, Float64Array, Int32Array, ListArray, StringArray,
    };
    use atio_encoder_sdk::testing::Harness;

    fn batch() -> RecordBatch {
        let a: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("he said \"hi\"\n"), None]));
        let f: ArrayRef = Arc::new(Float64Array::from(vec![0.5, -2.0]));
        let l: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
            Some(vec![Some(1), None]),
            None,
        ]));
        RecordBatch::try_from_iter([("a", a), ("s", s), ("f", f), ("l", l)]).unwrap()
    }

    #[test]
    fn parts_are_the_bytes_of_one_session() {
        let b = batch();
        // 80,000 rows: two parts of up to 64Ki rows.
        let many: Vec<RecordBatch> = (0..40_000).map(|_| b.clone()).collect();
        for options in [&[][..], &[("explicit-nulls", "false")][..]] {
            atio_encoder_sdk::testing::assert_concatenated_matches_session::<JsonlEncoder>(
                &b.schema(),
                options,
                &many,
            );
        }
    }

    fn text(options: &[(&str, &str)]) -> String {
        let b = batch();
        let done =
            Harness::<JsonlEncoder>::encode(&b.schema(), options, &[b.clone(), b.slice(0, 0)])
                .unwrap();
        assert_eq!(done.summary.rows, 2);
        String::from_utf8(done.bytes).unwrap()
    }

    #[test]
    fn writes_nulls_by_default_and_omits_them_when_asked() {
        assert_eq!(
            text(&[]),
            "{\"a\":1,\"s\":\"he said \\\"hi\\\"\\n\",\"f\":0.5,\"l\":[1,null]}\n\
             {\"a\":null,\"s\":null,\"f\":-2.0,\"l\":null}\n"
        );
        assert_eq!(
            text(&[("explicit-nulls", "false")]),
            "{\"a\":1,\"s\":\"he said \\\"hi\\\"\\n\",\"f\":0.5,\"l\":[1,null]}\n{\"f\":-2.0}\n"
        );
    }

    #[test]
    fn explicit_nulls() {
        assert_eq!(
            text(&[("explicit-nulls", "true")]),
            "{\"a\":1,\"s\":\"he said \\\"hi\\\"\\n\",\"f\":0.5,\"l\":[1,null]}\n\
             {\"a\":null,\"s\":null,\"f\":-2.0,\"l\":null}\n"
        );
    }

    #[test]
    fn empty_input_is_empty_file() {
        let b = batch();
        let done = Harness::<JsonlEncoder>::encode(&b.schema(), &[], &[]).unwrap();
        assert!(done.bytes.is_empty());
        let err =
            Harness::<JsonlEncoder>::open(&b.schema(), &[("explicit-nulls", "x")]).unwrap_err();
        assert!(
            err.message().starts_with("option `explicit-nulls`"),
            "{err}"
        );
    }
}
