//! `atio plugins new NAME [--dir DIR]`: a new Rust encoder plugin crate, from the template
//! embedded from `host/templates/plugin/`.
//!
//! The crate is staged next to DIR and committed as one unit by atio's own directory commit, so
//! DIR either appears complete or not at all.

use std::path::{Path, PathBuf};

use anyhow::Result;
use atio::{Error, ErrorKind, Step};

/// (path in the new crate, template text). `{{name}}`, `{{crate_name}}` and `{{sdk_dependency}}`
/// are replaced. Template files end in `.in` so that cargo and rustup ignore them in atio's tree.
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/plugin/Cargo.toml.in"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/plugin/lib.rs.in"),
    ),
    (
        ".cargo/config.toml",
        include_str!("../../templates/plugin/cargo-config.toml.in"),
    ),
    (
        "rust-toolchain.toml",
        include_str!("../../templates/plugin/rust-toolchain.toml.in"),
    ),
    (
        "README.md",
        include_str!("../../templates/plugin/README.md.in"),
    ),
    (
        ".gitignore",
        include_str!("../../templates/plugin/gitignore.in"),
    ),
];

/// The SDK in the atio checkout this binary was built from.
const BUILT_FROM_SDK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../guest-formats/sdk");

/// Where the SDK dependency points when no checkout is found: a placeholder to edit.
const SDK_PLACEHOLDER: &str = "# Placeholder: no atio checkout was found (set ATIO_SDK_DIR to its guest-formats/sdk and\n\
     # run `atio plugins new` again, or point this at your copy of the atio repository).\n\
     atio-encoder-sdk = { git = \"https://example.invalid/atio\" }";

/// Creates the plugin crate `name` in `dir` (default `./NAME`) and prints what to do next.
pub fn new_plugin(name: &str, dir: Option<&Path>, json: bool) -> Result<()> {
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    check_name(name, &dir)?;
    if std::fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_some()) || dir.is_file() {
        return Err(Error::new(
            ErrorKind::Conflict,
            Step::CreateDir,
            &dir,
            "already exists and is not empty; pick another --dir",
        )
        .into());
    }
    let sdk = find_sdk()?;
    let crate_name = name.replace('-', "_");
    let sdk_dependency = match &sdk {
        Some(path) => format!(
            "atio-encoder-sdk = {{ path = {:?} }}",
            path.display().to_string()
        ),
        None => SDK_PLACEHOLDER.to_owned(),
    };
    // Staged beside DIR and swapped in as one unit by the commit engine (no manifest inside).
    let options = atio::Options {
        marker: false,
        ..atio::Options::default()
    };
    let mut staged = atio::StagedDir::create(&dir, &options)?;
    for (path, template) in FILES {
        let text = template
            .replace("{{name}}", name)
            .replace("{{crate_name}}", &crate_name)
            .replace("{{sdk_dependency}}", &sdk_dependency);
        staged.add_bytes(path, text.as_bytes())?;
    }
    // The SDK workspace's lock file pins the dependency versions the SDK was tested with (cargo
    // drops the entries this crate does not use).
    if let Some(lock) = sdk
        .as_ref()
        .and_then(|sdk| sdk.parent())
        .map(|ws| ws.join("Cargo.lock"))
        && let Ok(bytes) = std::fs::read(&lock)
    {
        staged.add_bytes("Cargo.lock", &bytes)?;
    }
    staged.commit()?;
    let wasm = dir.join(format!("target/wasm32-wasip2/release/{crate_name}.wasm"));
    if json {
        println!(
            "{}",
            serde_json::json!({"name": name, "dir": dir, "sdk": sdk, "wasm": wasm})
        );
        return Ok(());
    }
    println!("created plugin crate `{name}` in {}", dir.display());
    match &sdk {
        Some(path) => println!("  SDK: {}", path.display()),
        None => println!(
            "  SDK: not found; edit the placeholder in {}",
            dir.join("Cargo.toml").display()
        ),
    }
    println!("next:");
    println!("  cd {}", dir.display());
    println!("  cargo build --release");
    println!("  cargo test --target x86_64-unknown-linux-gnu");
    println!("  atio plugins inspect {}", wasm.display());
    Ok(())
}

/// Format names are what `--format` takes and the crate name: `my-format`, `tsv2`.
fn check_name(name: &str, dir: &Path) -> Result<()> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            Step::CreateDir,
            dir,
            format!(
                "invalid plugin name `{name}`: use lower-case letters, digits and `-`, starting with a letter (e.g. `my-format`)"
            ),
        )
        .into())
    }
}

/// `$ATIO_SDK_DIR` (which must hold the SDK), else the SDK of the checkout this binary was built
/// from if it still exists, else none (the placeholder).
fn find_sdk() -> Result<Option<PathBuf>> {
    let is_sdk = |dir: &Path| dir.join("Cargo.toml").is_file();
    if let Some(dir) = std::env::var_os("ATIO_SDK_DIR").filter(|value| !value.is_empty()) {
        let dir = PathBuf::from(dir);
        return match dir.canonicalize() {
            Ok(sdk) if is_sdk(&sdk) => Ok(Some(sdk)),
            _ => Err(Error::new(
                ErrorKind::NotFound,
                Step::Resolve,
                &dir,
                "ATIO_SDK_DIR does not name the SDK crate (guest-formats/sdk of an atio checkout)",
            )
            .into()),
        };
    }
    Ok(Path::new(BUILT_FROM_SDK)
        .canonicalize()
        .ok()
        .filter(|sdk| is_sdk(sdk)))
}
