//! Test plugin `panic`: panics in `write-batch` with the message `atio-test-panic: boom`. The
//! panic traps the component; the host must report a crash and discard the output.

use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, Options, RecordBatch, SchemaRef, SinkWriter, Summary,
    export_encoder,
};

/// Panics on the first batch.
#[derive(Debug)]
pub struct Panic {
    _out: SinkWriter,
}

impl Encoder for Panic {
    fn info() -> FormatInfo {
        FormatInfo::new("test-panic", env!("CARGO_PKG_VERSION"), "text/plain").extension("txt")
    }

    fn open(_: SchemaRef, _: &mut Options, out: SinkWriter) -> Result<Self, EncodeError> {
        Ok(Self { _out: out })
    }

    fn write_batch(&mut self, _: &RecordBatch) -> Result<(), EncodeError> {
        panic!("atio-test-panic: boom");
    }

    fn finish(self) -> Result<Summary, EncodeError> {
        Ok(Summary::new())
    }
}

export_encoder!(Panic);
