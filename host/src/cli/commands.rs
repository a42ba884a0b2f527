//! One function per subcommand; each is a thin call into the library.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use arrow::array::RecordBatchIterator;

use super::args::{Cli, Command, PluginsCommand, WriteArgs};
use super::output;

pub fn dispatch(cli: &Cli) -> Result<ExitCode> {
    let global = &cli.global;
    match &cli.command {
        Command::Put { path } => put(path, cli),
        Command::Update { path, command } => update(path, command, cli),
        Command::Recover { dirs } => recover(dirs, cli),
        Command::Verify { paths } => verify(paths, cli),
        Command::Clean {
            dir,
            older_than,
            dry_run,
            recursive,
        } => {
            let options = atio::CleanOptions {
                older_than: *older_than,
                dry_run: *dry_run,
                recursive: *recursive,
            };
            let (report, what) = match atio::Location::parse(dir)? {
                atio::Location::Object(url) => (
                    atio::store::clean_prefix(&url, &options, &global.options().store)?,
                    "orphaned part(s)",
                ),
                atio::Location::Local(dir) => (atio::clean(&dir, &options)?, "staging file(s)"),
            };
            clean(&report, &options, what, global.json)
        }
        Command::Write(args) => write(args, cli),
        Command::Versions { path, verify } => super::versions::list(path, *verify, cli),
        Command::Rollback { path, to, tag } => {
            let selector = match (to, tag) {
                (Some(number), _) => atio::versions::Selector::Number(*number),
                (None, Some(tag)) => atio::versions::Selector::Tag(tag.clone()),
                (None, None) => atio::versions::Selector::Newest,
            };
            super::versions::rollback(path, &selector, cli)
        }
        Command::Tag {
            path,
            name,
            version,
            force,
            delete,
        } => super::versions::tag(path, name, *version, *force, *delete, cli),
        Command::Prune { path, keep } => super::versions::prune(path, *keep, cli),
        Command::Plugins(command) => plugins(command, global.json),
        Command::Demo { dir } => demo(dir, cli),
    }
}

/// Refuses an object-store URL for a command that only works on local paths.
pub(super) fn local_only(path: &Path, why: &str) -> Result<()> {
    if let atio::Location::Object(_) = atio::Location::parse(path)? {
        return Err(atio::Error::new(
            atio::ErrorKind::InvalidInput,
            atio::Step::Resolve,
            path,
            format!("not supported on object storage: {why}"),
        )
        .into());
    }
    Ok(())
}

/// stdin → PATH (or an object URL), atomically.
fn put(path: &Path, cli: &Cli) -> Result<ExitCode> {
    let mut file = atio::Output::create(path, &cli.global.options())?;
    let staging = file.staging();
    let uploaded = file.upload_progress();
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
        file.write_all(&buffer[..read])
            .map_err(|error| atio::Error::io(atio::Step::Write, &staging, error))?;
        bar.inc(read as u64);
        if let Some(uploaded) = &uploaded {
            bar.set_message(output::uploaded_message(uploaded));
        }
    }
    bar.finish_and_clear();
    let report = file.commit()?;
    output::report(&report, cli.global.json, cli.global.verbose);
    Ok(ExitCode::SUCCESS)
}

/// INPUT → encoder → OUTPUT, atomically.
fn write(args: &WriteArgs, cli: &Cli) -> Result<ExitCode> {
    let encoder = match (&args.plugin, &args.format) {
        (Some(plugin), _) => Some(atio::formats::EncoderChoice::PluginFile(plugin.clone())),
        (None, Some(format)) => Some(atio::formats::EncoderChoice::Format(format.clone())),
        (None, None) => None,
    };
    let options = atio::WriteOptions {
        commit: cli.global.options(),
        encoder,
        encoder_options: args.options.clone(),
        limits: args.limits.limits(),
        threads: args.threads.map(usize::from),
    };
    let read_options = atio::input::ReadOptions {
        format: args.input_format,
        infer_rows: args.infer_rows,
        threads: args.threads.map(usize::from),
    };
    let reader = atio::input::open_with(&args.input, &read_options)?;
    let object = matches!(
        atio::Location::parse(&args.output)?,
        atio::Location::Object(_)
    );
    let directory = !args.partition_by.is_empty()
        || args.output.as_os_str().as_encoded_bytes().ends_with(b"/")
        || (!object && args.output.is_dir());
    if directory {
        let mut options = atio::DatasetOptions {
            write: options,
            partition_by: args.partition_by.clone(),
            rows_per_file: args.rows_per_file,
            max_open_files: args.max_open_files,
        };
        options.write.commit.if_changed = args.if_changed;
        let report = atio::write_dataset(&args.output, reader, &options)?;
        output::dataset_report(&report, cli.global.json);
        return Ok(ExitCode::SUCCESS);
    }
    let bar = output::progress_bar(cli.global.progress, None);
    let report = atio::write_with_progress(&args.output, reader, &options, |progress| {
        bar.set_position(progress.bytes);
        match progress.uploaded {
            Some(uploaded) => bar.set_message(format!(
                "{} rows, {:.1} MiB uploaded",
                progress.rows,
                uploaded as f64 / f64::from(1 << 20)
            )),
            None => bar.set_message(format!("{} rows", progress.rows)),
        }
    })?;
    bar.finish_and_clear();
    output::report(&report, cli.global.json, cli.global.verbose);
    Ok(ExitCode::SUCCESS)
}

/// Runs `command` with the current content on stdin, commits its stdout if it exits 0 — all
/// under the target's lock.
fn update(path: &Path, command: &[String], cli: &Cli) -> Result<ExitCode> {
    local_only(path, "update holds a lock file next to the target")?;
    let options = atio::Options {
        lock: Some(cli.global.lock_timeout),
        ..cli.global.options()
    };
    let mut file = atio::AtomicFile::create(path, &options)?;
    let target = file.target_path().to_path_buf();
    let staging = file.staging_path().unwrap_or_default();
    let old = match std::fs::read(&target) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => return Err(atio::Error::io(atio::Step::Read, &target, error).into()),
    };
    let step_error = |message: String| {
        atio::Error::new(
            atio::ErrorKind::InvalidInput,
            atio::Step::Update,
            &target,
            message,
        )
    };
    let mut child = std::process::Command::new(&command[0])
        .args(&command[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|error| step_error(format!("cannot run `{}`: {error}", command[0])))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let feeder = std::thread::spawn(move || stdin.write_all(&old));
    let mut stdout = child.stdout.take().expect("stdout is piped");
    std::io::copy(&mut stdout, &mut file)
        .map_err(|error| atio::Error::io(atio::Step::Write, &staging, error))?;
    let status = child
        .wait()
        .map_err(|error| step_error(format!("waiting for `{}`: {error}", command[0])))?;
    // A command that does not read its stdin closes the pipe early: that is not a failure.
    let _ = feeder.join();
    if !status.success() {
        return Err(step_error(format!(
            "`{}` failed ({status}); the file is unchanged",
            command.join(" ")
        ))
        .into());
    }
    let report = file.commit()?;
    output::report(&report, cli.global.json, cli.global.verbose);
    Ok(ExitCode::SUCCESS)
}

fn plugins(command: &PluginsCommand, json: bool) -> Result<ExitCode> {
    match command {
        PluginsCommand::List => {
            let installed = atio::formats::installed()?;
            if json {
                let builtins = atio::formats::builtin_names();
                println!(
                    "{}",
                    serde_json::json!({"builtin": builtins, "installed": installed})
                );
                return Ok(ExitCode::SUCCESS);
            }
            for name in atio::formats::builtin_names() {
                println!("{name:<12} built-in");
            }
            for plugin in installed {
                println!(
                    "{:<12} installed  v{}  .{}  atio:encoder@{}  sha256:{}",
                    plugin.name,
                    plugin.version,
                    plugin.extensions.join(" ."),
                    plugin.contract_version,
                    &plugin.sha256[..16]
                );
            }
        }
        PluginsCommand::Add { file, limits } => {
            let installed = atio::formats::install(file, &limits.limits())?;
            if json {
                println!("{}", serde_json::to_string(&installed)?);
            } else {
                println!(
                    "installed {} v{} (.{})",
                    installed.name,
                    installed.version,
                    installed.extensions.join(" .")
                );
            }
        }
        PluginsCommand::Inspect { plugin, limits } => {
            let limits = limits.limits();
            let path = Path::new(plugin);
            let loaded = if plugin.ends_with(".wasm") || path.is_file() {
                atio::formats::load_file(path, &limits)?
            } else {
                atio::formats::load_format(plugin, &limits, Path::new(plugin))?
            };
            inspect(&loaded, json);
        }
        PluginsCommand::Remove { name } => {
            atio::formats::uninstall(name)?;
            if !json {
                println!("removed {name}");
            }
        }
        PluginsCommand::New { name, dir } => {
            super::template::new_plugin(name, dir.as_deref(), json)?
        }
        PluginsCommand::Warm { limits } => {
            let limits = limits.limits();
            let mut names: Vec<String> = atio::formats::builtin_names()
                .into_iter()
                .map(str::to_owned)
                .collect();
            names.extend(
                atio::formats::installed()?
                    .into_iter()
                    .map(|plugin| plugin.name),
            );
            for name in names {
                let plugin = atio::formats::load_format(&name, &limits, Path::new(&name))?;
                if !json {
                    println!(
                        "{name:<12} {:?} in {:.1} ms",
                        plugin.load_source,
                        plugin.load_time.as_secs_f64() * 1e3
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect(plugin: &atio::plugin::Plugin, json: bool) {
    if json {
        let value = serde_json::json!({
            "origin": plugin.origin,
            "info": plugin.info,
            "contract_version": plugin.contract_version,
            "exports_parts": plugin.exports_parts(),
            "imports": plugin.imports,
            "sha256": plugin.sha256,
        });
        println!("{value}");
        return;
    }
    let info = &plugin.info;
    println!("{} v{} ({})", info.name, info.version, info.media_type);
    println!("  origin      {}", plugin.origin.display());
    println!("  extensions  .{}", info.extensions.join(" ."));
    println!("  contract    atio:encoder@{}", plugin.contract_version);
    println!(
        "  parts       {}",
        if plugin.exports_parts() {
            "exported: one file on several instances (--threads) where its part encoder \
             accepts the schema and options"
        } else {
            "not exported: one session per file"
        }
    );
    println!("  sha256      {}", plugin.sha256);
    println!("  imports     {}", plugin.imports.join(", "));
    println!("  options");
    for option in &info.options {
        let default = option
            .default
            .as_deref()
            .map(|value| format!(" (default {value})"))
            .unwrap_or_default();
        println!("    {:<22} {}{default}", option.name, option.description);
    }
}

fn recover(dirs: &[std::path::PathBuf], cli: &Cli) -> Result<ExitCode> {
    for dir in dirs {
        local_only(
            dir,
            "an object prefix is committed by its manifest alone: nothing to recover",
        )?;
        let report = atio::recover_report(dir, &cli.global.options())?;
        if cli.global.json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            println!(
                "{}: {:?}: {}",
                dir.display(),
                report.recovery,
                report.detail
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(paths: &[std::path::PathBuf], cli: &Cli) -> Result<ExitCode> {
    let json = cli.global.json;
    let store = cli.global.options().store;
    let mut failed = None;
    for path in paths {
        let location = atio::Location::parse(path)?;
        let directory = match &location {
            atio::Location::Local(path) => path.is_dir(),
            atio::Location::Object(url) => url.is_prefix(),
        };
        let verify_dir = |path: &Path| match &location {
            atio::Location::Object(url) => atio::store::verify_prefix(url, &store),
            atio::Location::Local(_) => atio::verify_dir(path),
        };
        let verify_file = |path: &Path| match &location {
            atio::Location::Object(url) => atio::store::verify_object(url, &store),
            atio::Location::Local(_) => atio::verify(path),
        };
        // (manifest as JSON, one-line summary) of a file or a directory that matched.
        let checked = if directory {
            verify_dir(path).map(|verified| {
                let rows = verified
                    .manifest
                    .rows
                    .map_or("?".to_owned(), |rows| rows.to_string());
                let summary = format!(
                    "{} files, {rows} rows (run {})",
                    verified.manifest.files.len(),
                    verified.manifest.written_by.run_id
                );
                (serde_json::to_value(&verified.manifest), summary)
            })
        } else {
            verify_file(path).map(|verified| {
                let manifest = &verified.manifest;
                let summary = format!(
                    "{} bytes, {} (run {})",
                    manifest.bytes, manifest.hash, manifest.written_by.run_id
                );
                (serde_json::to_value(manifest), summary)
            })
        };
        match checked {
            Ok((manifest, _)) if json => println!(
                "{}",
                serde_json::json!({"path": path, "ok": true, "manifest": manifest?})
            ),
            Ok((_, summary)) => println!("ok {}: {summary}", path.display()),
            Err(error) => {
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"path": path, "ok": false, "kind": error.kind(), "error": error.to_string()})
                    );
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

/// Prints what `clean` did; `what` names the removed things (`staging file(s)`, …).
fn clean(
    report: &atio::CleanReport,
    options: &atio::CleanOptions,
    what: &str,
    json: bool,
) -> Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let verb = if options.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for (path, detail) in &report.recovered {
        println!("recovered {}: {detail}", path.display());
    }
    for path in &report.removed {
        println!("{verb} {}", path.display());
    }
    for (path, reason) in &report.kept {
        println!("kept {}: {reason}", path.display());
    }
    println!(
        "{verb} {} {what}, kept {}",
        report.removed.len(),
        report.kept.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes the sample dataset in every built-in format, verifies each file, prints the reports.
fn demo(dir: &Path, cli: &Cli) -> Result<ExitCode> {
    const ROWS: u64 = 200_000;
    let batches = atio::sample::batches(ROWS, atio::input::BATCH_ROWS);
    let schema = atio::sample::schema();
    for format in atio::formats::builtin_names() {
        let (batches, schema) = if format == "npy" {
            // NumPy holds one numeric type: write the `value` column as a 1-D float64 array.
            let column = schema.index_of("value")?;
            let projected: Vec<_> = batches
                .iter()
                .map(|batch| batch.project(&[column]))
                .collect::<Result<_, _>>()?;
            (projected, std::sync::Arc::new(schema.project(&[column])?))
        } else {
            (batches.clone(), schema.clone())
        };
        let path = dir.join(format!("sample.{format}"));
        let options = atio::WriteOptions {
            commit: cli.global.options(),
            ..atio::WriteOptions::default()
        };
        let reader = RecordBatchIterator::new(batches.into_iter().map(Ok), schema);
        let report = atio::write(&path, reader, &options)
            .with_context(|| format!("demo: writing {}", path.display()))?;
        output::report(&report, cli.global.json, cli.global.verbose);
        if report.marker.is_some() {
            atio::verify(&path).with_context(|| format!("demo: verifying {}", path.display()))?;
            if !cli.global.json {
                println!("  verified against its _SUCCESS manifest");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
