//! `atio versions`, `rollback`, `tag`, `prune`: thin layers over `atio::versions`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use atio::versions::{self, Selector};

use super::args::Cli;
use super::output;

pub fn list(path: &Path, verify: bool, cli: &Cli) -> Result<ExitCode> {
    let options = cli.global.options();
    let listed = if verify {
        versions::verify(path, &options)
    } else {
        versions::list(path, &options)
    };
    let listed = match listed {
        Ok(listed) => listed,
        Err(error) if error.kind() == atio::ErrorKind::Verification && verify => {
            if cli.global.json {
                println!(
                    "{}",
                    serde_json::json!({"path": path, "ok": false, "kind": error.kind(), "error": error.to_string()})
                );
            }
            return Err(error.into());
        }
        Err(error) => return Err(error.into()),
    };
    if cli.global.json {
        println!("{}", serde_json::to_string(&listed)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} ({} stored version(s) in {})",
        listed.target.display(),
        listed.versions.len(),
        listed.store.display()
    );
    println!(
        "{:>8}  {:<24}  {:>12}  {:>10}  {:<26}  {:<29}  tags",
        "version", "written", "bytes", "rows", "hash", "run id"
    );
    let cell = |value: Option<&str>| value.unwrap_or("-").to_owned();
    let short = |hash: &str| hash.chars().take(26).collect::<String>();
    if let Some(current) = &listed.current {
        println!(
            "{:>8}  {:<24}  {:>12}  {:>10}  {:<26}  {:<29}",
            "current",
            cell(current.written_at.as_deref()),
            current.bytes,
            cell(current.rows.map(|rows| rows.to_string()).as_deref()),
            short(current.hash.as_deref().unwrap_or("- (no marker)")),
            cell(current.run_id.as_deref()),
        );
    }
    for version in listed.versions.iter().rev() {
        let record = &version.record;
        let mut tags = record.tags.join(",");
        if version.current {
            tags = if tags.is_empty() {
                "(= current)".to_owned()
            } else {
                format!("{tags} (= current)")
            };
        }
        println!(
            "{:>8}  {:<24}  {:>12}  {:>10}  {:<26}  {:<29}  {tags}",
            version.number,
            cell(
                record
                    .written_at
                    .as_deref()
                    .or(Some(record.kept_at.as_str()))
            ),
            record.bytes,
            cell(record.rows.map(|rows| rows.to_string()).as_deref()),
            short(&record.hash),
            cell(record.run_id.as_deref()),
        );
    }
    if verify {
        println!("every stored version matches its record");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn rollback(path: &Path, selector: &Selector, cli: &Cli) -> Result<ExitCode> {
    let done = versions::rollback(path, selector, &cli.global.options())?;
    if cli.global.json {
        println!("{}", serde_json::to_string(&done)?);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(report) = &done.dir_report {
        println!(
            "restored version {} of {}",
            done.restored,
            done.path.display()
        );
        output::dir_report(report);
        return Ok(ExitCode::SUCCESS);
    }
    match &done.report {
        None => println!(
            "{}: version {} is already the current content; nothing changed",
            done.path.display(),
            done.restored
        ),
        Some(report) => {
            println!(
                "restored version {} of {}",
                done.restored,
                done.path.display()
            );
            output::report(report, false, cli.global.verbose);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn tag(
    path: &Path,
    name: &str,
    version: Option<u64>,
    force: bool,
    delete: bool,
    cli: &Cli,
) -> Result<ExitCode> {
    let options = cli.global.options();
    if delete {
        let version = versions::untag(path, name, &options)?;
        if cli.global.json {
            println!(
                "{}",
                serde_json::json!({"tag": name, "removed_from": version})
            );
        } else {
            println!("removed tag `{name}` from version {version}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = versions::tag(path, name, version, force, &options)?;
    if cli.global.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        match report.moved_from {
            Some(from) => println!(
                "tagged version {} `{}` (moved from version {from})",
                report.version, report.tag
            ),
            None => println!("tagged version {} `{}`", report.version, report.tag),
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn prune(path: &Path, keep: u32, cli: &Cli) -> Result<ExitCode> {
    let pruned = versions::prune(path, keep, &cli.global.options())?;
    if cli.global.json {
        println!("{}", serde_json::json!({"path": path, "pruned": pruned}));
    } else if pruned.is_empty() {
        println!("nothing to prune");
    } else {
        println!("pruned versions {pruned:?}");
    }
    Ok(ExitCode::SUCCESS)
}
