//! Test plugin `wrong-version`: a well-formed encoder built against `atio:encoder@0.2.0` (the
//! copy of the contract in `wit/`, identical but for the version). The host implements 0.1.x, so
//! it must refuse to load it, naming both versions, before calling anything.

// The generated glue is `unsafe` FFI code; the workspace denies unsafe_code elsewhere.
#[allow(unsafe_code)]
mod component {
    wit_bindgen::generate!({
        path: "wit",
        world: "encoder-plugin",
    });

    use atio::encoder::sink::Output;
    use exports::atio::encoder::encoder::{
        EncodeError, FormatInfo, Guest, GuestSession, Session, Summary,
    };

    /// The exported encoder.
    #[derive(Debug)]
    struct WrongVersion;

    impl Guest for WrongVersion {
        type Session = NeverOpened;

        fn info() -> FormatInfo {
            FormatInfo {
                name: "test-wrong-version".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                media_type: "text/plain".into(),
                extensions: vec!["txt".into()],
                options: Vec::new(),
            }
        }
    }

    /// A session the host never gets to open.
    #[derive(Debug)]
    struct NeverOpened;

    impl GuestSession for NeverOpened {
        fn open(
            _schema: Vec<u8>,
            _options: Vec<(String, String)>,
            _out: Output,
        ) -> Result<Session, EncodeError> {
            Err(EncodeError::Internal(
                "atio-test: a 0.2.0 plugin was opened by a host that should have refused it".into(),
            ))
        }

        fn write_batch(&self, _ipc: Vec<u8>) -> Result<(), EncodeError> {
            Ok(())
        }

        fn finish(&self) -> Result<Summary, EncodeError> {
            Ok(Summary {
                rows: 0,
                metadata: Vec::new(),
            })
        }

        fn abort(&self) {}
    }

    export!(WrongVersion);
}
