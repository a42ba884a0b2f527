//! Options shared by every write: durability, markers, clobbering, symlinks.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

/// How hard atio works to make a commit survive a power cut.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// fsync the data before the rename and the directory after it (the default).
    #[default]
    Full,
    /// No fsync at all: still atomic for readers and crash-safe against a killed process, but a
    /// power cut may lose or empty the new file. For scratch data.
    None,
}

/// What happens when the target path is a symbolic link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Symlinks {
    /// Replace the file the link points to, in its own directory; the link stays.
    #[default]
    Follow,
    /// Replace the link itself with a regular file.
    Replace,
}

/// Options for one atomic write.
#[derive(Clone, Debug, Serialize)]
pub struct Options {
    /// fsync policy.
    pub durability: Durability,
    /// Write a `<name>._SUCCESS` manifest after the data.
    pub marker: bool,
    /// Create-only: fail with a `conflict` error if the target exists.
    pub no_clobber: bool,
    /// Symlink policy for the target path.
    pub symlinks: Symlinks,
    /// Hold the target's sidecar lock for the whole write, waiting at most this long for it.
    pub lock: Option<Duration>,
    /// Compare-and-swap: commit only if the current content hash is this (`xxh3-128:<hex>`).
    pub if_match: Option<String>,
    /// Directory targets: skip the swap when the new files equal the current ones (same paths
    /// and content hashes), so a no-op re-run costs no rename and no delete.
    pub if_changed: bool,
    /// How to reach an object store, for `s3://`, `gs://`, `az://` targets.
    pub store: crate::store::StoreOptions,
    /// Keep the content a commit replaces as a version in the target's version store (local:
    /// `.NAME.atio-versions/` beside it, a file's old inode by hard link, a directory's old tree
    /// moved there, no data copied; object stores: the sibling prefix, by server-side copies),
    /// then prune untagged versions beyond the newest N (see [`crate::versions`]). `None` (or
    /// `Some(0)`) keeps none.
    pub keep_versions: Option<u32>,
    /// Asked about every 50 ms while waiting for a target's lock (`lock`, `update`, rollback):
    /// `true` stops waiting with an `interrupted` error, nothing written. For callers that catch
    /// signals themselves (the Python package checks Ctrl-C here); without it a wait ends with
    /// the lock, the timeout, or `interrupt()`.
    #[serde(skip)]
    pub stop_waiting: Option<StopWaiting>,
}

/// The check behind [`Options::stop_waiting`].
#[derive(Clone)]
pub struct StopWaiting(Arc<dyn Fn() -> bool + Send + Sync>);

impl StopWaiting {
    /// A check that stops a lock wait when `check` returns `true`.
    pub fn new(check: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(check))
    }

    pub(crate) fn stop(&self) -> bool {
        (self.0)()
    }
}

impl std::fmt::Debug for StopWaiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StopWaiting(..)")
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            marker: true,
            no_clobber: false,
            symlinks: Symlinks::Follow,
            lock: None,
            if_match: None,
            if_changed: false,
            store: crate::store::StoreOptions::default(),
            keep_versions: None,
            stop_waiting: None,
        }
    }
}

/// The number of threads (encoder instances, CSV parsers) to use when none is given: the cores
/// this process may run on.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

impl Options {
    pub(crate) fn fsync(&self) -> bool {
        self.durability == Durability::Full
    }

    /// How many versions a commit keeps, when it keeps any.
    pub(crate) fn versions(&self) -> Option<u32> {
        self.keep_versions.filter(|&keep| keep > 0)
    }
}
