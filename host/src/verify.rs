//! `atio verify`: does a file still match its `_SUCCESS` manifest?

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result, Step};
use crate::hash;
use crate::manifest::{self, Manifest};
use crate::store::{Location, StoreOptions};

/// A file that matched its manifest.
#[derive(Clone, Debug, Serialize)]
pub struct Verified {
    /// The data file checked.
    pub path: PathBuf,
    /// Its marker.
    pub marker: PathBuf,
    /// What the marker says (and the file matched).
    pub manifest: Manifest,
}

/// Checks `path` against `<path>._SUCCESS`: size and content hash. Any disagreement, or a missing
/// or unreadable marker, is a `verification` error saying exactly what differs. Object-store URLs
/// are checked with [`crate::store::verify_object`] (store settings from the environment).
pub fn verify(path: impl AsRef<Path>) -> Result<Verified> {
    let path = path.as_ref();
    if let Location::Object(url) = Location::parse(path)? {
        return crate::store::verify_object(&url, &StoreOptions::default());
    }
    let fail = |message: String| Error::new(ErrorKind::Verification, Step::Verify, path, message);
    let name = path
        .file_name()
        .ok_or_else(|| fail("not a file path".into()))?;
    let marker = path.with_file_name(manifest::marker_name(name));
    // Shared publish lock: no atio writer can swap the file and its marker while both are read.
    let dir_path = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let dir = std::sync::Arc::new(crate::commit::open_dir(dir_path).map_err(|error| {
        Error::new(
            ErrorKind::Verification,
            Step::Verify,
            path,
            error.message().to_owned(),
        )
    })?);
    let _publish_lock = crate::commit::lock::PublishLock::acquire(&dir, dir_path, true)?;
    let marker_bytes = match std::fs::read(&marker) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(format!(
                "no _SUCCESS marker ({} does not exist)",
                marker.display()
            )));
        }
        Err(error) => return Err(Error::io(Step::Verify, &marker, error)),
    };
    let manifest = Manifest::from_json(&marker_bytes, &marker)?;
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(
                "the data file is missing but its _SUCCESS marker exists".into(),
            ));
        }
        Err(error) => return Err(Error::io(Step::Verify, path, error)),
    };
    let (bytes, digest) =
        hash::hash_reader(file).map_err(|error| Error::io(Step::Verify, path, error))?;
    mismatch(bytes, &digest, &manifest).map_or(Ok(()), |message| Err(fail(message)))?;
    Ok(Verified {
        path: path.to_path_buf(),
        marker,
        manifest,
    })
}

/// What differs between data of `bytes` bytes hashing to `digest` and its file manifest, if
/// anything (for files and objects alike).
pub(crate) fn mismatch(bytes: u64, digest: &str, manifest: &Manifest) -> Option<String> {
    if bytes != manifest.bytes {
        return Some(format!(
            "size is {bytes} bytes but the marker records {} (truncated, appended to or replaced)",
            manifest.bytes
        ));
    }
    (digest != manifest.hash).then(|| {
        format!(
            "content hash is {digest} but the marker records {} (altered or replaced after commit)",
            manifest.hash
        )
    })
}

/// A directory that matched its manifest.
#[derive(Clone, Debug, Serialize)]
pub struct VerifiedDir {
    /// The directory checked.
    pub path: PathBuf,
    /// What its `_SUCCESS` says (and the directory matched).
    pub manifest: crate::manifest::DirManifest,
}

/// Checks a committed directory against `<dir>/_SUCCESS`: every listed file present with the
/// right size and hash, and no unlisted data file (hidden `.`/`_` entries are not data). Holds
/// the parent's publish lock shared, so no atio swap happens mid-check.
pub fn verify_dir(path: impl AsRef<Path>) -> Result<VerifiedDir> {
    let path = path.as_ref();
    if let Location::Object(url) = Location::parse(path)? {
        return crate::store::verify_prefix(&url, &StoreOptions::default());
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let parent_fd = std::sync::Arc::new(crate::commit::open_dir(parent)?);
    let _publish_lock = crate::commit::lock::PublishLock::acquire(&parent_fd, parent, true)?;
    check_dir(path)
}

/// [`verify_dir`] without taking the publish lock: for a caller that already holds it
/// (recovery, which must not wait for a shared lock behind its own exclusive one).
pub(crate) fn check_dir(path: &Path) -> Result<VerifiedDir> {
    let fail = |message: String| Error::new(ErrorKind::Verification, Step::Verify, path, message);
    let marker = path.join(crate::manifest::DIR_MARKER);
    let bytes = match std::fs::read(&marker) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail(format!(
                "no _SUCCESS manifest ({} does not exist)",
                marker.display()
            )));
        }
        Err(error) => return Err(Error::io(Step::Verify, &marker, error)),
    };
    let manifest = crate::manifest::DirManifest::from_json(&bytes, &marker)?;
    for entry in &manifest.files {
        let file_path = path.join(&entry.path);
        let file = match File::open(&file_path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(fail(format!(
                    "{} is listed in the manifest but missing",
                    entry.path
                )));
            }
            Err(error) => return Err(Error::io(Step::Verify, &file_path, error)),
        };
        let (bytes, digest) =
            hash::hash_reader(file).map_err(|error| Error::io(Step::Verify, &file_path, error))?;
        if bytes != entry.bytes || digest != entry.hash {
            return Err(fail(format!(
                "{} does not match the manifest: {bytes} bytes {digest}, expected {} bytes {}",
                entry.path, entry.bytes, entry.hash
            )));
        }
    }
    let listed: std::collections::BTreeSet<&str> = manifest
        .files
        .iter()
        .map(|entry| entry.path.as_str())
        .collect();
    let mut unlisted = Vec::new();
    data_files(path, "", &mut unlisted).map_err(|error| Error::io(Step::Verify, path, error))?;
    unlisted.retain(|file| !listed.contains(file.as_str()));
    if !unlisted.is_empty() {
        return Err(fail(format!(
            "data files not in the manifest: {}",
            unlisted.join(", ")
        )));
    }
    Ok(VerifiedDir {
        path: path.to_path_buf(),
        manifest,
    })
}

/// Every data file below `dir` (relative, `/`-separated), skipping `.hidden` and `_meta` entries.
fn data_files(dir: &Path, prefix: &str, found: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if entry.file_type()?.is_dir() {
            data_files(&entry.path(), &relative, found)?;
        } else {
            found.push(relative);
        }
    }
    Ok(())
}
