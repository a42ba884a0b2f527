//! atio writes data files all-or-nothing.
//!
//! Every write is a transaction: the bytes are staged next to the target, encoded (by a sandboxed
//! WebAssembly encoder when a format is asked for), fsynced, renamed over the target, the directory
//! fsynced, and a `_SUCCESS` manifest written. On any failure the previous file stays intact and no
//! staging file is left. See `ARCHITECTURE.md` for the design and its invariants.
//!
//! - Raw bytes: [`AtomicFile`] (an `io::Write` with `commit`) and [`write_bytes`].
//! - Many files in one directory with one directory fsync: [`commit_group`].
//! - Record batches through a sandboxed encoder: [`write()`] (formats in [`formats`], the WASM
//!   runtime in [`plugin`], input readers in [`input`]).
//! - Concurrency: every commit publishes under its directory's lock (markers always match their
//!   data); `Options::lock` holds a target's lock for a whole write; `Options::if_match` is
//!   compare-and-swap; [`update`] / [`update_json`] are locked read-modify-write.
//! - Object storage (`s3://`, `gs://`, `az://`, `memory://`): the same calls take URLs; see
//!   [`store`] for how an object or a partition prefix is committed without a rename.
//! - Checks and sweeps: [`verify()`], [`clean`].
//! - Versions and rollback: `Options::keep_versions` keeps the content a commit replaces (hard
//!   links locally, server-side copies on object stores); [`versions`] lists, rolls back, tags
//!   and prunes them.
//!
//! Every call blocks (fsync, rename, uploads). From async code, call atio inside
//! `tokio::task::spawn_blocking` or a thread of your own: object-store calls run on atio's own
//! runtime and cannot be driven from inside another runtime's async task.

pub mod commit;
mod dataset;
mod error;
pub mod formats;
pub mod hash;
pub mod input;
pub mod manifest;
mod options;
mod output;
mod parallel;
pub mod plugin;
mod report;
pub mod sample;
pub mod store;
mod update;
mod verify;
mod write;

pub use commit::dir::{
    DirFile, DirReport, Recovery, RecoveryReport, StagedDir, recover, recover_report,
};
pub use commit::interrupt::{interrupt, interrupt_flag, is_interrupted};
pub use commit::sweep::{CleanOptions, CleanReport, clean};
pub use commit::versions;
pub use commit::{AtomicFile, TargetLock, commit_group, lock_target, new_run_id, write_bytes};
pub use dataset::{
    DatasetOptions, DatasetReport, NULL_PARTITION, escape_partition_value, write_dataset,
};
pub use error::{Error, ErrorKind, Result, Step};
pub use options::{Durability, Options, StopWaiting, Symlinks, default_threads};
pub use output::Output;
pub use report::{EncoderInfo, Report, StepTimings};
pub use store::{Location, ObjectDir, ObjectFile, StoreOptions};
pub use update::{DEFAULT_LOCK_TIMEOUT, update, update_json};
pub use verify::{Verified, VerifiedDir, verify, verify_dir};
pub use write::{Progress, WriteOptions, write, write_with_progress};
