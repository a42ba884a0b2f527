//! Printing: reports as text or JSON, step timings, progress bars, logs.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Logs go to stderr; `--verbose` shows atio's debug spans, `RUST_LOG` overrides.
pub fn init_tracing(verbose: bool) {
    let default = if verbose { "atio=debug" } else { "atio=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Prints one committed file's report.
pub fn report(report: &atio::Report, json: bool, verbose: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(report).expect("reports serialise")
        );
        return;
    }
    let mut line = format!(
        "committed {}: {} bytes, {}",
        report.path.display(),
        report.bytes,
        report.hash
    );
    if let Some(rows) = report.rows {
        line.push_str(&format!(", {rows} rows"));
    }
    if let Some(format) = &report.format {
        line.push_str(&format!(", format {format}"));
    }
    match &report.e_tag {
        Some(e_tag) => line.push_str(&format!(", etag {e_tag}")),
        None => line.push_str(match report.durability {
            atio::Durability::Full => ", durability full",
            atio::Durability::None => ", durability none (not fsynced)",
        }),
    }
    println!("{line}");
    if let Some(marker) = &report.marker {
        println!("  marker {}", marker.display());
    }
    versions(report.kept_version, &report.pruned_versions);
    if verbose {
        if let Some(instances) = report.instances {
            eprintln!("  encoder instances  {instances:>10}");
        }
        timings(&report.timings);
    }
}

/// Prints one committed directory's (or partition's) line, and the versions it kept or pruned.
pub fn dir_report(report: &atio::DirReport) {
    let verb = if report.swapped {
        "committed"
    } else {
        "unchanged"
    };
    println!(
        "{verb} {}: {} files, {} rows ({})",
        report.path.display(),
        report.manifest.files.len(),
        report
            .manifest
            .rows
            .map_or("?".to_owned(), |rows| rows.to_string()),
        report.method
    );
    versions(report.kept_version, &report.pruned_versions);
}

/// The version a commit kept and the ones it pruned, if any.
fn versions(kept: Option<u64>, pruned: &[u64]) {
    if let Some(kept) = kept {
        println!("  previous content kept as version {kept} (`atio rollback` restores it)");
    }
    if !pruned.is_empty() {
        println!("  pruned versions {pruned:?}");
    }
}

/// Prints a directory / partitioned write's report.
pub fn dataset_report(report: &atio::DatasetReport, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string(report).expect("reports serialise")
        );
        return;
    }
    for partition in &report.partitions {
        dir_report(partition);
    }
    println!(
        "{} rows into {} partition(s) of {}",
        report.rows,
        report.partitions.len(),
        report.root.display()
    );
}

/// The step timings table (stderr, so stdout stays parseable).
pub fn timings(timings: &atio::StepTimings) {
    for (step, duration) in timings.rows() {
        eprintln!("  {step:<18} {:>10.3} ms", duration.as_secs_f64() * 1e3);
    }
}

/// The progress bar's note for an upload: how much the store has acknowledged.
pub fn uploaded_message(uploaded: &std::sync::atomic::AtomicU64) -> String {
    let bytes = uploaded.load(std::sync::atomic::Ordering::Relaxed);
    format!("{:.1} MiB uploaded", bytes as f64 / f64::from(1 << 20))
}

/// A byte-count progress bar on stderr, or a hidden one when not asked for or not a terminal.
pub fn progress_bar(enabled: bool, total: Option<u64>) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::no_length(),
    };
    let template = "{spinner} {bytes} written ({binary_bytes_per_sec}) {elapsed} {msg}";
    bar.set_style(ProgressStyle::with_template(template).expect("a valid progress template"));
    bar
}
