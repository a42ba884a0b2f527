//! `atio clean`: remove staging files and directories left behind by writers that died.
//!
//! A staging file is removed when its owner process is gone (same host, by pid) or when it is
//! older than a threshold (other hosts on shared storage, or a reused pid). Files whose names do
//! not parse as atio staging names are never touched, and neither are symlinks or directories.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rustix::io::Errno;
use serde::Serialize;

use crate::error::{Error, IoContext, Result, Step};

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
}

/// Sweeps `dir` for orphaned staging files.
pub fn clean(dir: &Path, options: &CleanOptions) -> Result<CleanReport> {
    let mut report = CleanReport::default();
    sweep_dir(dir, options, &mut report)?;
    Ok(report)
}

fn sweep_dir(dir: &Path, options: &CleanOptions, report: &mut CleanReport) -> Result<()> {
    let handle = fs::open_dir(dir).map_err(retag_clean)?;
    let entries = std::fs::read_dir(dir).at(Step::Clean, dir)?;
    for entry in entries {
        let entry = entry.at(Step::Clean, dir)?;
        let path = entry.path();
        let file_type = entry.file_type().at(Step::Clean, &path)?;
        let name = entry.file_name();
        let owner = if file_type.is_dir() {
            match staging::parse_dir(&name) {
                Some(owner) => owner,
                None => {
                    if options.recursive {
                        sweep_dir(&path, options, report)?;
                    }
                    continue;
                }
            }
        } else if file_type.is_file() {
            match staging::parse(&name) {
                Some(owner) => owner,
                None => continue,
            }
        } else {
            continue;
        };
        let modified = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .at(Step::Clean, &path)?;
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
            Some(reason) => report.kept.push((path, reason)),
            None => {
                if !options.dry_run && file_type.is_dir() {
                    fs::remove_tree(&handle, &name).at(Step::Clean, &path)?;
                } else if !options.dry_run {
                    match rustix::fs::unlinkat(&handle, &name, rustix::fs::AtFlags::empty()) {
                        Ok(()) | Err(Errno::NOENT) => {}
                        Err(errno) => return Err(errno).at(Step::Clean, &path),
                    }
                }
                report.removed.push(path);
            }
        }
    }
    Ok(())
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
