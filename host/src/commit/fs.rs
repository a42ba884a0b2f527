//! The system calls of a commit, each wrapped to name its step and path.
//!
//! Everything that creates, fsyncs, renames or unlinks in a target directory is in this file or
//! its siblings under `commit/`; nothing else in atio does.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags, Stat};
use rustix::io::Errno;

use crate::error::{Error, ErrorKind, IoContext, Result, Step};
use crate::hash::ContentHasher;
use crate::options::Symlinks;

use super::staging;

/// How many symlinks `resolve` follows before giving up (the kernel's own limit).
const MAX_SYMLINK_HOPS: usize = 40;

/// A target file: its directory (held open), its name in it, and what is there now.
#[derive(Debug)]
pub(crate) struct Target {
    pub dir: Arc<OwnedFd>,
    pub dir_path: PathBuf,
    pub name: OsString,
    pub path: PathBuf,
    /// `lstat` of the current entry at `name`, if any.
    pub existing: Option<Stat>,
}

impl Target {
    /// Resolves `path` per the symlink policy, creates missing parent directories (fsyncing each
    /// new entry's parent when `fsync`), and opens the directory.
    pub fn resolve(path: &Path, symlinks: Symlinks, fsync: bool) -> Result<Self> {
        Self::resolve_with(path, symlinks, Some(fsync))
    }

    /// Resolves `path` like [`Target::resolve`] without creating anything: its directory must
    /// exist (for commands that read or manage what is there, such as the version store's).
    pub fn resolve_existing(path: &Path, symlinks: Symlinks) -> Result<Self> {
        Self::resolve_with(path, symlinks, None)
    }

    /// `create_parents`: `Some(fsync)` to create missing parent directories.
    fn resolve_with(path: &Path, symlinks: Symlinks, create_parents: Option<bool>) -> Result<Self> {
        let path = match symlinks {
            Symlinks::Follow => follow_symlinks(path)?,
            Symlinks::Replace => path.to_path_buf(),
        };
        let name = match path.file_name() {
            Some(name) if !path.as_os_str().as_encoded_bytes().ends_with(b"/") => name.to_owned(),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    Step::Resolve,
                    &path,
                    "not a file path (it has no file name)",
                ));
            }
        };
        let dir_path = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if let Some(fsync) = create_parents {
            create_dir_all(&dir_path, fsync)?;
        }
        let dir = open_dir(&dir_path)?;
        let existing = match rustix::fs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => Some(stat),
            Err(Errno::NOENT) => None,
            Err(errno) => return Err(errno).at(Step::Resolve, &path),
        };
        if existing.is_some_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Directory)
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                Step::Resolve,
                &path,
                "is a directory",
            ));
        }
        Ok(Self {
            dir: Arc::new(dir),
            dir_path,
            name,
            path,
            existing,
        })
    }

    /// The path of an entry in the target's directory.
    pub fn sibling(&self, name: &OsStr) -> PathBuf {
        self.dir_path.join(name)
    }

    /// Creates a new staging file for an entry called `for_name`, with `O_EXCL|O_NOFOLLOW`, and
    /// the permissions given (the umask applies).
    pub fn create_staging(&self, for_name: &OsStr, mode: u32) -> Result<(OsString, File)> {
        let flags =
            // Readable too: a rewritten header means hashing the content again from the file.
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        loop {
            let name = staging::new_name(for_name);
            match rustix::fs::openat(&*self.dir, &name, flags, Mode::from_raw_mode(mode)) {
                Ok(fd) => return Ok((name, File::from(fd))),
                Err(Errno::EXIST) => continue,
                Err(errno) => return Err(errno).at(Step::Stage, &self.sibling(&name)),
            }
        }
    }

    /// fsyncs the directory, making renames and unlinks in it durable.
    pub fn fsync_dir(&self) -> Result<()> {
        rustix::fs::fsync(&*self.dir).at(Step::DirFsync, &self.dir_path)
    }

    /// Renames `from` onto `to` in the directory. With `no_replace`, fails with `conflict` when
    /// `to` exists (renameat2 RENAME_NOREPLACE, or link+unlink where the filesystem lacks it).
    pub fn rename(&self, from: &OsStr, to: &OsStr, no_replace: bool) -> Result<()> {
        let to_path = self.sibling(to);
        if !no_replace {
            return rustix::fs::renameat(&*self.dir, from, &*self.dir, to)
                .at(Step::Rename, &to_path);
        }
        let result = match rustix::fs::renameat_with(
            &*self.dir,
            from,
            &*self.dir,
            to,
            RenameFlags::NOREPLACE,
        ) {
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                rustix::fs::linkat(&*self.dir, from, &*self.dir, to, AtFlags::empty())
                    .and_then(|()| rustix::fs::unlinkat(&*self.dir, from, AtFlags::empty()))
            }
            other => other,
        };
        match result {
            Err(Errno::EXIST) => Err(Error::new(
                ErrorKind::Conflict,
                Step::Rename,
                to_path,
                "the target exists and create-only (--no-clobber) was asked for",
            )),
            other => other.at(Step::Rename, &to_path),
        }
    }

    /// Unlinks an entry; `Ok(false)` when it was already gone.
    pub fn unlink(&self, name: &OsStr, step: Step) -> Result<bool> {
        match rustix::fs::unlinkat(&*self.dir, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(errno) => Err(errno).at(step, &self.sibling(name)),
        }
    }
}

/// Follows symlinks at `path` (the final component, repeatedly) to the entry they name.
/// A dangling link resolves to where it points, so the write creates that file.
fn follow_symlinks(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..MAX_SYMLINK_HOPS {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current).at(Step::Resolve, &current)?;
                current = match current.parent() {
                    Some(parent) if link.is_relative() => parent.join(link),
                    _ => link,
                };
            }
            Ok(_) => return Ok(current),
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(current),
            Err(error) => return Err(Error::io(Step::Resolve, current, error)),
        }
    }
    Err(Error::new(
        ErrorKind::InvalidInput,
        Step::Resolve,
        path,
        "too many levels of symbolic links",
    ))
}

/// Overwrites the first `header.len()` bytes of a staging file of `written` bytes (an encoder's
/// `output.rewrite-header`). The content hash streamed so far no longer holds: see [`rehash`].
pub(crate) fn rewrite_header(file: &File, header: &[u8], written: u64) -> io::Result<()> {
    if header.len() as u64 > written {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "a header of {} bytes is longer than the {written} bytes written",
                header.len()
            ),
        ));
    }
    file.write_all_at(header, 0)
}

/// The content hash of a staging file's `len` bytes, read back from the file.
pub(crate) fn rehash(file: &File, len: u64) -> io::Result<ContentHasher> {
    let mut hasher = ContentHasher::new();
    let mut buffer = vec![0; (1 << 20).min(len as usize)];
    let mut offset = 0;
    while offset < len {
        let chunk = &mut buffer[..(len - offset).min(1 << 20) as usize];
        file.read_exact_at(chunk, offset)?;
        hasher.update(chunk);
        offset += chunk.len() as u64;
    }
    Ok(hasher)
}

/// Opens a directory for `*at` calls and fsync.
pub(crate) fn open_dir(path: &Path) -> Result<OwnedFd> {
    rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .at(Step::Resolve, path)
}

/// `mkdir -p`, durably: each directory created is made durable by fsyncing its parent.
pub(crate) fn create_dir_all(dir: &Path, fsync: bool) -> Result<()> {
    let mut missing = Vec::new();
    let mut current = dir;
    loop {
        match std::fs::metadata(current) {
            Ok(meta) if meta.is_dir() => break,
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    Step::CreateDir,
                    current,
                    "is not a directory",
                ));
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => missing.push(current),
            Err(error) => return Err(Error::io(Step::CreateDir, current, error)),
        }
        match current.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => current = parent,
            _ => break,
        }
    }
    for dir in missing.into_iter().rev() {
        match std::fs::create_dir(dir) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => continue,
            Err(error) => return Err(Error::io(Step::CreateDir, dir, error)),
        }
        if fsync {
            let parent = match dir.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            };
            rustix::fs::fsync(open_dir(parent)?).at(Step::CreateDir, parent)?;
        }
    }
    Ok(())
}

/// Copies the previous file's permission bits and (where allowed) owner onto the staging file.
pub(crate) fn copy_mode_and_owner(file: &File, previous: &Stat, path: &Path) -> Result<()> {
    rustix::fs::fchmod(file, Mode::from_raw_mode(previous.st_mode & 0o7777))
        .at(Step::SetMode, path)?;
    let ours = rustix::fs::fstat(file).at(Step::SetMode, path)?;
    if ours.st_uid != previous.st_uid || ours.st_gid != previous.st_gid {
        // Only root (or the owner, for the group) may chown; an unprivileged writer keeps
        // ownership of the new file, as any editor's save would.
        let owner = rustix::fs::Uid::from_raw(previous.st_uid);
        let group = rustix::fs::Gid::from_raw(previous.st_gid);
        match rustix::fs::fchown(file, Some(owner), Some(group)) {
            Ok(()) | Err(Errno::PERM) => {}
            Err(errno) => return Err(errno).at(Step::SetMode, path),
        }
        // A chown by root clears setuid/setgid bits; put the mode back.
        rustix::fs::fchmod(file, Mode::from_raw_mode(previous.st_mode & 0o7777))
            .at(Step::SetMode, path)?;
    }
    Ok(())
}

/// Removes `name` in `dir` and everything below it, never following symlinks.
pub(crate) fn remove_tree(dir: &OwnedFd, name: &OsStr) -> std::io::Result<()> {
    let fd = match rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(()),
        Err(errno) => return Err(errno.into()),
    };
    let entries = rustix::fs::Dir::read_from(&fd)?;
    let mut children = Vec::new();
    for entry in entries {
        let entry = entry?;
        let child = entry.file_name().to_bytes();
        if child != b"." && child != b".." {
            let child = OsStr::from_bytes(child).to_os_string();
            let is_dir = match entry.file_type() {
                FileType::Unknown => rustix::fs::statat(&fd, &child, AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|stat| FileType::from_raw_mode(stat.st_mode) == FileType::Directory),
                file_type => file_type == FileType::Directory,
            };
            children.push((child, is_dir));
        }
    }
    for (child, is_dir) in children {
        if is_dir {
            remove_tree(&fd, &child)?;
        } else {
            match rustix::fs::unlinkat(&fd, &child, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(errno) => return Err(errno.into()),
            }
        }
    }
    match rustix::fs::unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(errno) => Err(errno.into()),
    }
}
