//! What a successful write reports: sizes, hash, where time went.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::options::Durability;

/// Time spent in each step of a commit. Always collected; printed by `--verbose`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct StepTimings {
    /// Resolving the target, creating directories and the staging file.
    #[serde(serialize_with = "as_millis")]
    pub setup: Duration,
    /// Writing bytes into the staging file (including time spent producing them).
    #[serde(serialize_with = "as_millis")]
    pub write: Duration,
    /// Inside encoders, when an encoder produced the bytes: CPU time added up over every
    /// instance, so with several instances it can exceed `write`.
    #[serde(serialize_with = "as_millis")]
    pub encode: Duration,
    /// Reading the input (a part of `write`; with several instances it overlaps encoding).
    #[serde(serialize_with = "as_millis")]
    pub read: Duration,
    /// fsync of the data file.
    #[serde(serialize_with = "as_millis")]
    pub fsync: Duration,
    /// Removing the old marker and renaming the staging file onto the target.
    #[serde(serialize_with = "as_millis")]
    pub rename: Duration,
    /// fsync of the directory after the rename.
    #[serde(serialize_with = "as_millis")]
    pub dir_fsync: Duration,
    /// Object storage: waiting for part uploads, the single PUT or the upload's completion.
    #[serde(serialize_with = "as_millis")]
    pub upload: Duration,
    /// Writing the `_SUCCESS` marker (its own write, fsync, rename, directory fsync).
    #[serde(serialize_with = "as_millis")]
    pub marker: Duration,
    /// From the start of the write to the report.
    #[serde(serialize_with = "as_millis")]
    pub total: Duration,
}

fn as_millis<S: serde::Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(value.as_secs_f64() * 1e3)
}

impl StepTimings {
    /// The named steps, in order, for tables.
    pub fn rows(&self) -> [(&'static str, Duration); 10] {
        [
            ("setup", self.setup),
            ("write", self.write),
            ("  read input", self.read),
            ("  encode (cpu)", self.encode),
            ("fsync", self.fsync),
            ("rename", self.rename),
            ("dir fsync", self.dir_fsync),
            ("upload", self.upload),
            ("marker", self.marker),
            ("total", self.total),
        ]
    }
}

/// Measures one step: `let t = Stopwatch::start(); ...; timings.fsync += t.stop();`
#[derive(Debug)]
pub(crate) struct Stopwatch(Instant);

impl Stopwatch {
    pub(crate) fn start() -> Self {
        Self(Instant::now())
    }

    pub(crate) fn stop(&self) -> Duration {
        self.0.elapsed()
    }
}

/// The encoder that produced a file, as recorded in reports and manifests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EncoderInfo {
    /// Format name, e.g. `parquet`.
    pub name: String,
    /// The encoder's own version.
    pub version: String,
    /// sha256 of the encoder's `.wasm` component.
    pub sha256: String,
}

/// The outcome of one committed file.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The final path (after following symlinks, if they were followed).
    pub path: PathBuf,
    /// Bytes in the committed file.
    pub bytes: u64,
    /// Content hash, `xxh3-128:<hex>`.
    pub hash: String,
    /// Data rows, when an encoder produced the file.
    pub rows: Option<u64>,
    /// Format name, when known.
    pub format: Option<String>,
    /// The encoder that produced the bytes, if any.
    pub encoder: Option<EncoderInfo>,
    /// The durability that applied.
    pub durability: Durability,
    /// The `_SUCCESS` marker written, if any.
    pub marker: Option<PathBuf>,
    /// Identifies this run in manifests and logs.
    pub run_id: String,
    /// Where the time went.
    pub timings: StepTimings,
    /// Encoder instances that encoded the file at once (1: one session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<usize>,
    /// The object's ETag, for object-store targets (what `--if-match` compares).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    /// With `keep_versions`: the version number the replaced content was kept as (`None` when
    /// nothing was replaced or no versions are kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_version: Option<u64>,
    /// With `keep_versions`: versions pruned after this commit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned_versions: Vec<u64>,
}
