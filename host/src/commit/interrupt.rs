//! Cancellation: remove every live staging file (and abort every live object upload) when the
//! process is told to stop.
//!
//! Every staging file and in-flight multipart upload registers itself here while it exists.
//! `interrupt()` (called by the CLI's SIGINT/SIGTERM handler, or by a service shutting down)
//! marks the process interrupted, waits for commits already past their point of no return, and
//! undoes everything registered. Commits check the mark before renaming (or completing an
//! upload), so after `interrupt()` returns nothing new is published.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock, RwLockReadGuard};

static INTERRUPTED: LazyLock<Arc<AtomicBool>> = LazyLock::new(|| Arc::new(AtomicBool::new(false)));
static NEXT_ID: AtomicU64 = AtomicU64::new(0);
/// Commits hold this shared while they publish; `interrupt()` takes it exclusively.
static PUBLISHING: RwLock<()> = RwLock::new(());
/// Something `interrupt()` must undo: a staging file or directory, or an upload to abort.
enum Live {
    File(Arc<OwnedFd>, OsString),
    Tree(Arc<OwnedFd>, OsString),
    Abort(Box<dyn FnOnce() -> bool + Send>),
}
static LIVE: Mutex<Option<HashMap<u64, Live>>> = Mutex::new(None);

/// The error a write returns once the process has been interrupted.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Marks the process interrupted, waits for in-flight publishes, removes every live staging
/// file and aborts every live upload. Returns how many were undone. Writes and commits fail with `interrupted` from now on.
pub fn interrupt() -> usize {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let _exclusive = PUBLISHING.write().unwrap_or_else(PoisonError::into_inner);
    let live = LIVE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or_default();
    live.into_values()
        .map(|live| match live {
            Live::File(dir, name) => {
                rustix::fs::unlinkat(&*dir, &name, rustix::fs::AtFlags::empty()).is_ok()
            }
            Live::Tree(dir, name) => super::fs::remove_tree(&dir, &name).is_ok(),
            Live::Abort(abort) => abort(),
        })
        .filter(|&undone| undone)
        .count()
}

/// The flag `interrupt()` sets, for a signal handler to set directly (async-signal-safe), so
/// that no commit can start publishing between the signal and `interrupt()` running.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    INTERRUPTED.clone()
}

/// Whether `interrupt()` has been called (or the flag set).
pub fn is_interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// The io error writers return after an interrupt (mapped to the `interrupted` kind).
pub(crate) fn check() -> io::Result<()> {
    if is_interrupted() {
        Err(io::Error::other(Interrupted))
    } else {
        Ok(())
    }
}

/// Held while a commit publishes (renames, directory fsyncs, markers); refused once interrupted.
pub(crate) fn publishing() -> io::Result<RwLockReadGuard<'static, ()>> {
    let guard = PUBLISHING.read().unwrap_or_else(PoisonError::into_inner);
    check()?;
    Ok(guard)
}

/// A staging file known to `interrupt()`; deregisters on drop.
#[derive(Debug)]
pub(crate) struct Registration(u64);

impl Registration {
    pub(crate) fn new(dir: Arc<OwnedFd>, name: OsString) -> Self {
        Self::register(Live::File(dir, name))
    }

    /// Registers a staging directory (removed with everything in it).
    pub(crate) fn new_tree(dir: Arc<OwnedFd>, name: OsString) -> Self {
        Self::register(Live::Tree(dir, name))
    }

    /// Registers an undo action (aborting an upload); it returns whether it succeeded.
    pub(crate) fn new_abort(abort: impl FnOnce() -> bool + Send + 'static) -> Self {
        Self::register(Live::Abort(Box::new(abort)))
    }

    fn register(live: Live) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(HashMap::new)
            .insert(id, live);
        Self(id)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(live) = LIVE.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            live.remove(&self.0);
        }
    }
}
