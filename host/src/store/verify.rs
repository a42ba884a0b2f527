//! `atio verify` for object storage: an object against `<key>._SUCCESS`, a prefix against
//! `<prefix>/_SUCCESS`. Objects are downloaded and hashed as they stream.

use futures_util::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;

use super::{ObjectUrl, Store, StoreOptions, block_on, store_error};
use crate::error::{Error, ErrorKind, Result, Step};
use crate::hash::ContentHasher;
use crate::manifest::{self, DirManifest, Manifest};
use crate::verify::{Verified, VerifiedDir};

/// Checks the object at `url` against its `<key>._SUCCESS` manifest: size and content hash.
pub fn verify_object(url: &ObjectUrl, options: &StoreOptions) -> Result<Verified> {
    let store = Store::connect(url, options)?;
    let fail = |message: String| {
        Error::new(
            ErrorKind::Verification,
            Step::Verify,
            url.as_path(),
            message,
        )
    };
    if url.file_name().is_none() {
        return Err(fail("not an object URL (no key)".into()));
    }
    let marker = url.marker();
    let manifest = match read(&store, &marker)? {
        Some(bytes) => Manifest::from_json(&bytes, &marker.as_path())?,
        None => {
            let directory = url.join(manifest::DIR_MARKER);
            let hint = if read(&store, &directory)?.is_some() {
                format!("; {directory} exists: to check the directory prefix, end the URL with `/`")
            } else {
                String::new()
            };
            return Err(fail(format!(
                "no _SUCCESS marker ({marker} does not exist){hint}"
            )));
        }
    };
    let Some((bytes, digest)) = hash_object(&store, url)? else {
        return Err(fail(
            "the object is missing but its _SUCCESS marker exists".into(),
        ));
    };
    if let Some(message) = crate::verify::mismatch(bytes, &digest, &manifest) {
        // A marker naming another ETag was written for another version of the object: a
        // compare-and-swap write published and has not yet replaced the marker, or died there.
        let now = block_on(store.objects.head(url.key()))
            .ok()
            .and_then(|meta| meta.e_tag);
        if let (Some(theirs), Some(now)) = (&manifest.e_tag, &now)
            && theirs.trim_matches('"') != now.trim_matches('"')
        {
            return Err(fail(format!(
                "{message}; the marker is stale: it was written for ETag {theirs}, the object is {now} (a write is publishing, or died between its publish and its marker)"
            )));
        }
        return Err(fail(message));
    }
    Ok(Verified {
        path: url.as_path(),
        marker: marker.as_path(),
        manifest,
    })
}

/// Checks the prefix `url` against `<prefix>/_SUCCESS`: every listed part present with the right
/// size and hash, and no other data object under the prefix (keys with a `.`/`_` segment are
/// not data).
pub fn verify_prefix(url: &ObjectUrl, options: &StoreOptions) -> Result<VerifiedDir> {
    let store = Store::connect(url, options)?;
    let fail = |message: String| {
        Error::new(
            ErrorKind::Verification,
            Step::Verify,
            url.as_path(),
            message,
        )
    };
    let marker = url.join(manifest::DIR_MARKER);
    let manifest = match read(&store, &marker)? {
        Some(bytes) => DirManifest::from_json(&bytes, &marker.as_path())?,
        None => {
            return Err(fail(format!(
                "no _SUCCESS manifest ({marker} does not exist)"
            )));
        }
    };
    for entry in &manifest.files {
        let part = url.join(&entry.path);
        match hash_object(&store, &part)? {
            None => {
                return Err(fail(format!(
                    "{} is listed in the manifest but missing",
                    entry.path
                )));
            }
            Some((bytes, digest)) if bytes != entry.bytes || digest != entry.hash => {
                return Err(fail(format!(
                    "{} does not match the manifest: {bytes} bytes {digest}, expected {} bytes {}",
                    entry.path, entry.bytes, entry.hash
                )));
            }
            Some(_) => {}
        }
    }
    let listed: std::collections::HashSet<_> = manifest
        .files
        .iter()
        .map(|entry| url.join(&entry.path).key().clone())
        .collect();
    let objects: Vec<_> = block_on(store.objects.list(Some(url.key())).try_collect())
        .map_err(|error| store_error(Step::Verify, url, error))?;
    let unlisted: Vec<String> = objects
        .into_iter()
        .map(|meta| meta.location)
        .filter(|key| !listed.contains(key))
        .filter_map(|key| {
            let relative: Vec<String> = key
                .prefix_match(url.key())?
                .map(|part| part.as_ref().to_owned())
                .collect();
            let hidden = relative
                .iter()
                .any(|part| part.starts_with('.') || part.starts_with('_'));
            (!hidden).then(|| relative.join("/"))
        })
        .collect();
    if !unlisted.is_empty() {
        return Err(fail(format!(
            "objects not in the manifest: {} (parts of an unfinished or older run; the next run deletes them)",
            unlisted.join(", ")
        )));
    }
    Ok(VerifiedDir {
        path: url.as_path(),
        manifest,
    })
}

/// The whole object, or `None` if it does not exist.
fn read(store: &Store, url: &ObjectUrl) -> Result<Option<bytes::Bytes>> {
    let found = match block_on(store.objects.get(url.key())) {
        Ok(found) => found,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(error) => return Err(store_error(Step::Verify, url, error)),
    };
    block_on(found.bytes())
        .map(Some)
        .map_err(|error| store_error(Step::Verify, url, error))
}

/// (size, hash) of the object streamed chunk by chunk, or `None` if it does not exist.
fn hash_object(store: &Store, url: &ObjectUrl) -> Result<Option<(u64, String)>> {
    block_on(async {
        let found = match store.objects.get(url.key()).await {
            Ok(found) => found,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(store_error(Step::Verify, url, error)),
        };
        let mut stream = found.into_stream();
        let mut hasher = ContentHasher::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|error| store_error(Step::Verify, url, error))?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(Some((size, hasher.finish())))
    })
}
