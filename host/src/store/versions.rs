//! Versions of object-store targets: the counterpart of `commit/versions.rs` (same records,
//! listings and commands) for an object, or a prefix committed by its `_SUCCESS` manifest.
//!
//! A target `…/NAME` or `…/NAME/` keeps its versions under the sibling prefix
//! `…/.NAME.atio-versions/`:
//!
//! ```text
//! .NAME.atio-versions/000007/record.json   the record (the same format as a local version's)
//! .NAME.atio-versions/000007/data          an object's kept bytes (a server-side copy)
//! .NAME.atio-versions/000007/data/<path>   a prefix's kept parts, by their manifest paths
//! ```
//!
//! - **Claiming a number**: the record is written create-only (`If-None-Match: *`), so two
//!   writers never share a number (the loser takes the next); the data is copied after it. An
//!   entry is *listed* only once its data is complete (one LIST shows every record and data key
//!   with its size), so a version still being kept, or one whose keeper died, is never offered.
//! - **Keeping an object** (a write with `keep_versions`, just before it publishes): HEAD the
//!   object (ETag E); its hash comes from its `_SUCCESS` when that describes E, else from
//!   streaming it; claim; server-side copy; check the copy's size and that the object is still
//!   E; then the write publishes with `If-Match: E`. So the version kept is exactly the content
//!   replaced, and a concurrent writer makes this one fail with `conflict`. The entry stays even
//!   then: another writer may have found the content already kept (the newest version with its
//!   hash is reused, not copied again) and replaced it; only an entry whose keeping failed goes.
//! - **Keeping a prefix**: before the manifest's compare-and-swap, the parts the old manifest
//!   lists are copied into the entry; after it, the commit's sweep deletes them from the prefix
//!   as without versions — a reader that lists the prefix never sees an old run's parts.
//! - **Rollback**: an object is re-uploaded from its version through the normal write path (a
//!   copy cannot be made conditional): its hash is checked against the record as it streams,
//!   it publishes with `If-Match` on the content it replaces, which is kept as a new version,
//!   and the version's `_SUCCESS` is restored. A prefix gets the version's parts copied back
//!   and its manifest republished with the same compare-and-swap as any prefix write.
//! - **Tags** rewrite a record with `If-Match` on its ETag. **Pruning** first marks the record
//!   `pruning` (also `If-Match`: a tag that lands first stops the prune of that version, one
//!   that comes later fails), then deletes the data, then the record. Entries left half-made by
//!   a killed keeper or pruner are removed by the next prune once an hour old.
//!
//! There is no lock on an object store: every step that could race is a compare-and-swap or a
//! create-only write, and a lost race is a `conflict` error, never a wrong version.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::time::{Duration, SystemTime};

use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};

use super::dir::delete_keys;
use super::{ObjectDir, ObjectFile, ObjectUrl, Store, block_on, store_error};
use crate::commit::dir::dir_hash;
use crate::commit::versions::{
    Current, DATA_NAME, RECORD_NAME, RollbackReport, Selector, TagReport, Version, VersionRecord,
    Versions, check_tag, entry_name, is_store_name, not_selected, parse_entry, record_json,
    store_name,
};
use crate::error::{Error, ErrorKind, Result, Step};
use crate::hash::ContentHasher;
use crate::manifest::{self, DirManifest, Manifest};
use crate::options::Options;

/// Copies (and deletes) sent at once.
const COPY_CONCURRENCY: usize = 16;
/// Version numbers tried before a keeper gives up claiming one.
const CLAIM_ATTEMPTS: u64 = 32;
/// Age after which an entry without complete data (or marked for pruning) is taken to be left
/// by a killed keeper or pruner, and removed by the next prune.
const HALF_MADE_AGE: Duration = Duration::from_secs(3600);

/// The version store of one object-store target.
pub(crate) struct ObjectVersions {
    store: Store,
    target: ObjectUrl,
    /// `<parent>/.NAME.atio-versions`.
    root: ObjectUrl,
}

/// What one LIST of the store shows of an entry.
#[derive(Default)]
struct Listed {
    /// When its record was last written, if it has one.
    record_modified: Option<SystemTime>,
    /// Its data keys, relative to `NNNNNN/data` (`""` for an object's data), with their sizes.
    data: HashMap<String, u64>,
}

/// An entry whose record was read.
struct Entry {
    record: VersionRecord,
    e_tag: Option<String>,
    /// Its data is all there, and it is not being pruned: a listed version.
    complete: bool,
    /// Not complete, and old enough to be a killed keeper's or pruner's leftover.
    abandoned: bool,
}

impl ObjectVersions {
    /// The store of the object or prefix `target`.
    pub(crate) fn new(store: Store, target: &ObjectUrl) -> Result<Self> {
        let parts: Vec<_> = target.key().parts().collect();
        let Some((name, parent)) = parts.split_last() else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Step::Versions,
                target.as_path(),
                "a bucket's root cannot keep versions: name an object or a prefix in it",
            ));
        };
        let store_name = store_name(OsStr::new(name.as_ref()));
        let parent: ObjectPath = parent.iter().cloned().collect();
        let root = target.with_key(parent.join(store_name.to_string_lossy().as_ref()));
        Ok(Self {
            store,
            target: target.clone(),
            root,
        })
    }

    /// The store of `target`, connected with `options.store`.
    fn connect(target: &ObjectUrl, options: &Options) -> Result<Self> {
        Self::new(Store::connect(target, &options.store)?, target)
    }

    fn entry_url(&self, number: u64) -> ObjectUrl {
        self.root.join(&entry_name(number))
    }

    fn record_url(&self, number: u64) -> ObjectUrl {
        self.entry_url(number).join(RECORD_NAME)
    }

    fn data_url(&self, number: u64) -> ObjectUrl {
        self.entry_url(number).join(DATA_NAME)
    }

    /// One LIST of the whole store, by entry number.
    fn scan(&self, step: Step) -> Result<BTreeMap<u64, Listed>> {
        let objects: Vec<_> =
            block_on(self.store.objects.list(Some(self.root.key())).try_collect())
                .map_err(|error| store_error(step, &self.root, error))?;
        let mut entries: BTreeMap<u64, Listed> = BTreeMap::new();
        for meta in objects {
            let Some(mut parts) = meta.location.prefix_match(self.root.key()) else {
                continue;
            };
            let Some(number) = parts
                .next()
                .and_then(|part| parse_entry(OsStr::new(part.as_ref())))
            else {
                continue;
            };
            let rest: Vec<String> = parts.map(|part| part.as_ref().to_owned()).collect();
            let entry = entries.entry(number).or_default();
            match rest.as_slice() {
                [name] if name == RECORD_NAME => {
                    entry.record_modified = Some(meta.last_modified.into());
                }
                [name, tail @ ..] if name == DATA_NAME => {
                    entry.data.insert(tail.join("/"), meta.size);
                }
                _ => {}
            }
        }
        Ok(entries)
    }

    /// Every entry with a record, oldest first (records deleted meanwhile are skipped).
    fn entries(&self, step: Step) -> Result<Vec<Entry>> {
        self.entries_abandoned_after(step, HALF_MADE_AGE)
    }

    /// [`Self::entries`], taking incomplete entries older than `age` to be abandoned.
    fn entries_abandoned_after(&self, step: Step, age: Duration) -> Result<Vec<Entry>> {
        let listed = self.scan(step)?;
        let numbers: Vec<u64> = listed
            .iter()
            .filter(|(_, listed)| listed.record_modified.is_some())
            .map(|(&number, _)| number)
            .collect();
        let records = block_on(
            futures_util::stream::iter(numbers)
                .map(|number| async move { (number, self.read_record_async(number, step).await) })
                .buffered(COPY_CONCURRENCY)
                .collect::<Vec<_>>(),
        );
        let now = SystemTime::now();
        let mut entries = Vec::new();
        for (number, record) in records {
            let Some((record, e_tag)) = record? else {
                continue;
            };
            let listed = &listed[&number];
            let complete = !record.pruning && data_complete(&record, listed);
            let abandoned = !complete
                && listed
                    .record_modified
                    .is_some_and(|modified| now.duration_since(modified).unwrap_or_default() > age);
            entries.push(Entry {
                record,
                e_tag,
                complete,
                abandoned,
            });
        }
        Ok(entries)
    }

    /// The listed (complete) versions, oldest first.
    fn complete(&self, step: Step) -> Result<Vec<Entry>> {
        Ok(self
            .entries(step)?
            .into_iter()
            .filter(|entry| entry.complete)
            .collect())
    }

    async fn read_record_async(
        &self,
        number: u64,
        step: Step,
    ) -> Result<Option<(VersionRecord, Option<String>)>> {
        let url = self.record_url(number);
        let found = match self.store.objects.get(url.key()).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(store_error(step, &url, error)),
        };
        let e_tag = found.meta.e_tag.clone();
        let bytes = found
            .bytes()
            .await
            .map_err(|error| store_error(step, &url, error))?;
        let record = serde_json::from_slice(&bytes).map_err(|error| {
            Error::new(
                ErrorKind::Verification,
                step,
                url.as_path(),
                format!("not a valid atio version record: {error}"),
            )
            .with_source(error)
        })?;
        Ok(Some((record, e_tag)))
    }

    /// Writes `record` as a new entry, create-only, at the first free number: the claim.
    fn claim(&self, mut record: VersionRecord) -> Result<u64> {
        let mut number = self
            .scan(Step::KeepVersion)?
            .keys()
            .next_back()
            .map_or(1, |newest| newest + 1);
        for _ in 0..CLAIM_ATTEMPTS {
            record.version = number;
            let url = self.record_url(number);
            let put = block_on(self.store.objects.put_opts(
                url.key(),
                PutPayload::from(record_json(&record)),
                PutOptions::from(PutMode::Create),
            ));
            match put {
                Ok(_) => return Ok(number),
                Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                ) => number += 1,
                Err(error) => return Err(store_error(Step::KeepVersion, &url, error)),
            }
        }
        Err(Error::new(
            ErrorKind::Conflict,
            Step::KeepVersion,
            self.root.as_path(),
            format!(
                "no free version number after {CLAIM_ATTEMPTS} tries: other writers keep claiming them"
            ),
        ))
    }

    /// Replaces the record of entry `record.version` if it is still `e_tag` (compare-and-swap).
    fn rewrite(&self, record: &VersionRecord, e_tag: Option<String>, step: Step) -> Result<()> {
        let url = self.record_url(record.version);
        let put = block_on(self.store.objects.put_opts(
            url.key(),
            PutPayload::from(record_json(record)),
            PutOptions::from(PutMode::Update(UpdateVersion {
                e_tag,
                version: None,
            })),
        ));
        put.map(drop).map_err(|error| {
            let error = store_error(step, &url, error);
            if error.kind() != ErrorKind::Conflict && error.kind() != ErrorKind::NotFound {
                return error;
            }
            Error::new(
                ErrorKind::Conflict,
                step,
                url.as_path(),
                format!(
                    "version {} changed while this was changing it (another tag or prune); nothing was changed, try again",
                    record.version
                ),
            )
            .with_source(error)
        })
    }

    /// Deletes entry `number`: its data, then its record. (Not a listed version any more once
    /// marked or half-made; see `remove_version`.)
    fn delete_entry(&self, number: u64, step: Step) -> Result<()> {
        let entry = self.entry_url(number);
        let listed = self.scan(step)?;
        let data: Vec<ObjectPath> = listed
            .get(&number)
            .map(|listed| {
                listed
                    .data
                    .keys()
                    .map(|relative| self.data_url(number).join(relative).key().clone())
                    .collect()
            })
            .unwrap_or_default();
        delete_keys(&self.store, &entry, data)?;
        delete_keys(
            &self.store,
            &entry,
            vec![self.record_url(number).key().clone()],
        )
    }

    /// Prunes a listed version: marks its record (compare-and-swap), then deletes the entry.
    fn remove_version(&self, entry: Entry) -> Result<()> {
        let number = entry.record.version;
        let mut record = entry.record;
        record.pruning = true;
        self.rewrite(&record, entry.e_tag, Step::Prune)?;
        self.delete_entry(number, Step::Prune)
    }

    /// Removes untagged versions beyond the newest `keep`, and entries abandoned half-made;
    /// returns the versions removed.
    pub(crate) fn prune(&self, keep: usize) -> Result<Vec<u64>> {
        let entries = self.entries(Step::Prune)?;
        let listed = entries.iter().filter(|entry| entry.complete).count();
        let mut pruned = Vec::new();
        let mut skipped = 0;
        for entry in entries {
            if entry.abandoned {
                self.delete_entry(entry.record.version, Step::Prune)?;
            } else if entry.complete {
                skipped += 1;
                if skipped <= listed.saturating_sub(keep) && entry.record.tags.is_empty() {
                    let number = entry.record.version;
                    match self.remove_version(entry) {
                        Ok(()) => pruned.push(number),
                        // Its record changed since it was read: a tag landed first, and wins.
                        Err(error) if error.kind() == ErrorKind::Conflict => {}
                        Err(error) => return Err(error),
                    }
                }
            }
        }
        Ok(pruned)
    }

    /// The newest listed version, if its content has `hash` (already kept: a tag of the current
    /// content, or a commit that died after keeping).
    fn newest_with(&self, hash: &str, dir: bool) -> Result<Option<u64>> {
        // From the top of one LIST down: usually one record is read, not the whole store.
        let listed = self.scan(Step::KeepVersion)?;
        for (&number, entry) in listed.iter().rev() {
            if entry.record_modified.is_none() {
                continue;
            }
            let Some((record, _)) = block_on(self.read_record_async(number, Step::KeepVersion))?
            else {
                continue;
            };
            if record.pruning || !data_complete(&record, entry) {
                continue;
            }
            let same = record.hash == hash && record.dir_manifest.is_some() == dir;
            return Ok(same.then_some(number));
        }
        Ok(None)
    }

    /// Keeps the object as it is now as a new version, before a write replaces it; returns the
    /// version and the ETag the write must replace (`None` when there is no object: the write
    /// must then create it).
    pub(crate) fn keep_object(&self, kept_by: &str) -> Result<(Option<u64>, Option<String>)> {
        let Some((size, e_tag, manifest)) = self.object_now(Step::KeepVersion)? else {
            return Ok((None, None));
        };
        let Some(e_tag) = e_tag else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Step::KeepVersion,
                self.target.as_path(),
                "the store gives this object no ETag, which keeping versions needs for its compare-and-swap",
            ));
        };
        let hash = match &manifest {
            Some(manifest) => manifest.hash.clone(),
            None => self.hash_current(&e_tag)?,
        };
        if let Some(number) = self.newest_with(&hash, false)? {
            return Ok((Some(number), Some(e_tag)));
        }
        let name = self.target.file_name().unwrap_or_default();
        let record = VersionRecord::of_file(0, name, size, hash, manifest, kept_by, &[]);
        let number = self.claim(record)?;
        if let Err(error) = self.copy_current(number, size, &e_tag) {
            self.discard(number);
            return Err(error);
        }
        Ok((Some(number), Some(e_tag)))
    }

    /// Copies the object into entry `number` and checks the copy is of `e_tag`'s content.
    fn copy_current(&self, number: u64, size: u64, e_tag: &str) -> Result<()> {
        let data = self.data_url(number);
        block_on(self.store.objects.copy(self.target.key(), data.key()))
            .map_err(|error| store_error(Step::KeepVersion, &data, error))?;
        let copied = block_on(self.store.objects.head(data.key()))
            .map_err(|error| store_error(Step::KeepVersion, &data, error))?;
        let still = block_on(self.store.objects.head(self.target.key()))
            .ok()
            .and_then(|meta| meta.e_tag);
        if copied.size != size || still.as_deref() != Some(e_tag) {
            return Err(Error::new(
                ErrorKind::Conflict,
                Step::KeepVersion,
                self.target.as_path(),
                "the object changed while its content was being kept as a version; nothing was written",
            ));
        }
        Ok(())
    }

    /// The object's (size, ETag, matching `_SUCCESS` manifest), `None` when it does not exist.
    #[allow(clippy::type_complexity)]
    fn object_now(&self, step: Step) -> Result<Option<(u64, Option<String>, Option<Manifest>)>> {
        let head = match block_on(self.store.objects.head(self.target.key())) {
            Ok(head) => head,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(store_error(step, &self.target, error)),
        };
        let marker = self.target.marker();
        let manifest = match block_on(self.store.objects.get(marker.key())) {
            Ok(found) => block_on(found.bytes())
                .ok()
                .and_then(|bytes| Manifest::from_json(&bytes, &marker.as_path()).ok()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(error) => return Err(store_error(step, &marker, error)),
        };
        // Only a marker written for these very bytes describes them.
        let manifest = manifest.filter(|manifest| {
            manifest.bytes == head.size
                && manifest
                    .e_tag
                    .as_deref()
                    .zip(head.e_tag.as_deref())
                    .is_some_and(|(theirs, ours)| same_e_tag(theirs, ours))
        });
        Ok(Some((head.size, head.e_tag, manifest)))
    }

    /// Hashes the object, streamed, if it is still `e_tag` (no marker describes it).
    fn hash_current(&self, e_tag: &str) -> Result<String> {
        let options = GetOptions {
            if_match: Some(e_tag.to_owned()),
            ..GetOptions::default()
        };
        let found = block_on(self.store.objects.get_opts(self.target.key(), options))
            .map_err(|error| store_error(Step::KeepVersion, &self.target, error))?;
        block_on(hash_stream(found, &self.target, Step::KeepVersion)).map(|(_, hash)| hash)
    }

    /// Keeps the parts `manifest` (the prefix's current manifest) lists as a new version, before
    /// a commit replaces it. `None` when a listed part is missing: there is no complete version
    /// to keep.
    pub(crate) fn keep_prefix(&self, manifest: &DirManifest, kept_by: &str) -> Result<Option<u64>> {
        let hash = dir_hash(manifest);
        if let Some(number) = self.newest_with(&hash, true)? {
            return Ok(Some(number));
        }
        let name = self.target.file_name().unwrap_or_default();
        let record = VersionRecord::of_dir(0, name, manifest.clone(), kept_by);
        let number = self.claim(record)?;
        let data = self.data_url(number);
        let copies = manifest
            .files
            .iter()
            .map(|file| (self.target.join(&file.path), data.join(&file.path)));
        match self.copy_all(copies, Step::KeepVersion) {
            Ok(()) => Ok(Some(number)),
            Err(error) if error.kind() == ErrorKind::NotFound => {
                tracing::warn!(%error, "a part the manifest lists is missing: no version kept of the prefix");
                self.discard(number);
                Ok(None)
            }
            Err(error) => {
                self.discard(number);
                Err(error)
            }
        }
    }

    /// Server-side copies, several at a time.
    pub(crate) fn copy_all(
        &self,
        copies: impl Iterator<Item = (ObjectUrl, ObjectUrl)>,
        step: Step,
    ) -> Result<()> {
        let objects = self.store.objects.clone();
        block_on(
            futures_util::stream::iter(copies)
                .map(|(from, to)| {
                    let objects = objects.clone();
                    async move {
                        objects
                            .copy(from.key(), to.key())
                            .await
                            .map_err(|error| store_error(step, &from, error))
                    }
                })
                .buffer_unordered(COPY_CONCURRENCY)
                .try_collect::<Vec<()>>(),
        )
        .map(drop)
    }

    /// Removes the entry `number` whose keeping failed (its data may be missing or wrong).
    fn discard(&self, number: u64) {
        if let Err(error) = self.delete_entry(number, Step::Cleanup) {
            tracing::warn!(%error, "could not remove a half-made version entry; the next prune or clean removes it");
        }
    }

    /// The copies that put version `record`'s parts back under the prefix, except the ones
    /// `current` lists with the same content.
    pub(crate) fn restore_plan(
        &self,
        record: &VersionRecord,
        current: Option<&DirManifest>,
    ) -> Vec<(ObjectUrl, ObjectUrl)> {
        let data = self.data_url(record.version);
        let live: HashMap<&str, &str> = current
            .iter()
            .flat_map(|current| &current.files)
            .map(|file| (file.path.as_str(), file.hash.as_str()))
            .collect();
        record
            .dir_manifest
            .iter()
            .flat_map(|manifest| &manifest.files)
            .filter(|file| live.get(file.path.as_str()) != Some(&file.hash.as_str()))
            .map(|file| (data.join(&file.path), self.target.join(&file.path)))
            .collect()
    }
}

/// The version store `key` lies in (its prefix), if it lies in one.
pub(crate) fn version_store_of(key: &ObjectPath) -> Option<ObjectPath> {
    let parts: Vec<_> = key.parts().collect();
    let end = parts
        .iter()
        .position(|part| is_store_name(OsStr::new(part.as_ref())))?;
    Some(parts[..=end].iter().cloned().collect())
}

/// `atio clean` in the version store `root`: removes (or with `dry_run`, lists) the entries
/// left half-made by a killed keeper or pruner — no complete data, or marked for pruning —
/// whose record is older than `older_than`. Listed versions are never touched.
pub(crate) fn sweep_store(
    store: &Store,
    root: ObjectUrl,
    older_than: Duration,
    dry_run: bool,
) -> Result<Vec<std::path::PathBuf>> {
    // Sweeping needs only the store, not its target.
    let versions = ObjectVersions {
        store: store.clone(),
        target: root.clone(),
        root,
    };
    let mut removed = Vec::new();
    for entry in versions.entries_abandoned_after(Step::Clean, older_than)? {
        if entry.abandoned {
            let number = entry.record.version;
            if !dry_run {
                versions.delete_entry(number, Step::Clean)?;
            }
            removed.push(versions.entry_url(number).as_path());
        }
    }
    Ok(removed)
}

/// Whether `listed` holds all of `record`'s data, at the recorded sizes.
fn data_complete(record: &VersionRecord, listed: &Listed) -> bool {
    match &record.dir_manifest {
        Some(manifest) => manifest
            .files
            .iter()
            .all(|file| listed.data.get(&file.path) == Some(&file.bytes)),
        None => listed.data.get("") == Some(&record.bytes),
    }
}

/// ETags compared without their quotes and weak prefix.
fn same_e_tag(a: &str, b: &str) -> bool {
    let bare = |e_tag: &str| {
        e_tag
            .trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_owned()
    };
    bare(a) == bare(b)
}

/// (size, hash) of a GET's body, streamed.
async fn hash_stream(
    found: object_store::GetResult,
    url: &ObjectUrl,
    step: Step,
) -> Result<(u64, String)> {
    let mut stream = found.into_stream();
    let mut hasher = ContentHasher::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| store_error(step, url, error))?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((size, hasher.finish()))
}

/// The prefix's current manifest and its facts, `None` without one.
fn current_prefix(versions: &ObjectVersions, step: Step) -> Result<Option<(DirManifest, Current)>> {
    let marker = versions.target.join(manifest::DIR_MARKER);
    let found = match block_on(versions.store.objects.get(marker.key())) {
        Ok(found) => found,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(store_error(step, &marker, error)),
    };
    let bytes = block_on(found.bytes()).map_err(|error| store_error(step, &marker, error))?;
    let manifest = DirManifest::from_json(&bytes, &marker.as_path())?;
    let current = Current::of_dir(&manifest);
    Ok(Some((manifest, current)))
}

/// The object's current facts, `None` when it does not exist.
fn current_object(versions: &ObjectVersions, step: Step) -> Result<Option<Current>> {
    Ok(versions
        .object_now(step)?
        .map(|(bytes, _, manifest)| Current::of_file(bytes, manifest.as_ref())))
}

/// Whether `url` means a prefix: written with a trailing `/`, or no object there but a
/// `_SUCCESS` manifest under it.
fn is_prefix(versions: &ObjectVersions, step: Step) -> Result<bool> {
    if versions.target.is_prefix() {
        return Ok(true);
    }
    match block_on(versions.store.objects.head(versions.target.key())) {
        Ok(_) => Ok(false),
        Err(object_store::Error::NotFound { .. }) => {
            let marker = versions.target.join(manifest::DIR_MARKER);
            match block_on(versions.store.objects.head(marker.key())) {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(error) => Err(store_error(step, &marker, error)),
            }
        }
        Err(error) => Err(store_error(step, &versions.target, error)),
    }
}

/// What the target holds now (`None`: nothing), whichever kind it is.
fn current(versions: &ObjectVersions, step: Step) -> Result<Option<Current>> {
    if is_prefix(versions, step)? {
        Ok(current_prefix(versions, step)?.map(|(_, current)| current))
    } else {
        current_object(versions, step)
    }
}

fn no_versions(versions: &ObjectVersions, step: Step) -> Error {
    Error::new(
        ErrorKind::NotFound,
        step,
        versions.target.as_path(),
        format!(
            "no versions are kept for this target (nothing under {}/); write it with --keep-versions N",
            versions.root
        ),
    )
}

/// Finds the listed version `selector` means.
fn select<'a>(
    versions: &ObjectVersions,
    entries: &'a [Entry],
    selector: &Selector,
    step: Step,
) -> Result<&'a Entry> {
    let numbers: Vec<u64> = entries.iter().map(|entry| entry.record.version).collect();
    if numbers.is_empty() {
        return Err(no_versions(versions, step));
    }
    let found = match selector {
        Selector::Newest => entries.last(),
        Selector::Number(number) => entries.iter().find(|entry| entry.record.version == *number),
        Selector::Tag(tag) => entries
            .iter()
            .rev()
            .find(|entry| entry.record.tags.iter().any(|candidate| candidate == tag)),
    };
    found.ok_or_else(|| {
        not_selected(
            selector,
            &numbers,
            &versions.target.as_path(),
            &versions.root.as_path(),
            step,
        )
    })
}

/// `atio::versions::list` for an object-store target.
pub(crate) fn list(url: &ObjectUrl, options: &Options) -> Result<Versions> {
    let versions = ObjectVersions::connect(url, options)?;
    let current = current(&versions, Step::Versions)?;
    let entries = versions.complete(Step::Versions)?;
    if current.is_none() && entries.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            Step::Versions,
            url.as_path(),
            "neither the target nor a version of it exists",
        ));
    }
    let listed = entries
        .into_iter()
        .map(|entry| Version {
            number: entry.record.version,
            data: versions.data_url(entry.record.version).as_path(),
            current: current
                .as_ref()
                .is_some_and(|current| current.hash.as_deref() == Some(entry.record.hash.as_str())),
            record: entry.record,
        })
        .collect();
    Ok(Versions {
        target: url.as_path(),
        store: versions.root.as_path(),
        current,
        versions: listed,
    })
}

/// `atio::versions::verify` for an object-store target: every listed version's data streamed
/// and hashed against its record (a prefix version: each part against its manifest).
pub(crate) fn verify(url: &ObjectUrl, options: &Options) -> Result<Versions> {
    let listed = list(url, options)?;
    let versions = ObjectVersions::connect(url, options)?;
    for version in &listed.versions {
        let record = &version.record;
        let data = versions.data_url(version.number);
        let mismatch = |what: &ObjectUrl, message: String| {
            Error::new(
                ErrorKind::Verification,
                Step::Verify,
                what.as_path(),
                message,
            )
        };
        let hash_of = |object: &ObjectUrl| -> Result<(u64, String)> {
            let found = block_on(versions.store.objects.get(object.key()))
                .map_err(|error| store_error(Step::Verify, object, error))?;
            block_on(hash_stream(found, object, Step::Verify))
        };
        let (bytes, hash) = match &record.dir_manifest {
            Some(manifest) => {
                for file in &manifest.files {
                    let part = data.join(&file.path);
                    let (bytes, hash) = hash_of(&part)?;
                    if (bytes, hash.as_str()) != (file.bytes, file.hash.as_str()) {
                        return Err(mismatch(
                            &part,
                            format!(
                                "version {}: {} is {bytes} bytes {hash}, its manifest says {} bytes {}",
                                version.number, file.path, file.bytes, file.hash
                            ),
                        ));
                    }
                }
                (
                    manifest.files.iter().map(|file| file.bytes).sum(),
                    dir_hash(manifest),
                )
            }
            None => hash_of(&data)?,
        };
        if bytes != record.bytes || hash != record.hash {
            return Err(mismatch(
                &data,
                format!(
                    "version {} does not match its record: {bytes} bytes {hash}, recorded {} bytes {}",
                    version.number, record.bytes, record.hash
                ),
            ));
        }
    }
    Ok(listed)
}

/// `atio::versions::rollback` for an object-store target.
pub(crate) fn rollback(
    url: &ObjectUrl,
    selector: &Selector,
    options: &Options,
) -> Result<RollbackReport> {
    let versions = ObjectVersions::connect(url, options)?;
    let entries = versions.complete(Step::Rollback)?;
    let record = select(&versions, &entries, selector, Step::Rollback)?
        .record
        .clone();
    let options = Options {
        if_changed: false,
        ..options.clone()
    };
    let unchanged = |path| RollbackReport {
        path,
        restored: record.version,
        report: None,
        dir_report: None,
    };
    if record.dir_manifest.is_some() {
        let prefix = ObjectUrl {
            trailing_slash: true,
            ..url.clone()
        };
        let current = current_prefix(&versions, Step::Rollback)?;
        if current
            .as_ref()
            .is_some_and(|(manifest, _)| dir_hash(manifest) == record.hash)
        {
            return Ok(unchanged(prefix.as_path()));
        }
        let mut dir = ObjectDir::create(prefix.clone(), &options)?;
        dir.restore(&versions, &record)?;
        let report = dir.commit()?;
        return Ok(RollbackReport {
            path: prefix.as_path(),
            restored: record.version,
            report: None,
            dir_report: Some(report),
        });
    }
    if url.is_prefix() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Step::Rollback,
            url.as_path(),
            format!(
                "version {} is an object, not a prefix: name the object without the trailing `/`",
                record.version
            ),
        ));
    }
    if current_object(&versions, Step::Rollback)?
        .and_then(|current| current.hash)
        .is_some_and(|hash| hash == record.hash)
    {
        return Ok(unchanged(url.as_path()));
    }
    let mut file = ObjectFile::open(url.clone(), &options)?;
    let data = versions.data_url(record.version);
    let found = block_on(versions.store.objects.get(data.key()))
        .map_err(|error| store_error(Step::Rollback, &data, error))?;
    let mut stream = found.into_stream();
    // Each chunk is written outside the runtime: a full part starts an upload on it.
    while let Some(chunk) = block_on(stream.next()) {
        let chunk = chunk.map_err(|error| store_error(Step::Rollback, &data, error))?;
        std::io::Write::write_all(&mut file, &chunk)
            .map_err(|error| Error::io(Step::Rollback, url.as_path(), error))?;
    }
    file.restore(record.clone(), &data)?;
    let report = file.commit()?;
    Ok(RollbackReport {
        path: url.as_path(),
        restored: record.version,
        report: Some(report),
        dir_report: None,
    })
}

/// `atio::versions::tag` for an object-store target.
pub(crate) fn tag(
    url: &ObjectUrl,
    tag: &str,
    version: Option<u64>,
    force: bool,
    options: &Options,
) -> Result<TagReport> {
    check_tag(tag, &url.as_path())?;
    let versions = ObjectVersions::connect(url, options)?;
    let holders = |entries: &[Entry], except: Option<u64>| -> Vec<u64> {
        entries
            .iter()
            .filter(|entry| Some(entry.record.version) != except)
            .filter(|entry| entry.record.tags.iter().any(|candidate| candidate == tag))
            .map(|entry| entry.record.version)
            .collect()
    };
    let refuse = |other: u64| {
        Error::new(
            ErrorKind::Conflict,
            Step::Tag,
            url.as_path(),
            format!(
                "tag `{tag}` is on version {other}; move it with --force, or remove it with --delete first"
            ),
        )
    };
    let number = match version {
        Some(number) => number,
        None => {
            // The current content: the newest version holding it, else kept now.
            let entries = versions.complete(Step::Tag)?;
            let current = current(&versions, Step::Tag)?;
            let same = current.as_ref().and_then(|current| {
                entries
                    .iter()
                    .rev()
                    .find(|entry| current.hash.as_deref() == Some(entry.record.hash.as_str()))
                    .map(|entry| entry.record.version)
            });
            if let Some(&other) = holders(&entries, same).first()
                && !force
            {
                return Err(refuse(other));
            }
            match same {
                Some(number) => number,
                None => keep_now(&versions)?,
            }
        }
    };
    // As `tag_in` does locally: refused if another version has the tag, unless `force` moves it.
    let entries = versions.complete(Step::Tag)?;
    let target = select(&versions, &entries, &Selector::Number(number), Step::Tag)?;
    let mut moved_from = None;
    for other in holders(&entries, Some(number)) {
        if !force {
            return Err(refuse(other));
        }
        let entry = entries
            .iter()
            .find(|entry| entry.record.version == other)
            .expect("a holder is an entry");
        let mut record = entry.record.clone();
        record.tags.retain(|candidate| candidate != tag);
        versions.rewrite(&record, entry.e_tag.clone(), Step::Tag)?;
        moved_from = Some(other);
    }
    if !target.record.tags.iter().any(|candidate| candidate == tag) {
        let mut record = target.record.clone();
        record.tags.push(tag.to_owned());
        versions.rewrite(&record, target.e_tag.clone(), Step::Tag)?;
    }
    Ok(TagReport {
        version: number,
        tag: tag.to_owned(),
        moved_from,
    })
}

/// Keeps the target's current content as a version (to tag it).
fn keep_now(versions: &ObjectVersions) -> Result<u64> {
    let run_id = crate::commit::new_run_id();
    let kept = if is_prefix(versions, Step::Tag)? {
        match current_prefix(versions, Step::Tag)? {
            Some((manifest, _)) => versions.keep_prefix(&manifest, &run_id)?,
            None => None,
        }
    } else {
        versions.keep_object(&run_id)?.0
    };
    kept.ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            Step::Tag,
            versions.target.as_path(),
            "nothing to tag: the target does not exist (or lists a missing part); give --version N to tag a stored version",
        )
    })
}

/// `atio::versions::untag` for an object-store target.
pub(crate) fn untag(url: &ObjectUrl, tag: &str, options: &Options) -> Result<u64> {
    let versions = ObjectVersions::connect(url, options)?;
    let entries = versions.complete(Step::Tag)?;
    let entry = select(
        &versions,
        &entries,
        &Selector::Tag(tag.to_owned()),
        Step::Tag,
    )?;
    let mut record = entry.record.clone();
    record.tags.retain(|candidate| candidate != tag);
    versions.rewrite(&record, entry.e_tag.clone(), Step::Tag)?;
    Ok(record.version)
}

/// `atio::versions::prune` for an object-store target.
pub(crate) fn prune(url: &ObjectUrl, keep: u32, options: &Options) -> Result<Vec<u64>> {
    let versions = ObjectVersions::connect(url, options)?;
    if versions.scan(Step::Prune)?.is_empty() {
        return Err(no_versions(&versions, Step::Prune));
    }
    versions.prune(keep as usize)
}
