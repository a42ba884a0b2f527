//! atio encoder for the Apache Arrow IPC **file** format (also known as Feather v2), built on
//! `arrow-ipc`'s `FileWriter`.
//!
//! Streaming: each batch is written out as one record batch message as it arrives; only the
//! footer's block index (a few dozen bytes per batch) is kept until `finish`.
//!
//! Dictionary-encoded columns stay dictionary-encoded. The file format allows one dictionary
//! per column, extended by deltas: a batch whose dictionary extends the previous one is written
//! as a delta, but a batch whose dictionary replaces it is rejected (`invalid-input`, naming
//! the problem). Optional LZ4-frame buffer compression (`compression=lz4`) is pure Rust.

use atio_encoder_sdk::arrow_ipc::CompressionType;
use atio_encoder_sdk::arrow_ipc::writer::{DictionaryHandling, FileWriter, IpcWriteOptions};
use atio_encoder_sdk::arrow_schema::{ArrowError, SchemaRef};
use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, OptionSpec, Options, RecordBatch, SinkWriter, Summary,
    export_encoder,
};

/// The Arrow IPC file encoder.
pub struct ArrowFileEncoder {
    writer: FileWriter<SinkWriter>,
    batches: u64,
    compression: &'static str,
}

impl std::fmt::Debug for ArrowFileEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArrowFileEncoder")
            .field("batches", &self.batches)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

impl Encoder for ArrowFileEncoder {
    fn info() -> FormatInfo {
        FormatInfo::new(
            "arrow",
            env!("CARGO_PKG_VERSION"),
            "application/vnd.apache.arrow.file",
        )
        .extension("arrow")
        .extension("feather")
        .option(
            OptionSpec::new(
                "compression",
                "buffer compression: none, or lz4 (LZ4 frame; readers need Arrow >= 0.17 / \
                 compression support)",
            )
            .default_value("none"),
        )
    }

    fn open(
        schema: SchemaRef,
        options: &mut Options,
        out: SinkWriter,
    ) -> Result<Self, EncodeError> {
        let compression = options.take_enum("compression", &["none", "lz4"], "none")?;
        let codec = match compression {
            "lz4" => Some(CompressionType::LZ4_FRAME),
            _ => None,
        };
        let write_options = IpcWriteOptions::default()
            .try_with_compression(codec)
            .map_err(|e| EncodeError::unsupported(format!("arrow: {e}")))?
            .with_dictionary_handling(DictionaryHandling::Delta);
        let writer =
            FileWriter::try_new_with_options(out, &schema, write_options).map_err(|e| match e {
                ArrowError::IoError(..) | ArrowError::ExternalError(_) => EncodeError::from(e),
                other => EncodeError::unsupported(format!(
                    "this schema cannot be written as an Arrow IPC file: {other}"
                )),
            })?;
        Ok(Self {
            writer,
            batches: 0,
            compression,
        })
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        self.writer.write(batch).map_err(|e| match e {
            ArrowError::IoError(..) | ArrowError::ExternalError(_) => EncodeError::from(e),
            ArrowError::InvalidArgumentError(m) if m.contains("Dictionary replacement") => {
                EncodeError::invalid_input(format!(
                    "a dictionary-encoded column changed its dictionary between batches, which \
                     the Arrow IPC file format cannot store ({m})"
                ))
            }
            other => EncodeError::internal(format!("arrow: {other}")),
        })?;
        self.batches += 1;
        Ok(())
    }

    fn finish(mut self) -> Result<Summary, EncodeError> {
        self.writer.finish()?;
        Ok(Summary::new()
            .with("record-batches", self.batches)
            .with("compression", self.compression))
    }
}

export_encoder!(ArrowFileEncoder);

#[cfg(test)]
mod tests {
    use super::*;
    use atio_encoder_sdk::arrow_array::builder::StringDictionaryBuilder;
    use atio_encoder_sdk::arrow_array::types::Int32Type;
    use atio_encoder_sdk::arrow_array::{ArrayRef, Int64Array};
    use atio_encoder_sdk::arrow_ipc::reader::FileReader;
    use atio_encoder_sdk::testing::Harness;
    use std::sync::Arc;

    fn batch(values: &[&str], start: i64) -> RecordBatch {
        let mut d = StringDictionaryBuilder::<Int32Type>::new();
        for v in values {
            d.append_value(v);
        }
        let d: ArrayRef = Arc::new(d.finish());
        let n: ArrayRef = Arc::new(Int64Array::from_iter_values(
            start..start + values.len() as i64,
        ));
        RecordBatch::try_from_iter([("d", d), ("n", n)]).unwrap()
    }

    fn read(bytes: Vec<u8>) -> Vec<RecordBatch> {
        FileReader::try_new(std::io::Cursor::new(bytes), None)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn roundtrip_plain_and_lz4() {
        for compression in ["none", "lz4"] {
            let input = vec![batch(&["a", "b", "a"], 0), batch(&["a", "b", "c"], 3)];
            let done = Harness::<ArrowFileEncoder>::encode(
                &input[0].schema(),
                &[("compression", compression)],
                &input,
            )
            .unwrap();
            assert_eq!(&done.bytes[..6], b"ARROW1");
            assert_eq!(done.summary.rows, 6);
            assert_eq!(
                done.summary.metadata,
                vec![
                    ("record-batches".to_owned(), "2".to_owned()),
                    ("compression".to_owned(), compression.to_owned())
                ]
            );
            assert_eq!(read(done.bytes), input, "{compression}");
        }
    }

    #[test]
    fn dictionary_replacement_is_invalid_input() {
        let input = vec![batch(&["a", "b"], 0), batch(&["x"], 2)];
        let err = Harness::<ArrowFileEncoder>::encode(&input[0].schema(), &[], &input).unwrap_err();
        assert!(matches!(err, EncodeError::InvalidInput(_)), "{err}");
    }

    #[test]
    fn empty_file_is_valid() {
        let schema = batch(&[], 0).schema();
        let done = Harness::<ArrowFileEncoder>::encode(&schema, &[], &[]).unwrap();
        assert!(read(done.bytes).is_empty());
        let err =
            Harness::<ArrowFileEncoder>::open(&schema, &[("compression", "zstd")]).unwrap_err();
        assert!(err.message().contains("expected one of none, lz4"), "{err}");
    }
}
