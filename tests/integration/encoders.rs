//! Built-in encoders: every format round-trips through an independent native reader.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BooleanArray, Float64Array, Int32Array, RecordBatch, RecordBatchIterator,
};
use arrow::datatypes::{DataType, Field, Float32Type, Float64Type, Int64Type, Schema};
use atio::plugin::PluginLimits;
use atio::{ErrorKind, WriteOptions};

use crate::support::{assert_no_leftovers, marker, stderr, xxh3};

const ROWS: u64 = 10_000;

fn sample() -> Vec<RecordBatch> {
    atio::sample::batches(ROWS, 3_000)
}

fn write(
    path: &Path,
    batches: Vec<RecordBatch>,
    options: &[(&str, &str)],
) -> atio::Result<atio::Report> {
    let schema = batches[0].schema();
    let options = WriteOptions {
        encoder_options: options
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
        ..WriteOptions::default()
    };
    atio::write(
        path,
        RecordBatchIterator::new(batches.into_iter().map(Ok), schema),
        &options,
    )
}

fn concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow::compute::concat_batches(&batches[0].schema(), batches).unwrap()
}

fn read_parquet(path: &Path) -> (RecordBatch, parquet::file::metadata::ParquetMetaData) {
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        File::open(path).unwrap(),
    )
    .unwrap();
    let metadata = builder.metadata().as_ref().clone();
    let batches: Vec<RecordBatch> = builder.build().unwrap().map(Result::unwrap).collect();
    (concat(&batches), metadata)
}

fn assert_committed(path: &Path, report: &atio::Report, format: &str) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(report.bytes, bytes.len() as u64);
    assert_eq!(report.hash, xxh3(&bytes));
    assert_eq!(report.rows, Some(ROWS));
    assert_eq!(report.format.as_deref(), Some(format));
    let manifest = marker(path);
    assert_eq!(manifest["rows"], ROWS);
    assert_eq!(manifest["format"], format);
    assert_eq!(manifest["encoder"]["name"], format);
    assert_eq!(manifest["encoder"]["sha256"].as_str().unwrap().len(), 64);
    atio::verify(path).unwrap();
    assert_no_leftovers(path.parent().unwrap());
}

#[test]
fn parquet_round_trips_through_the_parquet_crate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.parquet");
    let report = write(&path, sample(), &[]).unwrap();
    assert_committed(&path, &report, "parquet");
    let (read, metadata) = read_parquet(&path);
    assert_eq!(read, concat(&sample()));
    let column = metadata.row_group(0).column(0);
    assert_eq!(column.compression(), parquet::basic::Compression::SNAPPY);
    assert!(column.statistics().is_some());
}

#[test]
fn parquet_options_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (codec, expected) in [
        ("uncompressed", parquet::basic::Compression::UNCOMPRESSED),
        ("lz4_raw", parquet::basic::Compression::LZ4_RAW),
        (
            "gzip",
            parquet::basic::Compression::GZIP(Default::default()),
        ),
        (
            "brotli",
            parquet::basic::Compression::BROTLI(Default::default()),
        ),
    ] {
        let path = dir.path().join(format!("{codec}.parquet"));
        write(
            &path,
            sample(),
            &[
                ("compression", codec),
                ("row-group-rows", "4000"),
                ("kv.owner", "team-a"),
                ("writer-version", "2.0"),
            ],
        )
        .unwrap();
        let (read, metadata) = read_parquet(&path);
        assert_eq!(read, concat(&sample()), "{codec}");
        assert_eq!(
            metadata.num_row_groups(),
            3,
            "{codec}: 10000 rows / 4000 per group"
        );
        let actual = metadata.row_group(0).column(0).compression();
        assert_eq!(
            std::mem::discriminant(&actual),
            std::mem::discriminant(&expected),
            "{codec}"
        );
        let kv = metadata.file_metadata().key_value_metadata().unwrap();
        assert!(
            kv.iter()
                .any(|entry| entry.key == "owner" && entry.value.as_deref() == Some("team-a")),
            "{codec}"
        );
        assert_eq!(metadata.file_metadata().version(), 2);
    }
}

#[test]
fn csv_round_trips_through_arrow_csv_with_options() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.csv");
    let report = write(&path, sample(), &[]).unwrap();
    assert_committed(&path, &report, "csv");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("id,value,name,flag,ts\n0,-1000.0,name-00000000000,true,"),
        "{}",
        &text[..80]
    );
    let reader = arrow::csv::ReaderBuilder::new(atio::sample::schema())
        .with_header(true)
        .build(File::open(&path).unwrap())
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert_eq!(concat(&batches), concat(&sample()));

    let semicolons = dir.path().join("semi.csv");
    write(
        &semicolons,
        sample(),
        &[("delimiter", ";"), ("header", "false")],
    )
    .unwrap();
    let text = std::fs::read_to_string(&semicolons).unwrap();
    assert!(
        text.starts_with("0;-1000.0;name-00000000000;true;"),
        "{}",
        &text[..60]
    );
}

#[test]
fn csv_writes_the_null_string() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nulls.csv");
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(arrow::array::Int64Array::from(vec![
            Some(1),
            None,
            Some(3),
        ]))],
    )
    .unwrap();
    let schema = batch.schema();
    let options = WriteOptions {
        encoder_options: vec![("null".into(), "NULL".into())],
        ..WriteOptions::default()
    };
    atio::write(
        &path,
        RecordBatchIterator::new([Ok(batch)], schema),
        &options,
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "x\n1\nNULL\n3\n");
}

#[test]
fn jsonl_round_trips_through_arrow_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.jsonl");
    let report = write(&path, sample(), &[]).unwrap();
    assert_committed(&path, &report, "jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count() as u64, ROWS);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], 0);
    assert_eq!(first["name"], "name-00000000000");
    let reader = arrow::json::ReaderBuilder::new(atio::sample::schema())
        .build(std::io::BufReader::new(File::open(&path).unwrap()))
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    assert_eq!(concat(&batches), concat(&sample()));
}

/// Timestamps of every unit (no time zone), with nulls, far-past and far-future values and every
/// fractional precision, in a column next to a string.
fn timestamp_batch() -> RecordBatch {
    use arrow::array::{
        StringArray, TimestampMicrosecondArray, TimestampMillisecondArray,
        TimestampNanosecondArray, TimestampSecondArray,
    };
    use arrow::datatypes::TimeUnit;
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as i64
    };
    let rows = 5_000;
    let seconds: Vec<Option<i64>> = (0..rows)
        .map(|row| match row % 7 {
            0 => None,
            1 => Some(-62_167_219_200 - 86_400 * 366), // year -1
            2 => Some(253_402_300_800 + 86_400),       // year 10000
            _ => Some(next() % 20_000_000_000),
        })
        .collect();
    // `scale` units per second: whole seconds, whole milliseconds, anything.
    let mut fractions = |scale: i64| -> Vec<Option<i64>> {
        (0..rows)
            .map(|row| match row % 5 {
                0 => None,
                1 => Some(next() % 4_000_000_000 * scale),
                2 => Some(next() % 4_000_000_000_000 * (scale / 1_000)),
                _ => Some(next() % (4_000_000_000 * scale)),
            })
            .collect()
    };
    let schema = Arc::new(Schema::new(vec![
        Field::new("s", DataType::Timestamp(TimeUnit::Second, None), true),
        Field::new("ms", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        Field::new("us", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("ns", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
        Field::new(
            "utc",
            DataType::Timestamp(TimeUnit::Second, Some("+00:00".into())),
            true,
        ),
        Field::new("label", DataType::Utf8, false),
    ]));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(TimestampSecondArray::from(seconds.clone())),
            Arc::new(TimestampMillisecondArray::from(fractions(1_000))),
            Arc::new(TimestampMicrosecondArray::from(fractions(1_000_000))),
            Arc::new(TimestampNanosecondArray::from(fractions(1_000_000_000))),
            Arc::new(TimestampSecondArray::from(seconds).with_timezone("+00:00")),
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|row| format!("row \"{row}\", ok")),
            )),
        ],
    )
    .unwrap()
}

#[test]
fn csv_and_jsonl_timestamps_are_byte_identical_to_arrow_natively() {
    let dir = tempfile::tempdir().unwrap();
    let batch = timestamp_batch();
    let mut expected_csv = Vec::new();
    let mut writer = arrow::csv::WriterBuilder::new().build(&mut expected_csv);
    writer.write(&batch).unwrap();
    drop(writer);
    let mut expected_jsonl = Vec::new();
    // atio writes null values (`explicit-nulls`, default true).
    let mut writer = arrow::json::WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, arrow::json::writer::LineDelimited>(&mut expected_jsonl);
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    drop(writer);
    for (name, expected) in [("t.csv", expected_csv), ("t.jsonl", expected_jsonl)] {
        let path = dir.path().join(name);
        // In two batches, so the header and the per-batch conversion both show.
        let batches = vec![batch.slice(0, 2_500), batch.slice(2_500, 2_500)];
        write(&path, batches, &[]).unwrap();
        let written = std::fs::read(&path).unwrap();
        assert!(
            written == expected,
            "{name}: differs from arrow natively at byte {:?}",
            written.iter().zip(&expected).position(|(a, b)| a != b)
        );
    }
}

#[test]
fn arrow_ipc_file_round_trips_plain_and_lz4() {
    let dir = tempfile::tempdir().unwrap();
    for (name, options) in [
        ("plain.arrow", vec![]),
        ("lz4.feather", vec![("compression", "lz4")]),
    ] {
        let path = dir.path().join(name);
        let report = write(&path, sample(), &options).unwrap();
        assert_committed(&path, &report, "arrow");
        let reader =
            arrow::ipc::reader::FileReader::try_new(File::open(&path).unwrap(), None).unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(concat(&batches), concat(&sample()), "{name}");
    }
    let plain = std::fs::metadata(dir.path().join("plain.arrow"))
        .unwrap()
        .len();
    let lz4 = std::fs::metadata(dir.path().join("lz4.feather"))
        .unwrap()
        .len();
    assert!(
        lz4 < plain,
        "lz4 {lz4} should be smaller than plain {plain}"
    );
}

/// Parses a .npy v1 header: (descr, fortran_order, shape) and the data offset.
fn npy_header(bytes: &[u8]) -> (String, usize) {
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
    };
    assert_eq!(
        (start + header_len) % 64,
        0,
        "header must be padded to 64 bytes"
    );
    (
        String::from_utf8(bytes[start..start + header_len].to_vec()).unwrap(),
        start + header_len,
    )
}

#[test]
fn npy_writes_one_column_as_1d_and_same_typed_columns_as_2d() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample();
    let values: Vec<RecordBatch> = sample
        .iter()
        .map(|batch| batch.project(&[1]).unwrap())
        .collect();
    let path = dir.path().join("values.npy");
    let report = write(&path, values.clone(), &[]).unwrap();
    assert_committed(&path, &report, "npy");
    let bytes = std::fs::read(&path).unwrap();
    let (header, offset) = npy_header(&bytes);
    assert!(
        header.contains("'descr': '<f8'")
            && header.contains("'fortran_order': False")
            && header.contains("'shape': (10000,)"),
        "{header}"
    );
    let expected: Vec<f64> = values
        .iter()
        .flat_map(|batch| {
            batch
                .column(0)
                .as_primitive::<Float64Type>()
                .values()
                .to_vec()
        })
        .collect();
    let actual: Vec<f64> = bytes[offset..]
        .chunks_exact(8)
        .map(|chunk| f64::from_le_bytes(chunk.try_into().unwrap()))
        .collect();
    assert_eq!(actual, expected);

    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Float32, false),
        Field::new("b", DataType::Float32, false),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(arrow::array::Float32Array::from(vec![1.0, 2.0, 3.0])),
            Arc::new(arrow::array::Float32Array::from(vec![10.0, 20.0, 30.0])),
        ],
    )
    .unwrap();
    let matrix = dir.path().join("matrix.npy");
    let schema = batch.schema();
    atio::write(
        &matrix,
        RecordBatchIterator::new([Ok(batch.clone())], schema),
        &WriteOptions::default(),
    )
    .unwrap();
    let bytes = std::fs::read(&matrix).unwrap();
    let (header, offset) = npy_header(&bytes);
    assert!(
        header.contains("'descr': '<f4'") && header.contains("'shape': (3, 2)"),
        "{header}"
    );
    let actual: Vec<f32> = bytes[offset..]
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap()))
        .collect();
    assert_eq!(
        actual,
        vec![1.0, 10.0, 2.0, 20.0, 3.0, 30.0],
        "C order: row by row"
    );
    let _ = batch.column(0).as_primitive::<Float32Type>();
}

#[test]
fn npy_refuses_mixed_types_clearly_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.npy");
    std::fs::write(&path, b"previous").unwrap();
    let error = write(&path, sample(), &[]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnsupportedFormat, "{error}");
    assert!(error.to_string().contains("npy"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), b"previous");
    assert_no_leftovers(dir.path());
}

/// What NumPy reads from `path`: shape, dtype, the sum as an integer, and whether `np.save` of
/// that array writes exactly the file's bytes.
fn numpy_view(path: &Path) -> String {
    let script = "import io, sys\n\
                  import numpy as np\n\
                  a = np.load(sys.argv[1])\n\
                  saved = io.BytesIO()\n\
                  np.save(saved, a)\n\
                  same = saved.getvalue() == open(sys.argv[1], 'rb').read()\n\
                  print(a.shape, a.dtype, int(a.sum()), same)";
    let output = crate::support::python()
        .args(["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "numpy (pip install numpy): {}",
        stderr(&output)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn npy_files_are_byte_for_byte_what_numpy_saves() {
    if !crate::support::tool_available("NumPy", "pip install numpy", || {
        crate::support::probe_python_module("numpy")
    }) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let floats: ArrayRef = Arc::new(Float64Array::from_iter_values((0..10_000).map(f64::from)));
    let matrix = (0..3).map(|column| {
        let values = Int32Array::from_iter_values((0..1000).map(|row| row * 3 + column));
        (format!("c{column}"), Arc::new(values) as ArrayRef)
    });
    let flags: ArrayRef = Arc::new(BooleanArray::from_iter((0..999).map(|i| Some(i % 3 == 0))));
    let cases = [
        (
            "floats.npy",
            RecordBatch::try_from_iter([("v", floats)]).unwrap(),
            "(10000,) float64 49995000 True",
        ),
        (
            "matrix.npy",
            RecordBatch::try_from_iter(matrix).unwrap(),
            "(1000, 3) int32 4498500 True",
        ),
        (
            "flags.npy",
            RecordBatch::try_from_iter([("f", flags)]).unwrap(),
            "(999,) bool 333 True",
        ),
    ];
    for (name, batch, expected) in cases {
        let path = dir.path().join(name);
        // Several batches: the header is rewritten after data that came in several writes.
        let rows = batch.num_rows();
        let batches = [
            batch.slice(0, 400),
            batch.slice(400, 0),
            batch.slice(400, rows - 400),
        ];
        atio::write(
            &path,
            RecordBatchIterator::new(batches.into_iter().map(Ok), batch.schema()),
            &WriteOptions::default(),
        )
        .unwrap();
        assert_eq!(numpy_view(&path), expected, "{name}");
        atio::verify(&path).unwrap();
    }
    assert_no_leftovers(dir.path());
}

/// To a file, npy streams (the header is rewritten at the end), so an array larger than the
/// plugin's memory limit is written. An object store cannot rewrite a header: there npy
/// buffers, and the same limit is a clear error.
#[test]
fn npy_streams_arrays_larger_than_the_plugin_memory_to_files() {
    const BATCH: usize = 1 << 16;
    let rows = 80 * BATCH; // 40 MiB of f64 against a 32 MiB limit.
    let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Float64, false)]));
    let batches = || {
        let batch_schema = schema.clone();
        let batches = (0..rows / BATCH).map(move |batch| {
            let first = batch * BATCH;
            let values = Float64Array::from_iter_values((first..first + BATCH).map(|v| v as f64));
            RecordBatch::try_new(batch_schema.clone(), vec![Arc::new(values)])
        });
        RecordBatchIterator::new(batches, schema.clone())
    };
    let options = WriteOptions {
        limits: PluginLimits {
            memory: 32 << 20,
            ..PluginLimits::default()
        },
        ..WriteOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let report = atio::write(&path, batches(), &options).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (header, offset) = npy_header(&bytes);
    assert!(header.contains("'shape': (5242880,)"), "{header}");
    assert_eq!(bytes.len(), offset + rows * 8);
    let last = f64::from_le_bytes(bytes[bytes.len() - 8..].try_into().unwrap());
    assert_eq!(last, (rows - 1) as f64);
    assert_eq!(report.hash, xxh3(&bytes));

    let error = atio::write("memory:///big.npy", batches(), &options).unwrap_err();
    assert!(
        error.to_string().contains("memory limit of 32 MiB"),
        "{error}"
    );
}

#[test]
fn unknown_options_and_formats_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let error = write(
        &dir.path().join("x.parquet"),
        sample(),
        &[("compresion", "snappy")],
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    assert!(error.to_string().contains("compresion"), "{error}");
    let error = write(
        &dir.path().join("x.parquet"),
        sample(),
        &[("compression", "rar")],
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("rar") && error.to_string().contains("snappy"),
        "{error}"
    );
    let error = write(&dir.path().join("x.xlsx"), sample(), &[]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnsupportedFormat);
    assert!(
        error
            .to_string()
            .contains("known formats: parquet, csv, jsonl, arrow, npy"),
        "{error}"
    );
    assert_no_leftovers(dir.path());
}

#[test]
fn the_report_splits_encode_time_and_the_writer_streams_many_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.csv");
    let batches: Vec<RecordBatch> = (0..50)
        .map(|index| atio::sample::batch(index * 200, 200))
        .collect();
    let schema = batches[0].schema();
    let mut seen = Vec::new();
    let report = atio::write_with_progress(
        &path,
        RecordBatchIterator::new(batches.into_iter().map(Ok), schema),
        &WriteOptions::default(),
        |progress| seen.push(progress.rows),
    )
    .unwrap();
    assert_eq!(seen.len(), 50);
    assert_eq!(*seen.last().unwrap(), 10_000);
    assert!(report.timings.encode > std::time::Duration::ZERO);
    assert!(report.timings.encode <= report.timings.write);
    let read = arrow::csv::ReaderBuilder::new(atio::sample::schema())
        .with_header(true)
        .build(File::open(&path).unwrap())
        .unwrap();
    let rows: usize = read.map(|batch| batch.unwrap().num_rows()).sum();
    assert_eq!(rows, 10_000);
    let ids = concat(
        &arrow::csv::ReaderBuilder::new(atio::sample::schema())
            .with_header(true)
            .build(File::open(&path).unwrap())
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        ids.column(0).as_primitive::<Int64Type>().value(9_999),
        9_999
    );
}

#[test]
fn parquet_zstd_round_trips_when_compiled_in_and_is_refused_clearly_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.parquet");
    let outcome = write(
        &path,
        sample(),
        &[("compression", "zstd"), ("compression-level", "3")],
    );
    if env!("ATIO_GUEST_ZSTD") == "1" {
        outcome.unwrap();
        let (read, metadata) = read_parquet(&path);
        assert_eq!(read, concat(&sample()));
        assert!(matches!(
            metadata.row_group(0).column(0).compression(),
            parquet::basic::Compression::ZSTD(_)
        ));
    } else {
        let error = outcome.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnsupportedFormat, "{error}");
        assert!(error.to_string().contains("zstd"), "{error}");
        assert!(!path.exists());
    }
}

/// A path inside the guest build's output directory.
pub fn guest_wasm(name: &str) -> PathBuf {
    Path::new(env!("ATIO_GUEST_WASM_DIR")).join(format!("{name}.wasm"))
}
