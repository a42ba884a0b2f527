//! `atio clean`: remove staging files and directories left behind by writers that died.
//!
//! A staging file is removed when its owner process is gone (same host, by pid) or when it is
//! older than a threshold (other hosts on shared storage, or a reused pid). Files whose names do
//! not parse as atio staging names are never touched, and neither are symlinks or directories.
//!
//! Directory targets whose fallback swap was interrupted are recovered first (as `atio recover`
//! does): the old tree moved aside as `.NAME.atio-stg-….old` is never swept while `NAME` is
//! missing, since it may be the only copy of the target.
//!
//! Version stores (`.NAME.atio-versions/`) are swept too, recursive or not: an entry being
//! built or pruned has a staging name; complete entries (`000007/`) are never touched.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustix::io::Errno;
use serde::Serialize;

use crate::error::{Error, IoContext, Result, Step};

use super::dir::{INTENT_SUFFIX, Search, recover_in};
use super::{fs, staging};

/// What `clean` removes.
#[derive(Clone, Debug)]
pub struct CleanOptions {
    /// Remove staging files older than this even when their owner may be alive (another host, or
    /// a reused pid).
    pub older_than: Duration,
    /// Report what would be removed; remove nothing.
    pub dry_run: bool,
    /// Also sweep subdirectories (not following symlinks).
    pub recursive: bool,
}

impl Default for CleanOptions {
    fn default() -> Self {
        Self {
            older_than: Duration::from_secs(24 * 3600),
            dry_run: false,
            recursive: false,
        }
    }
}

/// What `clean` did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CleanReport {
    /// Staging files removed (or, with `dry_run`, that would be).
    pub removed: Vec<PathBuf>,
    /// Staging files left alone, with why.
    pub kept: Vec<(PathBuf, String)>,
    /// Directory targets whose swap had been interrupted, recovered before sweeping (or, with
    /// `dry_run`, that would be), with what was done.
    pub recovered: Vec<(PathBuf, String)>,
}

/// Sweeps `dir` for orphaned staging files.
pub fn clean(dir: &Path, options: &CleanOptions) -> Result<CleanReport> {
    let mut report = CleanReport::default();
    sweep_dir(dir, options, &mut report)?;
    Ok(report)
}

/// One directory entry, as listed.
struct Entry {
    name: OsString,
    path: PathBuf,
    file_type: std::fs::FileType,
}

fn list(dir: &Path) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).at(Step::Clean, dir)? {
        let entry = entry.at(Step::Clean, dir)?;
        let path = entry.path();
        let file_type = entry.file_type().at(Step::Clean, &path)?;
        entries.push(Entry {
            name: entry.file_name(),
            path,
            file_type,
        });
    }
    Ok(entries)
}

fn sweep_dir(dir: &Path, options: &CleanOptions, report: &mut CleanReport) -> Result<()> {
    let handle = Arc::new(fs::open_dir(dir).map_err(retag_clean)?);
    let mut entries = list(dir)?;
    // Interrupted directory swaps first: their trees must not be swept while the target is
    // missing (the old tree under its `.old` name may be the only copy of the target).
    let interrupted = interrupted_swaps(&entries);
    let mut unresolved = BTreeSet::new();
    for target in &interrupted {
        let path = dir.join(target);
        if options.dry_run {
            report.recovered.push((
                path,
                "would recover an interrupted swap first (as `atio recover` does)".to_owned(),
            ));
            unresolved.insert(target.clone());
            continue;
        }
        match recover_in(&handle, dir, target, true, Search::WithoutJournal) {
            Ok((_, detail)) => report.recovered.push((path, detail)),
            Err(error) => {
                report
                    .recovered
                    .push((path, format!("could not recover: {error}")));
                unresolved.insert(target.clone());
            }
        }
    }
    if !interrupted.is_empty() && !options.dry_run {
        entries = list(dir)?;
    }
    let present: BTreeSet<&OsStr> = entries.iter().map(|entry| entry.name.as_os_str()).collect();
    for entry in &entries {
        let Entry {
            name,
            path,
            file_type,
        } = entry;
        let owner = if file_type.is_dir() {
            match staging::parse_dir(name)
                .or_else(|| staging::backup_of(name).and_then(staging::parse_dir))
            {
                Some(owner) => owner,
                None => {
                    if super::versions::is_store_name(name) {
                        // A version store: its half-made entries (staging names inside it) are
                        // swept with the directory that holds the target, recursive or not.
                        let store_options = CleanOptions {
                            recursive: true,
                            ..options.clone()
                        };
                        sweep_dir(path, &store_options, report)?;
                    } else if options.recursive {
                        sweep_dir(path, options, report)?;
                    }
                    continue;
                }
            }
        } else if file_type.is_file() {
            match staging::parse(name) {
                Some(owner) => owner,
                None => continue,
            }
        } else {
            continue;
        };
        if file_type.is_dir() {
            if let Some(target) = unresolved
                .iter()
                .find(|target| staging::is_dir_for(name, target))
            {
                report.kept.push((
                    path.clone(),
                    format!(
                        "part of an interrupted swap of {}: run `atio recover {}`",
                        target.to_string_lossy(),
                        dir.join(target).display()
                    ),
                ));
                continue;
            }
            if staging::backup_of(name).is_some() && !target_present(name, &present) {
                report.kept.push((
                    path.clone(),
                    "the moved-aside previous tree of a directory that is missing: run `atio recover DIR`".to_owned(),
                ));
                continue;
            }
        }
        let modified = match std::fs::symlink_metadata(path).and_then(|meta| meta.modified()) {
            Ok(modified) => modified,
            // Committed or removed by its writer since the listing: nothing left to sweep.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error).at(Step::Clean, path),
        };
        let age = SystemTime::now()
            .duration_since(modified)
            .unwrap_or_default();
        let orphaned = owner.host == staging::host_tag() && !process_alive(owner.pid);
        let verdict = if orphaned || age > options.older_than {
            None
        } else if owner.host == staging::host_tag() {
            Some(format!("its writer (pid {}) is still running", owner.pid))
        } else {
            Some(format!(
                "written on another host {}s ago (threshold {}s)",
                age.as_secs(),
                options.older_than.as_secs()
            ))
        };
        match verdict {
            Some(reason) => report.kept.push((path.clone(), reason)),
            None => {
                if !options.dry_run && file_type.is_dir() {
                    fs::remove_tree(&handle, name).at(Step::Clean, path)?;
                } else if !options.dry_run {
                    match rustix::fs::unlinkat(&*handle, name, rustix::fs::AtFlags::empty()) {
                        Ok(()) | Err(Errno::NOENT) => {}
                        Err(errno) => return Err(errno).at(Step::Clean, path),
                    }
                }
                report.removed.push(path.clone());
            }
        }
    }
    Ok(())
}

/// Targets with an interrupted fallback swap: a swap journal (`.NAME.atio-intent`), or a
/// moved-aside old tree (`.NAME.atio-stg-….old`) while `NAME` itself is missing.
fn interrupted_swaps(entries: &[Entry]) -> BTreeSet<OsString> {
    let present: BTreeSet<&OsStr> = entries.iter().map(|entry| entry.name.as_os_str()).collect();
    let mut targets = BTreeSet::new();
    for entry in entries {
        if entry.file_type.is_file()
            && let Some(target) = journal_target(&entry.name)
        {
            targets.insert(target.to_os_string());
        }
        if entry.file_type.is_dir()
            && staging::backup_of(&entry.name).is_some()
            && let Some(target) = staging::dir_target(&entry.name)
            && !present.contains(target)
        {
            targets.insert(target.to_os_string());
        }
    }
    targets
}

/// `NAME` for a swap journal named `.NAME.atio-intent`.
fn journal_target(name: &OsStr) -> Option<&OsStr> {
    let target = name
        .as_bytes()
        .strip_prefix(b".")?
        .strip_suffix(INTENT_SUFFIX.as_bytes())?;
    (!target.is_empty()).then(|| OsStr::from_bytes(target))
}

/// Whether the directory a staging tree or backup was made for exists (found by its whole name,
/// or, when the name was cut to fit, by any entry it was made for).
fn target_present(name: &OsStr, present: &BTreeSet<&OsStr>) -> bool {
    match staging::dir_target(name) {
        Some(target) => present.contains(target),
        None => present
            .iter()
            .any(|candidate| staging::is_dir_for(name, candidate)),
    }
}

fn retag_clean(error: Error) -> Error {
    let message = error.message().to_owned();
    Error::new(error.kind(), Step::Clean, error.path(), message).with_source(error)
}

/// Whether a process with this pid exists on this host (EPERM means it exists, as another user).
fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    !matches!(rustix::process::test_kill_process(pid), Err(Errno::SRCH))
}
