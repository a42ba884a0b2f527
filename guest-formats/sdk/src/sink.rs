//! [`SinkWriter`]: the buffered [`std::io::Write`] over the host's `output`.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

/// Size of the [`SinkWriter`] buffer, and the size of the chunks handed to the host: 1 MiB.
///
/// Each `output.write` call crosses the sandbox boundary (and copies the bytes into the host),
/// so the SDK only calls it with chunks of this size, with one exception: a single `write` of
/// at least this many bytes is passed to the host directly, without copying it into the
/// buffer first. The last, partial chunk is written when the session finishes.
pub const SINK_BUFFER_SIZE: usize = 1 << 20;

/// Where a [`SinkWriter`]'s bytes finally go: the WIT `output` resource in a component, or an
/// in-memory recorder in [`testing`](crate::testing).
pub(crate) trait RawOutput: Send {
    /// Appends `bytes`; an `Err` carries the host's message and is final.
    fn write(&mut self, bytes: &[u8]) -> Result<(), String>;

    /// `output.reserve-header`: an `Err` says why this output cannot rewrite (not final).
    fn reserve_header(&mut self, size: u32) -> Result<(), String>;

    /// `output.rewrite-header`; an `Err` carries the host's message and is final.
    fn rewrite_header(&mut self, header: &[u8]) -> Result<(), String>;
}

/// Largest header [`SinkWriter::reserve_header`] accepts (the host's limit): 64 KiB.
pub const MAX_HEADER_SIZE: usize = 1 << 16;

/// The error [`SinkWriter`] returns (inside an [`io::Error`] of kind
/// [`io::ErrorKind::Other`]) once the host has refused bytes.
///
/// You rarely need to name this type: converting the `io::Error` (or an error of a library
/// that wraps it, see [`EncodeError::from_error`](crate::EncodeError::from_error)) into an
/// [`EncodeError`](crate::EncodeError) yields
/// [`EncodeError::SinkRejected`](crate::EncodeError::SinkRejected) with the host's message
/// unchanged. And whatever your encoder returns after a refusal, the SDK reports the refusal:
/// see [`SinkWriter`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkRejected {
    message: String,
}

impl SinkRejected {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The host's message, exactly as the host wrote it.
    pub fn host_message(&self) -> &str {
        &self.message
    }

    pub(crate) fn into_io_error(self) -> io::Error {
        io::Error::other(self)
    }
}

impl fmt::Display for SinkRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the output refused bytes: {}", self.message)
    }
}

impl std::error::Error for SinkRejected {}

/// Locks the sink state. Components are single-threaded, so the lock is never contended; it
/// exists because writer libraries (e.g. `parquet`) require `Send` writers. A poisoned lock
/// (a panic while writing, only possible in native tests) is taken over as is.
fn lock(state: &Mutex<SinkState>) -> MutexGuard<'_, SinkState> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Shared state behind a [`SinkWriter`] and the SDK's own handle on it.
struct SinkState {
    /// `None` once the session is over (finished or aborted).
    output: Option<Box<dyn RawOutput>>,
    buf: Vec<u8>,
    /// The host's message for the first refused write; every later write fails with it.
    error: Option<String>,
    /// Bytes accepted by the host so far.
    sent: u64,
}

impl SinkState {
    fn check(&self) -> io::Result<()> {
        if let Some(message) = &self.error {
            return Err(SinkRejected::new(message.clone()).into_io_error());
        }
        if self.output.is_none() {
            return Err(io::Error::other(
                "atio-encoder-sdk: the session is over; its output is closed",
            ));
        }
        Ok(())
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.check()?;
        if bytes.is_empty() {
            return Ok(());
        }
        let output = self.output.as_mut().expect("checked above");
        let sent = output.write(bytes);
        self.settle(sent)?;
        self.sent += bytes.len() as u64;
        Ok(())
    }

    /// Makes a host refusal sticky.
    fn settle(&mut self, outcome: Result<(), String>) -> io::Result<()> {
        outcome.map_err(|message| {
            self.error = Some(message.clone());
            SinkRejected::new(message).into_io_error()
        })
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return self.check();
        }
        let buf = std::mem::take(&mut self.buf);
        let result = self.send(&buf);
        self.buf = buf;
        self.buf.clear();
        result
    }
}

/// A buffered, write-only byte stream to the host's output: the only place an encoder's bytes
/// can go.
///
/// The SDK hands one to [`Encoder::open`](crate::Encoder::open). It implements
/// [`std::io::Write`], so it can be given to any writer library (`parquet`'s `ArrowWriter`,
/// `arrow-csv`, `arrow-json`, ...). Don't wrap it in a [`std::io::BufWriter`]: it buffers
/// already, and a `BufWriter` would add a copy.
///
/// # Buffering
///
/// Bytes collect in a [`SINK_BUFFER_SIZE`] (1 MiB) buffer, which goes to the host when full.
/// A single `write` of 1 MiB or more bypasses the buffer. [`Write::flush`](io::Write::flush)
/// does **not** send the buffer to the host (libraries call it often, which would defeat the
/// batching): the last partial buffer is sent by the SDK after [`Encoder::finish`] returns.
/// On abort the buffer is dropped unsent.
///
/// # Errors
///
/// The first time the host refuses bytes (quota exceeded, disk full, interrupted, ...), the
/// `write` returns an [`io::Error`] wrapping [`SinkRejected`], and so does every later
/// write: an encoder must stop writing. Converting that error into an
/// [`EncodeError`](crate::EncodeError) (via `?` or [`From`]) gives
/// [`EncodeError::SinkRejected`](crate::EncodeError::SinkRejected) with the host's message
/// unchanged. Moreover, once the host has refused bytes, the SDK reports
/// `sink-rejected(<host message>)` for the call in progress whatever the encoder returns, so
/// the host's message reaches the user even through a library that rewords I/O errors.
///
/// [`Encoder::finish`]: crate::Encoder::finish
pub struct SinkWriter {
    state: Arc<Mutex<SinkState>>,
}

impl SinkWriter {
    /// A writer over `output`, and the SDK's own handle on the same state.
    pub(crate) fn new(output: Box<dyn RawOutput>) -> (SinkWriter, SinkHandle) {
        let state = Arc::new(Mutex::new(SinkState {
            output: Some(output),
            buf: Vec::with_capacity(SINK_BUFFER_SIZE),
            error: None,
            sent: 0,
        }));
        (
            SinkWriter {
                state: Arc::clone(&state),
            },
            SinkHandle { state },
        )
    }

    /// Bytes written so far: those sent to the host plus those still in the buffer.
    pub fn bytes_written(&self) -> u64 {
        let s = lock(&self.state);
        s.sent + s.buf.len() as u64
    }

    /// The host's message if the host has refused bytes.
    pub fn rejected(&self) -> Option<String> {
        lock(&self.state).error.clone()
    }

    /// Asks the host to let this encoder overwrite the first `size` bytes it writes later, with
    /// [`rewrite_header`](Self::rewrite_header): for a format whose header states something
    /// only the end knows (a row count), so it can write a provisional header and stream the
    /// rest instead of buffering everything until `finish`.
    ///
    /// Call it before writing anything; `size` is at most [`MAX_HEADER_SIZE`]. `Err` carries
    /// the host's reason when this output cannot rewrite (an object-store upload sends its
    /// first part away early): the session goes on, and the encoder must buffer and write its
    /// header first instead.
    pub fn reserve_header(&mut self, size: usize) -> Result<(), String> {
        let mut s = lock(&self.state);
        s.check().map_err(|error| error.to_string())?;
        if s.sent > 0 || !s.buf.is_empty() {
            return Err("reserve_header must come before the first write".into());
        }
        let size = u32::try_from(size)
            .ok()
            .filter(|size| *size as usize <= MAX_HEADER_SIZE)
            .ok_or_else(|| format!("a header of {size} bytes is over {MAX_HEADER_SIZE}"))?;
        s.output
            .as_mut()
            .expect("checked above")
            .reserve_header(size)
    }

    /// Overwrites the first `header.len()` bytes of the output (sending what is buffered
    /// first): they must have been written already and lie within the size given to
    /// [`reserve_header`](Self::reserve_header). The output's length is unchanged. A refusal
    /// is final, like a refused write.
    pub fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        let mut s = lock(&self.state);
        s.flush_buf()?;
        let rewritten = s
            .output
            .as_mut()
            .expect("checked by flush_buf")
            .rewrite_header(header);
        s.settle(rewritten)
    }
}

// Writer libraries such as `parquet` require `Send` writers.
const _: () = {
    const fn assert_send<T: Send>() {}
    assert_send::<SinkWriter>();
};

impl fmt::Debug for SinkWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("SinkWriter")
            .field("sent", &s.sent)
            .field("buffered", &s.buf.len())
            .field("rejected", &s.error)
            .field("closed", &s.output.is_none())
            .finish()
    }
}

impl io::Write for SinkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_all(data)?;
        Ok(data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let mut s = lock(&self.state);
        s.check()?;
        if s.buf.len() + data.len() <= SINK_BUFFER_SIZE {
            s.buf.extend_from_slice(data);
            if s.buf.len() == SINK_BUFFER_SIZE {
                s.flush_buf()?;
            }
            return Ok(());
        }
        // Fill the buffer up to the chunk size so the host gets full chunks, then pass whole
        // chunks through and start a new buffer with the rest.
        let mut data = data;
        if !s.buf.is_empty() {
            let room = SINK_BUFFER_SIZE - s.buf.len();
            s.buf.extend_from_slice(&data[..room]);
            data = &data[room..];
            s.flush_buf()?;
        }
        // Whole chunks go straight to the host, one chunk per call: the host recycles
        // chunk-sized buffers, and a bigger call would make it grow one.
        let mut chunks = data.chunks_exact(SINK_BUFFER_SIZE);
        for chunk in &mut chunks {
            s.send(chunk)?;
        }
        s.buf.extend_from_slice(chunks.remainder());
        Ok(())
    }

    /// Checks for an earlier host refusal; does not send the buffer (see the type's docs).
    fn flush(&mut self) -> io::Result<()> {
        lock(&self.state).check()
    }
}

/// The SDK's handle on a session's sink: flushes at finish, discards on abort, and tells
/// whether the host refused bytes.
pub(crate) struct SinkHandle {
    state: Arc<Mutex<SinkState>>,
}

impl SinkHandle {
    /// The host's message if it refused bytes.
    pub(crate) fn rejected(&self) -> Option<String> {
        lock(&self.state).error.clone()
    }

    /// Sends what is buffered and closes the output (drops the host resource).
    pub(crate) fn finish(&self) -> io::Result<()> {
        let mut s = lock(&self.state);
        let result = s.flush_buf();
        s.output = None;
        s.buf = Vec::new();
        result
    }

    /// Drops what is buffered unsent and closes the output.
    pub(crate) fn discard(&self) {
        let mut s = lock(&self.state);
        s.output = None;
        s.buf = Vec::new();
    }
}

impl fmt::Debug for SinkHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkHandle").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EncodeError;
    use std::io::Write;

    #[derive(Default)]
    struct Rec {
        writes: Vec<usize>,
        bytes: Vec<u8>,
        limit: Option<usize>,
    }

    struct RecOut(Arc<Mutex<Rec>>);

    impl RawOutput for RecOut {
        fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
            let mut r = self.0.lock().unwrap();
            if let Some(limit) = r.limit
                && r.bytes.len() + bytes.len() > limit
            {
                return Err(format!("quota of {limit} bytes exceeded"));
            }
            r.writes.push(bytes.len());
            r.bytes.extend_from_slice(bytes);
            Ok(())
        }

        fn reserve_header(&mut self, _size: u32) -> Result<(), String> {
            Ok(())
        }

        fn rewrite_header(&mut self, header: &[u8]) -> Result<(), String> {
            let mut r = self.0.lock().unwrap();
            if header.len() > r.bytes.len() {
                return Err("header longer than the output".into());
            }
            r.bytes[..header.len()].copy_from_slice(header);
            Ok(())
        }
    }

    fn sink(limit: Option<usize>) -> (SinkWriter, SinkHandle, Arc<Mutex<Rec>>) {
        let rec = Arc::new(Mutex::new(Rec {
            limit,
            ..Rec::default()
        }));
        let (w, h) = SinkWriter::new(Box::new(RecOut(Arc::clone(&rec))));
        (w, h, rec)
    }

    #[test]
    fn small_writes_are_batched_into_full_chunks() {
        let (mut w, h, rec) = sink(None);
        let row = [7u8; 1000];
        for _ in 0..3000 {
            w.write_all(&row).unwrap();
            w.flush().unwrap();
        }
        assert_eq!(
            rec.lock().unwrap().writes,
            vec![SINK_BUFFER_SIZE, SINK_BUFFER_SIZE]
        );
        assert_eq!(w.bytes_written(), 3_000_000);
        h.finish().unwrap();
        let r = rec.lock().unwrap();
        assert_eq!(r.writes.len(), 3);
        assert_eq!(r.bytes.len(), 3_000_000);
        assert!(r.bytes.iter().all(|&b| b == 7));
    }

    #[test]
    fn large_write_passes_through_in_whole_chunks() {
        let (mut w, h, rec) = sink(None);
        w.write_all(b"abc").unwrap();
        let big: Vec<u8> = (0..3 * SINK_BUFFER_SIZE).map(|i| i as u8).collect();
        w.write_all(&big).unwrap();
        w.write_all(b"xyz").unwrap();
        h.finish().unwrap();
        let r = rec.lock().unwrap();
        assert_eq!(
            r.writes,
            vec![SINK_BUFFER_SIZE; 3]
                .into_iter()
                .chain([6])
                .collect::<Vec<_>>(),
            "first chunk is topped up, whole chunks pass through, the rest is buffered"
        );
        let mut expected = b"abc".to_vec();
        expected.extend_from_slice(&big);
        expected.extend_from_slice(b"xyz");
        assert_eq!(r.bytes, expected);
    }

    #[test]
    fn first_refusal_is_sticky_and_keeps_host_message() {
        let (mut w, h, rec) = sink(Some(SINK_BUFFER_SIZE + 10));
        w.write_all(&vec![1u8; SINK_BUFFER_SIZE]).unwrap();
        let err = w.write_all(&vec![1u8; SINK_BUFFER_SIZE]).unwrap_err();
        let expected =
            EncodeError::SinkRejected(format!("quota of {} bytes exceeded", SINK_BUFFER_SIZE + 10));
        assert_eq!(EncodeError::from(err), expected);
        // Later writes fail without reaching the host.
        let err = w.write_all(b"x").unwrap_err();
        assert_eq!(EncodeError::from(err), expected);
        assert!(w.flush().is_err());
        assert_eq!(h.rejected().as_deref(), Some(expected.message()));
        assert_eq!(rec.lock().unwrap().writes, vec![SINK_BUFFER_SIZE]);
        assert!(h.finish().is_err());
    }

    #[test]
    fn a_header_is_reserved_before_writing_and_rewritten_after_the_buffer_is_sent() {
        let (mut w, h, rec) = sink(None);
        assert!(w.reserve_header(MAX_HEADER_SIZE + 1).is_err());
        w.reserve_header(4).unwrap();
        w.write_all(b"....body").unwrap();
        assert!(
            w.reserve_header(4).is_err(),
            "reserving after a write is refused"
        );
        w.rewrite_header(b"HEAD").unwrap();
        assert_eq!(rec.lock().unwrap().bytes, b"HEADbody");
        // A refused rewrite is final, like a refused write.
        let error = w.rewrite_header(&[0; 9]).unwrap_err();
        assert_eq!(
            EncodeError::from(error),
            EncodeError::SinkRejected("header longer than the output".into())
        );
        assert!(w.write_all(b"x").is_err());
        assert!(h.finish().is_err());
    }

    #[test]
    fn discard_sends_nothing_and_closes() {
        let (mut w, h, rec) = sink(None);
        w.write_all(b"hello").unwrap();
        h.discard();
        assert!(rec.lock().unwrap().writes.is_empty());
        assert!(w.write_all(b"more").is_err());
    }
}
