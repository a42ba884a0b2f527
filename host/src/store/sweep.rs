//! `atio clean` on an object-store prefix: deletes the parts of crashed partition runs.
//!
//! A partition run uploads run-unique parts (`part-00000-<run id>.<ext>`) and commits them by
//! writing `<prefix>/_SUCCESS` (store/dir.rs). A run killed before its manifest leaves parts
//! no manifest lists; the partition's next run deletes them, but a partition that is never
//! written again keeps them (and pays for them) forever. This sweep finds them:
//!
//! - only objects whose names parse as run parts are ever candidates; nothing else is touched,
//!   and nothing in a version store (`.NAME.atio-versions/`: kept parts no live manifest lists);
//! - in the version stores found below the prefix (directly below it even without recursion),
//!   entries left half-made by a killed keeper or pruner, older than the grace period, are
//!   removed (store/versions.rs `sweep_store`); listed versions are never touched;
//! - a part listed by the `_SUCCESS` of its directory or of any directory above it is live;
//! - an unlisted part younger than the grace period (`older_than`, by its last-modified time)
//!   may belong to a run still writing, and is kept;
//! - a directory whose manifest is unreadable keeps all its parts (which are live is unknown);
//! - the manifests are read after the listing and read again just before deleting, so a run that
//!   commits meanwhile is seen and its parts are kept. A run that takes longer than the grace
//!   period to commit can still lose parts to a concurrent clean: pick the period accordingly.
//!
//! Uploads a crashed run left incomplete are not objects and cannot be listed through
//! `object_store`; a bucket lifecycle rule (`AbortIncompleteMultipartUpload`) removes them.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::SystemTime;

use futures_util::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectMeta, ObjectStoreExt};

use super::dir::delete_keys;
use super::{ObjectUrl, Store, StoreOptions, block_on, store_error};
use crate::commit::sweep::{CleanOptions, CleanReport};
use crate::error::{Error, Result, Step};
use crate::manifest::{self, DirManifest};

/// What a directory's `_SUCCESS` says about the parts below it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Listing {
    /// No manifest there.
    Missing,
    /// The keys it lists.
    Lists(HashSet<ObjectPath>),
    /// There, but it does not parse: which parts are live is unknown.
    Unreadable(String),
}

/// Deletes (or with `dry_run`, lists) the run parts under the prefix `url` that no manifest
/// lists and that are older than `options.older_than`. Without `recursive`, only the parts
/// directly under the prefix are considered.
pub fn clean_prefix(
    url: &ObjectUrl,
    options: &CleanOptions,
    store_options: &StoreOptions,
) -> Result<CleanReport> {
    let store = Store::connect(url, store_options)?;
    let prefix = url
        .key()
        .parts()
        .next()
        .is_some()
        .then(|| url.key().clone());
    let (listed, children): (Vec<ObjectMeta>, Vec<ObjectPath>) = if options.recursive {
        block_on(store.objects.list(prefix.as_ref()).try_collect())
            .map(|listed| (listed, Vec::new()))
    } else {
        block_on(store.objects.list_with_delimiter(prefix.as_ref()))
            .map(|listing| (listing.objects, listing.common_prefixes))
    }
    .map_err(|error| retag(store_error(Step::Clean, url, error)))?;
    // Version stores below the prefix (directly under it even without `recursive`).
    let stores: BTreeSet<ObjectPath> = listed
        .iter()
        .filter_map(|meta| super::versions::version_store_of(&meta.location))
        .chain(
            children
                .iter()
                .filter_map(super::versions::version_store_of),
        )
        .collect();
    let now = SystemTime::now();
    let parts: Vec<ObjectMeta> = listed
        .into_iter()
        .filter(|meta| meta.location.filename().is_some_and(is_run_part))
        .filter(|meta| super::versions::version_store_of(&meta.location).is_none())
        .collect();

    let mut manifests = HashMap::new();
    let mut report = CleanReport::default();
    let mut orphans = Vec::new();
    for part in parts {
        match verdict(&store, url, &mut manifests, &part, now, options)? {
            Verdict::Live => {}
            Verdict::Kept(reason) => {
                report
                    .kept
                    .push((url.with_key(part.location).as_path(), reason));
            }
            Verdict::Orphan => orphans.push(part.location),
        }
    }
    // Read again the manifests that judged the orphans: a run that committed since then (its
    // parts were unlisted a moment ago) keeps its parts.
    let mut fresh = HashMap::new();
    for key in orphans.iter().flat_map(covering_manifests) {
        if let std::collections::hash_map::Entry::Vacant(slot) = fresh.entry(key) {
            let listing = read_manifest(&store, url, slot.key())?;
            slot.insert(listing);
        }
    }
    let mut still = Vec::new();
    for key in orphans {
        let covering = covering_manifests(&key);
        match judge(&key, covering.iter().filter_map(|m| fresh.get(m))) {
            Judged::Unlisted => still.push(key),
            Judged::Listed => {}
            Judged::Unknown(reason) => report.kept.push((url.with_key(key).as_path(), reason)),
        }
    }
    let mut orphans = still;
    orphans.sort();
    report.removed = orphans
        .iter()
        .map(|key| url.with_key(key.clone()).as_path())
        .collect();
    if !options.dry_run {
        delete_keys(&store, url, orphans).map_err(retag)?;
    }
    for root in stores {
        let removed = super::versions::sweep_store(
            &store,
            url.with_key(root),
            options.older_than,
            options.dry_run,
        )
        .map_err(retag)?;
        report.removed.extend(removed);
    }
    Ok(report)
}

/// What becomes of one part.
enum Verdict {
    /// Listed by a manifest: data, not reported.
    Live,
    /// Not listed, but kept for the reason given.
    Kept(String),
    /// Not listed and past the grace period: deleted.
    Orphan,
}

/// Judges `part`, reading (and caching) the manifests that could list it.
fn verdict(
    store: &Store,
    url: &ObjectUrl,
    manifests: &mut HashMap<ObjectPath, Listing>,
    part: &ObjectMeta,
    now: SystemTime,
    options: &CleanOptions,
) -> Result<Verdict> {
    let covering = covering_manifests(&part.location);
    for key in &covering {
        if !manifests.contains_key(key) {
            let listing = read_manifest(store, url, key)?;
            manifests.insert(key.clone(), listing);
        }
    }
    match judge(
        &part.location,
        covering.iter().filter_map(|key| manifests.get(key)),
    ) {
        Judged::Listed => Ok(Verdict::Live),
        Judged::Unknown(reason) => Ok(Verdict::Kept(reason)),
        Judged::Unlisted => {
            let modified: SystemTime = part.last_modified.into();
            let age = now.duration_since(modified).unwrap_or_default();
            if age > options.older_than {
                Ok(Verdict::Orphan)
            } else {
                Ok(Verdict::Kept(format!(
                    "in no manifest, but only {}s old (grace period {}s): its run may still be writing",
                    age.as_secs(),
                    options.older_than.as_secs()
                )))
            }
        }
    }
}

enum Judged {
    Listed,
    Unlisted,
    Unknown(String),
}

/// Whether the manifests covering `key` list it.
fn judge<'a>(key: &ObjectPath, covering: impl Iterator<Item = &'a Listing>) -> Judged {
    let mut unknown = None;
    for listing in covering {
        match listing {
            Listing::Lists(keys) if keys.contains(key) => return Judged::Listed,
            Listing::Unreadable(reason) => unknown = Some(reason.clone()),
            Listing::Lists(_) | Listing::Missing => {}
        }
    }
    match unknown {
        Some(reason) => Judged::Unknown(format!(
            "a manifest above it is unreadable ({reason}); the partition's next write replaces it"
        )),
        None => Judged::Unlisted,
    }
}

/// `<dir>/_SUCCESS` for the part's own directory and every directory above it, up to the
/// bucket: a manifest lists files in subdirectories too, so any of them may list the part.
fn covering_manifests(part: &ObjectPath) -> Vec<ObjectPath> {
    let segments: Vec<_> = part.parts().collect();
    (0..segments.len())
        .rev()
        .map(|depth| {
            segments[..depth]
                .iter()
                .cloned()
                .collect::<ObjectPath>()
                .join(manifest::DIR_MARKER)
        })
        .collect()
}

/// Reads the manifest at `key` and the keys it lists.
fn read_manifest(store: &Store, url: &ObjectUrl, key: &ObjectPath) -> Result<Listing> {
    let manifest_url = url.with_key(key.clone());
    let found = match block_on(store.objects.get(key)) {
        Ok(found) => found,
        Err(object_store::Error::NotFound { .. }) => return Ok(Listing::Missing),
        Err(error) => return Err(retag(store_error(Step::Read, &manifest_url, error))),
    };
    let bytes = block_on(found.bytes())
        .map_err(|error| retag(store_error(Step::Read, &manifest_url, error)))?;
    let manifest = match DirManifest::from_json(&bytes, &manifest_url.as_path()) {
        Ok(manifest) => manifest,
        Err(error) => return Ok(Listing::Unreadable(error.message().to_owned())),
    };
    let dir: ObjectPath = {
        let segments: Vec<_> = key.parts().collect();
        segments[..segments.len().saturating_sub(1)]
            .iter()
            .cloned()
            .collect()
    };
    let dir_url = url.with_key(dir);
    Ok(Listing::Lists(
        manifest
            .files
            .iter()
            .map(|file| dir_url.join(&file.path).key().clone())
            .collect(),
    ))
}

/// Whether `name` is a run part: `part-<digits>-<millis hex>-<16 hex>.<extension>`.
fn is_run_part(name: &str) -> bool {
    let Some((stem, extension)) = name.split_once('.') else {
        return false;
    };
    let fields: Vec<&str> = stem.split('-').collect();
    let hex = |field: &str| !field.is_empty() && field.bytes().all(|b| b.is_ascii_hexdigit());
    matches!(
        fields.as_slice(),
        ["part", number, millis, random]
            if !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
                && hex(millis)
                && random.len() == 16
                && hex(random)
    ) && !extension.is_empty()
}

fn retag(error: Error) -> Error {
    let message = error.message().to_owned();
    Error::new(error.kind(), Step::Clean, error.path(), message).with_source(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_run_parts_are_candidates() {
        let run = crate::commit::new_run_id();
        assert!(is_run_part(&format!("part-00003-{run}.parquet")));
        assert!(is_run_part(&format!("part-00003-{run}.csv.gz")));
        for name in [
            "part-00003.parquet",
            "notes.txt",
            "_SUCCESS",
            "part-00003-0000000000aa-0123456789abcdef",
            "part-x-0000000000aa-0123456789abcdef.csv",
            "part-1-0000000000aa-0123456789abcdeg.csv",
            "part-1-0000000000aa-0123456789abcdef-2.csv",
            "data.part-1-0000000000aa-0123456789abcdef.csv",
        ] {
            assert!(!is_run_part(name), "{name}");
        }
    }

    #[test]
    fn every_directory_above_a_part_may_list_it() {
        let covering = covering_manifests(&ObjectPath::from("t/dt=1/r=eu/part-1.csv"));
        let covering: Vec<String> = covering.iter().map(ToString::to_string).collect();
        assert_eq!(
            covering,
            [
                "t/dt=1/r=eu/_SUCCESS",
                "t/dt=1/_SUCCESS",
                "t/_SUCCESS",
                "_SUCCESS"
            ]
        );
    }
}
