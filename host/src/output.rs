//! [`Output`]: one all-or-nothing output, a local file or an object, chosen by the target.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use crate::commit::AtomicFile;
use crate::error::Result;
use crate::options::Options;
use crate::report::{EncoderInfo, Report};
use crate::store::{Location, ObjectFile};

/// A write in progress to a local path (staged file, renamed on commit) or to an object store
/// URL (upload, completed on commit). Dropping it without `commit` discards everything.
///
/// ```no_run
/// use std::io::Write;
/// let options = atio::Options::default();
/// for target in ["out/a.csv", "s3://bucket/out/a.csv"] {
///     let mut output = atio::Output::create(target, &options)?;
///     output.write_all(b"a,b\n1,2\n")?;
///     output.commit()?;
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub enum Output {
    /// A local file.
    File(AtomicFile),
    /// An object in a store.
    Object(ObjectFile),
}

impl Output {
    /// Starts a write of `target`: a path, or a `scheme://` URL.
    pub fn create(target: impl AsRef<Path>, options: &Options) -> Result<Self> {
        Ok(match Location::parse(target.as_ref())? {
            Location::Local(path) => Self::File(AtomicFile::create(path, options)?),
            Location::Object(url) => Self::Object(ObjectFile::open(url, options)?),
        })
    }

    /// What `commit` publishes: the final path or URL.
    pub fn target(&self) -> PathBuf {
        match self {
            Self::File(file) => file.target_path().to_path_buf(),
            Self::Object(object) => object.url().as_path(),
        }
    }

    /// Where bytes go until `commit`: the staging file, or the URL being uploaded.
    pub fn staging(&self) -> PathBuf {
        match self {
            Self::File(file) => file.staging_path().unwrap_or_default(),
            Self::Object(object) => object.url().as_path(),
        }
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        match self {
            Self::File(file) => file.bytes_written(),
            Self::Object(object) => object.bytes_written(),
        }
    }

    /// For objects: bytes the store has acknowledged, updated as parts finish.
    pub fn upload_progress(&self) -> Option<Arc<AtomicU64>> {
        match self {
            Self::File(_) => None,
            Self::Object(object) => Some(object.upload_progress()),
        }
    }

    /// Records what produced the bytes, for the report and manifest.
    pub fn describe(&mut self, format: String, rows: u64, encoder: EncoderInfo, encode: Duration) {
        match self {
            Self::File(file) => {
                file.set_format(format);
                file.set_rows(rows);
                file.set_encoder(encoder);
                file.add_encode_time(encode);
            }
            Self::Object(object) => {
                object.set_format(format);
                object.set_rows(rows);
                object.set_encoder(encoder);
                object.add_encode_time(encode);
            }
        }
    }

    /// Publishes the bytes at the target, then its `_SUCCESS` marker.
    pub fn commit(self) -> Result<Report> {
        match self {
            Self::File(file) => file.commit(),
            Self::Object(object) => object.commit(),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::File(file) => file.write(buf),
            Self::Object(object) => object.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::File(file) => file.flush(),
            Self::Object(object) => object.flush(),
        }
    }
}
