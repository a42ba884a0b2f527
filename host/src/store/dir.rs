//! A directory (partition) prefix on an object store, committed as one unit. There is no
//! directory rename, so the `_SUCCESS` manifest is the commit point:
//!
//! 1. every part is uploaded under the prefix with a run-unique name
//!    (`part-00000-<run id>.parquet`), each all-or-nothing;
//! 2. `<prefix>/_SUCCESS`, listing exactly this run's parts, is written with compare-and-swap
//!    against the manifest this run started from (`If-Match`, or `If-None-Match: *` for the first
//!    run) — a concurrent run that committed meanwhile makes this one fail with `conflict`;
//! 3. the objects the new manifest no longer lists are deleted: the previous manifest's parts,
//!    and any other object whose run id is older than this run's (parts of crashed runs).
//!    Parts of a newer run still writing are left alone.
//!
//! A reader that follows the manifest always sees one complete run. A reader that *lists* the
//! prefix can see, between steps 2 and 3, both runs' parts (and, before a crashed run's parts
//! are swept by the next run, orphans). Any failure before step 2 deletes this run's parts.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime};

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::upload::{ObjectFile, UploadedObject, ignore_not_found};
use super::versions::ObjectVersions;
use super::{ObjectUrl, Store, block_on, store_error};
use crate::commit::dir::DirReport;
use crate::commit::interrupt;
use crate::commit::versions::VersionRecord;
use crate::error::{Error, ErrorKind, Result, Step};
use crate::manifest::{self, DirDetails, DirManifest, FileEntry};
use crate::options::Options;
use crate::report::EncoderInfo;

/// Concurrent deletes while sweeping old parts.
const DELETE_CONCURRENCY: usize = 16;

/// A prefix being written; its manifest is published on `commit`, its parts deleted on drop.
#[derive(Debug)]
pub struct ObjectDir {
    store: Store,
    url: ObjectUrl,
    options: Options,
    run_id: String,
    /// The manifest object this run replaces (its content, when it parses) and its ETag for the
    /// compare-and-swap.
    previous: Option<(Option<DirManifest>, Option<String>)>,
    files: Vec<FileEntry>,
    details: DirDetails,
    started_at: SystemTime,
    started: Instant,
    /// Parts published so far: deleted if this run does not commit (also on interrupt).
    published: Arc<Mutex<Vec<ObjectPath>>>,
    committed: bool,
    /// A rollback: the stored version whose parts were copied back and whose manifest is
    /// republished.
    restoring: Option<VersionRecord>,
    _registration: interrupt::Registration,
}

impl ObjectDir {
    /// Starts writing the prefix `url` (reads its current manifest, if any).
    pub fn create(url: ObjectUrl, options: &Options) -> Result<Self> {
        let started_at = SystemTime::now();
        let started = Instant::now();
        if !options.marker {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Step::Resolve,
                url.as_path(),
                "--no-marker cannot apply: on object storage the _SUCCESS manifest is the commit point of a directory write",
            ));
        }
        if options.lock.is_some() || options.no_clobber || options.if_match.is_some() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Step::Resolve,
                url.as_path(),
                "--lock, --no-clobber and --if-match apply to single objects; a directory prefix is always committed with compare-and-swap on its _SUCCESS manifest",
            ));
        }
        let store = Store::connect(&url, &options.store)?;
        let manifest_url = url.join(manifest::DIR_MARKER);
        let previous = match block_on(store.objects.get(manifest_url.key())) {
            Ok(found) => {
                let e_tag = found.meta.e_tag.clone();
                let bytes = block_on(found.bytes())
                    .map_err(|error| store_error(Step::Read, &manifest_url, error))?;
                // A damaged manifest must not wedge the partition: it is replaced (still with
                // compare-and-swap on its ETag) and its parts are swept as orphans.
                let manifest = DirManifest::from_json(&bytes, &manifest_url.as_path())
                    .inspect_err(|error| tracing::warn!(%error, "replacing a damaged manifest"))
                    .ok();
                Some((manifest, e_tag))
            }
            Err(object_store::Error::NotFound { .. }) => None,
            Err(error) => return Err(store_error(Step::Read, &manifest_url, error)),
        };
        let published: Arc<Mutex<Vec<ObjectPath>>> = Arc::default();
        let registration = {
            let (store, url, published) = (store.clone(), url.clone(), published.clone());
            interrupt::Registration::new_abort(move || delete_all(&store, &url, &published).is_ok())
        };
        Ok(Self {
            store,
            url,
            options: options.clone(),
            run_id: crate::commit::new_run_id(),
            previous,
            files: Vec::new(),
            details: DirDetails::default(),
            started_at,
            started,
            published,
            committed: false,
            restoring: None,
            _registration: registration,
        })
    }

    /// The prefix this run commits.
    pub fn url(&self) -> &ObjectUrl {
        &self.url
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

    /// The run-unique name of part `number` (`part-00000-<run id>.<extension>`).
    pub fn part_name(&self, number: u32, extension: &str) -> String {
        format!("part-{number:05}-{}.{extension}", self.run_id)
    }

    /// Starts uploading a part at `relative` (`/`-separated) under the prefix.
    pub fn create_file(&mut self, relative: &str) -> Result<ObjectFile> {
        ObjectFile::part(self.url.join(relative), &self.options)
    }

    /// Publishes a finished part and lists it in the manifest.
    pub fn add(&mut self, file: ObjectFile, rows: Option<u64>) -> Result<()> {
        let UploadedObject { url, bytes, hash } = file.finish_part()?;
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(url.key().clone());
        let relative = url
            .key()
            .prefix_match(self.url.key())
            .map(|parts| {
                parts
                    .map(|part| part.as_ref().to_owned())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .join("/");
        self.files.push(FileEntry {
            path: relative,
            bytes,
            hash,
            rows,
        });
        Ok(())
    }

    /// Makes this run the rollback to stored version `record` of `versions`: its parts are
    /// copied back under the prefix (the ones the current manifest does not already hold), and
    /// its manifest is what `commit` publishes.
    pub(crate) fn restore(
        &mut self,
        versions: &ObjectVersions,
        record: &VersionRecord,
    ) -> Result<()> {
        let current = self
            .previous
            .as_ref()
            .and_then(|(manifest, _)| manifest.as_ref());
        let copies = versions.restore_plan(record, current);
        // Listed before copying: an interrupted or failed restore deletes what it copied.
        self.published
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(copies.iter().map(|(_, to)| to.key().clone()));
        versions.copy_all(copies.into_iter(), Step::Rollback)?;
        self.restoring = Some(record.clone());
        Ok(())
    }

    fn keeps_versions(&self) -> bool {
        self.restoring.is_some() || self.options.versions().is_some()
    }

    /// Publishes the manifest (the commit point), then deletes what it no longer lists. With
    /// versions kept, the parts the replaced manifest lists are first copied into the version
    /// store.
    pub fn commit(mut self) -> Result<DirReport> {
        let _span = tracing::debug_span!("commit_prefix", url = %self.url).entered();
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = match self
            .restoring
            .as_ref()
            .and_then(|record| record.dir_manifest.clone())
        {
            Some(restored) => restored,
            None => self.manifest(),
        };
        if self.options.if_changed
            && let Some((Some(previous), _)) = &self.previous
            && same_data(previous, &manifest)
        {
            let previous = previous.clone();
            delete_all(&self.store, &self.url, &self.published)?;
            self.committed = true;
            return Ok(self.report(previous, false, "skipped"));
        }
        let manifest_url = self.url.join(manifest::DIR_MARKER);
        let mode = match &self.previous {
            Some((_, e_tag)) => PutMode::Update(UpdateVersion {
                e_tag: e_tag.clone(),
                version: None,
            }),
            None => PutMode::Create,
        };
        let versions = if self.keeps_versions() {
            Some(ObjectVersions::new(self.store.clone(), &self.url)?)
        } else {
            None
        };
        let kept = match (&versions, &self.previous) {
            (Some(versions), Some((Some(previous), _))) => {
                versions.keep_prefix(previous, &self.run_id)?
            }
            _ => None,
        };
        let publishing = interrupt::publishing()
            .map_err(|error| Error::io(Step::Publish, manifest_url.as_path(), error))?;
        let put = block_on(self.store.objects.put_opts(
            manifest_url.key(),
            PutPayload::from(manifest.to_json()),
            PutOptions::from(mode),
        ))
        .map_err(|error| store_error(Step::Publish, &manifest_url, error));
        // A failed publish leaves a kept version as it is (see `ObjectFile::commit`).
        if let Err(error) = put {
            drop(publishing);
            let error = if error.kind() == ErrorKind::Conflict {
                Error::new(
                    ErrorKind::Conflict,
                    Step::Publish,
                    self.url.as_path(),
                    "another run committed this prefix while this one was writing; this run's parts were deleted and the other run's data is kept",
                )
                .with_source(error)
            } else {
                error
            };
            return Err(error);
        }
        self.committed = true;
        drop(publishing);
        self.sweep(&manifest)?;
        let method = if self.restoring.is_some() {
            "rollback"
        } else {
            "manifest"
        };
        let mut report = self.report(manifest, true, method);
        report.kept_version = kept;
        if let (Some(versions), Some(keep)) = (&versions, self.options.versions()) {
            // The commit is done: a failed prune is a warning, not a failed write.
            match versions.prune(keep as usize) {
                Ok(pruned) => report.pruned_versions = pruned,
                Err(error) => tracing::warn!("committed, but pruning old versions failed: {error}"),
            }
        }
        Ok(report)
    }

    /// Deletes every object under the prefix that `manifest` does not list, except parts of
    /// runs newer than this one (they may still be writing).
    fn sweep(&self, manifest: &DirManifest) -> Result<()> {
        let listed: std::collections::HashSet<ObjectPath> = manifest
            .files
            .iter()
            .map(|file| self.url.join(&file.path).key().clone())
            .collect();
        let previous: std::collections::HashSet<ObjectPath> = self
            .previous
            .iter()
            .flat_map(|(previous, _)| previous.iter().flat_map(|previous| &previous.files))
            .map(|file| self.url.join(&file.path).key().clone())
            .collect();
        let manifest_key = self.url.join(manifest::DIR_MARKER).key().clone();
        let ours = run_millis(&self.run_id);
        let objects: Vec<_> = block_on(self.store.objects.list(Some(self.url.key())).try_collect())
            .map_err(|error| store_error(Step::Delete, &self.url, error))?;
        let stale: Vec<ObjectPath> = objects
            .into_iter()
            .map(|meta| meta.location)
            .filter(|key| *key != manifest_key && !listed.contains(key))
            .filter(|key| {
                previous.contains(key)
                    || key
                        .filename()
                        .and_then(part_run_millis)
                        .is_none_or(|theirs| theirs < ours)
            })
            .collect();
        delete_keys(&self.store, &self.url, stale).map_err(|error| {
            let message = format!(
                "the manifest was committed, but old objects could not all be deleted ({}); the next run deletes them",
                error.message()
            );
            Error::new(error.kind(), Step::Delete, self.url.as_path(), message).with_source(error)
        })
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
        DirReport::new(self.url.as_path(), manifest, swapped, method, self.started)
    }
}

impl Drop for ObjectDir {
    fn drop(&mut self) {
        if !self.committed
            && let Err(error) = delete_all(&self.store, &self.url, &self.published)
        {
            tracing::warn!(%error, "could not delete the parts of an uncommitted run");
        }
    }
}

/// Same files by content: the run-unique names differ, so compare (directory, hash, size).
fn same_data(previous: &DirManifest, next: &DirManifest) -> bool {
    let key = |manifest: &DirManifest| {
        let mut files: Vec<(String, String, u64)> = manifest
            .files
            .iter()
            .map(|file| {
                let dir = file.path.rsplit_once('/').map_or("", |(dir, _)| dir);
                (dir.to_owned(), file.hash.clone(), file.bytes)
            })
            .collect();
        files.sort();
        files
    };
    key(previous) == key(next)
}

/// The time part of a run id (`<millis hex>-<random hex>`).
fn run_millis(run_id: &str) -> u64 {
    run_id
        .split_once('-')
        .and_then(|(millis, _)| u64::from_str_radix(millis, 16).ok())
        .unwrap_or(0)
}

/// The run time of a part named `part-NNNNN-<millis hex>-<random hex>.<ext>`, if it is one.
fn part_run_millis(name: &str) -> Option<u64> {
    let stem = name.strip_prefix("part-")?.split('.').next()?;
    let mut fields = stem.split('-');
    let (_number, millis, random) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || random.len() != 16 {
        return None;
    }
    u64::from_str_radix(millis, 16).ok()
}

/// Deletes every part in `published` (a run that will not commit).
fn delete_all(store: &Store, url: &ObjectUrl, published: &Mutex<Vec<ObjectPath>>) -> Result<()> {
    let keys = std::mem::take(&mut *published.lock().unwrap_or_else(PoisonError::into_inner));
    delete_keys(store, url, keys)
}

/// Deletes `keys` (in the bucket of `url`), several at a time; missing ones are not an error.
pub(super) fn delete_keys(store: &Store, url: &ObjectUrl, keys: Vec<ObjectPath>) -> Result<()> {
    let objects = store.objects.clone();
    block_on(
        futures_util::stream::iter(keys)
            .map(|key| {
                let objects = objects.clone();
                async move {
                    objects
                        .delete(&key)
                        .await
                        .or_else(ignore_not_found)
                        .map_err(|error| (key, error))
                }
            })
            .buffer_unordered(DELETE_CONCURRENCY)
            .try_collect::<Vec<()>>(),
    )
    .map(drop)
    .map_err(|(key, error)| store_error(Step::Delete, &url.with_key(key), error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_carry_their_run_time() {
        let run = crate::commit::new_run_id();
        let name = format!("part-00003-{run}.parquet");
        assert_eq!(part_run_millis(&name), Some(run_millis(&run)));
        assert_eq!(part_run_millis("part-00003.parquet"), None);
        assert_eq!(part_run_millis("notes.txt"), None);
    }
}
