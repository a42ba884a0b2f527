//! Test plugin `spin`: loops forever in `write-batch`. The host must interrupt it (epoch
//! deadline or fuel) and discard the output.

use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, Options, RecordBatch, SchemaRef, SinkWriter, Summary,
    export_encoder,
};

/// Never returns from `write_batch`.
#[derive(Debug)]
pub struct Spin {
    _out: SinkWriter,
}

impl Encoder for Spin {
    fn info() -> FormatInfo {
        FormatInfo::new("test-spin", env!("CARGO_PKG_VERSION"), "text/plain").extension("txt")
    }

    fn open(_: SchemaRef, _: &mut Options, out: SinkWriter) -> Result<Self, EncodeError> {
        Ok(Self { _out: out })
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        // A counter kept opaque to the optimiser, so the loop really executes instructions.
        let mut n = batch.num_rows() as u64;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }

    fn finish(self) -> Result<Summary, EncodeError> {
        Ok(Summary::new())
    }
}

export_encoder!(Spin);
