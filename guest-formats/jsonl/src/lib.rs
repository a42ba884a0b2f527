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
//! Both paths write the same bytes. Types `arrow-json` cannot encode are rejected in `open`,
//! naming the column.

#[cfg(test)]
mod differential_tests;
mod fast;

use std::sync::Arc;

use arrow_json::writer::{EncoderOptions, LineDelimited, Writer, WriterBuilder, make_encoder};
use atio_encoder_sdk::arrow_array::{Array, StructArray};
use atio_encoder_sdk::arrow_schema::{ArrowError, Field, SchemaRef};
use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, OptionSpec, Options, RecordBatch, SinkWriter, Summary,
    export_encoder, text,
};

use crate::fast::FastPath;

/// The JSON Lines encoder.
pub struct JsonlEncoder {
    /// arrow-json's writer; also the owner of the output the fast path writes to.
    writer: Writer<SinkWriter, LineDelimited>,
    /// `Some` if the schema qualifies for the fast path.
    fast: Option<FastPath>,
    /// The fast path's reused row buffer.
    buf: Vec<u8>,
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

/// Checks that every column has a JSON encoding, naming the first that has none.
fn check_schema(schema: &SchemaRef, explicit_nulls: bool) -> Result<(), EncodeError> {
    let options = EncoderOptions::default().with_explicit_nulls(explicit_nulls);
    let empty = RecordBatch::new_empty(Arc::clone(schema));
    for (field, column) in schema.fields().iter().zip(empty.columns()) {
        let array: &dyn Array = column.as_ref();
        if let Err(e) = make_encoder(field, array, &options) {
            return Err(EncodeError::unsupported(format!(
                "column `{}` has type {}, which cannot be written as JSON: {e}",
                field.name(),
                field.data_type()
            )));
        }
    }
    // The writer encodes each row as a struct of all columns; check that too.
    let root = Arc::new(Field::new_struct("", schema.fields().clone(), false));
    let array = StructArray::from(empty);
    make_encoder(&root, &array, &options)
        .map(|_| ())
        .map_err(|e| EncodeError::unsupported(format!("json: {e}")))
}

impl Encoder for JsonlEncoder {
    fn info() -> FormatInfo {
        FormatInfo::new("jsonl", env!("CARGO_PKG_VERSION"), "application/x-ndjson")
            .extension("jsonl")
            .extension("ndjson")
            .option(
                OptionSpec::new(
                    "explicit-nulls",
                    "true: write null values as `\"key\": null`; false: omit keys whose value is \
                     null",
                )
                .default_value("false"),
            )
    }

    fn open(
        schema: SchemaRef,
        options: &mut Options,
        out: SinkWriter,
    ) -> Result<Self, EncodeError> {
        let explicit_nulls = options.take_bool("explicit-nulls", false)?;
        check_schema(&schema, explicit_nulls)?;
        let writer = WriterBuilder::new()
            .with_explicit_nulls(explicit_nulls)
            .build::<_, LineDelimited>(out);
        let fast = FastPath::new(&schema, explicit_nulls);
        Ok(Self {
            writer,
            buf: Vec::new(),
            fast,
        })
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
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
        self.writer.write(&batch).map_err(|e| match e {
            ArrowError::IoError(..) | ArrowError::ExternalError(_) => EncodeError::from(e),
            other => EncodeError::invalid_input(format!("json: {other}")),
        })
    }

    fn finish(mut self) -> Result<Summary, EncodeError> {
        self.writer.finish()?;
        Ok(Summary::new())
    }
}

export_encoder!(JsonlEncoder);

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

    fn text(options: &[(&str, &str)]) -> String {
        let b = batch();
        let done =
            Harness::<JsonlEncoder>::encode(&b.schema(), options, &[b.clone(), b.slice(0, 0)])
                .unwrap();
        assert_eq!(done.summary.rows, 2);
        String::from_utf8(done.bytes).unwrap()
    }

    #[test]
    fn omits_nulls_by_default() {
        assert_eq!(
            text(&[]),
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
