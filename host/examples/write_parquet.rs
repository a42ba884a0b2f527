//! Using atio as a library: any input atio reads (CSV, JSON lines, Parquet, Arrow IPC) written
//! as Parquet, all-or-nothing, encoded on every core in sandboxed instances, keeping the
//! previous content as a version that `atio rollback` can restore.
//!
//! ```sh
//! cargo run --example write_parquet -- in.csv out/data.parquet
//! cargo run -- versions out/data.parquet    # after a second run: version 1 is the first file
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: write_parquet INPUT OUTPUT.parquet");
        return ExitCode::from(2);
    };
    match write(input, output) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The error names the path and the step (read, encode, fsync, rename, ...); the
            // previous content of OUTPUT is intact and no staging file is left.
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}

fn write(input: &str, output: &str) -> atio::Result<()> {
    let source = atio::input::open(std::path::Path::new(input), None)?;
    let options = atio::WriteOptions {
        commit: atio::Options {
            keep_versions: Some(5),
            ..atio::Options::default()
        },
        encoder_options: vec![("compression".into(), "gzip".into())],
        // `None` would use every core; the bytes are the same for any count.
        threads: Some(atio::default_threads()),
        ..atio::WriteOptions::default()
    };
    let report = atio::write(output, source, &options)?;
    println!(
        "{}: {} rows, {} bytes, {}, on {} instance(s)",
        report.path.display(),
        report.rows.unwrap_or(0),
        report.bytes,
        report.hash,
        report.instances.unwrap_or(1),
    );
    if let Some(version) = report.kept_version {
        println!("  the content it replaced is version {version} (atio rollback restores it)");
    }
    Ok(())
}
