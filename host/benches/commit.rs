//! Commit overhead: atio against the same bytes written by hand with the same durability.
//!
//! `cargo bench --bench commit [-- --quick]` prints a table of medians and ratios (atio / baseline;
//! lower is better, 1.00 means no overhead). Baselines:
//! - durability full: write + fsync(file) + rename + fsync(dir), by hand;
//! - durability none: plain `File::create` + write, no fsync (and no atomicity).
//!
//! Then 1 KiB files one by one vs group commit (files/s).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use atio::{AtomicFile, Durability, Options};

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("bench dir");
    let sizes: &[(usize, &str, usize)] = &[
        (1 << 10, "1 KiB", 200),
        (64 << 10, "64 KiB", 100),
        (1 << 20, "1 MiB", 40),
        (16 << 20, "16 MiB", 20),
        (256 << 20, "256 MiB", 7),
    ];
    println!("commit overhead (median of N runs; ratio = atio / baseline, lower is better)\n");
    println!(
        "{:<9} {:>4} | {:>12} {:>12} {:>7} {:>12} {:>7} | {:>12} {:>12} {:>7}",
        "size",
        "N",
        "full: hand",
        "atio",
        "ratio",
        "+marker",
        "ratio",
        "none: plain",
        "atio",
        "ratio"
    );
    for &(size, label, runs) in sizes {
        let runs = if quick { runs.min(3) } else { runs };
        if quick && size > 16 << 20 {
            continue;
        }
        let data = vec![0x5au8; size];
        let target = dir.path().join("target.bin");
        let full_no_marker = Options {
            marker: false,
            ..Options::default()
        };
        let none_no_marker = Options {
            marker: false,
            durability: Durability::None,
            ..Options::default()
        };
        let mut variants: [Box<dyn FnMut() + '_>; 5] = [
            Box::new(|| hand_durable(&target, &data)),
            Box::new(|| drop(atio::write_bytes(&target, &data, &full_no_marker).unwrap())),
            Box::new(|| drop(atio::write_bytes(&target, &data, &Options::default()).unwrap())),
            Box::new(|| {
                let mut file = File::create(&target).unwrap();
                file.write_all(&data).unwrap();
            }),
            Box::new(|| drop(atio::write_bytes(&target, &data, &none_no_marker).unwrap())),
        ];
        let [hand, atio, marker, plain, atio_none] = interleaved_medians(runs, &mut variants);
        println!(
            "{label:<9} {runs:>4} | {:>12} {:>12} {:>7.2} {:>12} {:>7.2} | {:>12} {:>12} {:>7.2}",
            ms(hand),
            ms(atio),
            ratio(atio, hand),
            ms(marker),
            ratio(marker, hand),
            ms(plain),
            ms(atio_none),
            ratio(atio_none, plain)
        );
    }

    let files = if quick { 1000 } else { 10_000 };
    println!("\n{files} files of 1 KiB, durability full (group commits of 1,000 files)");
    println!(
        "{:<28} {:>10} {:>10} {:>8}",
        "", "one by one", "group", "speedup"
    );
    for (label, marker) in [("without markers", false), ("with markers", true)] {
        let options = Options {
            marker,
            ..Options::default()
        };
        let data = vec![0x33u8; 1024];
        let group_dir = dir.path().join(format!("group-{marker}"));
        let single_dir = dir.path().join(format!("single-{marker}"));
        let started = Instant::now();
        for index in 0..files {
            atio::write_bytes(single_dir.join(format!("f{index}")), &data, &options).unwrap();
        }
        let single = files as f64 / started.elapsed().as_secs_f64();
        // Groups of 1,000: each staged file holds two descriptors until its group commits.
        let started = Instant::now();
        for chunk in (0..files).collect::<Vec<_>>().chunks(1000) {
            let staged: Vec<AtomicFile> = chunk
                .iter()
                .map(|index| {
                    let mut file =
                        AtomicFile::create(group_dir.join(format!("f{index}")), &options).unwrap();
                    file.write_all(&data).unwrap();
                    file
                })
                .collect();
            atio::commit_group(staged).unwrap();
        }
        let group = files as f64 / started.elapsed().as_secs_f64();
        println!(
            "{label:<28} {:>8.0}/s {:>8.0}/s {:>7.2}x",
            single,
            group,
            group / single
        );
    }
}

/// The hand-written durable path atio is measured against.
fn hand_durable(target: &Path, data: &[u8]) {
    let staging = target.with_extension("hand.tmp");
    let mut file = File::create(&staging).unwrap();
    file.write_all(data).unwrap();
    file.sync_all().unwrap();
    std::fs::rename(&staging, target).unwrap();
    File::open(target.parent().unwrap())
        .unwrap()
        .sync_all()
        .unwrap();
}

/// Runs every variant `runs` times, round-robin (so drift in the machine's state hits all of them
/// alike), after one warm-up each; returns each variant's median.
fn interleaved_medians<const N: usize>(
    runs: usize,
    variants: &mut [Box<dyn FnMut() + '_>; N],
) -> [Duration; N] {
    variants.iter_mut().for_each(|variant| variant());
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for _ in 0..runs {
        for (variant, times) in variants.iter_mut().zip(&mut times) {
            let started = Instant::now();
            variant();
            times.push(started.elapsed());
        }
    }
    times.map(|mut times| {
        times.sort();
        times[times.len() / 2]
    })
}

fn ms(duration: Duration) -> String {
    format!("{:.3} ms", duration.as_secs_f64() * 1e3)
}

fn ratio(value: Duration, baseline: Duration) -> f64 {
    value.as_secs_f64() / baseline.as_secs_f64()
}
