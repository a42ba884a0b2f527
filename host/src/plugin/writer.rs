//! The plugin's output is written on a thread of its own, so the host's side of a chunk
//! (hashing, the kernel copying it into the page cache, an upload) overlaps the guest encoding
//! the next one. Chunks move to the thread by ownership (the sink already owns the bytes it
//! copied out of guest memory), through a short bounded queue that keeps memory flat; written
//! chunks come back to be filled again, so steady state allocates nothing.

use std::any::Any;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Chunks (of up to the guest's sink buffer, 1 MiB) waiting for the writer thread.
const QUEUE: usize = 4;

/// Where a session's output goes: any `Write`, recoverable as its concrete type afterwards.
pub(crate) trait Destination: Write + Send + Any {
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<W: Write + Send + Any> Destination for W {
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// A destination owned by its writer thread.
pub(crate) struct WriterThread {
    chunks: Option<SyncSender<Vec<u8>>>,
    /// Written chunks, emptied, for reuse.
    written: Receiver<Vec<u8>>,
    worker: Option<JoinHandle<Box<dyn Destination>>>,
    /// The first write error; once set, later chunks are refused.
    error: Arc<Mutex<Option<io::Error>>>,
}

impl WriterThread {
    pub(crate) fn spawn(destination: Box<dyn Destination>) -> io::Result<Self> {
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
            error,
        })
    }

    /// An empty chunk to fill: a written one if there is one, else a new one.
    pub(crate) fn empty_chunk(&self) -> Vec<u8> {
        self.written.try_recv().unwrap_or_default()
    }

    /// Queues a chunk (waiting while the queue is full). Refused once a write has failed.
    pub(crate) fn send(&mut self, chunk: Vec<u8>) -> Result<(), String> {
        if let Some(error) = &*self.error.lock().unwrap_or_else(PoisonError::into_inner) {
            return Err(error.to_string());
        }
        let sent = self.chunks.as_ref().map(|chunks| chunks.send(chunk));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => Err("the output is closed".into()),
        }
    }

    /// Waits for every queued chunk to be written and flushed; the destination, or the first
    /// write error.
    pub(crate) fn finish(mut self) -> io::Result<Box<dyn Destination>> {
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

    fn join(&mut self) -> Option<Box<dyn Destination>> {
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
    mut destination: Box<dyn Destination>,
    queue: &Receiver<Vec<u8>>,
    recycle: &SyncSender<Vec<u8>>,
    error: &Mutex<Option<io::Error>>,
) -> Box<dyn Destination> {
    let mut failed = false;
    for mut chunk in queue {
        if failed {
            continue;
        }
        if let Err(cause) = destination.write_all(&chunk) {
            failed = true;
            *error.lock().unwrap_or_else(PoisonError::into_inner) = Some(cause);
        }
        chunk.clear();
        // Full (the session is ending) or gone: the chunk is simply freed.
        let _ = recycle.try_send(chunk);
    }
    if !failed && let Err(cause) = destination.flush() {
        *error.lock().unwrap_or_else(PoisonError::into_inner) = Some(cause);
    }
    destination
}
