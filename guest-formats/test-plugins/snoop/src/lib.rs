//! Test plugin `snoop`: looks for another session's bytes in memory it never wrote. The host
//! reuses instance slots (and their resident pages) across sessions; each session must still
//! start from fresh memory.
//!
//! Option `mode`, acted on in `finish`:
//! * `fill`: fills [`FILL`] bytes of heap with [`MARKER`], then frees them;
//! * `peek`: allocates [`PEEK`] bytes without initialising them and writes, as decimal text,
//!   how many of them hold [`MARKER`] (counted in whole 8-byte words);
//! * `fill-then-peek`: both, in one session (the control: the freed bytes are handed out again).

use std::alloc::{Layout, alloc, dealloc};
use std::io::Write;

use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, OptionSpec, Options, RecordBatch, SchemaRef, SinkWriter,
    Summary, export_encoder,
};

const MARKER: u8 = 0xa5;
/// More than the host keeps resident per slot (64 MiB), so both of its reset paths (resetting
/// dirtied pages in place, returning the rest to the kernel) are crossed.
const FILL: usize = 96 << 20;
const PEEK: usize = 128 << 20;

/// See the crate docs.
#[derive(Debug)]
pub struct Snoop {
    out: SinkWriter,
    mode: &'static str,
}

impl Encoder for Snoop {
    fn info() -> FormatInfo {
        FormatInfo::new("test-snoop", env!("CARGO_PKG_VERSION"), "text/plain")
            .extension("txt")
            .option(OptionSpec::new("mode", "fill, peek or fill-then-peek").default_value("peek"))
    }

    fn open(_: SchemaRef, options: &mut Options, out: SinkWriter) -> Result<Self, EncodeError> {
        let mode = options.take_enum("mode", &["fill", "peek", "fill-then-peek"], "peek")?;
        Ok(Self { out, mode })
    }

    fn write_batch(&mut self, _: &RecordBatch) -> Result<(), EncodeError> {
        Ok(())
    }

    fn finish(mut self) -> Result<Summary, EncodeError> {
        if self.mode != "peek" {
            std::hint::black_box(vec![MARKER; FILL]);
        }
        if self.mode != "fill" {
            let layout = Layout::from_size_align(PEEK, 8).expect("valid layout");
            let marker_word = u64::from_ne_bytes([MARKER; 8]);
            // SAFETY: reading memory this program never wrote is the point of this hostile
            // plugin; at the WebAssembly level every byte of linear memory has a value.
            #[allow(unsafe_code)]
            let found = unsafe {
                let bytes = alloc(layout);
                if bytes.is_null() {
                    return Err(EncodeError::internal("snoop: allocation failed"));
                }
                let words = bytes.cast::<u64>();
                let found = (0..PEEK / 8)
                    .filter(|&i| std::ptr::read_volatile(words.add(i)) == marker_word)
                    .count()
                    * 8;
                dealloc(bytes, layout);
                found
            };
            write!(self.out, "{found}")?;
        }
        Ok(Summary::new())
    }
}

export_encoder!(Snoop);
