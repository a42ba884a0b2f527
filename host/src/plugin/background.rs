//! A session that encodes on a thread of its own, so that the many part files of a partitioned
//! write encode at once while the caller routes rows. A [`Gate`] caps how many encode at the
//! same moment. Each file still gets the same batches in the same order as with one thread, so
//! its bytes do not depend on the thread count.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;

use super::{Destination, Finished, Session};
use crate::error::{Error, ErrorKind, Result, Step};

/// Batches queued for one session.
const QUEUE: usize = 2;

/// Lets at most `permits` sessions run a plugin call at the same moment.
#[derive(Debug)]
pub struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Gate {
    /// A gate for `permits` (at least one) calls at once.
    pub fn new(permits: usize) -> Arc<Self> {
        Arc::new(Self {
            free: Mutex::new(permits.max(1)),
            freed: Condvar::new(),
        })
    }

    fn pass<T>(&self, call: impl FnOnce() -> T) -> T {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        drop(free);
        let result = call();
        *self.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.freed.notify_one();
        result
    }
}

/// What the session's thread does next.
enum Command {
    Batch(RecordBatch),
    Finish,
}

/// A [`Session`] encoding on its own thread; finishing hands back its destination `W`.
/// Dropped unfinished, it stops the thread, which aborts the session (discarding the output).
pub struct BackgroundSession<W> {
    /// The output's path, for errors.
    path: std::path::PathBuf,
    batches: Option<SyncSender<Command>>,
    thread: Option<JoinHandle<Result<Finished<W>>>>,
}

impl<W> std::fmt::Debug for BackgroundSession<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundSession").finish_non_exhaustive()
    }
}

impl<W: Destination> BackgroundSession<W> {
    /// Moves `session` to a new thread; its calls pass through `gate`.
    pub fn spawn(session: Session, gate: Arc<Gate>) -> Result<Self> {
        let path = session.path.clone();
        let (batches, queue) = sync_channel::<Command>(QUEUE);
        let thread = std::thread::Builder::new()
            .name("atio-session".into())
            .spawn(move || {
                let mut session = session;
                loop {
                    match queue.recv() {
                        Ok(Command::Batch(batch)) => gate.pass(|| session.write_batch(&batch))?,
                        Ok(Command::Finish) => return gate.pass(|| session.finish::<W>()),
                        // Dropped unfinished: dropping the session aborts it.
                        Err(_) => {
                            return Err(Error::new(
                                ErrorKind::Plugin,
                                Step::Encode,
                                &session.path,
                                "the encoder session was abandoned",
                            ));
                        }
                    }
                }
            })
            .map_err(|error| Error::io(Step::Encode, &path, error))?;
        Ok(Self {
            path,
            batches: Some(batches),
            thread: Some(thread),
        })
    }

    /// Queues one batch. An error of an earlier batch surfaces here (or at `finish`).
    pub fn write_batch(&mut self, batch: RecordBatch) -> Result<()> {
        let sent = self
            .batches
            .as_ref()
            .map(|batches| batches.send(Command::Batch(batch)).is_ok());
        if sent == Some(true) {
            return Ok(());
        }
        // The thread stopped: it failed.
        Err(self.join().err().unwrap_or_else(|| {
            Error::new(
                ErrorKind::Plugin,
                Step::Encode,
                &self.path,
                "the encoder session stopped early",
            )
        }))
    }

    /// Encodes what is queued, finishes, and hands back the destination.
    pub fn finish(mut self) -> Result<Finished<W>> {
        if let Some(batches) = &self.batches {
            // A send fails only when the thread already stopped with an error: join reports it.
            let _ = batches.send(Command::Finish);
        }
        self.join()
    }

    fn join(&mut self) -> Result<Finished<W>> {
        self.batches = None;
        let thread = self.thread.take().ok_or_else(|| {
            Error::new(
                ErrorKind::Plugin,
                Step::Encode,
                &self.path,
                "the encoder session already ended",
            )
        })?;
        thread.join().unwrap_or_else(|_| {
            Err(Error::new(
                ErrorKind::Plugin,
                Step::Encode,
                &self.path,
                "the encoder session's thread panicked",
            ))
        })
    }
}

impl<W> Drop for BackgroundSession<W> {
    fn drop(&mut self) {
        // Closing the queue without `Finish` makes the thread drop (abort) the session. Joining
        // keeps the session's staging file from outliving its owner.
        self.batches = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
