//! Test plugin `header-abuse`: calls `output.reserve-header` and `output.rewrite-header`
//! directly (not through the SDK, which refuses most misuse before the host sees it), all in
//! `finish`, as option `mode` says:
//! * `good`: reserves 4 bytes, writes `....body`, rewrites `HEAD`: the output is `HEADbody`;
//! * `unused`: reserves 4 bytes, writes `....body`, never rewrites: the output is `....body`;
//! * `late`: writes `body;`, then reserves (refused, which is not final) and writes the refusal;
//! * `oversized`: reserves 65537 bytes and fails with the refusal as `unsupported`;
//! * `unreserved`, `too-long`, `beyond-written`: a rewrite the host must refuse; the plugin
//!   passes the refusal on as `sink-rejected`;
//! * `ignore`: like `too-long`, but the plugin ignores the refusal and reports success.

// The generated glue is `unsafe` FFI code; the workspace denies unsafe_code elsewhere.
#[allow(unsafe_code)]
mod component {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "encoder-plugin",
    });

    use atio::encoder::sink::Output;
    use exports::atio::encoder::encoder::{
        EncodeError, FormatInfo, Guest, GuestSession, Session, Summary,
    };

    /// The exported encoder.
    #[derive(Debug)]
    struct HeaderAbuse;

    impl Guest for HeaderAbuse {
        type Session = Abuse;

        fn info() -> FormatInfo {
            FormatInfo {
                name: "test-header-abuse".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                media_type: "text/plain".into(),
                extensions: vec!["txt".into()],
                options: Vec::new(),
            }
        }
    }

    /// One session: the output and what to do with it.
    #[derive(Debug)]
    struct Abuse {
        out: Output,
        mode: String,
    }

    impl GuestSession for Abuse {
        fn open(
            _schema: Vec<u8>,
            options: Vec<(String, String)>,
            out: Output,
        ) -> Result<Session, EncodeError> {
            let mode = options
                .into_iter()
                .find_map(|(key, value)| (key == "mode").then_some(value))
                .unwrap_or_default();
            Ok(Session::new(Abuse { out, mode }))
        }

        fn write_batch(&self, _ipc: Vec<u8>) -> Result<(), EncodeError> {
            Ok(())
        }

        fn finish(&self) -> Result<Summary, EncodeError> {
            let out = &self.out;
            let reserve = |size| out.reserve_header(size).map_err(EncodeError::Internal);
            let write = |bytes: &[u8]| out.write(bytes).map_err(EncodeError::SinkRejected);
            let rewrite =
                |bytes: &[u8]| out.rewrite_header(bytes).map_err(EncodeError::SinkRejected);
            match self.mode.as_str() {
                "good" => {
                    reserve(4)?;
                    write(b"....body")?;
                    rewrite(b"HEAD")?;
                }
                "unused" => {
                    reserve(4)?;
                    write(b"....body")?;
                }
                "late" => {
                    write(b"body;")?;
                    let Err(refusal) = out.reserve_header(4) else {
                        return Err(EncodeError::Internal("a late reserve was accepted".into()));
                    };
                    write(refusal.as_bytes())?;
                }
                "oversized" => {
                    return Err(match out.reserve_header(65537) {
                        Ok(()) => EncodeError::Internal("65537 bytes reserved".into()),
                        Err(refusal) => EncodeError::Unsupported(refusal),
                    });
                }
                "unreserved" => {
                    write(b"0123456789")?;
                    rewrite(b"AB")?;
                }
                "too-long" => {
                    reserve(4)?;
                    write(b"0123456789")?;
                    rewrite(b"ABCDEFGH")?;
                }
                "beyond-written" => {
                    reserve(64)?;
                    write(b"0123456789")?;
                    rewrite(&[b'x'; 32])?;
                }
                "ignore" => {
                    reserve(4)?;
                    write(b"0123456789")?;
                    let _ = out.rewrite_header(b"ABCDEFGH");
                }
                other => {
                    return Err(EncodeError::InvalidOptions(format!(
                        "unknown mode `{other}`"
                    )));
                }
            }
            Ok(Summary {
                rows: 0,
                metadata: Vec::new(),
            })
        }

        fn abort(&self) {}
    }

    export!(HeaderAbuse);
}
