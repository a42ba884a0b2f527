//! Guest stderr, captured for error messages without ever failing the guest: the first
//! [`HEAD`] bytes (where a program usually says what it is doing) and the last [`TAIL`] bytes
//! (where a panic message lands) are kept; what lies between is counted and dropped. A plugin
//! that prints megabytes is therefore neither trapped nor allowed to grow host memory.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Bytes kept from the start of the output.
const HEAD: usize = 4 * 1024;
/// Bytes kept from the end of the output.
const TAIL: usize = 12 * 1024;

/// A bounded capture of one instance's stderr; clones share it.
#[derive(Clone, Debug, Default)]
pub(crate) struct StderrCapture(Arc<Mutex<Captured>>);

#[derive(Debug, Default)]
struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    omitted: u64,
}

impl StderrCapture {
    fn append(&self, mut bytes: &[u8]) {
        let mut captured = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let to_head = (HEAD - captured.head.len()).min(bytes.len());
        captured.head.extend_from_slice(&bytes[..to_head]);
        bytes = &bytes[to_head..];
        if bytes.len() >= TAIL {
            captured.omitted += (captured.tail.len() + bytes.len() - TAIL) as u64;
            captured.tail.clear();
            bytes = &bytes[bytes.len() - TAIL..];
        }
        captured.tail.extend(bytes);
        let excess = captured.tail.len().saturating_sub(TAIL);
        captured.tail.drain(..excess);
        captured.omitted += excess as u64;
    }

    /// What was captured, as text: the head, a note of what was dropped, the tail.
    pub(crate) fn text(&self) -> String {
        let captured = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut text = String::from_utf8_lossy(&captured.head).into_owned();
        if captured.omitted > 0 {
            text.push_str(&format!(
                "\n[… {} bytes of plugin stderr omitted …]\n",
                captured.omitted
            ));
        }
        let (front, back) = captured.tail.as_slices();
        text.push_str(&String::from_utf8_lossy(&[front, back].concat()));
        text.trim().to_owned()
    }
}

impl IsTerminal for StderrCapture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrCapture {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl OutputStream for StderrCapture {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always ready: whatever does not fit is dropped, never refused.
        Ok(1 << 20)
    }
}

#[async_trait::async_trait]
impl Pollable for StderrCapture {
    async fn ready(&mut self) {}
}

impl AsyncWrite for StderrCapture {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.append(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_head_and_the_tail_and_counts_the_rest() {
        let capture = StderrCapture::default();
        capture.append(b"starting\n");
        for _ in 0..1000 {
            capture.append(&[b'.'; 1000]);
        }
        capture.append(b"\npanicked at the end");
        let text = capture.text();
        assert!(text.starts_with("starting\n"));
        assert!(text.ends_with("panicked at the end"));
        let omitted = 9 + 1_000_000 + 20 - (HEAD + TAIL);
        assert!(text.contains(&format!("[… {omitted} bytes of plugin stderr omitted …]")));
        assert!(text.len() < HEAD + TAIL + 100);
    }

    #[test]
    fn short_output_is_kept_whole() {
        let capture = StderrCapture::default();
        capture.append(b"one line\n");
        assert_eq!(capture.text(), "one line");
    }
}
