//! Test plugin `output-bomb`: writes output without bound in `write-batch`, 1 MiB per host
//! call, until the host's output refuses bytes; then returns `sink-rejected` with the host's
//! message (which the host must show unchanged) and the host must discard the output.

use std::io::Write;

use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, Options, RecordBatch, SINK_BUFFER_SIZE, SchemaRef,
    SinkWriter, Summary, export_encoder,
};

/// Writes 1 MiB chunks until the sink fails.
#[derive(Debug)]
pub struct OutputBomb {
    out: SinkWriter,
}

impl Encoder for OutputBomb {
    fn info() -> FormatInfo {
        FormatInfo::new("test-output-bomb", env!("CARGO_PKG_VERSION"), "text/plain")
            .extension("txt")
    }

    fn open(_: SchemaRef, _: &mut Options, out: SinkWriter) -> Result<Self, EncodeError> {
        Ok(Self { out })
    }

    fn write_batch(&mut self, _: &RecordBatch) -> Result<(), EncodeError> {
        // A chunk of exactly the sink's buffer size goes to the host in one `output.write`.
        let chunk = vec![b'x'; SINK_BUFFER_SIZE];
        loop {
            if let Err(e) = self.out.write_all(&chunk) {
                // `From<io::Error>` turns the refusal into `sink-rejected(<host message>)`.
                return Err(EncodeError::from(e));
            }
        }
    }

    fn finish(self) -> Result<Summary, EncodeError> {
        Ok(Summary::new())
    }
}

export_encoder!(OutputBomb);
