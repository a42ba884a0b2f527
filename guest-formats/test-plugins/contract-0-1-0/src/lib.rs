//! Test plugin `contract-0-1-0`: an encoder built against the first contract,
//! `atio:encoder@0.1.0` (the frozen copy in `wit/`), which has no header calls. Hosts of any
//! later 0.1.x must still run it. It writes one line per batch: `batch <n>: <bytes> bytes of IPC`.

// The generated glue is `unsafe` FFI code; the workspace denies unsafe_code elsewhere.
#[allow(unsafe_code)]
mod component {
    wit_bindgen::generate!({
        path: "wit",
        world: "encoder-plugin",
    });

    use std::cell::Cell;

    use atio::encoder::sink::Output;
    use exports::atio::encoder::encoder::{
        EncodeError, FormatInfo, Guest, GuestSession, Session, Summary,
    };

    /// The exported encoder.
    #[derive(Debug)]
    struct FirstContract;

    impl Guest for FirstContract {
        type Session = Lines;

        fn info() -> FormatInfo {
            FormatInfo {
                name: "test-contract-0-1-0".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                media_type: "text/plain".into(),
                extensions: vec!["txt".into()],
                options: Vec::new(),
            }
        }
    }

    /// One session: a line per batch.
    #[derive(Debug)]
    struct Lines {
        out: Output,
        batches: Cell<u64>,
    }

    impl GuestSession for Lines {
        fn open(
            _schema: Vec<u8>,
            _options: Vec<(String, String)>,
            out: Output,
        ) -> Result<Session, EncodeError> {
            Ok(Session::new(Lines {
                out,
                batches: Cell::new(0),
            }))
        }

        fn write_batch(&self, ipc: Vec<u8>) -> Result<(), EncodeError> {
            let batch = self.batches.get() + 1;
            self.batches.set(batch);
            let line = format!("batch {batch}: {} bytes of IPC\n", ipc.len());
            self.out
                .write(line.as_bytes())
                .map_err(EncodeError::SinkRejected)
        }

        fn finish(&self) -> Result<Summary, EncodeError> {
            Ok(Summary {
                rows: 0,
                metadata: Vec::new(),
            })
        }

        fn abort(&self) {}
    }

    export!(FirstContract);
}
