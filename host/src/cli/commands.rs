//! One function per subcommand; each is a thin call into the library.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::args::{Cli, Command};
use super::output;

pub fn dispatch(cli: &Cli) -> Result<ExitCode> {
    let global = &cli.global;
    match &cli.command {
        Command::Put { path } => put(path, cli),
        Command::Verify { paths } => verify(paths, global.json),
        Command::Clean { dir, older_than, dry_run, recursive } => {
            let options = atio::CleanOptions { older_than: *older_than, dry_run: *dry_run, recursive: *recursive };
            clean(dir, &options, global.json)
        }
        Command::Demo { dir } => demo(dir, cli),
    }
}

/// stdin → PATH, atomically.
fn put(path: &Path, cli: &Cli) -> Result<ExitCode> {
    let mut file = atio::AtomicFile::create(path, &cli.global.options())?;
    let staging = file.staging_path().unwrap_or_default();
    let bar = output::progress_bar(cli.global.progress, None);
    let mut stdin = std::io::stdin().lock();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = match stdin.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(atio::Error::io(atio::Step::Read, "<stdin>", error).into()),
        };
        file.write_all(&buffer[..read]).map_err(|error| atio::Error::io(atio::Step::Write, &staging, error))?;
        bar.inc(read as u64);
    }
    bar.finish_and_clear();
    let report = file.commit()?;
    output::report(&report, cli.global.json, cli.global.verbose);
    Ok(ExitCode::SUCCESS)
}

fn verify(paths: &[std::path::PathBuf], json: bool) -> Result<ExitCode> {
    let mut failed = None;
    for path in paths {
        match atio::verify(path) {
            Ok(verified) if json => println!("{}", serde_json::json!({"path": path, "ok": true, "manifest": verified.manifest})),
            Ok(verified) => println!(
                "ok {}: {} bytes, {} (run {})",
                path.display(),
                verified.manifest.bytes,
                verified.manifest.hash,
                verified.manifest.run_id
            ),
            Err(error) => {
                if json {
                    println!("{}", serde_json::json!({"path": path, "ok": false, "kind": error.kind(), "error": error.to_string()}));
                }
                eprintln!("atio: FAILED {error}");
                failed.get_or_insert(error);
            }
        }
    }
    match failed {
        None => Ok(ExitCode::SUCCESS),
        Some(error) => Ok(ExitCode::from(error.kind().exit_code())),
    }
}

fn clean(dir: &Path, options: &atio::CleanOptions, json: bool) -> Result<ExitCode> {
    let report = atio::clean(dir, options)?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if options.dry_run { "would remove" } else { "removed" };
    for path in &report.removed {
        println!("{verb} {}", path.display());
    }
    for (path, reason) in &report.kept {
        println!("kept {}: {reason}", path.display());
    }
    println!("{verb} {} staging file(s), kept {}", report.removed.len(), report.kept.len());
    Ok(ExitCode::SUCCESS)
}

/// Writes a sample dataset atomically, verifies it, and prints the reports.
fn demo(dir: &Path, cli: &Cli) -> Result<ExitCode> {
    let options = cli.global.options();
    let path = dir.join("sample.csv");
    let mut file = atio::AtomicFile::create(&path, &options)?;
    file.set_format("csv");
    let staging = file.staging_path().unwrap_or_default();
    let rows = 100_000u64;
    let mut text = String::from("id,value,label,flag\n");
    for id in 0..rows {
        text.push_str(&format!("{id},{:.3},item-{:08},{}\n", id as f64 * 0.5, id * 7 % 100_000, id % 3 == 0));
    }
    file.write_all(text.as_bytes()).map_err(|error| atio::Error::io(atio::Step::Write, &staging, error))?;
    file.set_rows(rows);
    let report = file.commit()?;
    output::report(&report, cli.global.json, cli.global.verbose);
    if options.marker {
        let verified = atio::verify(&path).with_context(|| format!("verifying {}", path.display()))?;
        if !cli.global.json {
            println!("verified {} against {}", path.display(), verified.marker.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
