//! Which encoder writes an output: a built-in, an installed plugin, or a plugin file.
//!
//! Built-ins are embedded components (built by `build.rs`); installed plugins live in the plugin
//! directory as `<name>.wasm` with a `<name>.json` description; `--plugin FILE` loads any file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result, Step};
use crate::options::Options;
use crate::plugin::{Plugin, PluginLimits, cache, component_sha256};

include!(concat!(env!("OUT_DIR"), "/builtin_formats.rs"));

/// Extensions of the built-in formats (those of installed plugins come from their descriptions).
const BUILTIN_EXTENSIONS: &[(&str, &str)] = &[
    ("parquet", "parquet"),
    ("pq", "parquet"),
    ("csv", "csv"),
    ("jsonl", "jsonl"),
    ("ndjson", "jsonl"),
    ("arrow", "arrow"),
    ("feather", "arrow"),
    ("npy", "npy"),
];

/// How the caller picked the encoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncoderChoice {
    /// A built-in or installed format by name (`--format`).
    Format(String),
    /// A plugin component file (`--plugin FILE`).
    PluginFile(PathBuf),
}

/// An installed plugin's description, stored beside its `.wasm`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstalledPlugin {
    /// Format name.
    pub name: String,
    /// Encoder version.
    pub version: String,
    /// Extensions it claims.
    pub extensions: Vec<String>,
    /// sha256 of the component.
    pub sha256: String,
    /// The `atio:encoder` version it was built against.
    pub contract_version: String,
    /// The content hash (xxh3-128) of the installed `.wasm`: when the file still matches it,
    /// `sha256` is taken as the component's identity instead of being recomputed (a few
    /// milliseconds per load). Absent in descriptions written by older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
}

/// Names of the built-in formats.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(name, ..)| *name).collect()
}

/// The embedded component of a built-in format.
pub fn builtin_component(name: &str) -> Option<&'static [u8]> {
    BUILTINS
        .iter()
        .find(|(builtin, ..)| *builtin == name)
        .map(|(_, wasm, _)| *wasm)
}

/// The sha256 of a built-in format's embedded component, computed at build time.
pub fn builtin_sha256(name: &str) -> Option<&'static str> {
    BUILTINS
        .iter()
        .find(|(builtin, ..)| *builtin == name)
        .map(|(.., sha256)| *sha256)
}

/// Where installed plugins live: `$ATIO_PLUGIN_DIR`, else `$XDG_DATA_HOME/atio/plugins`, else
/// `~/.local/share/atio/plugins`.
pub fn plugin_dir() -> Option<PathBuf> {
    let non_empty = |name: &str| {
        std::env::var_os(name)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from)
    };
    non_empty("ATIO_PLUGIN_DIR")
        .or_else(|| non_empty("XDG_DATA_HOME").map(|dir| dir.join("atio").join("plugins")))
        .or_else(|| non_empty("HOME").map(|home| home.join(".local/share/atio/plugins")))
}

/// Every installed plugin's description.
pub fn installed() -> Result<Vec<InstalledPlugin>> {
    let Some(dir) = plugin_dir() else {
        return Ok(Vec::new());
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(Error::io(Step::LoadPlugin, &dir, error)),
    };
    let mut plugins = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|error| Error::io(Step::LoadPlugin, &dir, error))?
            .path();
        if path.extension().is_some_and(|ext| ext == "json")
            && !path.to_string_lossy().ends_with("._SUCCESS")
        {
            let text =
                std::fs::read(&path).map_err(|error| Error::io(Step::LoadPlugin, &path, error))?;
            let plugin: InstalledPlugin = serde_json::from_slice(&text).map_err(|error| {
                Error::new(
                    ErrorKind::Plugin,
                    Step::LoadPlugin,
                    &path,
                    format!("unreadable plugin description: {error}"),
                )
            })?;
            plugins.push(plugin);
        }
    }
    plugins.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(plugins)
}

/// Loads the encoder for `output`: the explicit choice, else the one its extension names.
pub fn resolve(
    choice: Option<&EncoderChoice>,
    output: &Path,
    limits: &PluginLimits,
) -> Result<Arc<Plugin>> {
    match choice {
        Some(EncoderChoice::PluginFile(path)) => load_file(path, limits),
        Some(EncoderChoice::Format(name)) => load_format(name, limits, output),
        None => {
            let name = format_for_path(output)?;
            load_format(&name, limits, output)
        }
    }
}

/// Loads a plugin component from a file. Bytes loaded before are known by their content hash
/// (their sha256 is remembered in the compile cache); new bytes are hashed with sha256.
pub fn load_file(path: &Path, limits: &PluginLimits) -> Result<Arc<Plugin>> {
    let wasm = std::fs::read(path).map_err(|error| Error::io(Step::LoadPlugin, path, error))?;
    let content_hash = crate::hash::hash_bytes(&wasm);
    if let Some(sha256) = cache::remembered_sha256(&content_hash)
        && let Ok(plugin) = Plugin::load_hashed(path, &wasm, &sha256, limits)
    {
        tracing::debug!(%sha256, "plugin file seen before: sha256 remembered by content hash");
        return Ok(plugin);
    }
    // Not seen before, or the record was wrong (its sha256 is checked before anything is
    // compiled under it): identify the bytes the slow way.
    let sha256 = component_sha256(&wasm);
    let plugin = Plugin::load_hashed(path, &wasm, &sha256, limits)?;
    cache::remember_sha256(&content_hash, &sha256);
    Ok(plugin)
}

/// Loads an installed plugin, trusting the sha256 its description recorded at install time only
/// while the file's content hash still matches the description.
fn load_installed(path: &Path, description: &Path, limits: &PluginLimits) -> Result<Arc<Plugin>> {
    let wasm = std::fs::read(path).map_err(|error| Error::io(Step::LoadPlugin, path, error))?;
    let recorded = std::fs::read(description)
        .ok()
        .and_then(|json| serde_json::from_slice::<InstalledPlugin>(&json).ok())
        .filter(|plugin| plugin.content_hash.as_deref() == Some(&*crate::hash::hash_bytes(&wasm)));
    match recorded {
        Some(plugin) => Plugin::load_hashed(path, &wasm, &plugin.sha256, limits),
        None => Plugin::load(path, &wasm, limits),
    }
}

/// Loads a format by name: built-in first, then installed.
pub fn load_format(name: &str, limits: &PluginLimits, output: &Path) -> Result<Arc<Plugin>> {
    if let Some((_, wasm, sha256)) = BUILTINS.iter().find(|(builtin, ..)| *builtin == name) {
        return Plugin::load_hashed(format!("builtin:{name}"), wasm, sha256, limits);
    }
    if let Some(dir) = plugin_dir() {
        let path = dir.join(format!("{name}.wasm"));
        if path.exists() {
            return load_installed(&path, &dir.join(format!("{name}.json")), limits);
        }
    }
    Err(unknown_format(output, &format!("unknown format `{name}`")))
}

/// The format an output path's extension names.
pub fn format_for_path(output: &Path) -> Result<String> {
    let extension = output
        .extension()
        .and_then(|ext| ext.to_str())
        .map(str::to_ascii_lowercase);
    let Some(extension) = extension else {
        return Err(unknown_format(
            output,
            "the output has no extension to pick a format by; pass --format",
        ));
    };
    if let Some((_, format)) = BUILTIN_EXTENSIONS.iter().find(|(ext, _)| *ext == extension) {
        return Ok((*format).to_owned());
    }
    let claimants: Vec<String> = installed()?
        .into_iter()
        .filter(|plugin| {
            plugin
                .extensions
                .iter()
                .any(|ext| ext.eq_ignore_ascii_case(&extension))
        })
        .map(|plugin| plugin.name)
        .collect();
    match claimants.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(unknown_format(
            output,
            &format!("no format writes `.{extension}` files; pass --format"),
        )),
        many => Err(unknown_format(
            output,
            &format!(
                "`.{extension}` is claimed by several plugins ({}); pass --format",
                many.join(", ")
            ),
        )),
    }
}

fn unknown_format(output: &Path, why: &str) -> Error {
    let mut known: Vec<String> = builtin_names().into_iter().map(str::to_owned).collect();
    known.extend(
        installed()
            .unwrap_or_default()
            .into_iter()
            .map(|plugin| plugin.name),
    );
    Error::new(
        ErrorKind::UnsupportedFormat,
        Step::Resolve,
        output,
        format!("{why} (known formats: {})", known.join(", ")),
    )
}

/// Installs a plugin file into the plugin directory (validated by loading it first).
pub fn install(path: &Path, limits: &PluginLimits) -> Result<InstalledPlugin> {
    let wasm = std::fs::read(path).map_err(|error| Error::io(Step::LoadPlugin, path, error))?;
    let plugin = Plugin::load(path, &wasm, limits)?;
    let name = &plugin.info.name;
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_name || builtin_component(name).is_some() {
        let why = if valid_name {
            "is a built-in format"
        } else {
            "is not a valid format name (letters, digits, - and _)"
        };
        return Err(Error::new(
            ErrorKind::Conflict,
            Step::LoadPlugin,
            path,
            format!("the plugin's name `{name}` {why}"),
        ));
    }
    let dir = plugin_dir().ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            Step::LoadPlugin,
            path,
            "no plugin directory: set ATIO_PLUGIN_DIR or HOME",
        )
    })?;
    let description = InstalledPlugin {
        name: name.clone(),
        version: plugin.info.version.clone(),
        extensions: plugin.info.extensions.clone(),
        sha256: plugin.sha256.clone(),
        contract_version: plugin.contract_version.clone(),
        content_hash: Some(crate::hash::hash_bytes(&wasm)),
    };
    let options = Options {
        marker: false,
        ..Options::default()
    };
    crate::write_bytes(dir.join(format!("{name}.wasm")), &wasm, &options)?;
    let json = serde_json::to_vec_pretty(&description).expect("descriptions serialise");
    crate::write_bytes(dir.join(format!("{name}.json")), &json, &options)?;
    Ok(description)
}

/// Removes an installed plugin.
pub fn uninstall(name: &str) -> Result<()> {
    let dir = plugin_dir().ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            Step::LoadPlugin,
            name,
            "no plugin directory",
        )
    })?;
    let description = dir.join(format!("{name}.json"));
    if !description.exists() {
        return Err(Error::new(
            ErrorKind::NotFound,
            Step::LoadPlugin,
            &description,
            format!("no installed plugin `{name}`"),
        ));
    }
    crate::commit::remove_file(&description, &Options::default())?;
    crate::commit::remove_file(dir.join(format!("{name}.wasm")), &Options::default())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sha2::Digest;

    #[test]
    fn built_in_hashes_computed_at_build_time_match_their_bytes() {
        for (name, wasm, sha256) in super::BUILTINS {
            assert_eq!(hex::encode(sha2::Sha256::digest(wasm)), *sha256, "{name}");
        }
    }
}
