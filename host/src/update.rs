//! Locked read-modify-write: `update` and `update_json`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::commit::AtomicFile;
use crate::error::{Error, ErrorKind, IoContext, Result, Step};
use crate::options::Options;
use crate::report::Report;

/// How long `update` waits for the target's lock unless `Options::lock` says otherwise.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads `path` (`None` if missing), computes the new content with `change`, and commits it —
/// all while holding the target's lock, so concurrent updates never lose each other's changes.
/// If `change` fails, nothing is written.
pub fn update<E>(
    path: impl AsRef<Path>,
    options: &Options,
    change: impl FnOnce(Option<&[u8]>) -> Result<Vec<u8>, E>,
) -> Result<Report>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut file = open_locked(path.as_ref(), options)?;
    let target = file.target_path().to_path_buf();
    let old = read_current(&target)?;
    let new = change(old.as_deref()).map_err(|error| {
        let error = error.into();
        Error::new(
            ErrorKind::InvalidInput,
            Step::Update,
            &target,
            format!("the update function failed: {error}; the file is unchanged"),
        )
    })?;
    let staging = file.staging_path().unwrap_or_default();
    file.write_all(&new).at(Step::Write, &staging)?;
    file.commit()
}

/// [`update`] for JSON documents: `change` edits the parsed value (`default` when the file is
/// missing). A file that does not parse is an error, never silently replaced.
pub fn update_json<T, E>(
    path: impl AsRef<Path>,
    options: &Options,
    default: T,
    change: impl FnOnce(&mut T) -> Result<(), E>,
) -> Result<(T, Report)>
where
    T: Serialize + DeserializeOwned,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = path.as_ref();
    let mut updated = None;
    let report = update(
        path,
        options,
        |old| -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
            let mut value = match old {
            Some(bytes) => serde_json::from_slice(bytes).map_err(|error| format!("the existing content is not valid JSON for this type ({error}); refusing to replace it"))?,
            None => default,
        };
            change(&mut value).map_err(Into::into)?;
            let mut json = serde_json::to_vec_pretty(&value)?;
            json.push(b'\n');
            updated = Some(value);
            Ok(json)
        },
    )?;
    Ok((updated.expect("update ran the change"), report))
}

/// Stages a write of `path` holding its lock (taken before reading, released after commit).
pub(crate) fn open_locked(path: &Path, options: &Options) -> Result<AtomicFile> {
    let options = Options {
        lock: Some(options.lock.unwrap_or(DEFAULT_LOCK_TIMEOUT)),
        ..options.clone()
    };
    AtomicFile::create(path, &options)
}

/// The current content, or `None` when the file does not exist.
pub(crate) fn read_current(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::io(Step::Read, path, error)),
    }
}
