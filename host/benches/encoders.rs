//! Encoder throughput: each built-in format encoded inside its WASM sandbox (through
//! `atio::write`, durability none, no marker) against the same crate running natively in the
//! host, on the same 1M-row batches, in one run. Then plugin load times.
//!
//! `cargo bench --bench encoders [-- --quick]`. Ratio = native time / WASM time: 1.00 means the
//! sandbox costs nothing, higher is better.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{AsArray, RecordBatch, RecordBatchIterator};
use arrow::datatypes::{Float64Type, SchemaRef};
use atio::plugin::{CacheMode, Plugin, PluginLimits};
use atio::{Durability, Options, WriteOptions};

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let rows: u64 = if quick { 200_000 } else { 1_000_000 };
    let runs = if quick { 1 } else { 3 };
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("bench dir");
    let batches = atio::sample::batches(rows, atio::input::BATCH_ROWS);
    let schema = atio::sample::schema();
    let value = schema.index_of("value").unwrap();
    let values: Vec<RecordBatch> = batches
        .iter()
        .map(|batch| batch.project(&[value]).unwrap())
        .collect();
    let values_schema = Arc::new(schema.project(&[value]).unwrap());

    println!(
        "{rows} rows (i64, f64, 16-char string, bool, timestamp µs); median of {runs}; npy gets the f64 column\n"
    );
    println!(
        "{:<8} {:>12} {:>12} {:>12} {:>8}",
        "format", "output", "native", "wasm", "ratio"
    );
    for format in atio::formats::builtin_names() {
        let (input, input_schema) = if format == "npy" {
            (&values, &values_schema)
        } else {
            (&batches, &schema)
        };
        let native_path = dir.path().join(format!("native.{format}"));
        let wasm_path = dir.path().join(format!("wasm.{format}"));
        let native = median(runs, || {
            native_encode(format, &native_path, input, input_schema)
        });
        let wasm = median(runs, || wasm_encode(&wasm_path, input, input_schema));
        let size = std::fs::metadata(&wasm_path).unwrap().len();
        println!(
            "{format:<8} {:>9.1} MB {:>9.1} ms {:>9.1} ms {:>8.2}",
            size as f64 / 1e6,
            native.as_secs_f64() * 1e3,
            wasm.as_secs_f64() * 1e3,
            native.as_secs_f64() / wasm.as_secs_f64()
        );
    }

    println!(
        "\nplugin load (parquet encoder, {:.1} MB component)",
        atio::formats::builtin_component("parquet").unwrap().len() as f64 / 1e6
    );
    let wasm = atio::formats::builtin_component("parquet").unwrap();
    let limits = PluginLimits::default();
    let compiled =
        Plugin::load_with("builtin:parquet", wasm, &limits, CacheMode::Recompile).unwrap();
    println!(
        "  first compile (Component::new + link + info)  {:>8.1} ms",
        compiled.load_time.as_secs_f64() * 1e3
    );
    let cached = median(5, || {
        drop(Plugin::load_with("builtin:parquet", wasm, &limits, CacheMode::Use).unwrap())
    });
    println!(
        "  cached load (verify + deserialize + link)     {:>8.1} ms",
        cached.as_secs_f64() * 1e3
    );
    let instantiate = median(20, || {
        let session = compiled
            .open(&schema, &[], std::io::sink(), &limits, Path::new("bench"))
            .unwrap();
        drop(session);
    });
    println!(
        "  instantiate + open a session                  {:>8.3} ms",
        instantiate.as_secs_f64() * 1e3
    );
}

fn wasm_encode(path: &Path, batches: &[RecordBatch], schema: &SchemaRef) {
    let options = WriteOptions {
        commit: Options {
            durability: Durability::None,
            marker: false,
            ..Options::default()
        },
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

fn median(runs: usize, mut run: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}
