//! atio writes data files all-or-nothing.
//!
//! Every write is a transaction: the bytes are staged next to the target, encoded (by a sandboxed
//! WebAssembly encoder when a format is asked for), fsynced, renamed over the target, the directory
//! fsynced, and a `_SUCCESS` manifest written. On any failure the previous file stays intact and no
//! staging file is left. See `ARCHITECTURE.md` for the design and its invariants.
//!
//! - Raw bytes: [`AtomicFile`] (an `io::Write` with `commit`) and [`write_bytes`].
//! - Many files in one directory with one directory fsync: [`commit_group`].
//! - Checks and sweeps: [`verify()`], [`clean`].

pub mod commit;
mod error;
pub mod hash;
pub mod manifest;
mod options;
mod report;
mod verify;

pub use commit::interrupt::{interrupt, interrupt_flag, is_interrupted};
pub use commit::sweep::{CleanOptions, CleanReport, clean};
pub use commit::{AtomicFile, commit_group, new_run_id, write_bytes};
pub use error::{Error, ErrorKind, Result, Step};
pub use options::{Durability, Options, Symlinks};
pub use report::{EncoderInfo, Report, StepTimings};
pub use verify::{Verified, verify};
