//! Test plugin `part-fail`: encodes in parts of one row; part 1 fails with `invalid-input`,
//! every other part spins forever. The host must report part 1's error and stop the spinning
//! instances at once (not at their deadline), leaving nothing behind.

use atio_encoder_sdk::parts::{EncodedPart, PartEncoder, PartPlan, PlacedPart};
use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, Options, RecordBatch, SchemaRef, SinkWriter, Summary,
    export_encoder,
};

/// The session side: never used by a host that encodes in parts.
#[derive(Debug)]
pub struct PartFail;

impl Encoder for PartFail {
    fn info() -> FormatInfo {
        FormatInfo::new("test-part-fail", env!("CARGO_PKG_VERSION"), "text/plain").extension("txt")
    }

    fn open(_: SchemaRef, _: &mut Options, _: SinkWriter) -> Result<Self, EncodeError> {
        Ok(Self)
    }

    fn write_batch(&mut self, _: &RecordBatch) -> Result<(), EncodeError> {
        Ok(())
    }

    fn finish(self) -> Result<Summary, EncodeError> {
        Ok(Summary::new())
    }
}

/// Part 1 fails; the others never end.
#[derive(Debug)]
pub struct Parts {
    part: u64,
}

impl PartEncoder for Parts {
    fn open(_: SchemaRef, _: &mut Options) -> Result<Self, EncodeError> {
        Ok(Self { part: 0 })
    }

    fn plan(&self) -> PartPlan {
        PartPlan {
            rows: 1,
            bytes: 0,
            split_columns: false,
        }
    }

    fn head(&mut self) -> Result<Vec<u8>, EncodeError> {
        Ok(Vec::new())
    }

    fn begin(&mut self, part: u64, _: &[usize], _: SchemaRef) -> Result<(), EncodeError> {
        self.part = part;
        Ok(())
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        if self.part == 1 {
            return Err(EncodeError::invalid_input("part 1 refused"));
        }
        // A counter kept opaque to the optimiser, so the loop really executes instructions.
        let mut n = batch.num_rows() as u64;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }

    fn end(&mut self) -> Result<EncodedPart, EncodeError> {
        Ok(EncodedPart::default())
    }

    fn tail(&mut self, _: &[PlacedPart]) -> Result<(Vec<u8>, Summary), EncodeError> {
        Ok((Vec::new(), Summary::new()))
    }
}

export_encoder!(PartFail, parts = Parts);
