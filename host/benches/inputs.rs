//! Input reading: a 1M-row CSV file and the same rows as JSON lines, read into Arrow batches by
//! `atio::input` with 1..=N parser threads, against arrow-rs's own reader of the format on the
//! same file (the baseline, measured in the same run). Only the reading: no encoder, no output.
//!
//! `cargo bench --bench inputs [-- --quick]`. Ratio = arrow-rs's time / atio's (higher is
//! better; 1.00: as fast as the baseline). Medians of interleaved runs.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::record_batch::RecordBatchReader;
use atio::input::{InputFormat, ReadOptions};

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let rows: u64 = if quick { 200_000 } else { 1_000_000 };
    let runs = if quick { 3 } else { 7 };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("bench dir");
    let batches = atio::sample::batches(rows, atio::input::BATCH_ROWS);
    let csv = dir.path().join("input.csv");
    let jsonl = dir.path().join("input.jsonl");
    {
        let mut writer = arrow::csv::Writer::new(File::create(&csv).expect("input file"));
        for batch in &batches {
            writer.write(batch).expect("CSV written");
        }
        let mut writer =
            arrow::json::LineDelimitedWriter::new(File::create(&jsonl).expect("input"));
        for batch in &batches {
            writer.write(batch).expect("JSON lines written");
        }
        writer.finish().expect("JSON lines written");
    }
    println!("{rows} rows (i64, f64, 16-char string, bool, timestamp); median of {runs}");
    println!("{:<28} {:>10} {:>6}", "reader", "time", "ratio");
    for (format, path) in [(InputFormat::Csv, &csv), (InputFormat::Jsonl, &jsonl)] {
        compare(format, path, rows, runs);
    }
}

/// Reads `path` with arrow-rs's reader and with atio at 1..=N threads, interleaved; prints
/// each median and its ratio to arrow-rs's.
fn compare(format: InputFormat, path: &Path, rows: u64, runs: usize) {
    let size = std::fs::metadata(path).expect("input file").len();
    // The schema atio infers, so both readers parse the same types.
    let schema = atio::input::open(path, Some(format))
        .expect("readable")
        .schema();
    let counts: Vec<usize> = (1..=atio::default_threads().max(2)).collect();
    let baseline = || -> usize {
        let file = BufReader::new(File::open(path).expect("input"));
        let batch_rows = atio::input::BATCH_ROWS;
        let count = |batch: Result<RecordBatch, _>| batch.expect("parsed").num_rows();
        match format {
            InputFormat::Csv => arrow::csv::ReaderBuilder::new(Arc::clone(&schema))
                .with_header(true)
                .with_batch_size(batch_rows)
                .build_buffered(file)
                .expect("reader")
                .map(count)
                .sum(),
            // The settings atio reads JSON lines with, so both do the same work.
            _ => arrow::json::ReaderBuilder::new(Arc::clone(&schema))
                .with_batch_size(batch_rows)
                .with_strict_mode(true)
                .with_coerce_primitive(true)
                .build(file)
                .expect("reader")
                .map(count)
                .sum(),
        }
    };
    let atio_read = |threads: usize| {
        let options = ReadOptions {
            format: Some(format),
            threads: Some(threads),
            ..ReadOptions::default()
        };
        let reader = atio::input::open_with(path, &options).expect("reader");
        reader
            .map(|batch| batch.expect("parsed").num_rows())
            .sum::<usize>()
    };
    let mut arrow_times = Vec::new();
    let mut atio_times = vec![Vec::new(); counts.len()];
    for _ in 0..runs {
        arrow_times.push(timed(|| assert_eq!(baseline() as u64, rows)));
        for (times, &threads) in atio_times.iter_mut().zip(&counts) {
            times.push(timed(|| assert_eq!(atio_read(threads) as u64, rows)));
        }
    }
    let arrow_median = median(&mut arrow_times);
    let name = format!("{format:?}").to_lowercase();
    let label = format!("{name} ({:.1} MB)", size as f64 / 1e6);
    println!(
        "{:<28} {:>7.1} ms {:>6.2}",
        format!("{label}: arrow-rs"),
        ms(arrow_median),
        1.0
    );
    for (times, threads) in atio_times.iter_mut().zip(&counts) {
        let time = median(times);
        println!(
            "{:<28} {:>7.1} ms {:>6.2}",
            format!("{name}: atio::input ×{threads}"),
            ms(time),
            arrow_median.as_secs_f64() / time.as_secs_f64()
        );
    }
}

fn timed(run: impl FnOnce()) -> Duration {
    let started = Instant::now();
    run();
    started.elapsed()
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(time: Duration) -> f64 {
    time.as_secs_f64() * 1e3
}
