//! One object written all-or-nothing: the bytes stream into a multipart upload (one PUT when
//! they fit in one part), which only becomes the object when it completes. Every failure path —
//! an error, a drop, `interrupt()` — aborts the upload, so no pending upload is left behind.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use object_store::multipart::{MultipartStore, PartId};
use object_store::{
    MultipartId, ObjectStoreExt, PutMode, PutOptions, PutPayload, PutResult, UpdateVersion,
};
use tokio::task::JoinSet;

use super::versions::ObjectVersions;
use super::{ObjectUrl, Store, block_on, runtime, store_error};
use crate::commit::interrupt;
use crate::commit::versions::VersionRecord;
use crate::error::{Error, ErrorKind, Result, Step};
use crate::hash::ContentHasher;
use crate::manifest::{self, Manifest};
use crate::options::Options;
use crate::report::{EncoderInfo, Report, StepTimings, Stopwatch};

/// An object being uploaded; becomes visible on `commit`, is aborted on drop.
///
/// ```no_run
/// use std::io::Write;
/// let mut object = atio::store::ObjectFile::create("s3://bucket/out/report.csv", &atio::Options::default())?;
/// object.write_all(b"a,b\n1,2\n")?;
/// let report = object.commit()?;
/// println!("{} bytes, etag {:?}", report.bytes, report.e_tag);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ObjectFile {
    store: Store,
    url: ObjectUrl,
    options: Options,
    /// The part being filled; sent when it reaches the part size.
    buffer: Vec<u8>,
    upload: Option<Upload>,
    hasher: ContentHasher,
    bytes: u64,
    uploaded: Arc<AtomicU64>,
    format: Option<String>,
    rows: Option<u64>,
    encoder: Option<EncoderInfo>,
    timings: StepTimings,
    started_at: SystemTime,
    started: Instant,
    setup_done: Instant,
    run_id: String,
    /// A write failed: the content is unknown, so `commit` refuses.
    poisoned: bool,
    /// A rollback: the stored version this upload restores (its `_SUCCESS` is restored too).
    restoring: Option<Box<VersionRecord>>,
    /// With versions kept: the ETag of the content this write replaces, kept as a version
    /// (`Some(None)`: there was none, so the write must create the object).
    replaces: Option<Option<String>>,
}

/// A multipart upload in flight.
struct Upload {
    id: MultipartId,
    /// Part ids by part index, filled as uploads finish.
    parts: Vec<Option<PartId>>,
    in_flight: JoinSet<(usize, object_store::Result<PartId>)>,
    /// Lets `interrupt()` abort the upload from the signal thread.
    _registration: interrupt::Registration,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upload")
            .field("id", &self.id)
            .field("parts", &self.parts.len())
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

/// What a finished part of a directory write reports.
#[derive(Debug)]
pub(crate) struct UploadedObject {
    pub(crate) url: ObjectUrl,
    pub(crate) bytes: u64,
    pub(crate) hash: String,
}

impl ObjectFile {
    /// Starts an all-or-nothing upload to `url` (`s3://bucket/key`, …). `--no-clobber` and
    /// `--if-match ETAG` are checked now (so a doomed write fails before any encoding) and
    /// enforced again when the object is published.
    pub fn create(url: impl AsRef<std::path::Path>, options: &Options) -> Result<Self> {
        let path = url.as_ref();
        let url = match super::Location::parse(path)? {
            super::Location::Object(url) => url,
            super::Location::Local(_) => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    Step::Resolve,
                    path,
                    "not an object store URL (s3://, gs://, az://, memory://)",
                ));
            }
        };
        Self::open(url, options)
    }

    pub(crate) fn open(url: ObjectUrl, options: &Options) -> Result<Self> {
        let started_at = SystemTime::now();
        let started = Instant::now();
        check_options(&url, options)?;
        let store = Store::connect(&url, &options.store)?;
        let mut file = Self {
            store,
            url,
            options: options.clone(),
            buffer: Vec::new(),
            upload: None,
            hasher: ContentHasher::new(),
            bytes: 0,
            uploaded: Arc::new(AtomicU64::new(0)),
            format: None,
            rows: None,
            encoder: None,
            timings: StepTimings::default(),
            started_at,
            started,
            setup_done: started,
            run_id: crate::commit::new_run_id(),
            poisoned: false,
            restoring: None,
            replaces: None,
        };
        if options.no_clobber || options.if_match.is_some() {
            file.check_precondition()?;
        }
        file.setup_done = Instant::now();
        file.timings.setup = file.setup_done - started;
        Ok(file)
    }

    /// A part of a directory write: no marker, no precondition (its name is run-unique).
    pub(crate) fn part(url: ObjectUrl, options: &Options) -> Result<Self> {
        let options = Options {
            marker: false,
            no_clobber: false,
            if_match: None,
            lock: None,
            keep_versions: None,
            ..options.clone()
        };
        Self::open(url, &options)
    }

    /// The object's URL.
    pub fn url(&self) -> &ObjectUrl {
        &self.url
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Bytes the store has acknowledged so far (finished parts), shared for progress bars.
    pub fn upload_progress(&self) -> Arc<AtomicU64> {
        self.uploaded.clone()
    }

    /// Records the format name in the report and manifest.
    pub fn set_format(&mut self, format: impl Into<String>) {
        self.format = Some(format.into());
    }

    /// Records the number of data rows in the report and manifest.
    pub fn set_rows(&mut self, rows: u64) {
        self.rows = Some(rows);
    }

    /// Records the encoder that produced the bytes.
    pub fn set_encoder(&mut self, encoder: EncoderInfo) {
        self.encoder = Some(encoder);
    }

    /// Adds time spent inside an encoder.
    pub fn add_encode_time(&mut self, time: std::time::Duration) {
        self.timings.encode += time;
    }

    /// Makes this upload the rollback to stored version `record` (whose data, at `data`, was
    /// written into it): refused unless the bytes match the record.
    pub(crate) fn restore(&mut self, record: VersionRecord, data: &ObjectUrl) -> Result<()> {
        let hash = self.hasher.finish();
        if (self.bytes, hash.as_str()) != (record.bytes, record.hash.as_str()) {
            return Err(Error::new(
                ErrorKind::Verification,
                Step::Rollback,
                data.as_path(),
                format!(
                    "stored version {} does not match its record: {} bytes {hash}, recorded {} bytes {}; nothing was changed",
                    record.version, self.bytes, record.bytes, record.hash
                ),
            ));
        }
        self.format = record.format.clone();
        self.rows = record.rows;
        self.encoder = record.encoder.clone();
        self.restoring = Some(Box::new(record));
        Ok(())
    }

    fn keeps_versions(&self) -> bool {
        (self.restoring.is_some() || self.options.versions().is_some()) && !self.options.no_clobber
    }

    /// Publishes the object (completing the upload, or one PUT), then writes `<key>._SUCCESS`.
    /// With versions kept, the object as it was is first copied into its version store, and the
    /// publish replaces exactly that content (`If-Match` on its ETag).
    pub fn commit(mut self) -> Result<Report> {
        let _span = tracing::debug_span!("publish", url = %self.url).entered();
        self.timings.write = self.setup_done.elapsed();
        let versions = if self.keeps_versions() {
            Some(ObjectVersions::new(self.store.clone(), &self.url)?)
        } else {
            None
        };
        let kept = match &versions {
            Some(versions) => self.keep_previous(versions)?,
            None => None,
        };
        // A failed publish leaves a kept version as it is: it is complete, holds content that
        // was the target, and a concurrent writer may have found it already kept and relied on
        // it (removing it could lose the version that writer replaced).
        let mut report = self.publish_with_marker()?;
        report.kept_version = kept;
        if let (Some(versions), Some(keep)) = (&versions, self.options.versions()) {
            // The write is done: a failed prune is a warning, not a failed write.
            match versions.prune(keep as usize) {
                Ok(pruned) => report.pruned_versions = pruned,
                Err(error) => tracing::warn!("committed, but pruning old versions failed: {error}"),
            }
        }
        report.timings.total = self.started.elapsed();
        Ok(report)
    }

    /// Keeps the object as it is as a version; this write then replaces exactly it.
    fn keep_previous(&mut self, versions: &ObjectVersions) -> Result<Option<u64>> {
        if self.options.if_match.is_some() {
            // A write --if-match already refuses keeps nothing.
            self.check_precondition()?;
        }
        let (kept, e_tag) = versions.keep_object(&self.run_id)?;
        if let Some(expected) = &self.options.if_match
            && e_tag.as_deref().map(quoted) != Some(quoted(expected))
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                Step::Compare,
                self.url.as_path(),
                format!(
                    "the object changed: its ETag is {}, not {} (--if-match)",
                    e_tag.as_deref().unwrap_or("(none: it does not exist)"),
                    quoted(expected)
                ),
            ));
        }
        self.replaces = Some(e_tag);
        Ok(kept)
    }

    fn publish_with_marker(&mut self) -> Result<Report> {
        let marker_url = self.url.marker();
        // No marker may describe bytes other than the ones beside it: remove the old one first.
        // (Create-only targets do not exist, and a stale marker must stay if one appears now.)
        // Not when the write may lose a compare-and-swap (--if-match, versions): the marker it
        // removed could be the winner's. Such a write overwrites the marker once it has won;
        // until then the old marker names the old ETag, which `verify` reports as stale.
        let conditional = self.options.if_match.is_some() || self.replaces.is_some();
        if self.options.marker && !self.options.no_clobber && !conditional {
            let marker = marker_url.clone();
            block_on(self.store.objects.delete(marker.key()))
                .or_else(ignore_not_found)
                .map_err(|error| store_error(Step::RemoveMarker, &marker, error))?;
        }
        let result = self.publish()?;
        self.timings.total = self.started.elapsed();
        let mut report = self.report(result.e_tag.clone());
        if self.options.marker {
            let stopwatch = Stopwatch::start();
            let manifest = match self
                .restoring
                .as_ref()
                .and_then(|record| record.manifest.clone())
            {
                // A rollback restores the version's own manifest, for the new object's ETag.
                Some(restored) => Manifest {
                    e_tag: report.e_tag.clone(),
                    ..restored
                },
                None => self.manifest(&report),
            };
            block_on(
                self.store
                    .objects
                    .put(marker_url.key(), PutPayload::from(manifest.to_json())),
            )
            .map_err(|error| marker_failed(store_error(Step::Marker, &marker_url, error)))?;
            report.timings.marker = stopwatch.stop();
        }
        report.timings.total = self.started.elapsed();
        Ok(report)
    }

    /// Publishes a part of a directory write (no marker), for its manifest.
    pub(crate) fn finish_part(mut self) -> Result<UploadedObject> {
        self.publish()?;
        Ok(UploadedObject {
            url: self.url.clone(),
            bytes: self.bytes,
            hash: self.hasher.finish(),
        })
    }

    /// Discards the upload; nothing is published. (Dropping does the same, silently.)
    pub fn abort(mut self) -> Result<()> {
        self.abort_upload()
    }

    /// Uploads what is buffered, checks the preconditions, and makes the object visible.
    fn publish(&mut self) -> Result<PutResult> {
        if self.poisoned {
            return Err(Error::new(
                ErrorKind::Io,
                Step::Write,
                self.url.as_path(),
                "an earlier write failed; refusing to publish unknown content",
            ));
        }
        let stopwatch = Stopwatch::start();
        let result = if self.upload.is_none() {
            // Everything fits in one part: one conditional PUT, atomic on every store.
            let payload = PutPayload::from(std::mem::take(&mut self.buffer));
            let mode = self.put_mode();
            let _publishing = interrupt::publishing()
                .map_err(|error| Error::io(Step::Publish, self.url.as_path(), error))?;
            block_on(
                self.store
                    .objects
                    .put_opts(self.url.key(), payload, PutOptions::from(mode)),
            )
            .map_err(|error| self.publish_error(error))?
        } else {
            if !self.buffer.is_empty() {
                self.send_part()?;
            }
            let parts = self.wait_for_parts(0)?;
            // Multipart completion cannot be made conditional through object_store, so the
            // precondition is checked just before it (see README: the window is one round trip).
            let _publishing = interrupt::publishing()
                .map_err(|error| Error::io(Step::Publish, self.url.as_path(), error))?;
            if self.options.no_clobber || self.options.if_match.is_some() || self.replaces.is_some()
            {
                self.check_precondition()?;
            }
            let upload = self.upload.as_ref().expect("multipart upload in flight");
            let result = block_on(self.store.multipart.complete_multipart(
                self.url.key(),
                &upload.id,
                parts,
            ))
            .map_err(|error| self.publish_error(error))?;
            self.upload = None;
            result
        };
        self.uploaded.store(self.bytes, Ordering::Relaxed);
        self.timings.upload += stopwatch.stop();
        Ok(result)
    }

    fn put_mode(&self) -> PutMode {
        if self.options.no_clobber {
            PutMode::Create
        } else if let Some(e_tag) = &self.options.if_match {
            PutMode::Update(UpdateVersion {
                e_tag: Some(quoted(e_tag)),
                version: None,
            })
        } else if let Some(replaces) = &self.replaces {
            match replaces {
                Some(e_tag) => PutMode::Update(UpdateVersion {
                    e_tag: Some(e_tag.clone()),
                    version: None,
                }),
                None => PutMode::Create,
            }
        } else {
            PutMode::Overwrite
        }
    }

    fn publish_error(&self, error: object_store::Error) -> Error {
        let error = store_error(Step::Publish, &self.url, error);
        if error.kind() != ErrorKind::Conflict {
            return error;
        }
        let message = if self.options.no_clobber {
            "the object exists and create-only (--no-clobber) was asked for".to_owned()
        } else if self.options.if_match.is_none() && self.replaces.is_some() {
            REPLACED_MEANWHILE.to_owned()
        } else {
            format!(
                "the object changed: its ETag is no longer {} (--if-match)",
                self.options.if_match.as_deref().unwrap_or_default()
            )
        };
        Error::new(
            ErrorKind::Conflict,
            Step::Publish,
            self.url.as_path(),
            message,
        )
        .with_source(error)
    }

    /// `--no-clobber` / `--if-match` against the object as it is now (one HEAD).
    fn check_precondition(&self) -> Result<()> {
        let head = block_on(self.store.objects.head(self.url.key()));
        let current = match head {
            Ok(meta) => Some(meta.e_tag.unwrap_or_default()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(error) => return Err(store_error(Step::Compare, &self.url, error)),
        };
        let conflict = |message: String| {
            Error::new(
                ErrorKind::Conflict,
                Step::Compare,
                self.url.as_path(),
                message,
            )
        };
        if self.options.no_clobber && current.is_some() {
            return Err(conflict(
                "the object exists and create-only (--no-clobber) was asked for".into(),
            ));
        }
        if self.options.if_match.is_none()
            && let Some(replaces) = &self.replaces
        {
            let same = match (replaces, &current) {
                (Some(replaces), Some(current)) => quoted(replaces) == quoted(current),
                (None, None) => true,
                _ => false,
            };
            return if same {
                Ok(())
            } else {
                Err(conflict(REPLACED_MEANWHILE.to_owned()))
            };
        }
        match (&self.options.if_match, current) {
            (None, _) => Ok(()),
            (Some(expected), Some(current)) if quoted(expected) == quoted(&current) => Ok(()),
            (Some(expected), Some(current)) => Err(conflict(format!(
                "the object changed: its ETag is {current}, not {} (--if-match)",
                quoted(expected)
            ))),
            (Some(expected), None) => Err(conflict(format!(
                "the object does not exist, so it cannot match {} (--if-match)",
                quoted(expected)
            ))),
        }
    }

    /// Sends the buffered bytes as the next part, starting the multipart upload if needed and
    /// waiting while `upload_concurrency` parts are already in flight.
    fn send_part(&mut self) -> Result<()> {
        interrupt::check().map_err(|error| Error::io(Step::Upload, self.url.as_path(), error))?;
        if self.upload.is_none() {
            let id = block_on(self.store.multipart.create_multipart(self.url.key()))
                .map_err(|error| store_error(Step::Upload, &self.url, error))?;
            let store = self.store.multipart.clone();
            let key = self.url.key().clone();
            let abort_id = id.clone();
            let registration = interrupt::Registration::new_abort(move || {
                block_on(store.abort_multipart(&key, &abort_id)).is_ok()
            });
            self.upload = Some(Upload {
                id,
                parts: Vec::new(),
                in_flight: JoinSet::new(),
                _registration: registration,
            });
        }
        let limit = self.store.options.upload_concurrency.max(1);
        self.wait_for_parts(limit - 1)?;
        let upload = self.upload.as_mut().expect("started above");
        let index = upload.parts.len();
        upload.parts.push(None);
        let payload = PutPayload::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(self.store.options.part_size),
        ));
        let store: Arc<dyn MultipartStore> = self.store.multipart.clone();
        let key = self.url.key().clone();
        let id = upload.id.clone();
        let uploaded = self.uploaded.clone();
        upload.in_flight.spawn_on(
            async move {
                let size = payload.content_length() as u64;
                let result = store.put_part(&key, &id, index, payload).await;
                if result.is_ok() {
                    uploaded.fetch_add(size, Ordering::Relaxed);
                    tracing::debug!(part = index, bytes = size, "uploaded part");
                }
                (index, result)
            },
            runtime().handle(),
        );
        Ok(())
    }

    /// Waits until at most `in_flight` parts are uploading; with 0, returns every part id.
    fn wait_for_parts(&mut self, in_flight: usize) -> Result<Vec<PartId>> {
        let stopwatch = Stopwatch::start();
        let upload = self.upload.as_mut().expect("multipart upload in flight");
        while upload.in_flight.len() > in_flight {
            let joined = block_on(upload.in_flight.join_next()).expect("a part is in flight");
            let (index, result) = joined.map_err(|error| {
                Error::new(
                    ErrorKind::Io,
                    Step::Upload,
                    self.url.as_path(),
                    format!("a part upload stopped: {error}"),
                )
            })?;
            let part = result.map_err(|error| store_error(Step::Upload, &self.url, error))?;
            upload.parts[index] = Some(part);
        }
        self.timings.upload += stopwatch.stop();
        if in_flight > 0 {
            return Ok(Vec::new());
        }
        Ok(upload.parts.iter().flatten().cloned().collect())
    }

    fn abort_upload(&mut self) -> Result<()> {
        let Some(mut upload) = self.upload.take() else {
            return Ok(());
        };
        // Parts still uploading would otherwise land after the abort and be kept by the store.
        upload.in_flight.abort_all();
        block_on(async { while upload.in_flight.join_next().await.is_some() {} });
        block_on(
            self.store
                .multipart
                .abort_multipart(self.url.key(), &upload.id),
        )
        .map_err(|error| store_error(Step::Cleanup, &self.url, error))
    }

    fn report(&self, e_tag: Option<String>) -> Report {
        Report {
            path: self.url.as_path(),
            bytes: self.bytes,
            hash: self.hasher.finish(),
            rows: self.rows,
            format: self.format.clone(),
            encoder: self.encoder.clone(),
            durability: self.options.durability,
            marker: self.options.marker.then(|| self.url.marker().as_path()),
            run_id: self.run_id.clone(),
            timings: self.timings,
            instances: None,
            e_tag,
            kept_version: None,
            pruned_versions: Vec::new(),
        }
    }

    fn manifest(&self, report: &Report) -> Manifest {
        Manifest {
            manifest_version: manifest::MANIFEST_VERSION,
            name: self.url.file_name().unwrap_or_default().to_owned(),
            format: report.format.clone(),
            bytes: report.bytes,
            hash: report.hash.clone(),
            rows: report.rows,
            encoder: report.encoder.clone(),
            e_tag: report.e_tag.clone(),
            written_by: manifest::Provenance::this_process(
                &report.run_id,
                self.started_at,
                SystemTime::now(),
                report.durability,
            ),
            timings_ms: manifest::timings_map(&report.timings),
        }
    }
}

impl Write for ObjectFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.poisoned {
            return Err(io::Error::other(
                "atio: an earlier write to this object failed",
            ));
        }
        interrupt::check()?;
        let part_size = self.store.options.part_size.max(super::MIN_PART_SIZE);
        self.hasher.update(buf);
        self.bytes += buf.len() as u64;
        let mut rest = buf;
        while !rest.is_empty() {
            if self.buffer.capacity() == 0 {
                self.buffer.reserve_exact(part_size);
            }
            let take = (part_size - self.buffer.len()).min(rest.len());
            self.buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buffer.len() == part_size
                && let Err(error) = self.send_part()
            {
                // The hash covers bytes the upload lacks: this object can no longer publish.
                self.poisoned = true;
                return Err(io::Error::other(error));
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectFile {
    fn drop(&mut self) {
        if let Err(error) = self.abort_upload() {
            tracing::warn!(%error, "could not abort a multipart upload");
        }
    }
}

/// Why a versioned write lost its compare-and-swap.
const REPLACED_MEANWHILE: &str = "another writer replaced the object after this write kept its content as a version; nothing was published";

/// Options that cannot apply to an object store are refused, not ignored.
fn check_options(url: &ObjectUrl, options: &Options) -> Result<()> {
    let refuse = |message: &str| {
        Err(Error::new(
            ErrorKind::InvalidInput,
            Step::Resolve,
            url.as_path(),
            message,
        ))
    };
    if options.lock.is_some() {
        return refuse(
            "--lock takes a lock file next to a local target; on object storage use --if-match ETAG (compare-and-swap) or --no-clobber",
        );
    }
    if options
        .if_match
        .as_deref()
        .is_some_and(|expected| expected.starts_with("xxh3-128:"))
    {
        return refuse(
            "on object storage --if-match takes the object's ETag (printed after each write), not a content hash",
        );
    }
    Ok(())
}

/// ETags are quoted strings; accept them with or without the quotes.
fn quoted(e_tag: &str) -> String {
    let bare = e_tag.trim().trim_start_matches("W/").trim_matches('"');
    format!("\"{bare}\"")
}

pub(super) fn ignore_not_found(error: object_store::Error) -> object_store::Result<()> {
    match error {
        object_store::Error::NotFound { .. } => Ok(()),
        error => Err(error),
    }
}

/// The data is published but its marker is not: say so, so nobody re-runs blindly.
fn marker_failed(error: Error) -> Error {
    let message = format!(
        "the object was published, but its _SUCCESS marker was not written: {}",
        error.message()
    );
    Error::new(error.kind(), Step::Marker, error.path(), message).with_source(error)
}
