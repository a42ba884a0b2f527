//! Test plugin `fail-finish`: writes some bytes in `write-batch`, then fails in `finish` with
//! `internal("atio-test: finish failed")`. The host must discard the partial output.

use std::io::Write;

use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, Options, RecordBatch, SchemaRef, SinkWriter, Summary,
    export_encoder,
};

/// Writes a line per batch, then refuses to finish.
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
        writeln!(self.out, "atio-test: partial batch of {} rows", batch.num_rows())?;
        Ok(())
    }

    fn finish(self) -> Result<Summary, EncodeError> {
        Err(EncodeError::internal("atio-test: finish failed"))
    }
}

export_encoder!(FailFinish);
