//! Input reading: a 1M-row CSV file read into Arrow batches by `atio::input` with 1..=N parser
//! threads, against arrow-csv's own reader on the same file (the baseline, measured in the
//! same run). Only the reading: no encoder, no output.
//!
//! `cargo bench --bench inputs [-- --quick]`. Ratio = arrow-csv's time / atio's (higher is
//! better; 1.00: as fast as the baseline). Medians of interleaved runs.

use std::fs::File;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatchReader;
use atio::input::{InputFormat, ReadOptions};

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let rows: u64 = if quick { 200_000 } else { 1_000_000 };
    let runs = if quick { 3 } else { 7 };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("bench dir");
    let path = dir.path().join("input.csv");
    {
        let mut writer = arrow::csv::Writer::new(File::create(&path).expect("input file"));
        for batch in atio::sample::batches(rows, atio::input::BATCH_ROWS) {
            writer.write(&batch).expect("CSV written");
        }
    }
    let size = std::fs::metadata(&path).expect("input file").len();
    // The schema atio infers, so both readers parse the same types.
    let schema = atio::input::open(&path, Some(InputFormat::Csv))
        .expect("readable")
        .schema();
    let counts: Vec<usize> = (1..=atio::default_threads().max(2)).collect();
    let baseline = || {
        let reader = arrow::csv::ReaderBuilder::new(Arc::clone(&schema))
            .with_header(true)
            .with_batch_size(atio::input::BATCH_ROWS)
            .build(File::open(&path).expect("input"))
            .expect("reader");
        reader
            .map(|batch| batch.expect("parsed").num_rows())
            .sum::<usize>()
    };
    let atio_read = |threads: usize| {
        let options = ReadOptions {
            format: Some(InputFormat::Csv),
            threads: Some(threads),
            ..ReadOptions::default()
        };
        let reader = atio::input::open_with(&path, &options).expect("reader");
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
    println!(
        "{rows} rows of CSV ({:.1} MB, i64, f64, 16-char string, bool, timestamp); median of {runs}",
        size as f64 / 1e6
    );
    println!("{:<24} {:>10} {:>6}", "reader", "time", "ratio");
    println!(
        "{:<24} {:>7.1} ms {:>6.2}",
        "arrow-csv (baseline)",
        ms(arrow_median),
        1.0
    );
    for (times, threads) in atio_times.iter_mut().zip(&counts) {
        let time = median(times);
        println!(
            "{:<24} {:>7.1} ms {:>6.2}",
            format!("atio::input ×{threads}"),
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
