//! # atio encoder SDK
//!
//! Write a format encoder for [atio]: a sandboxed WebAssembly component that turns a stream of
//! Arrow record batches into the bytes of one output file.
//!
//! An encoder sees no path, no file, no environment and no network. The host gives it the
//! schema, the user's options and an output; the encoder writes bytes there, and the host alone
//! decides whether they become a file (all-or-nothing). This crate hides the component-model
//! plumbing (the WIT contract `atio:encoder@0.1.2`, world `parallel-encoder-plugin`) behind one trait:
//!
//! * implement [`Encoder`] for your type: [`info`](Encoder::info) describes the format and its
//!   options, [`open`](Encoder::open) starts a file, [`write_batch`](Encoder::write_batch)
//!   encodes one [`RecordBatch`], [`finish`](Encoder::finish) writes footers;
//! * call [`export_encoder!`] once with that type;
//! * build the crate as a `cdylib` for `wasm32-wasip2`.
//!
//! The SDK does the rest: it decodes the Arrow IPC messages the host sends, parses and
//! validates options ([`Options`]), buffers output into large host writes ([`SinkWriter`]),
//! turns host refusals into `sink-rejected` errors carrying the host's message, counts rows,
//! and enforces the session protocol (after `finish`, `abort` or a failed call, every call is
//! rejected with `internal`).
//!
//! ## A complete encoder
//!
//! ```no_run
//! use std::io::Write;
//! use atio_encoder_sdk::{
//!     export_encoder, EncodeError, Encoder, FormatInfo, OptionSpec, Options, RecordBatch,
//!     SchemaRef, SinkWriter, Summary,
//! };
//!
//! /// Writes one line per batch: its row count.
//! pub struct RowCounts {
//!     out: SinkWriter,
//!     prefix: String,
//!     batches: u64,
//! }
//!
//! impl Encoder for RowCounts {
//!     fn info() -> FormatInfo {
//!         FormatInfo::new("row-counts", env!("CARGO_PKG_VERSION"), "text/plain")
//!             .extension("txt")
//!             .option(OptionSpec::new("prefix", "text written before each count").default_value(""))
//!     }
//!
//!     fn open(_schema: SchemaRef, options: &mut Options, out: SinkWriter) -> Result<Self, EncodeError> {
//!         let prefix = options.take_str("prefix")?.unwrap_or_default();
//!         Ok(RowCounts { out, prefix, batches: 0 })
//!     }
//!
//!     fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
//!         writeln!(self.out, "{}{}", self.prefix, batch.num_rows())?; // io::Error -> EncodeError
//!         self.batches += 1;
//!         Ok(())
//!     }
//!
//!     fn finish(self) -> Result<Summary, EncodeError> {
//!         Ok(Summary::new().with("batches", self.batches))
//!     }
//! }
//!
//! export_encoder!(RowCounts);
//! ```
//!
//! with this `Cargo.toml`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib"]
//!
//! [dependencies]
//! atio-encoder-sdk = "0.1"
//! ```
//!
//! and built with `cargo build --release --target wasm32-wasip2`; the component is
//! `target/wasm32-wasip2/release/<crate>.wasm`.
//!
//! ## Rules for encoders
//!
//! * **Stream.** Memory is limited by the host. Encode each batch as it comes and write it
//!   out; keep only what the format forces you to keep (a row group, a footer index).
//! * **Write through the [`SinkWriter`].** It is the only output. It batches small writes into
//!   1 MiB host calls, so write whenever convenient, but don't wrap it in another buffer.
//! * **No filesystem, sockets or environment.** The host refuses to load a component that
//!   imports `wasi:filesystem`, `wasi:sockets` or `wasi:http`. Avoid `std::fs`, `std::net`
//!   and anything that uses them. (`std::env`, clocks and random numbers are linked but
//!   carry no information.)
//! * **Fail with a message for people.** Return [`EncodeError`]s that name the option, column
//!   or type at fault. Reject unsupported schemas and options in [`Encoder::open`], before
//!   any data is sent. Don't panic: a panic traps the component and the user only learns
//!   that the encoder crashed.
//!
//! ## Using every core
//!
//! A host may encode one file on several instances at once when the encoder also exports the
//! contract's optional `parts` interface (see [`parts`]). Formats that are a header followed by
//! independent rows opt in with one line:
//! `export_encoder!(MyEncoder, parts = atio_encoder_sdk::parts::Concatenated<MyEncoder>)`;
//! formats with a footer implement [`parts::PartEncoder`]. Without it, the host uses one
//! session per file.
//!
//! ## Testing
//!
//! [`testing::Harness`] runs an encoder natively through the same session logic (IPC
//! encoding and decoding included), so encoder crates can be unit-tested with `cargo test`
//! on the build machine's own target. [`testing::encode_in_parts`] plays the host of the
//! `parts` interface on any number of instances, and
//! [`testing::assert_concatenated_matches_session`] checks a [`parts::Concatenated`] encoder.
//!
//! [atio]: https://example.invalid/atio

#![warn(missing_docs)]

mod error;
mod info;
mod ipc;
#[cfg(target_arch = "wasm32")]
mod memcmp;
mod options;
pub mod parts;
mod session;
mod sink;
pub mod testing;
pub mod text;

#[doc(inline)]
pub use crate::error::EncodeError;
#[doc(inline)]
pub use crate::info::{FinishedSummary, FormatInfo, OptionSpec, Summary};
#[doc(inline)]
pub use crate::options::Options;
#[doc(inline)]
pub use crate::sink::{MAX_HEADER_SIZE, SINK_BUFFER_SIZE, SinkRejected, SinkWriter};

/// The Arrow record batch type encoders receive.
pub use arrow_array::RecordBatch;
/// A shared Arrow schema, as passed to [`Encoder::open`].
pub use arrow_schema::SchemaRef;

/// Re-exported so encoders use exactly the Arrow version the SDK decodes with.
pub use arrow_array;
/// Re-exported so encoders use exactly the Arrow version the SDK decodes with.
pub use arrow_buffer;
/// Re-exported so encoders use exactly the Arrow version the SDK decodes with.
pub use arrow_ipc;
/// Re-exported so encoders use exactly the Arrow version the SDK decodes with.
pub use arrow_schema;

/// A format encoder: the one trait a plugin implements.
///
/// The host creates one session per output file and calls, in order: [`open`](Self::open),
/// any number of [`write_batch`](Self::write_batch), then either [`finish`](Self::finish) or
/// abort (which simply drops the value: implement [`Drop`] if you hold anything beyond
/// memory, and don't write from it — whatever `Drop` writes is discarded).
///
/// If `open`, `write_batch` or `finish` returns an error, the session is over: the SDK drops
/// the encoder and discards the output, and rejects every later call.
///
/// Register the type with [`export_encoder!`].
pub trait Encoder: Sized + 'static {
    /// Describes the format: name, version, media type, extensions and every option `open`
    /// accepts.
    ///
    /// Must be pure; it may be called any number of times, before, during or without any
    /// session. The SDK uses [`FormatInfo::options`] to reject undeclared options before
    /// calling `open`, and to list the known options in its error messages.
    fn info() -> FormatInfo;

    /// Starts a file with this `schema`.
    ///
    /// Read every option you support from `options` (see [`Options`]); the SDK rejects any
    /// option you leave untaken once `open` returns. Reject bad option values and schemas
    /// the format cannot hold here, before any data is sent. `out` is the file's only
    /// output: keep it (or give it to your writer library) and write everything there.
    fn open(schema: SchemaRef, options: &mut Options, out: SinkWriter)
    -> Result<Self, EncodeError>;

    /// Encodes one batch. Its schema is the one given to `open`. Batches may have zero rows.
    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError>;

    /// Writes whatever remains (footers, trailing buffers) to the [`SinkWriter`] and reports
    /// facts for the manifest. The SDK then sends the sink's last buffered bytes to the host;
    /// the row count is added by the SDK.
    fn finish(self) -> Result<Summary, EncodeError>;
}

/// Exports an [`Encoder`] implementation as this component's `atio:encoder/encoder`
/// interface, and its `atio:encoder/parts` interface (world `parallel-encoder-plugin`).
///
/// Call it exactly once, at the top level of a `cdylib` crate:
///
/// ```ignore
/// atio_encoder_sdk::export_encoder!(MyEncoder);
/// // or, to let the host encode one file on several instances at once (see [`parts`]):
/// atio_encoder_sdk::export_encoder!(MyEncoder, parts = atio_encoder_sdk::parts::Concatenated<MyEncoder>);
/// ```
///
/// Without `parts =`, the parts interface answers `unsupported` and the host uses one session
/// per file.
///
/// The crate using it needs no other dependency than `atio-encoder-sdk`.
#[macro_export]
macro_rules! export_encoder {
    ($encoder:ty) => {
        $crate::export_encoder!($encoder, parts = $crate::parts::SessionsOnly);
    };
    ($encoder:ty, parts = $parts:ty) => {
        #[doc(hidden)]
        #[allow(missing_debug_implementations)]
        pub struct __AtioEncoderExport;

        impl $crate::bindings::exports::atio::encoder::encoder::Guest for __AtioEncoderExport {
            type Session = $crate::__private::ComponentSession<$encoder>;

            fn info() -> $crate::bindings::exports::atio::encoder::encoder::FormatInfo {
                $crate::__private::info::<$encoder>()
            }
        }

        impl $crate::bindings::exports::atio::encoder::parts::Guest for __AtioEncoderExport {
            type PartEncoder = $crate::__private::ComponentPartEncoder<$encoder, $parts>;
        }

        $crate::bindings::__atio_export_encoder_plugin!(__AtioEncoderExport with_types_in $crate::bindings);
    };
}

/// Raw bindings of the WIT world `parallel-encoder-plugin` (`atio:encoder@0.1.2`), generated by
/// `wit-bindgen`.
///
/// [`Encoder`] and [`export_encoder!`] cover what an encoder needs; these are here for plugins
/// that want to implement the exports by hand (use the `bindings::__atio_export_encoder_plugin!` macro
/// with `with_types_in atio_encoder_sdk::bindings` to export them).
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "parallel-encoder-plugin",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__atio_export_encoder_plugin",
        default_bindings_module: "atio_encoder_sdk::bindings",
    });
}

mod component;

#[doc(hidden)]
pub mod __private {
    pub use crate::component::{ComponentPartEncoder, ComponentSession, info};
}
