//! Test plugin `panic`: prints about 1 MiB of chatter to stderr, then panics in `write-batch`
//! with the message `atio-test-panic: boom`. The panic traps the component; the host must report
//! a crash carrying the panic message (the tail of stderr) and discard the output, and must not
//! trap on, or buffer, the chatter.

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
        for line in 0..20_000 {
            eprintln!("atio-test-panic: chatter line {line:>6} .........................");
        }
        panic!("atio-test-panic: boom");
    }

    fn finish(self) -> Result<Summary, EncodeError> {
        Ok(Summary::new())
    }
}

export_encoder!(Panic);
