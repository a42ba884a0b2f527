//! Builds the built-in encoders (and the hostile test plugins) in `guest-formats/` for
//! wasm32-wasip2 with a nested cargo, so a plain `cargo build` works on a fresh clone. The
//! built-ins are embedded in the library with `include_bytes!`.
//!
//! The nested build has its own target directory (`target/guest-formats`), shared by every host
//! profile, and shares this build's jobserver so the two never oversubscribe the machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::Digest;

/// (format name, package name) of every built-in encoder.
const BUILTINS: &[(&str, &str)] = &[
    ("parquet", "atio_format_parquet"),
    ("csv", "atio_format_csv"),
    ("jsonl", "atio_format_jsonl"),
    ("arrow", "atio_format_arrow"),
    ("npy", "atio_format_npy"),
];

fn main() {
    let host_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let root = host_dir
        .parent()
        .expect("host/ lives in the workspace root");
    let guest_dir = root.join("guest-formats");
    let target_dir = std::env::var_os("ATIO_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target").join("guest-formats"));
    for watched in [
        "guest-formats/Cargo.toml",
        "guest-formats/Cargo.lock",
        "wit",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    for member in [
        "sdk",
        "parquet",
        "csv",
        "jsonl",
        "arrow",
        "npy",
        "test-plugins",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            guest_dir.join(member).display()
        );
    }
    println!("cargo:rerun-if-env-changed=ATIO_GUEST_ZSTD");
    println!("cargo:rerun-if-env-changed=ATIO_GUEST_TARGET_DIR");

    build_guests(&guest_dir, &target_dir);
    // Tests check zstd round trips when it is compiled in, and the clear refusal otherwise.
    println!(
        "cargo:rustc-env=ATIO_GUEST_ZSTD={}",
        if zstd_requested() { "1" } else { "0" }
    );

    let out_dir = target_dir.join("wasm32-wasip2").join("release");
    // The guest target directory is shared by every host profile and configuration (a bench
    // build without zstd rewrites the same files), so each build embeds its own copy, hashed
    // here once: the bytes and their sha256 always come from the same read.
    let build_out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut generated = String::from(
        "/// (format name, component bytes, sha256) of every built-in encoder.\npub(crate) const BUILTINS: &[(&str, &[u8], &str)] = &[\n",
    );
    for (format, package) in BUILTINS {
        let wasm = out_dir.join(format!("{package}.wasm"));
        assert!(
            wasm.exists(),
            "the guest build did not produce {}",
            wasm.display()
        );
        let bytes = std::fs::read(&wasm).expect("reading a built guest");
        let sha256 = format!("{:x}", sha2::Sha256::digest(&bytes));
        let embedded = build_out.join(format!("{package}.wasm"));
        std::fs::write(&embedded, &bytes).expect("copying a built guest");
        generated.push_str(&format!(
            "    ({format:?}, include_bytes!({:?}), {sha256:?}),\n",
            embedded.display().to_string()
        ));
    }
    generated.push_str("];\n");
    let generated_path = build_out.join("builtin_formats.rs");
    std::fs::write(&generated_path, generated).expect("writing builtin_formats.rs");
    // The hostile plugins the integration tests load.
    println!("cargo:rustc-env=ATIO_GUEST_WASM_DIR={}", out_dir.display());
}

fn build_guests(guest_dir: &Path, target_dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(guest_dir).args([
        "build",
        "--release",
        "--workspace",
        "--target",
        "wasm32-wasip2",
    ]);
    if zstd_requested() {
        // zstd is C: compiling it for wasm32-wasip2 needs clang, freestanding.
        command.args(["--features", "atio-format-parquet/zstd"]);
        command.env("CC_wasm32_wasip2", "clang");
        command.env("CFLAGS_wasm32_wasip2", "-ffreestanding");
    }
    // The outer build's settings are for the host, not for wasm32-wasip2 (keep the jobserver).
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        let host_only =
            (key.starts_with("CARGO_") && key != "CARGO_HOME" && key != "CARGO_MAKEFLAGS")
                || matches!(
                    &*key,
                    "RUSTC"
                        | "RUSTC_WRAPPER"
                        | "RUSTC_WORKSPACE_WRAPPER"
                        | "RUSTC_LINKER"
                        | "RUSTDOC"
                        | "RUSTFLAGS"
                        | "TARGET"
                        | "HOST"
                        | "OUT_DIR"
                        | "PROFILE"
                        | "OPT_LEVEL"
                        | "DEBUG"
                        | "NUM_JOBS"
                );
        if host_only {
            command.env_remove(&*key);
        }
    }
    // Set after the loop above, which removes the outer build's CARGO_TARGET_DIR (when the outer
    // build was given one) and would take this one with it.
    command.env("CARGO_TARGET_DIR", target_dir);
    let status = command.status().expect("running cargo for guest-formats");
    assert!(
        status.success(),
        "building guest-formats for wasm32-wasip2 failed ({status}); see the output above"
    );
}

/// `ATIO_GUEST_ZSTD=1` compiles zstd into the Parquet encoder (needs clang; `.ci/run` sets it).
fn zstd_requested() -> bool {
    std::env::var_os("ATIO_GUEST_ZSTD").is_some_and(|value| value == "1")
}
