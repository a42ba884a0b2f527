//! The `_SUCCESS` manifest: a JSON description of committed bytes, written after them.
//!
//! The marker for `data.parquet` is `data.parquet._SUCCESS` in the same directory, so globbing
//! readers (`*.parquet`) skip it and a reader can tell a finished file from a stale one.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result, Step};
use crate::options::Durability;
use crate::report::{EncoderInfo, StepTimings};

/// The suffix appended to a file name to name its marker.
pub const MARKER_SUFFIX: &str = "._SUCCESS";

/// The manifest format version written by this build.
pub const MANIFEST_VERSION: u32 = 1;

/// The marker file name for a data file name.
pub fn marker_name(file_name: &OsStr) -> OsString {
    let mut name = file_name.to_os_string();
    name.push(MARKER_SUFFIX);
    name
}

/// What a `_SUCCESS` manifest says about one committed file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version (1).
    pub manifest_version: u32,
    /// The file name (not path) this manifest describes.
    pub name: String,
    /// Format name, when known.
    pub format: Option<String>,
    /// Size of the data in bytes.
    pub bytes: u64,
    /// Content hash, `xxh3-128:<hex>`.
    pub hash: String,
    /// Data rows, when an encoder produced the file.
    pub rows: Option<u64>,
    /// The encoder that produced the data, if one did.
    pub encoder: Option<EncoderInfo>,
    /// The object's ETag when published, for object-store targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    /// Who wrote it, when, and how durably.
    #[serde(flatten)]
    pub written_by: Provenance,
    /// Milliseconds per step.
    pub timings_ms: BTreeMap<String, f64>,
}

/// Who wrote a manifest, when, and how durably (file and directory manifests alike).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The atio version that wrote it.
    pub atio_version: String,
    /// The run that wrote it.
    pub run_id: String,
    /// Host name of the writer.
    pub host: String,
    /// Process id of the writer.
    pub pid: u32,
    /// RFC 3339 time the write started.
    pub started_at: String,
    /// RFC 3339 time the data was committed.
    pub finished_at: String,
    /// Durability level that applied.
    pub durability: Durability,
}

impl Provenance {
    /// This process, now.
    pub(crate) fn this_process(
        run_id: &str,
        started_at: SystemTime,
        finished_at: SystemTime,
        durability: Durability,
    ) -> Self {
        Self {
            atio_version: env!("CARGO_PKG_VERSION").to_owned(),
            run_id: run_id.to_owned(),
            host: host_name(),
            pid: std::process::id(),
            started_at: rfc3339(started_at),
            finished_at: rfc3339(finished_at),
            durability,
        }
    }
}

/// Pretty JSON with a trailing newline.
fn to_json_line(value: &impl Serialize) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(value).expect("a manifest always serialises");
    json.push(b'\n');
    json
}

/// Parses a manifest read from `path`; `what` names the kind in the error.
fn parse_manifest<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    path: &Path,
    what: &str,
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|error| {
        Error::new(
            ErrorKind::Verification,
            Step::Verify,
            path,
            format!("not a valid atio {what}: {error}"),
        )
        .with_source(error)
    })
}

impl Manifest {
    /// Serialises to pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        to_json_line(self)
    }

    /// Parses a manifest read from `path` (used in error messages).
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self> {
        parse_manifest(bytes, path, "manifest")
    }
}

/// Milliseconds per step, as stored in manifests.
pub(crate) fn timings_map(timings: &StepTimings) -> BTreeMap<String, f64> {
    [
        ("setup", timings.setup),
        ("write", timings.write),
        ("encode", timings.encode),
        ("fsync", timings.fsync),
        ("rename", timings.rename),
        ("dir_fsync", timings.dir_fsync),
        ("upload", timings.upload),
        ("total_before_marker", timings.total),
    ]
    .into_iter()
    // Only object-store writes upload.
    .filter(|(name, duration)| *name != "upload" || !duration.is_zero())
    // Microsecond resolution is plenty, and keeps the JSON readable.
    .map(|(name, duration)| {
        (
            name.to_owned(),
            (duration.as_secs_f64() * 1e6).round() / 1e3,
        )
    })
    .collect()
}

/// RFC 3339 with milliseconds, UTC.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// This machine's host name (for manifests and lock messages).
pub fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The marker file inside a committed directory (the Hadoop/Spark convention).
pub const DIR_MARKER: &str = "_SUCCESS";

/// One file of a committed directory, as listed by its manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the directory, `/`-separated (e.g. `region=eu/part-00000.parquet`).
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Content hash, `xxh3-128:<hex>`.
    pub hash: String,
    /// Data rows, when an encoder produced the file.
    pub rows: Option<u64>,
}

/// What `<dir>/_SUCCESS` says about a directory committed as one unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DirManifest {
    /// Manifest format version (1).
    pub manifest_version: u32,
    /// Always `directory`.
    pub kind: String,
    /// Every data file, sorted by path. Nothing else in the directory is data.
    pub files: Vec<FileEntry>,
    /// Total rows, when known for every file.
    pub rows: Option<u64>,
    /// Format name, when one encoder wrote every file.
    pub format: Option<String>,
    /// The encoder that wrote the files, if any.
    pub encoder: Option<EncoderInfo>,
    /// The Arrow schema of the data files, as text, when known.
    pub schema: Option<String>,
    /// Who wrote it, when (`finished_at`: just before the swap), and how durably.
    #[serde(flatten)]
    pub written_by: Provenance,
}

/// What a writer knows about a directory's files, for its manifest.
#[derive(Clone, Debug, Default)]
pub(crate) struct DirDetails {
    pub(crate) format: Option<String>,
    pub(crate) encoder: Option<EncoderInfo>,
    pub(crate) schema: Option<String>,
}

impl DirManifest {
    /// The manifest listing `files` (sorted by the caller), written by this process now.
    pub(crate) fn new(
        files: Vec<FileEntry>,
        details: &DirDetails,
        run_id: &str,
        started_at: SystemTime,
        durability: Durability,
    ) -> Self {
        Self {
            manifest_version: MANIFEST_VERSION,
            kind: "directory".into(),
            rows: files.iter().map(|file| file.rows).sum::<Option<u64>>(),
            files,
            format: details.format.clone(),
            encoder: details.encoder.clone(),
            schema: details.schema.clone(),
            written_by: Provenance::this_process(run_id, started_at, SystemTime::now(), durability),
        }
    }

    /// Serialises to pretty JSON with a trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        json.push(b'\n');
        json
    }

    /// Parses a directory manifest read from `path`.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|error| {
            Error::new(
                ErrorKind::Verification,
                Step::Verify,
                path,
                format!("not a valid atio directory manifest: {error}"),
            )
            .with_source(error)
        })
    }

    /// Whether two manifests list the same files with the same content.
    pub fn same_content(&self, other: &Self) -> bool {
        let key = |manifest: &Self| {
            manifest
                .files
                .iter()
                .map(|file| (file.path.clone(), file.hash.clone()))
                .collect::<Vec<_>>()
        };
        key(self) == key(other)
    }
}
