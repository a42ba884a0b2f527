//! Cancellation: remove every live staging file when the process is told to stop.
//!
//! Every staging file registers itself here while it exists. `interrupt()` (called by the CLI's
//! SIGINT/SIGTERM handler, or by a service shutting down) marks the process interrupted, waits for
//! commits already past their point of no return, and unlinks every registered staging file.
//! Commits check the mark before renaming, so after `interrupt()` returns nothing new is published.

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
/// Live staging files and directories by registration id: (directory, name in it, is a tree).
type LiveFiles = HashMap<u64, (Arc<OwnedFd>, OsString, bool)>;
static LIVE: Mutex<Option<LiveFiles>> = Mutex::new(None);

/// The error a write returns once the process has been interrupted.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Marks the process interrupted, waits for in-flight publishes, and removes every live staging
/// file. Returns how many were removed. Writes and commits fail with `interrupted` from now on.
pub fn interrupt() -> usize {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let _exclusive = PUBLISHING.write().unwrap_or_else(PoisonError::into_inner);
    let live = LIVE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or_default();
    live.into_values()
        .filter(|(dir, name, tree)| {
            if *tree {
                super::fs::remove_tree(dir, name).is_ok()
            } else {
                rustix::fs::unlinkat(&**dir, name, rustix::fs::AtFlags::empty()).is_ok()
            }
        })
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
        Self::register(dir, name, false)
    }

    /// Registers a staging directory (removed with everything in it).
    pub(crate) fn new_tree(dir: Arc<OwnedFd>, name: OsString) -> Self {
        Self::register(dir, name, true)
    }

    fn register(dir: Arc<OwnedFd>, name: OsString, tree: bool) -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        LIVE.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(HashMap::new)
            .insert(id, (dir, name, tree));
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
