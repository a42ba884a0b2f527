//! One file encoded by several sandboxed instances at once (`atio:encoder/parts`): the same
//! bytes whatever the instance count, read back value by value, and a failing instance stops
//! the others at once, leaving the original and nothing else.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use arrow::array::{Array, RecordBatch, RecordBatchIterator};
use atio::formats::EncoderChoice;
use atio::plugin::PluginLimits;
use atio::{ErrorKind, WriteOptions};

use crate::encoders::guest_wasm;
use crate::support::{assert_no_leftovers, python, run_atio, stderr, tool_available};

/// 200,000 rows in batches of 7,000: several Parquet row groups (at 50,000 rows) and several
/// CSV / JSON-lines parts (64Ki rows), cut in the middle of batches.
fn sample() -> Vec<RecordBatch> {
    atio::sample::batches(200_000, 7_000)
}

fn write(
    path: &Path,
    batches: Vec<RecordBatch>,
    options: &[(&str, &str)],
    threads: usize,
) -> atio::Result<atio::Report> {
    let schema = batches
        .first()
        .map_or_else(atio::sample::schema, RecordBatch::schema);
    let options = WriteOptions {
        encoder_options: options
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
        threads: Some(threads),
        ..WriteOptions::default()
    };
    atio::write(
        path,
        RecordBatchIterator::new(batches.into_iter().map(Ok), schema),
        &options,
    )
}

fn read_parquet(path: &Path) -> (RecordBatch, usize) {
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        File::open(path).unwrap(),
    )
    .unwrap();
    let row_groups = builder.metadata().num_row_groups();
    let schema = builder.schema().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
    (
        arrow::compute::concat_batches(&schema, &batches).unwrap(),
        row_groups,
    )
}

#[test]
fn every_instance_count_writes_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    for (name, options) in [
        ("default.parquet", vec![("row-group-rows", "50000")]),
        (
            "gzip.parquet",
            vec![
                ("row-group-rows", "30000"),
                ("compression", "gzip"),
                ("statistics", "chunk"),
            ],
        ),
        ("one-group.parquet", vec![]),
        ("rows.csv", vec![]),
        ("rows.jsonl", vec![]),
    ] {
        let mut first: Option<Vec<u8>> = None;
        for threads in [1, 2, 3, 4] {
            let path = dir.path().join(format!("{threads}-{name}"));
            let report = write(&path, sample(), &options, threads).unwrap();
            assert_eq!(report.instances, Some(threads), "{name}");
            assert_eq!(report.rows, Some(200_000), "{name}");
            atio::verify(&path).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            match &first {
                None => first = Some(bytes),
                Some(first) => assert!(
                    *first == bytes,
                    "{name}: {threads} instances wrote {} bytes, one instance {}",
                    bytes.len(),
                    first.len()
                ),
            }
        }
    }
    // Read back by the native parquet crate (not the sandboxed writer's code path): every value.
    let expected = arrow::compute::concat_batches(&atio::sample::schema(), &sample()).unwrap();
    let (read, row_groups) = read_parquet(&dir.path().join("4-default.parquet"));
    assert_eq!(row_groups, 4);
    assert_eq!(read, expected);
    let (read, row_groups) = read_parquet(&dir.path().join("2-gzip.parquet"));
    assert_eq!(row_groups, 7);
    assert_eq!(read, expected);
    assert_no_leftovers(dir.path());
}

#[test]
fn files_in_parts_read_back_in_pyarrow_and_duckdb() {
    if !tool_available("pyarrow and duckdb", "pip install pyarrow duckdb", || {
        crate::support::probe_python_module("pyarrow")
            .and_then(|()| crate::support::probe_python_module("duckdb"))
    }) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("data.parquet");
    let csv = dir.path().join("data.csv");
    write(&parquet, sample(), &[("row-group-rows", "50000")], 3).unwrap();
    write(&csv, sample(), &[], 3).unwrap();
    // The same sums and counts from both readers, the page index read by pyarrow.
    let script = r#"
import sys, duckdb, pyarrow.parquet as pq, pyarrow.csv as pc
parquet, csv = sys.argv[1], sys.argv[2]
t = pq.read_table(parquet)
meta = pq.ParquetFile(parquet).metadata
assert meta.num_row_groups == 4, meta.num_row_groups
assert meta.row_group(1).column(0).has_offset_index
c = pc.read_csv(csv)
for table in (t, c):
    print(table.num_rows, sum(table.column(0).to_pylist()), len(set(table.column(2).to_pylist())))
for path in (parquet, csv):
    print(*duckdb.sql(f"select count(*), sum(id), count(distinct name) from '{path}'").fetchall()[0])
"#;
    let output = python()
        .args(["-c", script])
        .arg(&parquet)
        .arg(&csv)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = arrow::compute::concat_batches(&atio::sample::schema(), &sample()).unwrap();
    let ids = expected
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap();
    let sum: i64 = ids.values().iter().sum();
    let lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            line.split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(lines, vec![format!("200000 {sum}"); 4]);
}

#[test]
fn no_rows_in_parts_is_a_valid_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = dir.path().join("empty.parquet");
    let report = write(&parquet, Vec::new(), &[], 2).unwrap();
    assert_eq!(report.rows, Some(0));
    let (read, row_groups) = read_parquet(&parquet);
    assert_eq!((read.num_rows(), row_groups), (0, 0));
    let csv = dir.path().join("empty.csv");
    write(&csv, Vec::new(), &[], 2).unwrap();
    let header: Vec<String> = atio::sample::schema()
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        format!("{}\n", header.join(","))
    );
}

/// Writes through the `part-fail` plugin (part 1 fails, every other part spins) over an
/// existing target.
fn part_fail(threads: usize, timeout: Duration) -> (atio::Error, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.txt");
    std::fs::write(&target, b"original").unwrap();
    let plugin = guest_wasm("atio_test_part_fail");
    let limits = PluginLimits {
        timeout,
        ..PluginLimits::default()
    };
    let _ = atio::formats::load_file(&plugin, &limits);
    let options = WriteOptions {
        encoder: Some(EncoderChoice::PluginFile(plugin)),
        limits,
        threads: Some(threads),
        ..WriteOptions::default()
    };
    let started = Instant::now();
    let error = atio::write(
        &target,
        RecordBatchIterator::new(
            atio::sample::batches(100, 10).into_iter().map(Ok),
            atio::sample::schema(),
        ),
        &options,
    )
    .expect_err("a failing part fails the write");
    let elapsed = started.elapsed();
    assert_eq!(std::fs::read(&target).unwrap(), b"original");
    assert_no_leftovers(dir.path());
    (error, elapsed)
}

#[test]
fn a_failing_part_stops_every_other_instance_at_once() {
    let (error, elapsed) = part_fail(2, Duration::from_secs(60));
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    assert!(error.to_string().contains("part 1 refused"), "{error}");
    // The instance spinning on part 0 is stopped by the failure, not by its 60 s deadline.
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
}

#[test]
fn a_part_past_its_deadline_times_out() {
    // One instance: part 0 spins first, and only its deadline ends it.
    let (error, elapsed) = part_fail(1, Duration::from_secs(1));
    assert_eq!(error.kind(), ErrorKind::Plugin, "{error}");
    assert!(error.to_string().contains("timed out"), "{error}");
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}");
}

#[test]
fn cli_threads_and_verbose_show_the_instances() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let mut csv = String::from("id,name\n");
    for i in 0..100_000 {
        csv.push_str(&format!("{i},n{}\n", i % 13));
    }
    std::fs::write(&input, &csv).unwrap();
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let out = format!("out-{threads}.parquet");
        let output = run_atio(
            dir.path(),
            &[
                "write",
                "in.csv",
                &out,
                "--threads",
                threads,
                "-v",
                "-o",
                "row-group-rows=30000",
            ],
            b"",
        );
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(&format!("encoder instances  {threads:>10}")),
            "{}",
            stderr(&output)
        );
        outputs.push(std::fs::read(dir.path().join(out)).unwrap());
    }
    assert!(outputs[0] == outputs[1]);
    let refused = run_atio(
        dir.path(),
        &["write", "in.csv", "x.parquet", "--threads", "0"],
        b"",
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
}

#[test]
fn the_output_quota_counts_every_instance() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("data.csv");
    std::fs::write(&target, b"original").unwrap();
    let options = WriteOptions {
        limits: PluginLimits {
            output_quota: Some(1 << 20),
            ..PluginLimits::default()
        },
        threads: Some(2),
        ..WriteOptions::default()
    };
    let error = atio::write(
        &target,
        RecordBatchIterator::new(sample().into_iter().map(Ok), atio::sample::schema()),
        &options,
    )
    .expect_err("200,000 rows of CSV are more than 1 MiB");
    assert_eq!(error.kind(), ErrorKind::Plugin, "{error}");
    assert!(
        error
            .to_string()
            .contains("output quota of 1048576 bytes exceeded"),
        "{error}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"original");
    assert_no_leftovers(dir.path());
}

/// Every file of `dir`, relative path → bytes, markers and manifests aside (they hold times and
/// run ids).
fn data_files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if !path.to_string_lossy().contains("_SUCCESS") {
                let relative = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn partitioned_writes_are_the_same_files_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut written = Vec::new();
    for threads in [1, 2, 4] {
        let root = dir.path().join(format!("out-{threads}"));
        let options = atio::DatasetOptions {
            write: WriteOptions {
                threads: Some(threads),
                ..WriteOptions::default()
            },
            partition_by: vec!["flag".into()],
            rows_per_file: 30_000,
            ..atio::DatasetOptions::default()
        };
        let report = atio::write_dataset(
            &root,
            RecordBatchIterator::new(sample().into_iter().map(Ok), atio::sample::schema()),
            &options,
        )
        .unwrap();
        assert_eq!(report.rows, 200_000);
        assert_eq!(report.partitions.len(), 2);
        for partition in &report.partitions {
            atio::verify_dir(&partition.path).unwrap();
        }
        written.push(data_files(&root));
    }
    assert!(written[0].len() >= 8, "{:?}", written[0].keys());
    assert!(written[0] == written[1] && written[1] == written[2]);
    assert_no_leftovers(dir.path());
}

/// A CSV file of `rows` records larger than a few parse chunks, with quoted fields holding
/// commas, newlines and `""`, a literal `"` in unquoted text, CRLF endings and empty fields.
fn awkward_big_csv(rows: usize) -> String {
    let mut text = String::from("id,name,score,note\r\n");
    for row in 0..rows {
        let note = match row % 7 {
            0 => "\"two\nlines\"".to_owned(),
            1 => "\"a, b\"".to_owned(),
            2 => "\"say \"\"hi\"\"\"".to_owned(),
            3 => "5\" screen".to_owned(),
            4 => String::new(),
            _ => format!("plain {row}"),
        };
        let end = if row % 3 == 0 { "\r\n" } else { "\n" };
        text.push_str(&format!(
            "{row},name-{},{}.25,{note}{end}",
            row % 1000,
            row % 97
        ));
    }
    text
}

/// Writes `input` (in `dir`) to Parquet with 1 and with 3 threads: the two files must be the
/// same bytes; returns the note column (the fourth) read back.
fn same_file_at_1_and_3_threads(dir: &Path, input: &str) -> arrow::array::StringArray {
    let mut written = Vec::new();
    for threads in ["1", "3"] {
        let output = format!("out{threads}.parquet");
        let run = run_atio(dir, &["write", input, &output, "--threads", threads], b"");
        assert!(run.status.success(), "{}", stderr(&run));
        written.push(std::fs::read(dir.join(&output)).unwrap());
    }
    assert!(
        written[0] == written[1],
        "1 and 3 parser threads wrote different files"
    );
    let (batch, _) = read_parquet(&dir.join("out3.parquet"));
    let notes = batch
        .column(3)
        .as_any()
        .downcast_ref::<arrow::array::StringArray>();
    notes.expect("the note column is text").clone()
}

/// Writes the malformed `input` with 1 and with 3 threads: both fail (exit 10) with the same
/// message, write nothing and leave nothing; returns the message.
fn same_error_at_1_and_3_threads(dir: &Path, input: &str) -> String {
    let mut errors = Vec::new();
    for threads in ["1", "3"] {
        let run = run_atio(
            dir,
            &["write", input, "bad.parquet", "--threads", threads],
            b"",
        );
        assert_eq!(run.status.code(), Some(10), "{}", stderr(&run));
        errors.push(stderr(&run));
    }
    assert_eq!(errors[0], errors[1]);
    assert!(!dir.join("bad.parquet").exists());
    assert_no_leftovers(dir);
    errors.swap_remove(0)
}

#[test]
fn a_big_csv_parsed_on_several_threads_gives_the_same_file_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    // ~40 MB: more than two 8 MiB chunks, so several threads parse it.
    let mut text = awkward_big_csv(800_000);
    std::fs::write(dir.path().join("in.csv"), &text).unwrap();
    assert!(text.len() > 3 * (8 << 20), "{}", text.len());
    let notes = same_file_at_1_and_3_threads(dir.path(), "in.csv");
    assert_eq!(notes.len(), 800_000);
    assert_eq!(notes.value(700_000), "two\nlines");
    assert_eq!(notes.value(700_002), "say \"hi\"");
    assert_eq!(notes.value(700_003), "5\" screen");
    // A bad value deep in the file: the same error, naming the same line, for any count.
    text.push_str("oops,name,1.5,x\n");
    std::fs::write(dir.path().join("in.csv"), &text).unwrap();
    let error = same_error_at_1_and_3_threads(dir.path(), "in.csv");
    assert!(error.contains("oops"), "{error}");
}

#[test]
fn big_json_lines_parsed_on_several_threads_give_the_same_file_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for row in 0..500_000 {
        let note = match row % 4 {
            0 => "\"two\\nlines\"".to_owned(),
            1 => "\"say \\\"hi\\\"\"".to_owned(),
            2 => "null".to_owned(),
            _ => format!("\"plain {row}\""),
        };
        let end = if row % 3 == 0 { "\r\n" } else { "\n" };
        text.push_str(&format!(
            "{{\"id\":{row},\"name\":\"name-{}\",\"score\":{}.25,\"note\":{note}}}{end}",
            row % 1000,
            row % 97
        ));
    }
    assert!(text.len() > 3 * (8 << 20), "{}", text.len());
    std::fs::write(dir.path().join("in.jsonl"), &text).unwrap();
    let notes = same_file_at_1_and_3_threads(dir.path(), "in.jsonl");
    assert_eq!(notes.len(), 500_000);
    assert_eq!(notes.value(400_000), "two\nlines");
    assert_eq!(notes.value(400_001), "say \"hi\"");
    assert!(notes.is_null(400_002));
    // A key first seen deep in the file: the same error and hint for any count.
    text.push_str("{\"id\":1,\"late\":true}\n");
    std::fs::write(dir.path().join("in.jsonl"), &text).unwrap();
    let error = same_error_at_1_and_3_threads(dir.path(), "in.jsonl");
    assert!(error.contains("--infer-rows"), "{error}");
}
