//! The commit engine: the only code in atio that creates, fsyncs, renames or unlinks in a target
//! directory.
//!
//! One file's transaction:
//! 1. resolve the target (symlink policy), create missing parents durably, open the directory;
//! 2. create a staging file next to the target (`O_CREAT|O_EXCL|O_NOFOLLOW`, hidden name);
//! 3. write (hashing as the bytes go by);
//! 4. copy the previous file's mode and owner, then fsync the file;
//! 5. remove the previous `_SUCCESS` marker and fsync the directory, so no marker ever describes
//!    bytes other than the ones beside it;
//! 6. rename onto the target (`RENAME_NOREPLACE` in create-only mode), fsync the directory;
//! 7. write the new marker with the same protocol.
//!
//! Any failure before step 6 removes the staging file and leaves the target untouched. An fsync
//! error is fatal and never retried (the kernel may have dropped the dirty pages it reported).

pub mod dir;
mod fs;
pub mod interrupt;
pub(crate) mod lock;
pub(crate) mod staging;
pub mod sweep;
pub mod versions;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use crate::error::{Error, ErrorKind, IoContext, Result, Step};
use crate::hash::ContentHasher;
use crate::manifest::{self, Manifest};
use crate::options::Options;
use crate::report::{EncoderInfo, Report, StepTimings, Stopwatch};

pub(crate) use fs::{Target, open_dir};
pub use lock::TargetLock;

/// Permissions of a new file before the umask, as `open(2)` callers conventionally ask.
const NEW_FILE_MODE: u32 = 0o644;
/// Permissions of a staging file that will take an existing file's mode: owner-only until then.
const PRIVATE_MODE: u32 = 0o600;

/// A staging file being written; becomes the target on `commit`, vanishes on drop or `abort`.
///
/// ```no_run
/// use std::io::Write;
/// let mut file = atio::AtomicFile::create("out/report.csv", &atio::Options::default())?;
/// file.write_all(b"a,b\n1,2\n")?;
/// let report = file.commit()?;
/// println!("{} bytes, {}", report.bytes, report.hash);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AtomicFile {
    target: Target,
    staged: Option<Staged>,
    options: Options,
    hasher: ContentHasher,
    bytes: u64,
    details: Details,
    timings: StepTimings,
    started_at: SystemTime,
    started: Instant,
    setup_done: Instant,
    run_id: String,
    target_lock: Option<TargetLock>,
    /// A write failed: the content is unknown, so `commit` refuses.
    poisoned: bool,
    /// The content is hashed from the file at commit, not as it is written: its header is
    /// (or will be) rewritten.
    hash_at_commit: bool,
    /// A rollback: the staging name is a hard link to this stored version.
    restoring: Option<Box<versions::VersionRecord>>,
}

/// The live staging file.
#[derive(Debug)]
struct Staged {
    name: OsString,
    file: File,
    _registration: interrupt::Registration,
}

/// What the caller knows about the bytes, for the report and manifest.
#[derive(Clone, Debug, Default)]
struct Details {
    format: Option<String>,
    rows: Option<u64>,
    encoder: Option<EncoderInfo>,
}

impl AtomicFile {
    /// Starts an atomic write of `path`: resolves it and creates the staging file beside it.
    pub fn create(path: impl AsRef<Path>, options: &Options) -> Result<Self> {
        let started_at = SystemTime::now();
        let started = Instant::now();
        let path = path.as_ref();
        let _span = tracing::debug_span!("stage", path = %path.display()).entered();
        let target = Target::resolve(path, options.symlinks, options.fsync())?;
        let target_lock = match options.lock {
            Some(timeout) => Some(TargetLock::acquire(
                &target.dir,
                &target.dir_path,
                &target.name,
                timeout,
                options.stop_waiting.as_ref(),
            )?),
            None => None,
        };
        let mode = if target.existing.is_some() {
            PRIVATE_MODE
        } else {
            NEW_FILE_MODE
        };
        let (name, file) = target.create_staging(&target.name, mode)?;
        let registration = interrupt::Registration::new(target.dir.clone(), name.clone());
        let setup_done = Instant::now();
        Ok(Self {
            target,
            staged: Some(Staged {
                name,
                file,
                _registration: registration,
            }),
            options: options.clone(),
            hasher: ContentHasher::new(),
            bytes: 0,
            details: Details::default(),
            timings: StepTimings {
                setup: setup_done - started,
                ..StepTimings::default()
            },
            started_at,
            started,
            setup_done,
            run_id: new_run_id(),
            target_lock,
            poisoned: false,
            hash_at_commit: false,
            restoring: None,
        })
    }

    /// A rollback's staged file: `staged` (opened as `file`) is a hard link, beside the target,
    /// to the stored version `record`. Committing checks its hash against the record and
    /// publishes it with the version's own manifest; the content it replaces is kept.
    pub(crate) fn from_version(
        target: Target,
        staged: OsString,
        file: File,
        record: versions::VersionRecord,
        options: &Options,
        target_lock: TargetLock,
    ) -> Self {
        let started_at = SystemTime::now();
        let started = Instant::now();
        let registration = interrupt::Registration::new(target.dir.clone(), staged.clone());
        Self {
            target,
            staged: Some(Staged {
                name: staged,
                file,
                _registration: registration,
            }),
            options: options.clone(),
            hasher: ContentHasher::new(),
            bytes: record.bytes,
            details: Details {
                format: record.format.clone(),
                rows: record.rows,
                encoder: record.encoder.clone(),
            },
            timings: StepTimings::default(),
            started_at,
            started,
            setup_done: started,
            run_id: new_run_id(),
            target_lock: Some(target_lock),
            poisoned: false,
            hash_at_commit: true,
            restoring: Some(Box::new(record)),
        }
    }

    /// Whether this commit keeps the content it replaces as a version.
    fn keeps_versions(&self) -> bool {
        self.restoring.is_some() || self.options.versions().is_some()
    }

    /// The path that `commit` will replace.
    pub fn target_path(&self) -> &Path {
        &self.target.path
    }

    /// Where the bytes are staged until `commit`.
    pub fn staging_path(&self) -> Option<PathBuf> {
        self.staged
            .as_ref()
            .map(|staged| self.target.sibling(&staged.name))
    }

    /// The target's sidecar lock, when `Options::lock` asked for one (held until commit or drop).
    pub fn target_lock(&self) -> Option<&TargetLock> {
        self.target_lock.as_ref()
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Records the format name in the report and manifest.
    pub fn set_format(&mut self, format: impl Into<String>) {
        self.details.format = Some(format.into());
    }

    /// Records the number of data rows in the report and manifest.
    pub fn set_rows(&mut self, rows: u64) {
        self.details.rows = Some(rows);
    }

    /// Records the encoder that produced the bytes.
    pub fn set_encoder(&mut self, encoder: EncoderInfo) {
        self.details.encoder = Some(encoder);
    }

    /// Adds time spent inside an encoder (reported as part of `write`).
    pub fn add_encode_time(&mut self, time: std::time::Duration) {
        self.timings.encode += time;
    }

    /// Uses `run_id` instead of a fresh one (to tie several files to one run).
    pub fn set_run_id(&mut self, run_id: impl Into<String>) {
        self.run_id = run_id.into();
    }

    /// Publishes the staged bytes at the target path; see the module docs for the protocol.
    pub fn commit(self) -> Result<Report> {
        let mut reports = commit_group(vec![self])?;
        Ok(reports.pop().expect("one report per committed file"))
    }

    /// Discards the staged bytes; the target is untouched. (Dropping does the same, silently.)
    pub fn abort(mut self) -> Result<()> {
        match self.staged.take() {
            Some(staged) => self.target.unlink(&staged.name, Step::Cleanup).map(drop),
            None => Ok(()),
        }
    }

    /// Stops hashing as bytes are written: the content hash will be taken from the file at
    /// commit. For a header that will be rewritten (an encoder's `output.reserve-header`).
    pub fn hash_at_commit(&mut self) {
        self.hash_at_commit = true;
    }

    /// Overwrites the first `header.len()` bytes, all written already (an encoder's
    /// `output.rewrite-header`). The content hash is then taken from the file at commit.
    pub fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        if self.poisoned {
            return Err(io::Error::other(
                "atio: an earlier write to this file failed",
            ));
        }
        let bytes = self.bytes;
        let rewritten = fs::rewrite_header(&self.staged()?.file, header, bytes);
        match rewritten {
            Ok(()) => {
                self.hash_at_commit = true;
                Ok(())
            }
            Err(error) => {
                // Part of the header may have been written: the content is unknown.
                self.poisoned = true;
                Err(error)
            }
        }
    }

    fn staged(&mut self) -> io::Result<&mut Staged> {
        interrupt::check()?;
        self.staged
            .as_mut()
            .ok_or_else(|| io::Error::other("atio: the staging file is gone"))
    }

    /// Step 4: mode, owner, fsync. After this the staging file is complete on disk.
    fn seal(&mut self) -> Result<()> {
        if self.poisoned {
            let path = self
                .staging_path()
                .unwrap_or_else(|| self.target.path.clone());
            return Err(Error::new(
                ErrorKind::Io,
                Step::Write,
                path,
                "an earlier write failed; refusing to commit unknown content",
            ));
        }
        self.timings.write = self.setup_done.elapsed();
        let staging_path = self
            .staging_path()
            .unwrap_or_else(|| self.target.path.clone());
        let staged = self.staged.as_mut().ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                Step::Write,
                &staging_path,
                "the staging file is gone",
            )
        })?;
        staged.file.flush().at(Step::Write, &staging_path)?;
        if self.hash_at_commit {
            self.hasher = fs::rehash(&staged.file, self.bytes).at(Step::Write, &staging_path)?;
        }
        if let Some(record) = &self.restoring {
            // The stored inode itself: check it before it becomes the target again.
            let hash = self.hasher.finish();
            if hash != record.hash {
                return Err(Error::new(
                    ErrorKind::Verification,
                    Step::Rollback,
                    &staging_path,
                    format!(
                        "stored version {} does not match its record: content hash {hash}, recorded {}; nothing was changed",
                        record.version, record.hash
                    ),
                ));
            }
        } else if let Some(previous) = &self.target.existing {
            // (A rollback keeps the version's own mode: its inode is shared with the store.)
            fs::copy_mode_and_owner(&staged.file, previous, &staging_path)?;
        }
        if self.options.fsync() {
            let stopwatch = Stopwatch::start();
            staged.file.sync_all().at(Step::Fsync, &staging_path)?;
            self.timings.fsync = stopwatch.stop();
        }
        Ok(())
    }

    fn report(&self) -> Report {
        Report {
            path: self.target.path.clone(),
            bytes: self.bytes,
            hash: self.hasher.finish(),
            rows: self.details.rows,
            format: self.details.format.clone(),
            encoder: self.details.encoder.clone(),
            durability: self.options.durability,
            marker: self.options.marker.then(|| {
                self.target
                    .sibling(&manifest::marker_name(&self.target.name))
            }),
            run_id: self.run_id.clone(),
            timings: self.timings,
            instances: None,
            e_tag: None,
            kept_version: None,
            pruned_versions: Vec::new(),
        }
    }

    fn manifest(&self, report: &Report, finished_at: SystemTime) -> Manifest {
        if let Some(manifest) = self
            .restoring
            .as_ref()
            .and_then(|record| record.manifest.clone())
        {
            // A rollback restores the version's own marker: it describes these very bytes.
            return Manifest {
                name: self.target.name.to_string_lossy().into_owned(),
                ..manifest
            };
        }
        Manifest {
            manifest_version: manifest::MANIFEST_VERSION,
            name: self.target.name.to_string_lossy().into_owned(),
            format: report.format.clone(),
            bytes: report.bytes,
            hash: report.hash.clone(),
            rows: report.rows,
            encoder: report.encoder.clone(),
            e_tag: None,
            written_by: manifest::Provenance::this_process(
                &report.run_id,
                self.started_at,
                finished_at,
                report.durability,
            ),
            timings_ms: manifest::timings_map(&report.timings),
        }
    }
}

/// Writes at least this large hash on a second thread while the bytes go to the kernel.
const PARALLEL_HASH_BYTES: usize = 1 << 20;

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.poisoned {
            return Err(io::Error::other(
                "atio: an earlier write to this file failed",
            ));
        }
        let Self { staged, hasher, .. } = self;
        interrupt::check()?;
        let staged = staged
            .as_mut()
            .ok_or_else(|| io::Error::other("atio: the staging file is gone"))?;
        let written = if self.hash_at_commit {
            staged.file.write(buf)
        } else if buf.len() >= PARALLEL_HASH_BYTES {
            // All or nothing, so the hash (computed meanwhile) covers exactly what was written.
            std::thread::scope(|scope| {
                let hashing = scope.spawn(|| hasher.update(buf));
                let written = staged.file.write_all(buf).map(|()| buf.len());
                hashing
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                written
            })
        } else {
            staged
                .file
                .write(buf)
                .inspect(|&written| hasher.update(&buf[..written]))
        };
        match written {
            Ok(written) => {
                self.bytes += written as u64;
                Ok(written)
            }
            Err(error) => {
                // The hash may now cover bytes the file lacks: this file can no longer commit.
                self.poisoned = true;
                Err(error)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.staged()?.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if let Some(staged) = self.staged.take() {
            // Best effort: an abort path is already reporting a more useful error.
            let _ = self.target.unlink(&staged.name, Step::Cleanup);
        }
    }
}

/// Commits many files in one directory with one directory fsync per phase (group commit).
///
/// Each file is still atomic on its own, but the group is not one transaction: if renaming the
/// k-th file fails, the files before it are already published (the error says how many) and the
/// rest are discarded. For all-or-nothing sets, write a directory target instead.
pub fn commit_group(mut files: Vec<AtomicFile>) -> Result<Vec<Report>> {
    let Some(first) = files.first() else {
        return Ok(Vec::new());
    };
    let first_dir =
        rustix::fs::fstat(&*first.target.dir).at(Step::Resolve, &first.target.dir_path)?;
    for file in &files[1..] {
        let dir = rustix::fs::fstat(&*file.target.dir).at(Step::Resolve, &file.target.dir_path)?;
        if (dir.st_dev, dir.st_ino) != (first_dir.st_dev, first_dir.st_ino) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Step::Rename,
                &file.target.path,
                format!(
                    "a group commit needs one directory; this file is not in {}",
                    first.target.dir_path.display()
                ),
            ));
        }
    }
    let span =
        tracing::debug_span!("commit", files = files.len(), path = %first.target.path.display());
    let _span = span.enter();
    parallel(&mut files, AtomicFile::seal)?;
    // One writer publishes in a directory at a time (taken before the interrupt guard, so an
    // interrupt never waits behind a lock queue).
    let _publish_lock =
        lock::PublishLock::acquire(&files[0].target.dir, &files[0].target.dir_path, false)?;
    for file in &files {
        check_preconditions(file)?;
    }
    let publishing = interrupt::publishing()
        .map_err(|error| Error::io(Step::Rename, &files[0].target.path, error))?;
    let fsync = files.iter().any(|file| file.options.fsync());

    // Versions: the content about to be replaced is hard-linked into the target's version store
    // first, so it is never gone: it is the target, or a complete version, or both.
    let mut kept = Vec::with_capacity(files.len());
    for file in &files {
        kept.push(if file.keeps_versions() {
            versions::keep_current(&file.target, &file.run_id, file.options.fsync(), &[])?
        } else {
            None
        });
    }

    // Step 5: no marker may outlive the bytes it describes, with or without a new marker to come.
    // (Create-only targets did not exist a moment ago; if one appears now, the rename below fails
    // and its marker must stay.)
    let stopwatch = Stopwatch::start();
    let mut removed_marker = false;
    for file in files.iter().filter(|file| !file.options.no_clobber) {
        removed_marker |= file.target.unlink(
            &manifest::marker_name(&file.target.name),
            Step::RemoveMarker,
        )?;
    }
    if removed_marker && fsync {
        files[0]
            .target
            .fsync_dir()
            .map_err(|error| retag(error, Step::RemoveMarker))?;
    }

    // Step 6: publish.
    let total = files.len();
    for (published, file) in files.iter_mut().enumerate() {
        let staged = file.staged.as_ref().expect("sealed files are staged");
        let no_clobber = file.options.no_clobber;
        if let Err(error) = file
            .target
            .rename(&staged.name, &file.target.name, no_clobber)
        {
            return Err(if published == 0 {
                error
            } else {
                partial_group(error, published, total)
            });
        }
        // Published: the staging name no longer exists, so nothing is left to clean up.
        file.staged = None;
    }
    let rename_time = stopwatch.stop();
    let stopwatch = Stopwatch::start();
    if fsync {
        files[0].target.fsync_dir()?;
    }
    let dir_fsync_time = stopwatch.stop();
    let finished_at = SystemTime::now();
    for file in &mut files {
        file.timings.rename = rename_time;
        file.timings.dir_fsync = dir_fsync_time;
        file.timings.total = file.started.elapsed();
    }

    // Step 7: markers, with the same protocol, one directory fsync for all.
    let stopwatch = Stopwatch::start();
    let mut reports: Vec<Report> = files.iter().map(AtomicFile::report).collect();
    let mut pending: Vec<(&AtomicFile, Manifest)> = files
        .iter()
        .zip(&reports)
        .filter(|(file, _)| file.options.marker)
        .map(|(file, report)| (file, file.manifest(report, finished_at)))
        .collect();
    let mut markers = parallel(&mut pending, |(file, manifest)| {
        Ok((*file, stage_marker(file, manifest)?))
    })
    .map_err(marker_failed)?;
    for (file, marker) in &mut markers {
        let marker_name = manifest::marker_name(&file.target.name);
        file.target
            .rename(&marker.name, &marker_name, false)
            .map_err(marker_failed)?;
        marker.published = true;
    }
    if fsync && !markers.is_empty() {
        files[0].target.fsync_dir().map_err(marker_failed)?;
    }
    drop(markers);
    // Versions beyond the newest N (untagged) go, still under the lock. The commit itself is
    // done: a failure here is reported as a warning, not as a failed write.
    for ((file, report), kept) in files.iter().zip(&mut reports).zip(kept) {
        report.kept_version = kept;
        if let Some(keep) = file.options.versions() {
            match versions::prune_locked(
                &versions::Place::of(&file.target),
                keep as usize,
                file.options.fsync(),
            ) {
                Ok(pruned) => report.pruned_versions = pruned,
                Err(error) => tracing::warn!("committed, but pruning old versions failed: {error}"),
            }
        }
    }
    drop(publishing);
    let marker_time = stopwatch.stop();
    for (file, report) in files.iter().zip(&mut reports) {
        if file.options.marker {
            report.timings.marker = marker_time;
        }
        report.timings.total = file.started.elapsed();
    }
    Ok(reports)
}

/// `--no-clobber` and `--if-match`, checked under the publish lock (and enforced again by
/// `RENAME_NOREPLACE` for create-only, against writers that are not atio).
fn check_preconditions(file: &AtomicFile) -> Result<()> {
    let target = &file.target;
    let exists = match rustix::fs::statat(
        &*target.dir,
        &target.name,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    ) {
        Ok(_) => true,
        Err(rustix::io::Errno::NOENT) => false,
        Err(errno) => return Err(errno).at(Step::Compare, &target.path),
    };
    if file.options.no_clobber && exists {
        return Err(Error::new(
            ErrorKind::Conflict,
            Step::Rename,
            &target.path,
            "the target exists and create-only (--no-clobber) was asked for",
        ));
    }
    let Some(expected) = &file.options.if_match else {
        return Ok(());
    };
    let current = if exists {
        Some(current_hash(target)?)
    } else {
        None
    };
    match current {
        Some(current) if current == *expected => Ok(()),
        Some(current) => Err(Error::new(
            ErrorKind::Conflict,
            Step::Compare,
            &target.path,
            format!(
                "the target changed: its content hash is {current}, not {expected} (--if-match)"
            ),
        )),
        None => Err(Error::new(
            ErrorKind::Conflict,
            Step::Compare,
            &target.path,
            format!("the target does not exist, so it cannot match {expected} (--if-match)"),
        )),
    }
}

/// The target's content hash: from its marker, or computed when there is none.
fn current_hash(target: &Target) -> Result<String> {
    let marker = target.sibling(&manifest::marker_name(&target.name));
    match std::fs::read(&marker) {
        Ok(bytes) => return Ok(Manifest::from_json(&bytes, &marker)?.hash),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(Error::io(Step::Compare, &marker, error)),
    }
    let file = File::open(&target.path).at(Step::Compare, &target.path)?;
    Ok(crate::hash::hash_reader(file)
        .at(Step::Compare, &target.path)?
        .1)
}

/// Most threads a group commit uses to fsync files concurrently.
const SYNC_THREADS: usize = 32;

/// Runs `work` on every item, spread over up to `SYNC_THREADS` threads, so that the fsyncs of a
/// group overlap and the filesystem can fold them into fewer journal commits. Every item is
/// processed; the first error is returned.
fn parallel<T: Send, R: Send>(
    items: &mut [T],
    work: impl Fn(&mut T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    if items.len() < 2 {
        return items.iter_mut().map(&work).collect();
    }
    let chunk = items.len().div_ceil(SYNC_THREADS);
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks_mut(chunk)
            .map(|chunk| {
                scope.spawn(move || chunk.iter_mut().map(work).collect::<Vec<Result<R>>>())
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// A staged marker: removed on drop unless published.
struct StagedMarker<'a> {
    target: &'a Target,
    name: OsString,
    published: bool,
    _registration: interrupt::Registration,
}

impl Drop for StagedMarker<'_> {
    fn drop(&mut self) {
        if !self.published {
            let _ = self.target.unlink(&self.name, Step::Cleanup);
        }
    }
}

fn stage_marker<'a>(file: &'a AtomicFile, manifest: &Manifest) -> Result<StagedMarker<'a>> {
    let target = &file.target;
    let marker_name = manifest::marker_name(&target.name);
    let (name, mut staging) = target.create_staging(&marker_name, NEW_FILE_MODE)?;
    let marker = StagedMarker {
        target,
        name: name.clone(),
        published: false,
        _registration: interrupt::Registration::new(target.dir.clone(), name.clone()),
    };
    let path = target.sibling(&name);
    staging
        .write_all(&manifest.to_json())
        .at(Step::Marker, &path)?;
    if file.options.fsync() {
        staging.sync_all().at(Step::Marker, &path)?;
    }
    Ok(marker)
}

fn retag(error: Error, step: Step) -> Error {
    let message = error.message().to_owned();
    Error::new(error.kind(), step, error.path(), message).with_source(error)
}

/// The data is published but its marker is not: say so, so nobody re-runs blindly.
fn marker_failed(error: Error) -> Error {
    let message = format!(
        "the data was committed, but its _SUCCESS marker was not written: {}",
        error.message()
    );
    Error::new(error.kind(), Step::Marker, error.path(), message).with_source(error)
}

fn partial_group(error: Error, published: usize, total: usize) -> Error {
    let message = format!(
        "{} ({published} of {total} files of this group commit were already published; the rest were discarded)",
        error.message()
    );
    Error::new(error.kind(), error.step(), error.path(), message).with_source(error)
}

/// A run id: time-ordered and unique enough to tell runs apart in manifests and staging names.
pub fn new_run_id() -> String {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    format!("{millis:012x}-{:016x}", fastrand::u64(..))
}

/// Takes `path`'s sidecar lock (`.<name>.atio-lock`, the lock `Options::lock` holds for a whole
/// write) on its own, waiting at most `timeout`, for callers that coordinate a longer
/// read-modify-write themselves; released when the returned [`TargetLock`] is dropped. A
/// timeout is a `conflict` error at step `lock` naming the holder. Local paths only. A write of
/// the same path with `Options::lock` waits for it, in this process too: don't hold both.
pub fn lock_target(path: impl AsRef<Path>, timeout: std::time::Duration) -> Result<TargetLock> {
    let path = path.as_ref();
    if let crate::store::Location::Object(_) = crate::store::Location::parse(path)? {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Step::Lock,
            path,
            "a lock is a local lock file: not supported on object storage",
        ));
    }
    let target = Target::resolve(path, crate::Symlinks::Follow, true)?;
    TargetLock::acquire(&target.dir, &target.dir_path, &target.name, timeout, None)
}

/// Writes `bytes` to `path` atomically.
pub fn write_bytes(path: impl AsRef<Path>, bytes: &[u8], options: &Options) -> Result<Report> {
    let mut file = AtomicFile::create(path, options)?;
    let staging_path = file.staging_path().unwrap_or_default();
    file.write_all(bytes)
        .map_err(|error| Error::io(Step::Write, staging_path, error))?;
    file.commit()
}

/// Removes `path` (and its marker) durably: unlink, then fsync the directory. A missing file is
/// not an error. The path itself is removed, never what a symlink there points to.
pub fn remove_file(path: impl AsRef<Path>, options: &Options) -> Result<()> {
    let target = Target::resolve(path.as_ref(), crate::Symlinks::Replace, options.fsync())?;
    let marker = target.unlink(&manifest::marker_name(&target.name), Step::RemoveMarker)?;
    let data = target.unlink(&target.name, Step::Cleanup)?;
    if (marker || data) && options.fsync() {
        target.fsync_dir()?;
    }
    Ok(())
}
