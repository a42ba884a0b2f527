//! Encoder throughput: each built-in format encoded inside its WASM sandbox against the same
//! crate running natively in the host, on the same 1M-row batches, in one run. Then plugin load
//! times.
//!
//! `cargo bench --bench encoders [-- --quick] [FORMAT|load ...]`. Columns:
//! * `native`: the format's library crate (parquet, arrow-csv, ...) called directly, default
//!   options, into a 1 MiB `BufWriter<File>`;
//! * `wasm`: the built-in encoder in its sandbox (a plugin session: Arrow IPC in, sink out, the
//!   per-call deadline and memory cap on) into the same kind of `BufWriter<File>`;
//! * `ratio`: native time / wasm time (1.00: the sandbox costs nothing; higher is better);
//! * `atio::write×N`: the whole transaction around the wasm encoder (staging file, content hash,
//!   rename; durability none, no marker) on N instances at once (formats that encode in parts;
//!   the others use one session whatever N), and its ratio to native.
//!
//! Every timed run writes a new file, after `sync()`, so none pays for another's writeback.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{AsArray, RecordBatch, RecordBatchIterator};
use arrow::datatypes::{Float64Type, SchemaRef};
use atio::plugin::{CacheMode, Plugin, PluginLimits, component_sha256};
use atio::{Durability, Options, WriteOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|arg| arg == "--quick");
    // Names on the command line pick sections (`-- csv npy load`); none means all.
    let picked: Vec<&String> = args.iter().filter(|arg| !arg.starts_with('-')).collect();
    let wanted = |name: &str| picked.is_empty() || picked.iter().any(|pick| *pick == name);
    let rows: u64 = if quick { 200_000 } else { 1_000_000 };
    let runs = if quick { 1 } else { 5 };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("bench dir");
    let batches = atio::sample::batches(rows, atio::input::BATCH_ROWS);
    let schema = atio::sample::schema();
    let value = schema.index_of("value").unwrap();
    let values: Vec<RecordBatch> = batches
        .iter()
        .map(|batch| batch.project(&[value]).unwrap())
        .collect();
    let values_schema = Arc::new(schema.project(&[value]).unwrap());
    let limits = PluginLimits::default();

    let formats: Vec<&str> = atio::formats::builtin_names()
        .into_iter()
        .filter(|format| wanted(format))
        .collect();
    // `atio::write` on 1..=N instances (N: the cores available).
    let instance_counts: Vec<usize> = (1..=atio::default_threads().max(2)).collect();
    if !formats.is_empty() {
        println!(
            "{rows} rows (i64, f64, 16-char string, bool, timestamp µs); median of {runs}; npy gets the f64 column\n"
        );
        print!(
            "{:<8} {:>9} {:>10} {:>10} {:>6}",
            "format", "output", "native", "wasm", "ratio"
        );
        for count in &instance_counts {
            print!(" {:>12} {:>6}", format!("atio::write×{count}"), "ratio");
        }
        println!();
    }
    for format in formats {
        let (input, input_schema) = if format == "npy" {
            (&values, &values_schema)
        } else {
            (&batches, &schema)
        };
        let plugin =
            atio::formats::load_format(format, &limits, Path::new(format)).expect("built-in");
        let native_path = dir.path().join(format!("native.{format}"));
        let wasm_path = dir.path().join(format!("wasm.{format}"));
        let write_path = dir.path().join(format!("write.{format}"));
        // Interleaved, so drift on a shared machine hits every column alike.
        let (mut native, mut wasm) = (Vec::new(), Vec::new());
        let mut write = vec![Vec::new(); instance_counts.len()];
        for _ in 0..runs {
            native.push(timed_write(&native_path, || {
                native_encode(format, &native_path, input, input_schema)
            }));
            wasm.push(timed_write(&wasm_path, || {
                wasm_session(&plugin, &wasm_path, input, input_schema, &limits)
            }));
            for (times, &count) in write.iter_mut().zip(&instance_counts) {
                times.push(timed_write(&write_path, || {
                    atio_write(&write_path, input, input_schema, count)
                }));
            }
        }
        let (native, wasm) = (median(native), median(wasm));
        let size = std::fs::metadata(&wasm_path).unwrap().len();
        let ms = |time: Duration| time.as_secs_f64() * 1e3;
        print!(
            "{format:<8} {:>6.1} MB {:>7.1} ms {:>7.1} ms {:>6.2}",
            size as f64 / 1e6,
            ms(native),
            ms(wasm),
            native.as_secs_f64() / wasm.as_secs_f64(),
        );
        for times in write {
            let write = median(times);
            print!(
                " {:>9.1} ms {:>6.2}",
                ms(write),
                native.as_secs_f64() / write.as_secs_f64()
            );
        }
        println!();
    }

    if !wanted("load") {
        return;
    }
    let wasm = atio::formats::builtin_component("parquet").unwrap();
    let builtin_sha256 = atio::formats::builtin_sha256("parquet").unwrap();
    println!(
        "\nplugin load (parquet encoder, {:.1} MB component), median of 9",
        wasm.len() as f64 / 1e6
    );
    let compiled = Plugin::load_with(
        "builtin:parquet",
        wasm,
        builtin_sha256,
        &limits,
        CacheMode::Recompile,
    )
    .unwrap();
    println!(
        "  first compile (Component::new + link + info)              {:>8.1} ms",
        compiled.load_time.as_secs_f64() * 1e3
    );
    let cached = median(
        (0..9)
            .map(|_| {
                timed(|| {
                    Plugin::load_with(
                        "builtin:parquet",
                        wasm,
                        builtin_sha256,
                        &limits,
                        CacheMode::Use,
                    )
                    .unwrap();
                })
            })
            .collect(),
    );
    println!(
        "  cached load, built-in (verify + deserialize + link + info) {:>6.1} ms",
        cached.as_secs_f64() * 1e3
    );
    let installed_path = dir.path().join("installed.wasm");
    std::fs::write(&installed_path, wasm).unwrap();
    let recorded_hash = atio::hash::hash_bytes(wasm);
    let installed = median(
        (0..9)
            .map(|_| {
                timed(|| {
                    // What loading an installed plugin does: read it, check it still has the
                    // content hash recorded at install, use the sha256 recorded with it.
                    let bytes = std::fs::read(&installed_path).unwrap();
                    assert_eq!(atio::hash::hash_bytes(&bytes), recorded_hash);
                    Plugin::load_with(
                        "installed.wasm",
                        &bytes,
                        builtin_sha256,
                        &limits,
                        CacheMode::Use,
                    )
                    .unwrap();
                })
            })
            .collect(),
    );
    println!(
        "  cached load, installed plugin (+ read, content-hash check) {:>6.1} ms",
        installed.as_secs_f64() * 1e3
    );
    // What `--plugin FILE` does with a file it loaded before: read it, take its content hash,
    // use the sha256 remembered under it. (The first load here records it.)
    atio::formats::load_file(&installed_path, &limits).unwrap();
    let seen = median(
        (0..9)
            .map(|_| {
                timed(|| {
                    let bytes = std::fs::read(&installed_path).unwrap();
                    let content_hash = atio::hash::hash_bytes(&bytes);
                    let sha256 = atio::plugin::cache::remembered_sha256(&content_hash).unwrap();
                    Plugin::load_with("plugin.wasm", &bytes, &sha256, &limits, CacheMode::Use)
                        .unwrap();
                })
            })
            .collect(),
    );
    println!(
        "  cached load, --plugin FILE seen before (+ read, content hash) {:>5.1} ms",
        seen.as_secs_f64() * 1e3
    );
    let hashed = median(
        (0..9)
            .map(|_| {
                timed(|| {
                    let bytes = std::fs::read(&installed_path).unwrap();
                    let sha256 = component_sha256(&bytes);
                    Plugin::load_with("plugin.wasm", &bytes, &sha256, &limits, CacheMode::Use)
                        .unwrap();
                })
            })
            .collect(),
    );
    println!(
        "  cached load, --plugin FILE new to the cache (+ read, sha256) {:>6.1} ms",
        hashed.as_secs_f64() * 1e3
    );
    let instantiate = median(
        (0..20)
            .map(|_| {
                timed(|| {
                    let session = compiled
                        .open(&schema, &[], std::io::sink(), &limits, Path::new("bench"))
                        .unwrap();
                    drop(session);
                })
            })
            .collect(),
    );
    println!(
        "  instantiate + open a session                              {:>8.3} ms",
        instantiate.as_secs_f64() * 1e3
    );
}

/// The built-in encoder in its sandbox, as a plugin session, into a buffered file.
fn wasm_session(
    plugin: &Arc<Plugin>,
    path: &Path,
    batches: &[RecordBatch],
    schema: &SchemaRef,
    limits: &PluginLimits,
) {
    let file = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut session = plugin.open(schema, &[], file, limits, path).unwrap();
    for batch in batches {
        session.write_batch(batch).unwrap();
    }
    let finished = session.finish::<BufWriter<File>>().unwrap();
    finished.destination.into_inner().unwrap();
}

/// The whole transaction: `atio::write` with the built-in encoder.
fn atio_write(path: &Path, batches: &[RecordBatch], schema: &SchemaRef, instances: usize) {
    let options = WriteOptions {
        commit: Options {
            durability: Durability::None,
            marker: false,
            ..Options::default()
        },
        threads: Some(instances),
        ..WriteOptions::default()
    };
    let reader = RecordBatchIterator::new(batches.iter().cloned().map(Ok), schema.clone());
    atio::write(path, reader, &options).unwrap();
}

/// The same crates, natively, with the encoders' default options, into a buffered file.
fn native_encode(format: &str, path: &Path, batches: &[RecordBatch], schema: &SchemaRef) {
    let file = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    match format {
        "parquet" => {
            let properties = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .build();
            let mut writer =
                parquet::arrow::ArrowWriter::try_new(file, schema.clone(), Some(properties))
                    .unwrap();
            batches
                .iter()
                .for_each(|batch| writer.write(batch).unwrap());
            writer.close().unwrap();
        }
        "csv" => {
            let mut writer = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(file);
            batches
                .iter()
                .for_each(|batch| writer.write(batch).unwrap());
            writer.into_inner().flush().unwrap();
        }
        "jsonl" => {
            let mut writer = arrow::json::LineDelimitedWriter::new(file);
            batches
                .iter()
                .for_each(|batch| writer.write(batch).unwrap());
            writer.finish().unwrap();
            writer.into_inner().flush().unwrap();
        }
        "arrow" => {
            let mut writer = arrow::ipc::writer::FileWriter::try_new(file, schema).unwrap();
            batches
                .iter()
                .for_each(|batch| writer.write(batch).unwrap());
            writer.finish().unwrap();
            writer.into_inner().unwrap().flush().unwrap();
        }
        "npy" => {
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            let mut header =
                format!("{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows},), }}");
            while (10 + header.len() + 1) % 64 != 0 {
                header.push(' ');
            }
            header.push('\n');
            let mut file = file;
            file.write_all(b"\x93NUMPY\x01\x00").unwrap();
            file.write_all(&(header.len() as u16).to_le_bytes())
                .unwrap();
            file.write_all(header.as_bytes()).unwrap();
            for batch in batches {
                let values = batch.column(0).as_primitive::<Float64Type>().values();
                for value in values.iter() {
                    file.write_all(&value.to_le_bytes()).unwrap();
                }
            }
            file.flush().unwrap();
        }
        other => panic!("no native baseline for {other}"),
    }
}

/// Times `run` writing a new `path`, starting like every other run: the previous output gone
/// and nothing left for the kernel to write back, so no run pays for another's dirty pages.
fn timed_write(path: &Path, run: impl FnOnce()) -> Duration {
    let _ = std::fs::remove_file(path);
    rustix::fs::sync();
    timed(run)
}

fn timed(run: impl FnOnce()) -> Duration {
    let started = Instant::now();
    run();
    started.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
