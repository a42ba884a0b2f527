//! The session state machine behind the WIT `session` resource, independent of the bindings so
//! that it runs natively in tests ([`crate::testing`]).

use std::fmt;

use crate::info::FinishedSummary;
use crate::ipc::{self, BatchDecoder};
use crate::sink::{RawOutput, SinkHandle, SinkWriter};
use crate::{EncodeError, Encoder, Options};

enum State<E> {
    Open(E),
    /// A call failed; the encoder was dropped and its output discarded.
    Failed(EncodeError),
    Finished,
    Aborted,
}

/// One output file being encoded by `E`.
pub(crate) struct Driver<E> {
    state: State<E>,
    sink: SinkHandle,
    decoder: BatchDecoder,
    rows: u64,
}

impl<E> fmt::Debug for Driver<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Open(_) => "open",
            State::Failed(_) => "failed",
            State::Finished => "finished",
            State::Aborted => "aborted",
        };
        f.debug_struct("Driver")
            .field("state", &state)
            .field("rows", &self.rows)
            .finish()
    }
}

impl<E: Encoder> Driver<E> {
    /// `session.open`: check options against `E::info()`, decode the schema, open the encoder,
    /// then reject any option it did not take.
    pub(crate) fn open(
        schema: &[u8],
        options: Vec<(String, String)>,
        output: Box<dyn RawOutput>,
    ) -> Result<Self, EncodeError> {
        let info = E::info();
        let mut options = Options::new(options);
        options.check_declared(&info.options)?;
        let (schema, decoder) = ipc::decode_schema(schema)?;
        let (writer, sink) = SinkWriter::new(output);
        let encoder = match E::open(schema, &mut options, writer) {
            Ok(encoder) => encoder,
            Err(e) => {
                let e = settle(&sink, e);
                sink.discard();
                return Err(e);
            }
        };
        if let Err(e) = options.check_all_taken(&info.options) {
            drop(encoder);
            sink.discard();
            return Err(e);
        }
        Ok(Self {
            state: State::Open(encoder),
            sink,
            decoder,
            rows: 0,
        })
    }

    /// `session.write-batch`.
    pub(crate) fn write_batch(&mut self, ipc: Vec<u8>) -> Result<(), EncodeError> {
        let State::Open(encoder) = &mut self.state else {
            return Err(self.not_open("write-batch"));
        };
        let result = self.decoder.decode(ipc).and_then(|batch| {
            encoder.write_batch(&batch)?;
            Ok(batch.num_rows() as u64)
        });
        let result = match (result, self.sink.rejected()) {
            (_, Some(host)) => Err(EncodeError::SinkRejected(host)),
            (result, None) => result,
        };
        match result {
            Ok(rows) => {
                self.rows += rows;
                Ok(())
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// `session.finish`: the encoder's finish, then the last buffered bytes go to the host.
    pub(crate) fn finish(&mut self) -> Result<FinishedSummary, EncodeError> {
        let State::Open(_) = self.state else {
            return Err(self.not_open("finish"));
        };
        let State::Open(encoder) = std::mem::replace(&mut self.state, State::Finished) else {
            unreachable!("checked above")
        };
        let result = encoder
            .finish()
            .and_then(|summary| self.sink.finish().map(|()| summary).map_err(Into::into));
        match (result, self.sink.rejected()) {
            (Ok(summary), None) => Ok(FinishedSummary {
                rows: self.rows,
                metadata: summary.metadata,
            }),
            (_, Some(host)) => Err(self.fail(EncodeError::SinkRejected(host))),
            (Err(e), None) => Err(self.fail(e)),
        }
    }

    /// `session.abort`: drop the encoder and everything buffered; write nothing.
    pub(crate) fn abort(&mut self) {
        if let State::Open(encoder) = std::mem::replace(&mut self.state, State::Aborted) {
            drop(encoder);
        }
        self.sink.discard();
    }

    fn fail(&mut self, e: EncodeError) -> EncodeError {
        // Dropping the encoder first lets anything its `Drop` writes land in the buffer, which
        // is then discarded.
        self.state = State::Failed(e.clone());
        self.sink.discard();
        e
    }

    fn not_open(&self, call: &str) -> EncodeError {
        EncodeError::internal(match &self.state {
            State::Open(_) => unreachable!("only called when not open"),
            State::Failed(e) => format!("`{call}` called after the session failed ({e})"),
            State::Finished => format!("`{call}` called after `finish`"),
            State::Aborted => format!("`{call}` called after `abort`"),
        })
    }
}

/// After a host refusal, the refusal is what the user must see.
fn settle(sink: &SinkHandle, e: EncodeError) -> EncodeError {
    match sink.rejected() {
        Some(host) => EncodeError::SinkRejected(host),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int32Array, RecordBatch};
    use arrow_schema::SchemaRef;

    use crate::testing::Harness;
    use crate::{EncodeError, Encoder, FormatInfo, OptionSpec, Options, SinkWriter, Summary};

    /// Writes 700 000 bytes and a line per batch; `mode` selects a misbehaviour.
    struct Probe {
        out: SinkWriter,
        mode: String,
    }

    impl Encoder for Probe {
        fn info() -> FormatInfo {
            FormatInfo::new("probe", "0.0.0", "text/plain")
                .option(OptionSpec::new("mode", "misbehaviour"))
                .option(OptionSpec::new("declared-but-ignored", "never taken"))
        }

        fn open(_: SchemaRef, options: &mut Options, out: SinkWriter) -> Result<Self, EncodeError> {
            let mode = options.take_str("mode")?.unwrap_or_default();
            if mode == "fail-open" {
                return Err(EncodeError::invalid_input("no"));
            }
            Ok(Self { out, mode })
        }

        fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
            let result = self.out.write_all(&vec![b'x'; 700_000]);
            match self.mode.as_str() {
                // Ignores the host's refusal.
                "swallow" => Ok(()),
                // Rewords it, as some libraries do.
                "reword" => result.map_err(|_| EncodeError::internal("library failed")),
                _ => {
                    result?;
                    writeln!(self.out, "{}", batch.num_rows())?;
                    Ok(())
                }
            }
        }

        fn finish(self) -> Result<Summary, EncodeError> {
            Ok(Summary::new().with("mode", self.mode))
        }
    }

    fn batch(n: i32) -> RecordBatch {
        let a: ArrayRef = Arc::new(Int32Array::from_iter_values(0..n));
        RecordBatch::try_from_iter([("a", a)]).unwrap()
    }

    #[test]
    fn counts_rows_and_flushes_at_finish() {
        let done =
            Harness::<Probe>::encode(&batch(0).schema(), &[], &[batch(3), batch(4)]).unwrap();
        assert_eq!(done.summary.rows, 7);
        assert_eq!(done.summary.metadata, vec![("mode".into(), String::new())]);
        assert_eq!(done.bytes.len(), 2 * 700_002);
        assert_eq!(done.host_writes, vec![1 << 20, 2 * 700_002 - (1 << 20)]);
    }

    #[test]
    fn options_declared_but_not_taken_are_rejected() {
        let schema = batch(0).schema();
        let err = Harness::<Probe>::open(&schema, &[("declared-but-ignored", "1")]).unwrap_err();
        assert_eq!(
            err,
            EncodeError::InvalidOptions(
                "option `declared-but-ignored` has no effect with the other options given; \
                 remove it"
                    .into()
            )
        );
        let err = Harness::<Probe>::open(&schema, &[("mode", "fail-open")]).unwrap_err();
        assert_eq!(err, EncodeError::InvalidInput("no".into()));
    }

    #[test]
    fn host_refusal_is_reported_whatever_the_encoder_returns() {
        let expected = EncodeError::SinkRejected("output limit of 10 bytes exceeded".into());
        for mode in ["", "swallow", "reword"] {
            let mut h =
                Harness::<Probe>::open_with_limit(&batch(0).schema(), &[("mode", mode)], 10)
                    .unwrap();
            // The first batch stays in the 1 MiB buffer; the second fills it and the host
            // refuses the chunk.
            h.write_batch(&batch(1)).unwrap();
            assert_eq!(
                h.write_batch(&batch(1)).unwrap_err(),
                expected,
                "mode {mode:?}"
            );
            let later = h.write_batch(&batch(1)).unwrap_err();
            assert!(matches!(later, EncodeError::Internal(_)), "{later}");
            assert!(
                later.message().contains("after the session failed"),
                "{later}"
            );
        }
    }

    #[test]
    fn refusal_at_final_flush_is_sink_rejected() {
        let mut h = Harness::<Probe>::open_with_limit(&batch(0).schema(), &[], 10).unwrap();
        h.write_batch(&batch(1)).unwrap();
        assert_eq!(
            h.finish().unwrap_err(),
            EncodeError::SinkRejected("output limit of 10 bytes exceeded".into())
        );
        assert!(matches!(h.finish(), Err(EncodeError::Internal(_))));
    }
}
