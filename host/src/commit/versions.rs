//! Versions: the content a commit replaces, kept beside the target so it can be rolled back.
//!
//! A target `NAME` (a file, or a directory) keeps its versions in the hidden directory
//! `.NAME.atio-versions/` beside it:
//!
//! ```text
//! .NAME.atio-versions/000007/data          a hard link to the replaced inode (no data copied)
//! .NAME.atio-versions/000007/record.json   size, hash, rows, run id, encoder, tags, and the
//!                                          `_SUCCESS` manifest it had (a rollback restores it)
//! ```
//!
//! - **Keeping** (a commit with `Options::keep_versions`): under the directory's publish lock,
//!   before the rename that replaces the target, the current inode is hard-linked into a staging
//!   entry `.000007.atio-stg-<pid>-<host>-<rand>/`, its record written and fsynced, the entry
//!   fsynced and renamed into place, the store fsynced. So the old content never disappears: it
//!   is the target, or a complete version, or both. A listed version always has its data and its
//!   record; a half-made entry has a staging name, which `clean` removes once its writer is gone.
//! - **Pruning** (after the commit, or `prune`): untagged versions beyond the newest N are
//!   renamed to staging names (store fsynced), then removed.
//! - **Rollback**: the version's inode is hard-linked to a staging name beside the target and
//!   committed like any write (hash checked against the record, publish lock, the replaced
//!   content kept as a new version, rename, directory fsync, the version's marker).
//! - **Directories** (and each partition of a partitioned write): right after the exchange (or
//!   the journal swap) the replaced tree, until then deleted, is renamed into a staging entry as
//!   `data/` (its `_SUCCESS` copied into the record), and the entry renamed into place. A
//!   directory rollback stages hard links to the stored files (each checked against the stored
//!   manifest) and swaps them in with the version's own `_SUCCESS`.
//! - **Tags** rewrite a record through a staging file in its entry and a rename.
//!
//! Every change to a store happens under the target directory's publish lock, the lock every
//! commit publishes under, so writers, rollbacks, tags and prunes of one target serialise.
//!
//! The public functions take object-store URLs too: those go to `store/versions.rs`, which
//! keeps the same records with server-side copies and compare-and-swap instead of hard links
//! and locks.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, IoContext, Result, Step};
use crate::manifest::{self, DirManifest, Manifest};
use crate::options::{Options, Symlinks};
use crate::report::{EncoderInfo, Report};
use crate::store::Location;

use super::fs::{self, Target};
use super::lock::{PublishLock, TargetLock};
use super::{AtomicFile, interrupt, staging};

/// What a target's version store is called: `.NAME` + this.
pub const STORE_SUFFIX: &str = ".atio-versions";
/// The hard link to a version's content, inside its entry.
pub const DATA_NAME: &str = "data";
/// A version's record, inside its entry.
pub const RECORD_NAME: &str = "record.json";
/// The record format version written by this build.
pub const RECORD_VERSION: u32 = 1;
/// Digits of an entry's name (`000007`); larger numbers just have more.
const NUMBER_WIDTH: usize = 6;
/// Longest piece of the target's name kept in the store's name (the rest becomes a hash).
const MAX_EMBEDDED_NAME: usize = 200;
/// How long a rollback waits for the target's lock unless `Options::lock` says otherwise.
const ROLLBACK_LOCK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What a version's `record.json` says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionRecord {
    /// Record format version (1).
    pub record_version: u32,
    /// The version's number in its store (numbers only grow, until every version is pruned).
    pub version: u64,
    /// The target's file name.
    pub name: String,
    /// Size of the content in bytes.
    pub bytes: u64,
    /// Content hash, `xxh3-128:<hex>`.
    pub hash: String,
    /// Data rows, when known.
    pub rows: Option<u64>,
    /// Format name, when known.
    pub format: Option<String>,
    /// The encoder that produced the content, if one did.
    pub encoder: Option<EncoderInfo>,
    /// The run that wrote the content (from its `_SUCCESS` manifest), when it had one.
    pub run_id: Option<String>,
    /// When that run committed it (RFC 3339), when known.
    pub written_at: Option<String>,
    /// When the content was kept as this version (RFC 3339).
    pub kept_at: String,
    /// The run that kept it: the commit (or rollback, or tag) that replaced or tagged it.
    pub kept_by: String,
    /// Tags: a tagged version is never pruned.
    pub tags: Vec<String>,
    /// The `_SUCCESS` manifest the content had (restored by a rollback), if it had one that
    /// matched it.
    pub manifest: Option<Manifest>,
    /// A directory version: its `_SUCCESS` manifest (`data` is then the kept tree, and `bytes`,
    /// `hash` are its files' total size and [`crate::commit::dir::dir_hash`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir_manifest: Option<DirManifest>,
    /// Being pruned (object stores only: marked before its data is deleted, so a concurrent tag
    /// cannot land on a version that is going away). Never listed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pruning: bool,
}

impl VersionRecord {
    /// The record of a file's content (`bytes`, `hash`), with the `_SUCCESS` manifest that
    /// described it, if one did.
    pub(crate) fn of_file(
        number: u64,
        name: &str,
        bytes: u64,
        hash: String,
        manifest: Option<Manifest>,
        kept_by: &str,
        tags: &[String],
    ) -> Self {
        let provenance = manifest.as_ref().map(|manifest| &manifest.written_by);
        Self {
            record_version: RECORD_VERSION,
            version: number,
            name: name.to_owned(),
            bytes,
            hash,
            rows: manifest.as_ref().and_then(|manifest| manifest.rows),
            format: manifest
                .as_ref()
                .and_then(|manifest| manifest.format.clone()),
            encoder: manifest
                .as_ref()
                .and_then(|manifest| manifest.encoder.clone()),
            run_id: provenance.map(|written| written.run_id.clone()),
            written_at: provenance.map(|written| written.finished_at.clone()),
            kept_at: manifest::rfc3339(SystemTime::now()),
            kept_by: kept_by.to_owned(),
            tags: tags.to_vec(),
            manifest,
            dir_manifest: None,
            pruning: false,
        }
    }

    /// The record of a directory's tree, described by its `_SUCCESS` `manifest`.
    pub(crate) fn of_dir(number: u64, name: &str, manifest: DirManifest, kept_by: &str) -> Self {
        Self {
            record_version: RECORD_VERSION,
            version: number,
            name: name.to_owned(),
            bytes: manifest.files.iter().map(|file| file.bytes).sum(),
            hash: super::dir::dir_hash(&manifest),
            rows: manifest.rows,
            format: manifest.format.clone(),
            encoder: manifest.encoder.clone(),
            run_id: Some(manifest.written_by.run_id.clone()),
            written_at: Some(manifest.written_by.finished_at.clone()),
            kept_at: manifest::rfc3339(SystemTime::now()),
            kept_by: kept_by.to_owned(),
            tags: Vec::new(),
            manifest: None,
            dir_manifest: Some(manifest),
            pruning: false,
        }
    }
}

/// One stored version, as listed.
#[derive(Clone, Debug, Serialize)]
pub struct Version {
    /// Its number.
    pub number: u64,
    /// Its content (a hard link to the kept inode).
    pub data: PathBuf,
    /// Whether the target currently holds this content (same inode, or same hash).
    pub current: bool,
    /// What its record says.
    pub record: VersionRecord,
}

/// What the target holds now.
#[derive(Clone, Debug, Serialize)]
pub struct Current {
    /// Size in bytes.
    pub bytes: u64,
    /// Content hash from its `_SUCCESS` manifest (`None` without a matching marker).
    pub hash: Option<String>,
    /// Rows, from its manifest.
    pub rows: Option<u64>,
    /// The run that wrote it, from its manifest.
    pub run_id: Option<String>,
    /// When it was committed, from its manifest.
    pub written_at: Option<String>,
}

impl Current {
    /// A file of `bytes` bytes, described by `manifest` when it has a matching one.
    pub(crate) fn of_file(bytes: u64, manifest: Option<&Manifest>) -> Self {
        Self {
            bytes,
            hash: manifest.map(|manifest| manifest.hash.clone()),
            rows: manifest.and_then(|manifest| manifest.rows),
            run_id: manifest.map(|manifest| manifest.written_by.run_id.clone()),
            written_at: manifest.map(|manifest| manifest.written_by.finished_at.clone()),
        }
    }

    /// A directory (or prefix) described by its `_SUCCESS` `manifest`.
    pub(crate) fn of_dir(manifest: &DirManifest) -> Self {
        Self {
            bytes: manifest.files.iter().map(|file| file.bytes).sum(),
            hash: Some(super::dir::dir_hash(manifest)),
            rows: manifest.rows,
            run_id: Some(manifest.written_by.run_id.clone()),
            written_at: Some(manifest.written_by.finished_at.clone()),
        }
    }
}

/// A target's versions, oldest first.
#[derive(Clone, Debug, Serialize)]
pub struct Versions {
    /// The target file (symlinks followed).
    pub target: PathBuf,
    /// Its version store (it may not exist yet).
    pub store: PathBuf,
    /// The current content, `None` when the target does not exist.
    pub current: Option<Current>,
    /// Stored versions, by number.
    pub versions: Vec<Version>,
}

/// Which stored version a rollback (or a tag) means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// The newest stored version: the content the last versioned commit replaced.
    Newest,
    /// The version with this number.
    Number(u64),
    /// The version carrying this tag.
    Tag(String),
}

/// What a rollback did.
#[derive(Clone, Debug, Serialize)]
pub struct RollbackReport {
    /// The target.
    pub path: PathBuf,
    /// The version made current.
    pub restored: u64,
    /// The commit's report for a file (`None` when the version already was the current content
    /// and nothing was done, or for a directory).
    pub report: Option<Report>,
    /// The commit's report for a directory (`None` when nothing was done, or for a file).
    pub dir_report: Option<super::dir::DirReport>,
}

/// What tagging did.
#[derive(Clone, Debug, Serialize)]
pub struct TagReport {
    /// The version that now carries the tag.
    pub version: u64,
    /// The tag.
    pub tag: String,
    /// The version the tag was moved from (`force`).
    pub moved_from: Option<u64>,
}

/// The name of the version store of a target called `target_name`.
pub fn store_name(target_name: &OsStr) -> OsString {
    let bytes = target_name.as_bytes();
    let mut name = Vec::with_capacity(bytes.len().min(MAX_EMBEDDED_NAME) + 32);
    name.push(b'.');
    if bytes.len() <= MAX_EMBEDDED_NAME {
        name.extend_from_slice(bytes);
    } else {
        // Cut to stay under NAME_MAX; the hash keeps long names that share a prefix apart.
        name.extend_from_slice(&bytes[..MAX_EMBEDDED_NAME - 17]);
        name.extend_from_slice(format!("~{:016x}", xxhash_rust::xxh3::xxh3_64(bytes)).as_bytes());
    }
    name.extend_from_slice(STORE_SUFFIX.as_bytes());
    OsString::from_vec(name)
}

/// Whether `name` is a version store's name (`clean` sweeps half-made entries inside it).
pub(crate) fn is_store_name(name: &OsStr) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 1 + STORE_SUFFIX.len()
        && bytes.starts_with(b".")
        && bytes.ends_with(STORE_SUFFIX.as_bytes())
}

pub(crate) fn entry_name(number: u64) -> String {
    format!("{number:0NUMBER_WIDTH$}")
}

pub(crate) fn parse_entry(name: &OsStr) -> Option<u64> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 19 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

fn same_inode(a: &Stat, b: &Stat) -> bool {
    (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
}

/// Where a target lives: its directory (held open), that directory's path, its name and path.
pub(crate) struct Place<'a> {
    pub dir: &'a Arc<OwnedFd>,
    pub dir_path: &'a Path,
    pub name: &'a OsStr,
    pub path: &'a Path,
}

impl<'a> Place<'a> {
    pub(crate) fn of(target: &'a Target) -> Self {
        Self {
            dir: &target.dir,
            dir_path: &target.dir_path,
            name: &target.name,
            path: &target.path,
        }
    }

    fn store_path(&self) -> PathBuf {
        self.dir_path.join(store_name(self.name))
    }
}

/// An open version store.
struct Store {
    dir: Arc<OwnedFd>,
    path: PathBuf,
}

impl Store {
    /// The target's store, `None` when it has none.
    fn open(place: &Place, step: Step) -> Result<Option<Self>> {
        let name = store_name(place.name);
        let path = place.dir_path.join(&name);
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(&**place.dir, &name, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(Self {
                dir: Arc::new(fd),
                path,
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(errno) => Err(errno).at(step, &path),
        }
    }

    /// The target's store, created (durably) when missing.
    fn create(place: &Place, fsync: bool) -> Result<Self> {
        let name = store_name(place.name);
        let path = place.dir_path.join(&name);
        match rustix::fs::mkdirat(&**place.dir, &name, Mode::from_raw_mode(0o755)) {
            Ok(()) if fsync => rustix::fs::fsync(&**place.dir).at(Step::KeepVersion, &path)?,
            Ok(()) | Err(Errno::EXIST) => {}
            Err(errno) => return Err(errno).at(Step::KeepVersion, &path),
        }
        Self::open(place, Step::KeepVersion)?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                Step::KeepVersion,
                &path,
                "the version store vanished while it was being opened",
            )
        })
    }

    /// Stored version numbers, ascending.
    fn numbers(&self, step: Step) -> Result<Vec<u64>> {
        let mut numbers = Vec::new();
        let dir = rustix::fs::Dir::read_from(&*self.dir).at(step, &self.path)?;
        for entry in dir {
            let entry = entry.at(step, &self.path)?;
            if let Some(number) = parse_entry(OsStr::from_bytes(entry.file_name().to_bytes())) {
                numbers.push(number);
            }
        }
        numbers.sort_unstable();
        Ok(numbers)
    }

    fn entry_path(&self, number: u64) -> PathBuf {
        self.path.join(entry_name(number))
    }

    fn read_record(&self, number: u64, step: Step) -> Result<VersionRecord> {
        let path = self.entry_path(number).join(RECORD_NAME);
        let bytes = std::fs::read(&path).at(step, &path)?;
        serde_json::from_slice(&bytes).map_err(|error| {
            Error::new(
                ErrorKind::Verification,
                step,
                &path,
                format!("not a valid atio version record: {error}"),
            )
            .with_source(error)
        })
    }

    fn data_stat(&self, number: u64) -> rustix::io::Result<Stat> {
        let relative = format!("{}/{DATA_NAME}", entry_name(number));
        rustix::fs::statat(&*self.dir, relative.as_str(), AtFlags::SYMLINK_NOFOLLOW)
    }

    fn fsync(&self, step: Step) -> Result<()> {
        rustix::fs::fsync(&*self.dir).at(step, &self.path)
    }

    fn open_entry(&self, number: u64, step: Step) -> Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        rustix::fs::openat(
            &*self.dir,
            entry_name(number).as_str(),
            flags,
            Mode::empty(),
        )
        .at(step, &self.entry_path(number))
    }

    /// Writes `record` as the record of the existing entry `number`: a staging file in the
    /// entry, fsynced, renamed over the record, the entry fsynced.
    fn rewrite_record(&self, record: &VersionRecord, fsync: bool, step: Step) -> Result<()> {
        let entry_path = self.entry_path(record.version);
        let entry = Arc::new(self.open_entry(record.version, step)?);
        let name = staging::new_name(OsStr::new(RECORD_NAME));
        let staged_path = entry_path.join(&name);
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&*entry, &name, flags, Mode::from_raw_mode(0o644))
            .at(step, &staged_path)?;
        let registration = interrupt::Registration::new(entry.clone(), name.clone());
        let result = (|| {
            let mut file = File::from(fd);
            file.write_all(&record_json(record))
                .at(step, &staged_path)?;
            if fsync {
                file.sync_all().at(step, &staged_path)?;
            }
            rustix::fs::renameat(&*entry, &name, &*entry, RECORD_NAME)
                .at(step, &entry_path.join(RECORD_NAME))?;
            if fsync {
                rustix::fs::fsync(&*entry).at(step, &entry_path)?;
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&*entry, &name, AtFlags::empty());
        }
        drop(registration);
        result
    }

    /// Removes entries: each renamed to a staging name first (store fsynced), so an interrupted
    /// removal never leaves a listed version without its data or record.
    fn remove(&self, numbers: &[u64], fsync: bool) -> Result<()> {
        let mut doomed = Vec::new();
        for &number in numbers {
            let name = entry_name(number);
            let staged = staging::new_dir_name(OsStr::new(&name));
            rustix::fs::renameat(&*self.dir, name.as_str(), &*self.dir, &staged)
                .at(Step::Prune, &self.entry_path(number))?;
            let registration = interrupt::Registration::new_tree(self.dir.clone(), staged.clone());
            doomed.push((staged, registration));
        }
        if fsync && !doomed.is_empty() {
            self.fsync(Step::Prune)?;
        }
        for (staged, _registration) in doomed {
            fs::remove_tree(&self.dir, &staged).at(Step::Prune, &self.path.join(&staged))?;
        }
        Ok(())
    }
}

pub(crate) fn record_json(record: &VersionRecord) -> Vec<u8> {
    let mut json = serde_json::to_vec_pretty(record).expect("a record always serialises");
    json.push(b'\n');
    json
}

/// A version entry being built under a staging name; removed on drop unless published.
struct StagedEntry<'a> {
    store: &'a Store,
    name: OsString,
    fd: OwnedFd,
    published: bool,
    _registration: interrupt::Registration,
}

impl<'a> StagedEntry<'a> {
    fn create(store: &'a Store, number: u64) -> Result<Self> {
        loop {
            let name = staging::new_dir_name(OsStr::new(&entry_name(number)));
            match rustix::fs::mkdirat(&*store.dir, &name, Mode::from_raw_mode(0o755)) {
                Ok(()) => {}
                Err(Errno::EXIST) => continue,
                Err(errno) => return Err(errno).at(Step::KeepVersion, &store.path.join(&name)),
            }
            let registration = interrupt::Registration::new_tree(store.dir.clone(), name.clone());
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = match rustix::fs::openat(&*store.dir, &name, flags, Mode::empty()) {
                Ok(fd) => fd,
                Err(errno) => {
                    let _ = fs::remove_tree(&store.dir, &name);
                    return Err(errno).at(Step::KeepVersion, &store.path.join(&name));
                }
            };
            return Ok(Self {
                store,
                name,
                fd,
                published: false,
                _registration: registration,
            });
        }
    }

    fn path(&self) -> PathBuf {
        self.store.path.join(&self.name)
    }

    /// Record (fsynced), entry fsynced, renamed into place as `number`, store fsynced.
    fn publish(mut self, record: &VersionRecord, fsync: bool) -> Result<()> {
        let path = self.path().join(RECORD_NAME);
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(&self.fd, RECORD_NAME, flags, Mode::from_raw_mode(0o644))
            .at(Step::KeepVersion, &path)?;
        let mut file = File::from(fd);
        file.write_all(&record_json(record))
            .at(Step::KeepVersion, &path)?;
        if fsync {
            file.sync_all().at(Step::KeepVersion, &path)?;
            rustix::fs::fsync(&self.fd).at(Step::KeepVersion, &self.path())?;
        }
        // A plain rename never replaces a complete entry: entries are never empty directories.
        rustix::fs::renameat(
            &*self.store.dir,
            &self.name,
            &*self.store.dir,
            entry_name(record.version).as_str(),
        )
        .at(Step::KeepVersion, &self.store.entry_path(record.version))?;
        self.published = true;
        if fsync {
            self.store.fsync(Step::KeepVersion)?;
        }
        Ok(())
    }
}

impl Drop for StagedEntry<'_> {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_tree(&self.store.dir, &self.name);
        }
    }
}

/// The target's `_SUCCESS` manifest, if it has one describing `bytes` bytes.
fn matching_manifest(target: &Target, bytes: u64) -> Option<Manifest> {
    let marker = target.sibling(&manifest::marker_name(&target.name));
    let json = std::fs::read(&marker).ok()?;
    Manifest::from_json(&json, &marker)
        .ok()
        .filter(|manifest| manifest.bytes == bytes)
}

/// Keeps the target's current content as a new version, with `tags`. Called under the
/// directory's publish lock, before the rename that replaces the target. Returns the version
/// number (the newest one when it already holds this very inode), `None` when there is nothing
/// to keep (no target, or not a regular file).
pub(crate) fn keep_current(
    target: &Target,
    kept_by: &str,
    fsync: bool,
    tags: &[String],
) -> Result<Option<u64>> {
    let current = match rustix::fs::statat(&*target.dir, &target.name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => stat,
        Err(Errno::NOENT) => return Ok(None),
        Err(errno) => return Err(errno).at(Step::KeepVersion, &target.path),
    };
    if FileType::from_raw_mode(current.st_mode) != FileType::RegularFile {
        tracing::warn!(path = %target.path.display(), "not a regular file: no version kept of it");
        return Ok(None);
    }
    let store = Store::create(&Place::of(target), fsync)?;
    let numbers = store.numbers(Step::KeepVersion)?;
    if let Some(&newest) = numbers.last()
        && store
            .data_stat(newest)
            .is_ok_and(|stat| same_inode(&stat, &current))
    {
        // Already kept (a commit killed after keeping, or a tag of the current content).
        return Ok(Some(newest));
    }
    let number = numbers.last().map_or(1, |newest| newest + 1);
    let entry = StagedEntry::create(&store, number)?;
    let data_path = entry.path().join(DATA_NAME);
    match rustix::fs::linkat(
        &*target.dir,
        &target.name,
        &entry.fd,
        DATA_NAME,
        AtFlags::empty(),
    ) {
        Ok(()) => {}
        // Removed meanwhile by something that is not atio: nothing left to keep.
        Err(Errno::NOENT) => return Ok(None),
        Err(errno) => return Err(errno).at(Step::KeepVersion, &data_path),
    }
    let data = File::from(
        rustix::fs::openat(
            &entry.fd,
            DATA_NAME,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .at(Step::KeepVersion, &data_path)?,
    );
    let bytes = data.metadata().at(Step::KeepVersion, &data_path)?.len();
    let manifest = matching_manifest(target, bytes);
    let hash = match &manifest {
        Some(manifest) => manifest.hash.clone(),
        // No marker describes it: hash it (a read, no copy) so the version can be verified.
        None => {
            crate::hash::hash_reader(data)
                .at(Step::KeepVersion, &data_path)?
                .1
        }
    };
    let name = target.name.to_string_lossy();
    let record = VersionRecord::of_file(number, &name, bytes, hash, manifest, kept_by, tags);
    entry.publish(&record, fsync)?;
    Ok(Some(number))
}

/// Keeps a directory target's replaced tree, now named `tree` in the target's parent (after the
/// exchange, or the journal swap's backup), as a new version: the tree is renamed into a staged
/// entry (no copy), its record written, the entry renamed into place. Under the publish lock.
/// `None` (the caller deletes the tree, as without versions) when the tree has no `_SUCCESS`
/// manifest to check it by.
pub(crate) fn keep_tree(
    place: &Place,
    tree: &OsStr,
    manifest: Option<DirManifest>,
    kept_by: &str,
    fsync: bool,
) -> Result<Option<u64>> {
    let Some(manifest) = manifest else {
        tracing::warn!(path = %place.path.display(), "the replaced directory has no _SUCCESS manifest: no version kept of it");
        return Ok(None);
    };
    let store = Store::create(place, fsync)?;
    let numbers = store.numbers(Step::KeepVersion)?;
    let number = numbers.last().map_or(1, |newest| newest + 1);
    let entry = StagedEntry::create(&store, number)?;
    rustix::fs::renameat(&**place.dir, tree, &entry.fd, DATA_NAME)
        .at(Step::KeepVersion, &entry.path().join(DATA_NAME))?;
    let record = VersionRecord::of_dir(number, &place.name.to_string_lossy(), manifest, kept_by);
    entry.publish(&record, fsync)?;
    Ok(Some(number))
}

/// Whether `path` names a directory target (an existing directory, or a path ending in `/`).
fn is_dir_target(path: &Path) -> bool {
    path.as_os_str().as_encoded_bytes().ends_with(b"/")
        || std::fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir())
}

/// A directory target's parent (opened), the parent's path and the target's name.
fn dir_place(path: &Path) -> Result<(Arc<OwnedFd>, PathBuf, OsString)> {
    let name = match path.components().next_back() {
        Some(std::path::Component::Normal(name)) => name.to_os_string(),
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Step::Versions,
                path,
                "not a directory path with a name (e.g. `out/dt=2025-01-15/`)",
            ));
        }
    };
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((Arc::new(fs::open_dir(&parent)?), parent, name))
}

/// A directory target's current content, from its `_SUCCESS` manifest.
fn current_dir(path: &Path) -> Option<Current> {
    if !path.is_dir() {
        return None;
    }
    let marker = path.join(manifest::DIR_MARKER);
    let manifest = std::fs::read(&marker)
        .ok()
        .and_then(|json| DirManifest::from_json(&json, &marker).ok());
    Some(match manifest {
        Some(manifest) => Current::of_dir(&manifest),
        None => Current::of_file(0, None),
    })
}

/// Removes untagged versions beyond the newest `keep`; under the publish lock. Versions whose
/// record cannot be read are left alone.
pub(crate) fn prune_locked(place: &Place, keep: usize, fsync: bool) -> Result<Vec<u64>> {
    let Some(store) = Store::open(place, Step::Prune)? else {
        return Ok(Vec::new());
    };
    let numbers = store.numbers(Step::Prune)?;
    let mut doomed: Vec<u64> = numbers
        .iter()
        .rev()
        .skip(keep)
        .copied()
        .filter(|&number| {
            store
                .read_record(number, Step::Prune)
                .is_ok_and(|record| record.tags.is_empty())
        })
        .collect();
    doomed.sort_unstable();
    store.remove(&doomed, fsync)?;
    Ok(doomed)
}

fn no_store(place: &Place, step: Step) -> Error {
    Error::new(
        ErrorKind::NotFound,
        step,
        place.path,
        format!(
            "no versions are kept for this target (no {}); write it with --keep-versions N",
            place.store_path().display()
        ),
    )
}

/// Finds the version `selector` means.
fn select(store: &Store, place: &Place, selector: &Selector, step: Step) -> Result<VersionRecord> {
    let numbers = store.numbers(step)?;
    let found = match selector {
        Selector::Newest => numbers.last().copied(),
        Selector::Number(number) => numbers.contains(number).then_some(*number),
        Selector::Tag(tag) => {
            let mut found = None;
            for &number in numbers.iter().rev() {
                let record = store.read_record(number, step)?;
                if record.tags.iter().any(|candidate| candidate == tag) {
                    found = Some(number);
                    break;
                }
            }
            found
        }
    };
    match found {
        Some(number) => store.read_record(number, step),
        None => Err(not_selected(
            selector,
            &numbers,
            place.path,
            &store.path,
            step,
        )),
    }
}

/// The error for a `selector` that matches none of the stored `numbers` (in `store`).
pub(crate) fn not_selected(
    selector: &Selector,
    numbers: &[u64],
    path: &Path,
    store: &Path,
    step: Step,
) -> Error {
    let listed = if numbers.is_empty() {
        "the store holds no versions".to_owned()
    } else {
        format!(
            "stored versions: {}",
            numbers
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let message = match selector {
        Selector::Newest => format!("no stored version ({})", store.display()),
        Selector::Number(number) => format!("no version {number} ({listed})"),
        Selector::Tag(tag) => format!("no version is tagged `{tag}` ({listed})"),
    };
    Error::new(ErrorKind::NotFound, step, path, message)
}

/// The current content's facts, from its stat and matching manifest.
fn current(target: &Target) -> Result<Option<(Stat, Current)>> {
    let stat = match rustix::fs::statat(&*target.dir, &target.name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => stat,
        Err(Errno::NOENT) => return Ok(None),
        Err(errno) => return Err(errno).at(Step::Versions, &target.path),
    };
    let bytes = stat.st_size as u64;
    let manifest = matching_manifest(target, bytes);
    Ok(Some((stat, Current::of_file(bytes, manifest.as_ref()))))
}

fn list_locked(place: &Place, current: Option<(Option<Stat>, Current)>) -> Result<Versions> {
    let store_path = place.store_path();
    let Some(store) = Store::open(place, Step::Versions)? else {
        if current.is_none() {
            return Err(Error::new(
                ErrorKind::NotFound,
                Step::Versions,
                place.path,
                "neither the target nor a version store for it exists",
            ));
        }
        return Ok(Versions {
            target: place.path.to_path_buf(),
            store: store_path,
            current: current.map(|(_, current)| current),
            versions: Vec::new(),
        });
    };
    let mut versions = Vec::new();
    for number in store.numbers(Step::Versions)? {
        let record = store.read_record(number, Step::Versions)?;
        let is_current = current.as_ref().is_some_and(|(stat, current)| {
            stat.as_ref().is_some_and(|stat| {
                store
                    .data_stat(number)
                    .is_ok_and(|data| same_inode(&data, stat))
            }) || current.hash.as_deref() == Some(record.hash.as_str())
        });
        versions.push(Version {
            number,
            data: store.entry_path(number).join(DATA_NAME),
            current: is_current,
            record,
        });
    }
    Ok(Versions {
        target: place.path.to_path_buf(),
        store: store_path,
        current: current.map(|(_, current)| current),
        versions,
    })
}

/// Lists a file or a directory target; returns the shared publish lock it holds, so the
/// caller can read the versions before anything changes them.
fn list_any(path: &Path) -> Result<(Versions, PublishLock)> {
    let resolved = Resolved::new(path, Symlinks::Follow)?;
    let shared = PublishLock::acquire(&resolved.dir, &resolved.dir_path, true)?;
    let current = match &resolved.target {
        Some(target) => current(target)?.map(|(stat, current)| (Some(stat), current)),
        None => current_dir(path).map(|current| (None, current)),
    };
    Ok((list_locked(&resolved.place(), current)?, shared))
}

/// A target of the version commands: a file (its resolved `Target`) or a directory.
struct Resolved {
    target: Option<Target>,
    dir: Arc<OwnedFd>,
    dir_path: PathBuf,
    name: OsString,
    path: PathBuf,
}

impl Resolved {
    fn new(path: &Path, symlinks: Symlinks) -> Result<Self> {
        if is_dir_target(path) {
            let (dir, dir_path, name) = dir_place(path)?;
            return Ok(Self {
                target: None,
                dir,
                dir_path,
                name,
                path: path.to_path_buf(),
            });
        }
        let target = Target::resolve_existing(path, symlinks)?;
        Ok(Self {
            dir: target.dir.clone(),
            dir_path: target.dir_path.clone(),
            name: target.name.clone(),
            path: target.path.clone(),
            target: Some(target),
        })
    }

    fn place(&self) -> Place<'_> {
        Place {
            dir: &self.dir,
            dir_path: &self.dir_path,
            name: &self.name,
            path: &self.path,
        }
    }
}

/// Lists the versions kept for the file or directory `path` (a file's symlinks followed), oldest
/// first, and what it holds now. A target without a store has no versions; a path with neither
/// is `not-found`.
pub fn list(path: impl AsRef<Path>, options: &Options) -> Result<Versions> {
    if let Location::Object(url) = Location::parse(path.as_ref())? {
        return crate::store::versions::list(&url, options);
    }
    list_any(path.as_ref()).map(|(versions, _)| versions)
}

/// [`list`], then checks every stored version against its record: a file's size and hash, a
/// directory's tree against its `_SUCCESS` (as `verify_dir` does) and its content hash. The
/// first mismatch is a `verification` error naming the version.
pub fn verify(path: impl AsRef<Path>, options: &Options) -> Result<Versions> {
    if let Location::Object(url) = Location::parse(path.as_ref())? {
        return crate::store::versions::verify(&url, options);
    }
    let (versions, _shared) = list_any(path.as_ref())?;
    for version in &versions.versions {
        let record = &version.record;
        let (bytes, hash) = if record.dir_manifest.is_some() {
            let verified = crate::verify::check_dir(&version.data)?;
            (
                verified.manifest.files.iter().map(|file| file.bytes).sum(),
                super::dir::dir_hash(&verified.manifest),
            )
        } else {
            let file = File::open(&version.data).at(Step::Verify, &version.data)?;
            crate::hash::hash_reader(file).at(Step::Verify, &version.data)?
        };
        if bytes != record.bytes || hash != record.hash {
            return Err(Error::new(
                ErrorKind::Verification,
                Step::Verify,
                &version.data,
                format!(
                    "version {} does not match its record: {bytes} bytes {hash}, recorded {} bytes {}",
                    version.number, record.bytes, record.hash
                ),
            ));
        }
    }
    Ok(versions)
}

/// Makes a stored version current again (default: the newest, i.e. undo the last versioned
/// commit). A normal commit: the version's inode is hard-linked to a staging name (no copy),
/// its hash checked against its record, then published under the target's locks with the
/// usual rename, directory fsync and marker (the version's own `_SUCCESS` manifest). The
/// content it replaces is kept as a new version, so a rollback can be rolled back; with
/// `options.keep_versions`, older untagged versions are then pruned. A directory (an existing
/// one, or a path ending in `/`) is rolled back as a tree of hard links swapped in as a unit.
pub fn rollback(
    path: impl AsRef<Path>,
    selector: &Selector,
    options: &Options,
) -> Result<RollbackReport> {
    if let Location::Object(url) = Location::parse(path.as_ref())? {
        return crate::store::versions::rollback(&url, selector, options);
    }
    if is_dir_target(path.as_ref()) {
        return rollback_dir(path.as_ref(), selector, options);
    }
    let target = Target::resolve_existing(path.as_ref(), options.symlinks)?;
    let target_lock = TargetLock::acquire(
        &target.dir,
        &target.dir_path,
        &target.name,
        options.lock.unwrap_or(ROLLBACK_LOCK_TIMEOUT),
        options.stop_waiting.as_ref(),
    )?;
    let (record, staged, file) = {
        let _publish = PublishLock::acquire(&target.dir, &target.dir_path, false)?;
        let store = Store::open(&Place::of(&target), Step::Rollback)?
            .ok_or_else(|| no_store(&Place::of(&target), Step::Rollback))?;
        let record = select(&store, &Place::of(&target), selector, Step::Rollback)?;
        if record.dir_manifest.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Step::Rollback,
                &target.path,
                format!(
                    "version {} is a directory and the directory is missing: create it (empty) and roll back again",
                    record.version
                ),
            ));
        }
        let data = store
            .data_stat(record.version)
            .at(Step::Rollback, &store.entry_path(record.version))?;
        let already = rustix::fs::statat(&*target.dir, &target.name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|stat| same_inode(&stat, &data));
        if already {
            return Ok(RollbackReport {
                path: target.path.clone(),
                restored: record.version,
                report: None,
                dir_report: None,
            });
        }
        let relative = format!("{}/{DATA_NAME}", entry_name(record.version));
        let staged = loop {
            let name = staging::new_name(&target.name);
            match rustix::fs::linkat(
                &*store.dir,
                relative.as_str(),
                &*target.dir,
                &name,
                AtFlags::empty(),
            ) {
                Ok(()) => break name,
                Err(Errno::EXIST) => continue,
                Err(errno) => return Err(errno).at(Step::Rollback, &target.sibling(&name)),
            }
        };
        let opened = rustix::fs::openat(
            &*target.dir,
            &staged,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        );
        let file = match opened {
            Ok(fd) => File::from(fd),
            Err(errno) => {
                let _ = target.unlink(&staged, Step::Cleanup);
                return Err(errno).at(Step::Rollback, &target.sibling(&staged));
            }
        };
        let size = file.metadata().map(|meta| meta.len());
        if size.as_ref().ok() != Some(&record.bytes) {
            let _ = target.unlink(&staged, Step::Cleanup);
            let data = store.entry_path(record.version).join(DATA_NAME);
            return Err(match size {
                Err(error) => Error::io(Step::Rollback, &data, error),
                Ok(size) => Error::new(
                    ErrorKind::Verification,
                    Step::Rollback,
                    &data,
                    format!(
                        "stored version {} does not match its record: {size} bytes, recorded {}; nothing was changed",
                        record.version, record.bytes
                    ),
                ),
            });
        }
        (record, staged, file)
    };
    let restored = record.version;
    let path = target.path.clone();
    let file = AtomicFile::from_version(target, staged, file, record, options, target_lock);
    let report = file.commit()?;
    Ok(RollbackReport {
        path,
        restored,
        report: Some(report),
        dir_report: None,
    })
}

/// [`rollback`] of a directory: a staged tree of hard links to the stored version's files (each
/// checked against its manifest), swapped in like any directory write (`RENAME_EXCHANGE`) with
/// the version's own `_SUCCESS`; the replaced tree is kept as a new version.
fn rollback_dir(path: &Path, selector: &Selector, options: &Options) -> Result<RollbackReport> {
    let staged_options = Options {
        lock: Some(options.lock.unwrap_or(ROLLBACK_LOCK_TIMEOUT)),
        if_changed: false,
        ..options.clone()
    };
    let mut staged = super::dir::StagedDir::create(path, &staged_options)?;
    let (restored, manifest) = {
        let place = staged.place();
        let _publish = PublishLock::acquire(place.dir, place.dir_path, false)?;
        let store =
            Store::open(&place, Step::Rollback)?.ok_or_else(|| no_store(&place, Step::Rollback))?;
        let record = select(&store, &place, selector, Step::Rollback)?;
        let Some(manifest) = record.dir_manifest else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Step::Rollback,
                path,
                format!("version {} is a file, not a directory", record.version),
            ));
        };
        if current_dir(path).and_then(|current| current.hash) == Some(record.hash.clone()) {
            return Ok(RollbackReport {
                path: path.to_path_buf(),
                restored: record.version,
                report: None,
                dir_report: None,
            });
        }
        let tree = store.entry_path(record.version).join(DATA_NAME);
        drop(store);
        (record.version, (tree, manifest))
    };
    let (tree, manifest) = manifest;
    for entry in &manifest.files {
        staged.link_file(&tree.join(&entry.path), entry)?;
    }
    staged.restore(manifest);
    let report = staged.commit()?;
    Ok(RollbackReport {
        path: path.to_path_buf(),
        restored,
        report: None,
        dir_report: Some(report),
    })
}

/// Checks a tag name: 1 to 100 characters of letters, digits, `.`, `_`, `-`, not all digits.
pub(crate) fn check_tag(tag: &str, path: &Path) -> Result<()> {
    let valid = !tag.is_empty()
        && tag.len() <= 100
        && tag
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
        && !tag.bytes().all(|byte| byte.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            Step::Tag,
            path,
            format!(
                "invalid tag `{tag}`: use 1 to 100 letters, digits, `.`, `_` or `-`, not only digits"
            ),
        ))
    }
}

/// Tags a version: `version` (default: the current content, kept as a version first if the
/// newest version is not already it — a hard link, no copy). A tagged version is never pruned.
/// A tag names one version: with `force` it moves from the version that has it, otherwise that
/// is a `conflict`.
pub fn tag(
    path: impl AsRef<Path>,
    tag: &str,
    version: Option<u64>,
    force: bool,
    options: &Options,
) -> Result<TagReport> {
    if let Location::Object(url) = Location::parse(path.as_ref())? {
        return crate::store::versions::tag(&url, tag, version, force, options);
    }
    let resolved = Resolved::new(path.as_ref(), options.symlinks)?;
    check_tag(tag, &resolved.path)?;
    let Some(target) = &resolved.target else {
        let Some(version) = version else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Step::Tag,
                &resolved.path,
                "a directory's current tree is not a stored version: give --version N",
            ));
        };
        let place = resolved.place();
        let _publish = PublishLock::acquire(&resolved.dir, &resolved.dir_path, false)?;
        let _publishing = interrupt::publishing().at(Step::Tag, &resolved.path)?;
        let store = Store::open(&place, Step::Tag)?.ok_or_else(|| no_store(&place, Step::Tag))?;
        return tag_in(&store, &place, tag, version, force, options.fsync());
    };
    let _publish = PublishLock::acquire(&target.dir, &target.dir_path, false)?;
    let _publishing = interrupt::publishing().at(Step::Tag, &target.path)?;
    let fsync = options.fsync();
    let existing = Store::open(&Place::of(target), Step::Tag)?;
    // The version meant: the one given, else the newest holding the current inode (if any).
    let mut number = version;
    if number.is_none()
        && let Some(store) = &existing
        && let Ok(current) =
            rustix::fs::statat(&*target.dir, &target.name, AtFlags::SYMLINK_NOFOLLOW)
    {
        number = store.numbers(Step::Tag)?.into_iter().rev().find(|&number| {
            store
                .data_stat(number)
                .is_ok_and(|data| same_inode(&data, &current))
        });
    }
    // Which versions carry the tag now (checked before anything is kept).
    let mut holders = Vec::new();
    if let Some(store) = &existing {
        for other in store.numbers(Step::Tag)? {
            if Some(other) != number
                && store
                    .read_record(other, Step::Tag)?
                    .tags
                    .iter()
                    .any(|candidate| candidate == tag)
            {
                holders.push(other);
            }
        }
    }
    if let Some(&other) = holders.first()
        && !force
    {
        return Err(Error::new(
            ErrorKind::Conflict,
            Step::Tag,
            &target.path,
            format!(
                "tag `{tag}` is on version {other}; move it with --force, or remove it with --delete first"
            ),
        ));
    }
    let number = match number {
        Some(number) => number,
        None => keep_current(target, &super::new_run_id(), fsync, &[])?.ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                Step::Tag,
                &target.path,
                "the file does not exist: give --version N to tag a stored version",
            )
        })?,
    };
    // The holders were checked before the current content was kept: `tag_in` now moves the
    // tag (when forced) and sets it.
    let place = Place::of(target);
    let store = Store::open(&place, Step::Tag)?.ok_or_else(|| no_store(&place, Step::Tag))?;
    tag_in(&store, &place, tag, number, force, fsync)
}

/// Tags the stored version `number`: refused if another version has the tag, unless `force`
/// moves it.
fn tag_in(
    store: &Store,
    place: &Place,
    tag: &str,
    number: u64,
    force: bool,
    fsync: bool,
) -> Result<TagReport> {
    let mut record = select(store, place, &Selector::Number(number), Step::Tag)?;
    let mut moved_from = None;
    for other in store.numbers(Step::Tag)? {
        if other == number {
            continue;
        }
        let mut other_record = store.read_record(other, Step::Tag)?;
        if !other_record.tags.iter().any(|candidate| candidate == tag) {
            continue;
        }
        if !force {
            return Err(Error::new(
                ErrorKind::Conflict,
                Step::Tag,
                place.path,
                format!(
                    "tag `{tag}` is on version {other}; move it with --force, or remove it with --delete first"
                ),
            ));
        }
        other_record.tags.retain(|candidate| candidate != tag);
        store.rewrite_record(&other_record, fsync, Step::Tag)?;
        moved_from = Some(other);
    }
    if !record.tags.iter().any(|candidate| candidate == tag) {
        record.tags.push(tag.to_owned());
        store.rewrite_record(&record, fsync, Step::Tag)?;
    }
    Ok(TagReport {
        version: number,
        tag: tag.to_owned(),
        moved_from,
    })
}

/// Removes a tag; returns the version that had it (`not-found` when none has).
pub fn untag(path: impl AsRef<Path>, tag: &str, options: &Options) -> Result<u64> {
    if let Location::Object(url) = Location::parse(path.as_ref())? {
        return crate::store::versions::untag(&url, tag, options);
    }
    let resolved = Resolved::new(path.as_ref(), options.symlinks)?;
    let place = resolved.place();
    let _publish = PublishLock::acquire(&resolved.dir, &resolved.dir_path, false)?;
    let _publishing = interrupt::publishing().at(Step::Tag, &resolved.path)?;
    let store = Store::open(&place, Step::Tag)?.ok_or_else(|| no_store(&place, Step::Tag))?;
    let mut record = select(&store, &place, &Selector::Tag(tag.to_owned()), Step::Tag)?;
    record.tags.retain(|candidate| candidate != tag);
    store.rewrite_record(&record, options.fsync(), Step::Tag)?;
    Ok(record.version)
}

/// Removes untagged versions beyond the newest `keep` (tagged versions always stay); returns
/// the numbers removed. `keep` 0 removes every untagged version.
pub fn prune(path: impl AsRef<Path>, keep: u32, options: &Options) -> Result<Vec<u64>> {
    if let Location::Object(url) = Location::parse(path.as_ref())? {
        return crate::store::versions::prune(&url, keep, options);
    }
    let resolved = Resolved::new(path.as_ref(), options.symlinks)?;
    let place = resolved.place();
    let _publish = PublishLock::acquire(&resolved.dir, &resolved.dir_path, false)?;
    let _publishing = interrupt::publishing().at(Step::Prune, &resolved.path)?;
    if Store::open(&place, Step::Prune)?.is_none() {
        return Err(no_store(&place, Step::Prune));
    }
    prune_locked(&place, keep as usize, options.fsync())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_names_are_hidden_recognised_and_fit_name_max() {
        let name = store_name(OsStr::new("data.parquet"));
        assert_eq!(name, OsStr::new(".data.parquet.atio-versions"));
        assert!(is_store_name(&name));
        assert!(!is_store_name(OsStr::new(".atio-versions")));
        assert!(!is_store_name(OsStr::new("data.atio-versions")));
        let long_a = format!("{}a", "x".repeat(254));
        let long_b = format!("{}b", "x".repeat(254));
        let (a, b) = (
            store_name(OsStr::new(&long_a)),
            store_name(OsStr::new(&long_b)),
        );
        assert!(a.len() <= 255, "{}", a.len());
        assert_ne!(a, b);
        assert!(is_store_name(&a));
    }

    #[test]
    fn only_numbered_names_are_entries() {
        assert_eq!(parse_entry(OsStr::new("000007")), Some(7));
        assert_eq!(parse_entry(OsStr::new("1234567")), Some(1_234_567));
        for name in [
            "",
            "7a",
            ".000007.atio-stg-1-00000000-00000000",
            "data",
            "99999999999999999999",
        ] {
            assert_eq!(parse_entry(OsStr::new(name)), None, "{name}");
        }
        assert_eq!(entry_name(7), "000007");
    }
}
