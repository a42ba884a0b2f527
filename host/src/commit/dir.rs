//! Directory targets: a staged directory committed as one unit.
//!
//! Protocol (Linux):
//! 1. stage a sibling `.NAME.atio-stg-<pid>-<host>-<rand>` in the target's parent;
//! 2. write each file (deterministic names) and fsync it — no per-file directory fsync;
//! 3. write `_SUCCESS` (the directory manifest) last, fsync it, fsync every staged directory;
//! 4. under the parent's publish lock: `renameat2(RENAME_EXCHANGE)` when the target exists,
//!    `RENAME_NOREPLACE` when it does not; fsync the parent;
//! 5. delete the old tree (now under the staging name), still under the lock.
//!
//! Readers see the old directory or the new one, never a mix and never no directory. Where the
//! filesystem refuses the exchange (EINVAL), an intent journal `.NAME.atio-intent` is written
//! first and the swap becomes two renames; between them the directory is briefly absent, and
//! `recover` (run by `atio recover` and by the next write to the target) completes or rolls back.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, IoContext, Result, Step};
use crate::hash::ContentHasher;
use crate::manifest::{self, DirDetails, DirManifest, FileEntry};
use crate::options::Options;
use crate::report::EncoderInfo;

use super::lock::{PublishLock, TargetLock};
use super::{fs, interrupt, new_run_id, staging};

/// A directory being staged; becomes the target on `commit`, vanishes on drop.
#[derive(Debug)]
pub struct StagedDir {
    parent: Arc<OwnedFd>,
    parent_path: PathBuf,
    name: OsString,
    path: PathBuf,
    staging_name: OsString,
    staging: Arc<OwnedFd>,
    staging_path: PathBuf,
    subdirs: Vec<PathBuf>,
    files: Vec<FileEntry>,
    options: Options,
    details: DirDetails,
    run_id: String,
    started_at: SystemTime,
    started: Instant,
    allow_exchange: bool,
    committed: bool,
    /// A rollback: the files are hard links to this stored version, published with its manifest.
    restoring: Option<Box<DirManifest>>,
    _target_lock: Option<TargetLock>,
    _registration: interrupt::Registration,
}

/// A file being written inside a staged directory. Hand it back with [`StagedDir::add`].
#[derive(Debug)]
pub struct DirFile {
    file: File,
    relative: String,
    hasher: ContentHasher,
    bytes: u64,
    /// The content is hashed from the file when it is added, not as it is written: its header
    /// is (or will be) rewritten.
    hash_at_commit: bool,
}

impl DirFile {
    /// Stops hashing as bytes are written: the content hash will be taken from the file when it
    /// is added. For a header that will be rewritten (an encoder's `output.reserve-header`).
    pub fn hash_at_commit(&mut self) {
        self.hash_at_commit = true;
    }

    /// Overwrites the first `header.len()` bytes, all written already; the content hash is
    /// then taken from the file when it is added.
    pub fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        interrupt::check()?;
        fs::rewrite_header(&self.file, header, self.bytes)?;
        self.hash_at_commit = true;
        Ok(())
    }
}

impl Write for DirFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        interrupt::check()?;
        let written = self.file.write(buf)?;
        if !self.hash_at_commit {
            self.hasher.update(&buf[..written]);
        }
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// How a directory commit ended.
#[derive(Clone, Debug, Serialize)]
pub struct DirReport {
    /// The directory target.
    pub path: PathBuf,
    /// What its `_SUCCESS` lists.
    pub manifest: DirManifest,
    /// `false` when `--if-changed` found identical content and skipped the swap.
    pub swapped: bool,
    /// How the swap was done: `exchange`, `create`, `journal` or `skipped`.
    pub method: &'static str,
    /// Milliseconds from start to report.
    pub total_ms: f64,
    /// With `keep_versions`: the version number the replaced tree (or prefix) was
    /// kept as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_version: Option<u64>,
    /// With `keep_versions`: versions pruned after this commit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned_versions: Vec<u64>,
}

impl DirReport {
    /// The report of a directory (or prefix) commit that started at `started`.
    pub(crate) fn new(
        path: PathBuf,
        manifest: DirManifest,
        swapped: bool,
        method: &'static str,
        started: Instant,
    ) -> Self {
        Self {
            path,
            manifest,
            swapped,
            method,
            total_ms: started.elapsed().as_secs_f64() * 1e3,
            kept_version: None,
            pruned_versions: Vec::new(),
        }
    }
}

/// The intent journal of the fallback swap.
#[derive(Debug, Serialize, Deserialize)]
struct Intent {
    staging: String,
    backup: String,
}

impl StagedDir {
    /// Starts staging a replacement for the directory `path` (created if missing). Finishes any
    /// interrupted fallback swap of that target first.
    pub fn create(path: impl AsRef<Path>, options: &Options) -> Result<Self> {
        let path = path.as_ref();
        let started_at = SystemTime::now();
        let started = Instant::now();
        let name = match path.components().next_back() {
            Some(Component::Normal(name)) => name.to_os_string(),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    Step::Resolve,
                    path,
                    "not a directory path with a name (e.g. `out/dt=2025-01-15/`)",
                ));
            }
        };
        let parent_path = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent_path, options.fsync())?;
        let parent = Arc::new(fs::open_dir(&parent_path)?);
        let target_lock = match options.lock {
            Some(timeout) => Some(TargetLock::acquire(
                &parent,
                &parent_path,
                &name,
                timeout,
                options.stop_waiting.as_ref(),
            )?),
            None => None,
        };
        let (recovery, detail) = recover_in(
            &parent,
            &parent_path,
            &name,
            options.fsync(),
            Search::JournalOnly,
        )?;
        if recovery != Recovery::Nothing {
            tracing::warn!(path = %path.display(), ?recovery, "recovered an interrupted swap: {detail}");
        }
        match rustix::fs::statat(&*parent, &name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat)
                if rustix::fs::FileType::from_raw_mode(stat.st_mode)
                    != rustix::fs::FileType::Directory =>
            {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    Step::Resolve,
                    path,
                    "exists and is not a directory",
                ));
            }
            Ok(_) | Err(Errno::NOENT) => {}
            Err(errno) => return Err(errno).at(Step::Resolve, path),
        }
        let staging_name = loop {
            let candidate = staging::new_dir_name(&name);
            match rustix::fs::mkdirat(&*parent, &candidate, Mode::from_raw_mode(0o755)) {
                Ok(()) => break candidate,
                Err(Errno::EXIST) => continue,
                Err(errno) => return Err(errno).at(Step::Stage, &parent_path.join(&candidate)),
            }
        };
        let registration = interrupt::Registration::new_tree(parent.clone(), staging_name.clone());
        let staging_path = parent_path.join(&staging_name);
        let staging = Arc::new(
            rustix::fs::openat(
                &*parent,
                &staging_name,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .at(Step::Stage, &staging_path)?,
        );
        Ok(Self {
            parent,
            parent_path,
            path: path.to_path_buf(),
            name,
            staging_name,
            staging,
            staging_path,
            subdirs: Vec::new(),
            files: Vec::new(),
            options: options.clone(),
            details: DirDetails::default(),
            run_id: new_run_id(),
            started_at,
            started,
            allow_exchange: true,
            committed: false,
            restoring: None,
            _target_lock: target_lock,
            _registration: registration,
        })
    }

    /// The directory `commit` will replace.
    pub fn target_path(&self) -> &Path {
        &self.path
    }

    /// Where files are staged until `commit`.
    pub fn staging_path(&self) -> &Path {
        &self.staging_path
    }

    /// Records the format, encoder and schema in the manifest.
    pub fn set_details(
        &mut self,
        format: Option<String>,
        encoder: Option<EncoderInfo>,
        schema: Option<String>,
    ) {
        self.details = DirDetails {
            format,
            encoder,
            schema,
        };
    }

    /// Uses `run_id` instead of a fresh one.
    pub fn set_run_id(&mut self, run_id: impl Into<String>) {
        self.run_id = run_id.into();
    }

    /// Whether the swap may use `RENAME_EXCHANGE` (default). Disable only where a filesystem is
    /// known to mishandle it; the journal fallback is then used.
    pub fn set_exchange(&mut self, allowed: bool) {
        self.allow_exchange = allowed;
    }

    /// Creates a file at `relative` (`/`-separated; subdirectories are created) in the staged
    /// directory.
    pub fn create_file(&mut self, relative: &str) -> Result<DirFile> {
        let relative_path = checked_relative(relative, &self.staging_path)?;
        self.create_parents(&relative_path)?;
        // Readable too: a rewritten header means hashing the content again from the file.
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(
            &*self.staging,
            &relative_path,
            flags,
            Mode::from_raw_mode(0o644),
        )
        .at(Step::Stage, &self.staging_path.join(&relative_path))?;
        Ok(DirFile {
            file: File::from(fd),
            relative: relative.to_owned(),
            hasher: ContentHasher::new(),
            bytes: 0,
            hash_at_commit: false,
        })
    }

    /// Creates the staged subdirectories `relative_path` needs.
    fn create_parents(&mut self, relative_path: &Path) -> Result<()> {
        if let Some(parent) = relative_path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            let mut built = PathBuf::new();
            for component in parent.components() {
                built.push(component);
                match rustix::fs::mkdirat(&*self.staging, &built, Mode::from_raw_mode(0o755)) {
                    Ok(()) => self.subdirs.push(built.clone()),
                    Err(Errno::EXIST) => {}
                    Err(errno) => {
                        return Err(errno).at(Step::Stage, &self.staging_path.join(&built));
                    }
                }
            }
        }
        Ok(())
    }

    /// Finishes a file: flush, fsync (durability full), and list it in the manifest.
    pub fn add(&mut self, mut file: DirFile, rows: Option<u64>) -> Result<()> {
        let path = self.staging_path.join(&file.relative);
        file.file.flush().at(Step::Write, &path)?;
        if file.hash_at_commit {
            file.hasher = fs::rehash(&file.file, file.bytes).at(Step::Write, &path)?;
        }
        if self.options.fsync() {
            file.file.sync_all().at(Step::Fsync, &path)?;
        }
        self.files.push(FileEntry {
            path: file.relative,
            bytes: file.bytes,
            hash: file.hasher.finish(),
            rows,
        });
        Ok(())
    }

    /// A rollback: hard-links the stored file `source` (no copy) at `entry.path`, after checking
    /// its size and hash against `entry`.
    pub(crate) fn link_file(&mut self, source: &Path, entry: &FileEntry) -> Result<()> {
        let relative_path = checked_relative(&entry.path, &self.staging_path)?;
        self.create_parents(&relative_path)?;
        let staged = self.staging_path.join(&relative_path);
        rustix::fs::linkat(
            rustix::fs::CWD,
            source,
            &*self.staging,
            &relative_path,
            AtFlags::empty(),
        )
        .at(Step::Rollback, &staged)?;
        let file = File::open(&staged).at(Step::Rollback, &staged)?;
        let (bytes, hash) = crate::hash::hash_reader(file).at(Step::Rollback, source)?;
        if bytes != entry.bytes || hash != entry.hash {
            return Err(Error::new(
                ErrorKind::Verification,
                Step::Rollback,
                source,
                format!(
                    "the stored file does not match its version's manifest: {bytes} bytes {hash}, recorded {} bytes {}; nothing was changed",
                    entry.bytes, entry.hash
                ),
            ));
        }
        self.files.push(entry.clone());
        Ok(())
    }

    /// A rollback: publish `manifest` (the stored version's own) instead of a new one, and keep
    /// the replaced tree as a version even without `keep_versions`.
    pub(crate) fn restore(&mut self, manifest: DirManifest) {
        self.restoring = Some(Box::new(manifest));
    }

    /// The target's place, for its version store.
    pub(crate) fn place(&self) -> super::versions::Place<'_> {
        super::versions::Place {
            dir: &self.parent,
            dir_path: &self.parent_path,
            name: &self.name,
            path: &self.path,
        }
    }

    fn keeps_versions(&self) -> bool {
        self.restoring.is_some() || self.options.versions().is_some()
    }

    /// Keeps the replaced tree, now named `tree` in the parent, as a version; on any failure (or
    /// without a manifest to check it by) it is removed as it would be without versions.
    fn keep_replaced(&self, tree: &OsStr, current: Option<DirManifest>) -> Option<u64> {
        let kept = super::versions::keep_tree(
            &self.place(),
            tree,
            current,
            &self.run_id,
            self.options.fsync(),
        );
        match kept {
            Ok(kept) => kept,
            Err(error) => {
                tracing::warn!(path = %self.path.display(), "committed, but the replaced tree could not be kept as a version: {error}");
                None
            }
        }
    }

    /// Writes a whole file from bytes.
    pub fn add_bytes(&mut self, relative: &str, bytes: &[u8]) -> Result<()> {
        let mut file = self.create_file(relative)?;
        file.write_all(bytes)
            .at(Step::Write, &self.staging_path.join(relative))?;
        self.add(file, None)
    }

    /// Publishes the staged directory at the target path; see the module docs for the protocol.
    pub fn commit(mut self) -> Result<DirReport> {
        let _span = tracing::debug_span!("commit_dir", path = %self.path.display()).entered();
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = match &self.restoring {
            Some(manifest) => (**manifest).clone(),
            None => self.manifest(),
        };
        // The manifest goes last; `Options::marker = false` leaves it out (e.g. a source tree).
        if self.options.marker {
            let marker_path = self.staging_path.join(manifest::DIR_MARKER);
            let mut marker = self.create_file(manifest::DIR_MARKER)?;
            marker
                .write_all(&manifest.to_json())
                .at(Step::Marker, &marker_path)?;
            if self.options.fsync() {
                marker.file.sync_all().at(Step::Marker, &marker_path)?;
            }
        }
        if self.options.fsync() {
            // Deepest first, so every entry is durable before the directory that names it.
            for subdir in self.subdirs.iter().rev() {
                let fd = rustix::fs::openat(
                    &*self.staging,
                    subdir,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .at(Step::DirFsync, &self.staging_path.join(subdir))?;
                rustix::fs::fsync(fd).at(Step::DirFsync, &self.staging_path.join(subdir))?;
            }
            rustix::fs::fsync(&*self.staging).at(Step::DirFsync, &self.staging_path)?;
        }

        let _publish_lock = PublishLock::acquire(&self.parent, &self.parent_path, false)?;
        let current = self.current_manifest();
        if self.options.no_clobber && self.target_exists()? {
            return Err(Error::new(
                ErrorKind::Conflict,
                Step::Rename,
                &self.path,
                "the target exists and create-only (--no-clobber) was asked for",
            ));
        }
        if let Some(expected) = &self.options.if_match {
            let actual = current.as_ref().map(dir_hash);
            if actual.as_ref() != Some(expected) {
                let actual = actual.unwrap_or_else(|| "nothing (no directory manifest)".into());
                return Err(Error::new(
                    ErrorKind::Conflict,
                    Step::Compare,
                    &self.path,
                    format!("the target changed: it holds {actual}, not {expected} (--if-match)"),
                ));
            }
        }
        if self.options.if_changed
            && current
                .as_ref()
                .is_some_and(|current| current.same_content(&manifest))
        {
            // Identical content: no rename, no delete (the staging tree goes on drop).
            return Ok(self.report(manifest, false, "skipped"));
        }
        let publishing = interrupt::publishing().at(Step::Rename, &self.path)?;
        let exists = self.target_exists()?;
        // With versions, the replaced tree is kept instead of deleted (its manifest checks it).
        let keep = self.keeps_versions().then(|| current.clone());
        let mut kept = None;
        let method = if !exists {
            self.rename_into_place()?;
            "create"
        } else if self.allow_exchange {
            match rustix::fs::renameat_with(
                &*self.parent,
                &self.staging_name,
                &*self.parent,
                &self.name,
                RenameFlags::EXCHANGE,
            ) {
                Ok(()) => "exchange",
                Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                    self.journal_swap(keep.clone(), &mut kept)?
                }
                Err(errno) => return Err(errno).at(Step::Rename, &self.path),
            }
        } else {
            self.journal_swap(keep.clone(), &mut kept)?
        };
        if self.options.fsync() {
            rustix::fs::fsync(&*self.parent).at(Step::DirFsync, &self.parent_path)?;
        }
        self.committed = true;
        if method == "exchange"
            && let Some(current) = keep
        {
            // The old tree is under the staging name now: into the version store with it.
            kept = self.keep_replaced(&self.staging_name, current);
        }
        let mut pruned = Vec::new();
        if let Some(versions) = self.options.versions() {
            match super::versions::prune_locked(
                &self.place(),
                versions as usize,
                self.options.fsync(),
            ) {
                Ok(removed) => pruned = removed,
                Err(error) => tracing::warn!("committed, but pruning old versions failed: {error}"),
            }
        }
        drop(publishing);
        // The old tree (if any) is now under the staging name; remove it before readers that
        // honour the publish lock look again. A crash here leaves it for `clean`.
        if method == "exchange"
            && let Err(error) = fs::remove_tree(&self.parent, &self.staging_name)
        {
            // The new tree is committed; the old one waits for `atio clean`.
            tracing::warn!(path = %self.staging_path.display(), "could not remove the replaced directory: {error}");
        }
        let mut report = self.report(manifest, true, method);
        report.kept_version = kept;
        report.pruned_versions = pruned;
        Ok(report)
    }

    fn rename_into_place(&self) -> Result<()> {
        match rustix::fs::renameat_with(
            &*self.parent,
            &self.staging_name,
            &*self.parent,
            &self.name,
            RenameFlags::NOREPLACE,
        ) {
            Ok(()) => Ok(()),
            // No RENAME_NOREPLACE here: the publish lock already excludes other atio writers.
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                rustix::fs::renameat(&*self.parent, &self.staging_name, &*self.parent, &self.name)
                    .at(Step::Rename, &self.path)
            }
            Err(Errno::EXIST | Errno::NOTEMPTY) => Err(Error::new(
                ErrorKind::Conflict,
                Step::Rename,
                &self.path,
                "appeared while staging",
            )),
            Err(errno) => Err(errno).at(Step::Rename, &self.path),
        }
    }

    /// The fallback swap: journal, move the old tree aside, move the new one in, clean up.
    /// With `keep` (versions), the old tree is kept as a version (number in `kept`) instead of
    /// being removed.
    fn journal_swap(
        &self,
        keep: Option<Option<DirManifest>>,
        kept: &mut Option<u64>,
    ) -> Result<&'static str> {
        let backup = staging::backup_name(&self.staging_name);
        let intent = Intent {
            staging: lossless(&self.staging_name, &self.path)?,
            backup: lossless(&backup, &self.path)?,
        };
        let intent_name = intent_name(&self.name);
        write_intent(
            &self.parent,
            &self.parent_path,
            &intent_name,
            &intent,
            self.options.fsync(),
        )?;
        rustix::fs::renameat(&*self.parent, &self.name, &*self.parent, &backup)
            .at(Step::Rename, &self.path)?;
        if let Err(errno) =
            rustix::fs::renameat(&*self.parent, &self.staging_name, &*self.parent, &self.name)
        {
            // Put the old tree back at once; if even that fails, the journal lets `recover` do it.
            if rustix::fs::renameat(&*self.parent, &backup, &*self.parent, &self.name).is_ok() {
                let _ = remove_intent(
                    &self.parent,
                    &self.parent_path,
                    &intent_name,
                    self.options.fsync(),
                );
            }
            return Err(errno).at(Step::Rename, &self.path);
        }
        if self.options.fsync() {
            rustix::fs::fsync(&*self.parent).at(Step::DirFsync, &self.parent_path)?;
        }
        if let Some(current) = keep {
            *kept = self.keep_replaced(&backup, current);
        }
        fs::remove_tree(&self.parent, &backup)
            .at(Step::Cleanup, &self.parent_path.join(&backup))?;
        remove_intent(
            &self.parent,
            &self.parent_path,
            &intent_name,
            self.options.fsync(),
        )?;
        Ok("journal")
    }

    fn target_exists(&self) -> Result<bool> {
        match rustix::fs::statat(&*self.parent, &self.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(_) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(errno) => Err(errno).at(Step::Resolve, &self.path),
        }
    }

    fn current_manifest(&self) -> Option<DirManifest> {
        let path = self.path.join(manifest::DIR_MARKER);
        DirManifest::from_json(&std::fs::read(&path).ok()?, &path).ok()
    }

    fn manifest(&self) -> DirManifest {
        DirManifest::new(
            self.files.clone(),
            &self.details,
            &self.run_id,
            self.started_at,
            self.options.durability,
        )
    }

    fn report(&self, manifest: DirManifest, swapped: bool, method: &'static str) -> DirReport {
        DirReport::new(self.path.clone(), manifest, swapped, method, self.started)
    }
}

impl Drop for StagedDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_tree(&self.parent, &self.staging_name);
        }
    }
}

/// The content identity of a directory manifest, for `--if-match` on directories: the hash of
/// its sorted `path hash` lines.
pub fn dir_hash(manifest: &DirManifest) -> String {
    let mut hasher = ContentHasher::new();
    for file in &manifest.files {
        hasher.update(file.path.as_bytes());
        hasher.update(b" ");
        hasher.update(file.hash.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finish()
}

/// Writes the swap journal durably. (Not through `write_bytes`: that would wait for the publish
/// lock this swap already holds.)
fn write_intent(
    parent: &OwnedFd,
    parent_path: &Path,
    intent_name: &OsStr,
    intent: &Intent,
    fsync: bool,
) -> Result<()> {
    let path = parent_path.join(intent_name);
    let temporary = staging::new_name(intent_name);
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(parent, &temporary, flags, Mode::from_raw_mode(0o644))
        .at(Step::Stage, &path)?;
    let written = (|| -> io::Result<()> {
        let mut file = File::from(fd);
        file.write_all(&serde_json::to_vec(intent).expect("intents serialise"))?;
        if fsync {
            file.sync_all()?;
        }
        Ok(rustix::fs::renameat(
            parent,
            &temporary,
            parent,
            intent_name,
        )?)
    })();
    if let Err(error) = written {
        let _ = rustix::fs::unlinkat(parent, &temporary, AtFlags::empty());
        return Err(Error::io(Step::Stage, &path, error));
    }
    if fsync {
        rustix::fs::fsync(parent).at(Step::DirFsync, parent_path)?;
    }
    Ok(())
}

/// The swap journal of a target `NAME` is `.NAME` + this.
pub(crate) const INTENT_SUFFIX: &str = ".atio-intent";

fn intent_name(target_name: &OsStr) -> OsString {
    let mut name = OsString::from(".");
    name.push(target_name);
    name.push(INTENT_SUFFIX);
    name
}

fn lossless(name: &OsStr, path: &Path) -> Result<String> {
    name.to_str().map(str::to_owned).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidInput,
            Step::Stage,
            path,
            "directory names must be UTF-8 for the swap journal",
        )
    })
}

fn remove_intent(
    parent: &OwnedFd,
    parent_path: &Path,
    intent_name: &OsStr,
    fsync: bool,
) -> Result<()> {
    match rustix::fs::unlinkat(parent, intent_name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => {}
        Err(errno) => return Err(errno).at(Step::Cleanup, &parent_path.join(intent_name)),
    }
    if fsync {
        rustix::fs::fsync(parent).at(Step::DirFsync, parent_path)?;
    }
    Ok(())
}

/// What `recover` did to a directory target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Recovery {
    /// No interrupted swap.
    Nothing,
    /// The new directory was in place or moved in; the old one removed.
    Completed,
    /// The new directory was missing (or incomplete); the old one was moved back.
    RolledBack,
}

/// What `recover` found and did, in words as well.
#[derive(Clone, Debug, Serialize)]
pub struct RecoveryReport {
    /// The directory target.
    pub path: PathBuf,
    /// The outcome.
    pub recovery: Recovery,
    /// What was found and done, for people: which tree is now in place and why.
    pub detail: String,
}

/// Completes or rolls back an interrupted fallback swap of the directory `path`.
pub fn recover(path: impl AsRef<Path>, options: &Options) -> Result<Recovery> {
    recover_report(path, options).map(|report| report.recovery)
}

/// [`recover`], saying what it did. Besides the swap journal's instructions, it puts back a
/// target that is missing while its previous tree sits under its hidden backup name
/// (`.NAME.atio-stg-….old`), as a power cut under `--durability none` can leave it with an
/// empty journal or none at all: the new staged tree if it matches its manifest, else the old.
pub fn recover_report(path: impl AsRef<Path>, options: &Options) -> Result<RecoveryReport> {
    let path = path.as_ref();
    let name = path.file_name().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidInput,
            Step::Resolve,
            path,
            "not a directory path with a name",
        )
    })?;
    let parent_path = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let parent = Arc::new(fs::open_dir(&parent_path)?);
    let (recovery, detail) = recover_in(
        &parent,
        &parent_path,
        name,
        options.fsync(),
        Search::WithoutJournal,
    )?;
    Ok(RecoveryReport {
        path: path.to_path_buf(),
        recovery,
        detail,
    })
}

/// Whether recovery looks for a moved-aside tree when there is no journal at all.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Search {
    /// Only a journal starts recovery (every write does this check: one `stat`).
    JournalOnly,
    /// Also a missing target with a backup beside it (`atio recover`, `atio clean`).
    WithoutJournal,
}

pub(crate) fn recover_in(
    parent: &Arc<OwnedFd>,
    parent_path: &Path,
    name: &OsStr,
    fsync: bool,
    search: Search,
) -> Result<(Recovery, String)> {
    let nothing = || Ok((Recovery::Nothing, "no interrupted swap".to_owned()));
    let intent_name = intent_name(name);
    let present =
        |entry: &OsStr| rustix::fs::statat(&**parent, entry, AtFlags::SYMLINK_NOFOLLOW).is_ok();
    let pending = present(&intent_name)
        || (search == Search::WithoutJournal
            && !present(name)
            && !backups(parent_path, name)?.is_empty());
    if !pending {
        return nothing();
    }
    let _publish_lock = PublishLock::acquire(parent, parent_path, false)?;
    let intent_path = parent_path.join(&intent_name);
    let intent = match std::fs::read(&intent_path) {
        Ok(bytes) => Some(serde_json::from_slice::<Intent>(&bytes)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(Error::io(Step::Cleanup, &intent_path, error)),
    };
    let outcome = match intent {
        Some(Ok(intent)) => by_journal(parent, parent_path, name, &intent, fsync)?,
        Some(Err(error)) => {
            let why = format!(
                "the swap journal {} is unreadable ({error}; a power cut under --durability none can leave it empty)",
                intent_path.display()
            );
            by_name(parent, parent_path, name, &why, fsync)?
        }
        None if search == Search::WithoutJournal => {
            by_name(parent, parent_path, name, "no swap journal", fsync)?
        }
        // A concurrent recovery finished first.
        None => return nothing(),
    };
    remove_intent(parent, parent_path, &intent_name, fsync)?;
    Ok(outcome)
}

/// Follows a readable journal: the new tree in place or moved in, else the old one moved back.
fn by_journal(
    parent: &OwnedFd,
    parent_path: &Path,
    name: &OsStr,
    intent: &Intent,
    fsync: bool,
) -> Result<(Recovery, String)> {
    let exists =
        |entry: &OsStr| rustix::fs::statat(parent, entry, AtFlags::SYMLINK_NOFOLLOW).is_ok();
    let staging = OsString::from(&intent.staging);
    let backup = OsString::from(&intent.backup);
    let target_path = parent_path.join(name);
    let (outcome, detail) = if exists(name) {
        // The new tree made it into place: finish by dropping the old one.
        (
            Recovery::Completed,
            "the new tree was in place; removed the previous one",
        )
    } else if exists(&staging) {
        rustix::fs::renameat(parent, &staging, parent, name).at(Step::Rename, &target_path)?;
        (
            Recovery::Completed,
            "moved the staged new tree into place (as the journal says); removed the previous one",
        )
    } else if exists(&backup) {
        rustix::fs::renameat(parent, &backup, parent, name).at(Step::Rename, &target_path)?;
        (
            Recovery::RolledBack,
            "the new tree was missing; moved the previous one back",
        )
    } else {
        (Recovery::Nothing, "neither tree the journal names exists")
    };
    if fsync {
        rustix::fs::fsync(parent).at(Step::DirFsync, parent_path)?;
    }
    fs::remove_tree(parent, &backup).at(Step::Cleanup, &parent_path.join(&backup))?;
    if outcome == Recovery::RolledBack && exists(&staging) {
        fs::remove_tree(parent, &staging).at(Step::Cleanup, &parent_path.join(&staging))?;
    }
    Ok((outcome, detail.to_owned()))
}

/// Recovers without a journal, from the names the fallback swap uses: the old tree at
/// `{staging}.old`, the new one at `{staging}`. A target that exists is kept (both renames
/// happened, or neither); a missing one gets the new tree if it matches its manifest, else the
/// old one back — so the target is never left missing while one of its trees exists.
fn by_name(
    parent: &OwnedFd,
    parent_path: &Path,
    name: &OsStr,
    why: &str,
    fsync: bool,
) -> Result<(Recovery, String)> {
    let exists =
        |entry: &OsStr| rustix::fs::statat(parent, entry, AtFlags::SYMLINK_NOFOLLOW).is_ok();
    let target_path = parent_path.join(name);
    let backups = backups(parent_path, name)?;
    let Some((backup, staging)) = backups.first() else {
        return Ok((
            Recovery::Nothing,
            format!(
                "{why}; no previous tree was moved aside, so nothing is missing ({} {})",
                target_path.display(),
                if exists(name) {
                    "exists"
                } else {
                    "never existed"
                }
            ),
        ));
    };
    let backup_path = parent_path.join(backup);
    let staging_path = parent_path.join(staging);
    let (outcome, detail) = if exists(name) {
        // The target is whole (the swap's second rename happened); the backup is the old tree.
        fs::remove_tree(parent, backup).at(Step::Cleanup, &backup_path)?;
        (
            Recovery::Completed,
            format!(
                "{why}; {} is in place; removed the previous tree {}",
                target_path.display(),
                backup_path.display()
            ),
        )
    } else {
        let new_tree = if exists(staging) {
            crate::verify::check_dir(&staging_path).map_err(|error| error.message().to_owned())
        } else {
            Err("it does not exist".to_owned())
        };
        match new_tree {
            Ok(_) => {
                rustix::fs::renameat(parent, staging, parent, name)
                    .at(Step::Rename, &target_path)?;
                fs::remove_tree(parent, backup).at(Step::Cleanup, &backup_path)?;
                (
                    Recovery::Completed,
                    format!(
                        "{why}; moved the new tree {} into place (it matches its _SUCCESS manifest) and removed the previous one",
                        staging_path.display()
                    ),
                )
            }
            Err(incomplete) => {
                rustix::fs::renameat(parent, backup, parent, name)
                    .at(Step::Rename, &target_path)?;
                fs::remove_tree(parent, staging).at(Step::Cleanup, &staging_path)?;
                (
                    Recovery::RolledBack,
                    format!(
                        "{why}; moved the previous tree back from {} (the new tree {} was not complete: {incomplete})",
                        backup_path.display(),
                        staging_path.display()
                    ),
                )
            }
        }
    };
    if fsync {
        rustix::fs::fsync(parent).at(Step::DirFsync, parent_path)?;
    }
    let detail = if backups.len() > 1 {
        format!(
            "{detail}; {} older moved-aside tree(s) of it were left for `atio clean`",
            backups.len() - 1
        )
    } else {
        detail
    };
    Ok((outcome, detail))
}

/// The old trees the fallback swap moved aside for the target `name` (`{staging}.old`
/// directories, never symlinks), each with the staging name it was made from, the most recently
/// moved first: a rename updates ctime.
pub(crate) fn backups(parent_path: &Path, name: &OsStr) -> Result<Vec<(OsString, OsString)>> {
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(parent_path).at(Step::Resolve, parent_path)? {
        let entry = entry.at(Step::Resolve, parent_path)?;
        let entry_name = entry.file_name();
        let Some(staging) = staging::backup_of(&entry_name)
            .filter(|_| staging::is_dir_for(&entry_name, name))
            .map(OsStr::to_os_string)
        else {
            continue;
        };
        let meta = match entry.metadata() {
            Ok(meta) if meta.is_dir() => meta,
            Ok(_) => continue,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(Error::io(Step::Resolve, entry.path(), error)),
        };
        found.push(((meta.ctime(), meta.ctime_nsec()), entry_name, staging));
    }
    found.sort_by_key(|(ctime, _, _)| std::cmp::Reverse(*ctime));
    Ok(found
        .into_iter()
        .map(|(_, backup, staging)| (backup, staging))
        .collect())
}

/// Rejects absolute paths, `..`, and empty components in a staged file's relative path.
fn checked_relative(relative: &str, staging_path: &Path) -> Result<PathBuf> {
    let path = Path::new(relative);
    let valid = !relative.is_empty()
        && path
            .components()
            .all(|component| matches!(component, Component::Normal(_)));
    if valid {
        Ok(path.to_path_buf())
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            Step::Stage,
            staging_path.join(relative),
            "not a relative path inside the directory",
        ))
    }
}
