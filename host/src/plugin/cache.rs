//! The compile cache: `.cwasm` files keyed by the plugin's sha256 and the engine's compatibility
//! hash, written through atio's own commit engine, checked against their manifest before use.
//!
//! Compiling a Parquet encoder takes seconds; loading a cached one, milliseconds. A cache entry
//! whose bytes do not match its `_SUCCESS` manifest (truncated, bit-flipped, half-written by an
//! older tool) or that wasmtime refuses (another wasmtime version) is recompiled, never trusted.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::options::Options;

/// Where compiled plugins are cached: `$ATIO_CACHE_DIR`, else `$XDG_CACHE_HOME/atio/plugins`,
/// else `~/.cache/atio/plugins`. `None` when none can be determined (then nothing is cached).
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("ATIO_CACHE_DIR").filter(|dir| !dir.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|dir| !dir.is_empty())
                .map(|home| PathBuf::from(home).join(".cache"))
        })?;
    Some(base.join("atio").join("plugins"))
}

fn entry_path(engine: &Engine, sha256: &str) -> Option<PathBuf> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    Some(cache_dir()?.join(format!("{sha256}-{:016x}.cwasm", hasher.finish())))
}

fn sha256_index_path(content_hash: &str) -> Option<PathBuf> {
    let (_, hex) = content_hash.split_once(':')?;
    Some(cache_dir()?.join(format!("{hex}.sha256")))
}

/// The sha256 remembered (by [`remember_sha256`]) for the plugin file with this content hash.
pub fn remembered_sha256(content_hash: &str) -> Option<String> {
    let text = std::fs::read_to_string(sha256_index_path(content_hash)?).ok()?;
    let sha256 = text.trim();
    let well_formed = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| sha256.to_owned())
}

/// Remembers the sha256 of a plugin file that loaded, under its content hash. Only a cache
/// entry compiled from the bytes themselves is ever stored under a sha256, so a wrong or
/// tampered record can at worst name other cached code, never plant any.
pub(crate) fn remember_sha256(content_hash: &str, sha256: &str) {
    let Some(path) = sha256_index_path(content_hash) else {
        return;
    };
    let options = Options {
        durability: crate::Durability::None,
        marker: false,
        ..Options::default()
    };
    if let Err(error) = crate::write_bytes(&path, sha256.as_bytes(), &options) {
        tracing::warn!("not remembering the plugin's sha256: {error}");
    }
}

/// How a component was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoadSource {
    /// Deserialised from a verified cache entry.
    Cache,
    /// Compiled now (and cached, when a cache directory is available).
    Compiled,
}

/// A verified cache entry for the component whose sha256 is `sha256`, if there is one.
pub(crate) fn cached(engine: &Engine, sha256: &str) -> Option<Component> {
    load_verified(engine, &entry_path(engine, sha256)?)
}

/// Compiles a component and caches it under `sha256`, which the caller has checked is the
/// sha256 of `wasm`: an entry is only ever written under its component's true identity.
pub(crate) fn compile(engine: &Engine, wasm: &[u8], sha256: &str) -> wasmtime::Result<Component> {
    let component = Component::new(engine, wasm)?;
    if let Some(entry) = entry_path(engine, sha256) {
        match component.serialize() {
            Ok(bytes) => {
                // A cache that cannot be written costs speed, not correctness.
                let options = Options {
                    durability: crate::Durability::None,
                    ..Options::default()
                };
                if let Err(error) = crate::write_bytes(&entry, &bytes, &options) {
                    tracing::warn!("not caching the compiled plugin: {error}");
                }
            }
            Err(error) => tracing::warn!("not caching the compiled plugin: {error}"),
        }
    }
    Ok(component)
}

fn load_verified(engine: &Engine, entry: &std::path::Path) -> Option<Component> {
    let marker = entry.with_file_name(crate::manifest::marker_name(entry.file_name()?));
    let manifest =
        crate::manifest::Manifest::from_json(&std::fs::read(&marker).ok()?, &marker).ok()?;
    // Hash through a small reused buffer (no 20 MB allocation), then let wasmtime map the file.
    let (bytes, hash) = crate::hash::hash_reader(std::fs::File::open(entry).ok()?).ok()?;
    if bytes != manifest.bytes || hash != manifest.hash {
        tracing::warn!(
            "recompiling: cache entry {} does not match its manifest",
            entry.display()
        );
        return None;
    }
    // SAFETY: `Component::deserialize_file` trusts the file to be wasmtime's own output and to
    // stay unchanged while mapped. It is: entries are written by `Component::serialize` through
    // atio's commit engine (a new inode renamed into place, never modified afterwards), and the
    // content just hashed matches the manifest written with it, so a truncated or corrupted
    // entry never reaches this call. wasmtime itself rejects entries from another version or
    // configuration.
    #[allow(unsafe_code)]
    let component = unsafe { Component::deserialize_file(engine, entry) };
    match component {
        Ok(component) => Some(component),
        Err(error) => {
            tracing::warn!(
                "recompiling: wasmtime refused cache entry {}: {error}",
                entry.display()
            );
            None
        }
    }
}
