//! atio's integration tests: one test binary, one module per area.
//!
//! Tests assert real outcomes: bytes on disk, files read back by independent readers, exit codes
//! and error text, and that no staging file is ever left behind.

mod azure;
mod cli;
mod commit;
mod concurrency;
mod corpus;
mod encoders;
mod faults;
mod fidelity;
mod fuzz_corpus;
mod guest_units;
mod hostile;
mod inputs;
mod object_versions;
mod objects;
mod parallel;
mod partitions;
mod polyglot;
mod reliability;
mod support;
mod syscalls;
mod torture;
mod versions;
