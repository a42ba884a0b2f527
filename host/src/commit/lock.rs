//! Advisory locks (flock: released by the kernel when a holder dies).
//!
//! - The *publish lock*: every commit holds `flock(LOCK_EX)` on its directory while it removes
//!   the old marker, renames and writes the new marker, so concurrent atio writers publish one at
//!   a time and a marker never describes another writer's bytes. `verify` holds it shared while
//!   it reads a file and its marker. It is held for milliseconds.
//! - The *target lock* (`--lock`, `update`): a sidecar file `.<name>.atio-lock` beside the target,
//!   held for a whole write (read-modify-write, one writer at a time). It is never unlinked:
//!   unlinking a lock file lets a waiter lock an inode nobody else will ever see.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rustix::fs::{FlockOperation, Mode, OFlags};

use crate::error::{Error, ErrorKind, IoContext, Result, Step};
use crate::options::StopWaiting;

/// Held while a commit publishes in a directory; unlocks on drop.
#[derive(Debug)]
pub(crate) struct PublishLock(Arc<OwnedFd>);

impl PublishLock {
    /// Waits for the directory's publish lock (exclusive, or shared for readers).
    pub fn acquire(dir: &Arc<OwnedFd>, dir_path: &Path, shared: bool) -> Result<Self> {
        let operation = if shared {
            FlockOperation::LockShared
        } else {
            FlockOperation::LockExclusive
        };
        rustix::fs::flock(dir.as_fd(), operation).at(Step::Lock, dir_path)?;
        Ok(Self(dir.clone()))
    }
}

impl Drop for PublishLock {
    fn drop(&mut self) {
        let _ = rustix::fs::flock(self.0.as_fd(), FlockOperation::Unlock);
    }
}

/// The sidecar lock of one target, held for a whole write; unlocks on drop.
#[derive(Debug)]
pub struct TargetLock {
    _file: File,
    path: PathBuf,
}

impl TargetLock {
    /// The lock file that guards `target_name` in `dir`.
    pub(crate) fn file_name(target_name: &std::ffi::OsStr) -> std::ffi::OsString {
        let mut name = std::ffi::OsString::from(".");
        name.push(target_name);
        name.push(".atio-lock");
        name
    }

    /// Takes the lock, waiting up to `timeout`; on timeout the error names the holder. The wait
    /// also ends, `interrupted`, on `interrupt()` or when `stop_waiting` says so.
    pub(crate) fn acquire(
        dir: &OwnedFd,
        dir_path: &Path,
        target_name: &std::ffi::OsStr,
        timeout: Duration,
        stop_waiting: Option<&StopWaiting>,
    ) -> Result<Self> {
        let name = Self::file_name(target_name);
        let path = dir_path.join(&name);
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(dir, &name, flags, Mode::from_raw_mode(0o644))
            .at(Step::Lock, &path)?;
        let mut file = File::from(fd);
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock)
                    if super::interrupt::is_interrupted()
                        || stop_waiting.is_some_and(StopWaiting::stop) =>
                {
                    return Err(Error::new(
                        ErrorKind::Interrupted,
                        Step::Lock,
                        &path,
                        "stopped waiting for the lock (interrupted); nothing was written",
                    ));
                }
                Err(TryLockError::WouldBlock) if started.elapsed() < timeout => {
                    std::thread::sleep(pause.min(timeout.saturating_sub(started.elapsed())));
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    let holder = holder.trim();
                    let holder = if holder.is_empty() {
                        "an unknown process".to_owned()
                    } else {
                        holder.to_owned()
                    };
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        Step::Lock,
                        &path,
                        format!("still locked after {timeout:?} by {holder}"),
                    ));
                }
                Err(TryLockError::Error(error)) => return Err(Error::io(Step::Lock, &path, error)),
            }
        }
        // Say who holds it, for the next waiter's timeout message.
        let holder = format!(
            "pid {} on host {} since {}\n",
            std::process::id(),
            crate::manifest::host_name(),
            crate::manifest::rfc3339(SystemTime::now())
        );
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(holder.as_bytes()));
        Ok(Self { _file: file, path })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}
