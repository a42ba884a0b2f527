//! Test plugin `fail-finish`: writes 1 MiB per batch in `write-batch` (one full sink chunk, so
//! the bytes really reach the host's output), then fails in `finish` with
//! `internal("atio-test: finish failed")`. The host must discard the partial output.

use std::io::Write;

use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, Options, RecordBatch, SINK_BUFFER_SIZE, SchemaRef,
    SinkWriter, Summary, export_encoder,
};

/// Writes 1 MiB per batch, then refuses to finish.
#[derive(Debug)]
pub struct FailFinish {
    out: SinkWriter,
}

impl Encoder for FailFinish {
    fn info() -> FormatInfo {
        FormatInfo::new("test-fail-finish", env!("CARGO_PKG_VERSION"), "text/plain")
            .extension("txt")
    }

    fn open(_: SchemaRef, _: &mut Options, out: SinkWriter) -> Result<Self, EncodeError> {
        Ok(Self { out })
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        let line = format!("atio-test: partial batch of {} rows\n", batch.num_rows());
        let mut chunk = line.into_bytes();
        chunk.resize(SINK_BUFFER_SIZE, b'.');
        // A full chunk goes to the host at once.
        self.out.write_all(&chunk)?;
        Ok(())
    }

    fn finish(self) -> Result<Summary, EncodeError> {
        Err(EncodeError::internal("atio-test: finish failed"))
    }
}

export_encoder!(FailFinish);
