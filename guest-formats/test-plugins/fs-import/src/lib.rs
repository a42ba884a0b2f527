//! Test plugin `fs-import`: reads a file with `std::fs` in `open`, so the component imports
//! `wasi:filesystem`. The host must refuse to load it, before any call.

use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, Options, RecordBatch, SchemaRef, SinkWriter, Summary,
    export_encoder,
};

/// Tries to read `/etc/passwd` when a file is opened.
#[derive(Debug)]
pub struct FsImport {
    _out: SinkWriter,
}

impl Encoder for FsImport {
    fn info() -> FormatInfo {
        FormatInfo::new("test-fs-import", env!("CARGO_PKG_VERSION"), "text/plain").extension("txt")
    }

    fn open(_: SchemaRef, _: &mut Options, out: SinkWriter) -> Result<Self, EncodeError> {
        match std::fs::read("/etc/passwd") {
            Ok(bytes) => Err(EncodeError::internal(format!(
                "atio-test: read {} bytes from the host's /etc/passwd",
                bytes.len()
            ))),
            Err(_) => Ok(Self { _out: out }),
        }
    }

    fn write_batch(&mut self, _: &RecordBatch) -> Result<(), EncodeError> {
        Ok(())
    }

    fn finish(self) -> Result<Summary, EncodeError> {
        Ok(Summary::new())
    }
}

export_encoder!(FsImport);
