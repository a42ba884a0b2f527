//! The plugin's output is written on a thread of its own, so the host's side of a chunk
//! (hashing, the kernel copying it into the page cache, an upload) overlaps the guest encoding
//! the next one. Chunks move to the thread by ownership (the sink already owns the bytes it
//! copied out of guest memory), through a short bounded queue that keeps memory flat; written
//! chunks come back to be filled again, so steady state allocates nothing.

use std::io;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::destination::AnyDestination;

/// Chunks (of up to the guest's sink buffer, 1 MiB) waiting for the writer thread.
const QUEUE: usize = 4;

/// What the writer thread does next, in the order the guest asked.
enum Message {
    /// Append the bytes.
    Write(Vec<u8>),
    /// The guest reserved a header of this size (`output.reserve-header`).
    HeaderReserved(usize),
    /// Overwrite the start of what was written (`output.rewrite-header`).
    RewriteHeader(Vec<u8>),
}

/// A destination owned by its writer thread.
pub(crate) struct WriterThread {
    chunks: Option<SyncSender<Message>>,
    /// Written chunks, emptied, for reuse.
    written: Receiver<Vec<u8>>,
    worker: Option<JoinHandle<Box<dyn AnyDestination>>>,
    /// Whether the destination can rewrite a header.
    rewritable: bool,
    /// The first write error; once set, later chunks are refused.
    error: Arc<Mutex<Option<io::Error>>>,
}

impl WriterThread {
    pub(crate) fn spawn(destination: Box<dyn AnyDestination>) -> io::Result<Self> {
        let rewritable = destination.can_rewrite_header();
        let (chunks, queue) = sync_channel(QUEUE);
        // Room for every chunk in flight: queued, being written, and being filled.
        let (recycle, written) = sync_channel(QUEUE + 2);
        let error = Arc::new(Mutex::new(None));
        let worker = {
            let error = error.clone();
            std::thread::Builder::new()
                .name("atio-output".into())
                .spawn(move || write_all(destination, &queue, &recycle, &error))?
        };
        Ok(Self {
            chunks: Some(chunks),
            written,
            worker: Some(worker),
            rewritable,
            error,
        })
    }

    /// Whether the destination can rewrite a header.
    pub(crate) fn rewritable(&self) -> bool {
        self.rewritable
    }

    /// An empty chunk to fill: a written one if there is one, else a new one.
    pub(crate) fn empty_chunk(&self) -> Vec<u8> {
        self.written.try_recv().unwrap_or_default()
    }

    /// Queues a chunk (waiting while the queue is full). Refused once a write has failed.
    pub(crate) fn send(&mut self, chunk: Vec<u8>) -> Result<(), String> {
        self.queue(Message::Write(chunk))
    }

    /// Tells the destination, before any chunk, that the guest reserved a header.
    pub(crate) fn header_reserved(&mut self, size: usize) -> Result<(), String> {
        self.queue(Message::HeaderReserved(size))
    }

    /// Queues a header rewrite, after every chunk sent before it.
    pub(crate) fn rewrite_header(&mut self, header: Vec<u8>) -> Result<(), String> {
        self.queue(Message::RewriteHeader(header))
    }

    fn queue(&mut self, message: Message) -> Result<(), String> {
        if let Some(error) = &*self.error.lock().unwrap_or_else(PoisonError::into_inner) {
            return Err(error.to_string());
        }
        let sent = self.chunks.as_ref().map(|chunks| chunks.send(message));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err("the output is closed".into()),
        }
    }

    /// Waits for every queued chunk to be written and flushed; the destination, or the first
    /// write error.
    pub(crate) fn finish(mut self) -> io::Result<Box<dyn AnyDestination>> {
        let destination = self.join();
        match self
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            Some(error) => Err(error),
            None => destination.ok_or_else(|| io::Error::other("the output thread failed")),
        }
    }

    /// The first write error, after waiting for the thread (the session is over by then).
    pub(crate) fn take_error(&mut self) -> Option<io::Error> {
        drop(self.join());
        self.error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn join(&mut self) -> Option<Box<dyn AnyDestination>> {
        drop(self.chunks.take());
        let worker = self.worker.take()?;
        match worker.join() {
            Ok(destination) => Some(destination),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl Drop for WriterThread {
    fn drop(&mut self) {
        // The destination is dropped (a staging file removed, an upload aborted) before the
        // session's error reaches the caller.
        drop(self.join());
    }
}

fn write_all(
    mut destination: Box<dyn AnyDestination>,
    queue: &Receiver<Message>,
    recycle: &SyncSender<Vec<u8>>,
    error: &Mutex<Option<io::Error>>,
) -> Box<dyn AnyDestination> {
    let mut failed = false;
    for message in queue {
        if failed {
            continue;
        }
        let done = match message {
            Message::Write(mut chunk) => {
                let written = destination.write_all(&chunk);
                chunk.clear();
                // Full (the session is ending) or gone: the chunk is simply freed.
                let _ = recycle.try_send(chunk);
                written
            }
            Message::HeaderReserved(size) => {
                destination.header_reserved(size);
                Ok(())
            }
            Message::RewriteHeader(header) => destination.rewrite_header(&header),
        };
        if let Err(cause) = done {
            failed = true;
            *error.lock().unwrap_or_else(PoisonError::into_inner) = Some(cause);
        }
    }
    if !failed && let Err(cause) = destination.flush() {
        *error.lock().unwrap_or_else(PoisonError::into_inner) = Some(cause);
    }
    destination
}
