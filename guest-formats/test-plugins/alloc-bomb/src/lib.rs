//! Test plugin `alloc-bomb`: allocates (and touches) memory without bound in `write-batch`.
//! The host's memory limit must stop it: the failed `memory.grow` makes the allocation abort,
//! which traps the component.

use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, Options, RecordBatch, SchemaRef, SinkWriter, Summary,
    export_encoder,
};

/// Grows its memory in 16 MiB steps until the host says no.
#[derive(Debug)]
pub struct AllocBomb {
    _out: SinkWriter,
    hoard: Vec<Vec<u8>>,
}

const CHUNK: usize = 16 << 20;

impl Encoder for AllocBomb {
    fn info() -> FormatInfo {
        FormatInfo::new("test-alloc-bomb", env!("CARGO_PKG_VERSION"), "text/plain").extension("txt")
    }

    fn open(_: SchemaRef, _: &mut Options, out: SinkWriter) -> Result<Self, EncodeError> {
        Ok(Self {
            _out: out,
            hoard: Vec::new(),
        })
    }

    fn write_batch(&mut self, _: &RecordBatch) -> Result<(), EncodeError> {
        loop {
            // Non-zero contents, so every page is really written.
            let chunk = vec![0xa5u8; CHUNK];
            self.hoard.push(std::hint::black_box(chunk));
        }
    }

    fn finish(self) -> Result<Summary, EncodeError> {
        Ok(Summary::new())
    }
}

export_encoder!(AllocBomb);
