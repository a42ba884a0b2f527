use std::sync::Arc;

use atio_encoder_sdk::arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use atio_encoder_sdk::testing::Harness;
use atio_encoder_sdk::{EncodeError, SINK_BUFFER_SIZE};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::ParquetEncoder;

fn batch(start: i64, n: usize) -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(start..start + n as i64));
    let names: ArrayRef = Arc::new(StringArray::from_iter(
        (0..n).map(|i| (i % 7 != 0).then(|| format!("name-{}", i % 100))),
    ));
    RecordBatch::try_from_iter([("id", ids), ("name", names)]).unwrap()
}

fn read_back(bytes: Vec<u8>) -> (Vec<RecordBatch>, usize, Vec<(String, String)>) {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes)).unwrap();
    let md = builder.metadata().clone();
    let kv = md
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let batches = builder.build().unwrap().map(Result::unwrap).collect();
    (batches, md.num_row_groups(), kv)
}

#[test]
fn roundtrip_with_row_groups_and_metadata() {
    let input = [batch(0, 1000), batch(1000, 0), batch(1000, 1500)];
    let done = Harness::<ParquetEncoder>::encode(
        &input[0].schema(),
        &[
            ("compression", "gzip"),
            ("compression-level", "9"),
            ("row-group-rows", "1000"),
            ("kv.owner", "data-team"),
            ("statistics", "chunk"),
            ("writer-version", "2.0"),
        ],
        &input,
    )
    .unwrap();
    assert_eq!(done.summary.rows, 2500);
    assert_eq!(
        done.summary.metadata,
        vec![
            ("row-groups".to_owned(), "3".to_owned()),
            ("compression".to_owned(), "gzip(9)".to_owned()),
        ]
    );
    let (batches, row_groups, kv) = read_back(done.bytes);
    assert_eq!(row_groups, 3);
    assert!(kv.contains(&("owner".to_owned(), "data-team".to_owned())));
    assert_eq!(values(&batches), values(&input));
}

#[test]
fn every_compiled_codec_roundtrips() {
    for codec in ["uncompressed", "snappy", "lz4_raw", "gzip", "brotli"] {
        let input = batch(0, 5000);
        let done = Harness::<ParquetEncoder>::encode(
            &input.schema(),
            &[("compression", codec), ("dictionary", "false")],
            std::slice::from_ref(&input),
        )
        .unwrap_or_else(|e| panic!("{codec}: {e}"));
        let (batches, _, _) = read_back(done.bytes);
        assert_eq!(
            values(&batches),
            values(std::slice::from_ref(&input)),
            "{codec}"
        );
    }
}

/// All rows as `(id, name)`.
fn values(batches: &[RecordBatch]) -> Vec<(i64, Option<String>)> {
    let mut out = Vec::new();
    for b in batches {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let names = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            out.push((
                ids.value(i),
                names.is_valid(i).then(|| names.value(i).to_owned()),
            ));
        }
    }
    out
}

#[test]
fn row_group_bytes_bounds_row_groups() {
    let input: Vec<RecordBatch> = (0..20).map(|i| batch(i * 10_000, 10_000)).collect();
    let done = Harness::<ParquetEncoder>::encode(
        &input[0].schema(),
        &[
            ("row-group-bytes", "64KiB"),
            ("compression", "uncompressed"),
        ],
        &input,
    )
    .unwrap();
    let groups: usize = done.summary.metadata[0].1.parse().unwrap();
    assert!(groups > 5, "expected many row groups, got {groups}");
    // Host writes are full 1 MiB chunks except the last.
    let (last, full) = done.host_writes.split_last().unwrap();
    assert!(full.iter().all(|&w| w >= SINK_BUFFER_SIZE));
    assert!(*last > 0);
}

#[test]
fn zstd_without_feature_is_unsupported() {
    let input = batch(0, 1);
    let err =
        Harness::<ParquetEncoder>::open(&input.schema(), &[("compression", "zstd")]).unwrap_err();
    if cfg!(feature = "zstd") {
        panic!("zstd build should accept zstd: {err}");
    }
    assert!(matches!(err, EncodeError::Unsupported(_)), "{err}");
    assert!(err.message().contains("zstd is not compiled"), "{err}");
}

#[test]
fn bad_options() {
    let schema = batch(0, 1).schema();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("compression", "lzo")],
            "option `compression`: expected one of uncompressed, snappy, lz4_raw, gzip, brotli, zstd, got `lzo`",
        ),
        (&[("compression-level", "3")], "codec snappy has no levels"),
        (
            &[("compression", "gzip"), ("compression-level", "99")],
            "not a valid gzip level",
        ),
        (
            &[("compression", "brotli"), ("compression-level", "-1")],
            "must not be negative",
        ),
        (&[("row-group-rows", "0")], "must be greater than 0"),
        (&[("writer-version", "3")], "expected one of 1.0, 2.0"),
        (
            &[("statistics", "all")],
            "expected one of none, chunk, page",
        ),
        (&[("kv", "x")], "unknown option `kv`"),
        (&[("colour", "red")], "unknown option `colour`"),
    ];
    for (options, expected) in cases {
        let err = Harness::<ParquetEncoder>::open(&schema, options).unwrap_err();
        assert!(
            matches!(err, EncodeError::InvalidOptions(_)),
            "{options:?}: {err}"
        );
        assert!(err.message().contains(expected), "{options:?}: {err}");
    }
}

#[test]
fn sink_refusal_is_reported_with_host_message() {
    let input: Vec<RecordBatch> = (0..10).map(|i| batch(i * 100_000, 100_000)).collect();
    let mut h = Harness::<ParquetEncoder>::open_with_limit(
        &input[0].schema(),
        &[
            ("row-group-rows", "100000"),
            ("compression", "uncompressed"),
        ],
        100_000,
    )
    .unwrap();
    let mut err = None;
    for b in &input {
        if let Err(e) = h.write_batch(b) {
            err = Some(e);
            break;
        }
    }
    let err = match err {
        Some(e) => e,
        None => h.finish().unwrap_err(),
    };
    assert_eq!(
        err,
        EncodeError::SinkRejected("output limit of 100000 bytes exceeded".into())
    );
    // The session is over.
    assert!(matches!(
        h.write_batch(&input[0]),
        Err(EncodeError::Internal(_))
    ));
}

#[test]
fn session_rejects_calls_after_finish_and_abort() {
    let input = batch(0, 10);
    let mut h = Harness::<ParquetEncoder>::open(&input.schema(), &[]).unwrap();
    h.write_batch(&input).unwrap();
    let done = h.finish().unwrap();
    assert_eq!(&done.bytes[..4], b"PAR1");
    let err = h.write_batch(&input).unwrap_err();
    assert_eq!(
        err,
        EncodeError::Internal("`write-batch` called after `finish`".into())
    );
    assert!(matches!(h.finish(), Err(EncodeError::Internal(_))));

    let mut h = Harness::<ParquetEncoder>::open(&input.schema(), &[]).unwrap();
    h.write_batch(&input).unwrap();
    assert!(h.abort().is_empty(), "nothing reaches the host on abort");
    assert_eq!(
        h.finish().unwrap_err(),
        EncodeError::Internal("`finish` called after `abort`".into())
    );
}

fn wide_batch(start: i64, n: usize) -> RecordBatch {
    let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(start..start + n as i64));
    let names: ArrayRef = Arc::new(StringArray::from_iter(
        (0..n).map(|i| (i % 7 != 0).then(|| format!("name-{}", i % 100))),
    ));
    let unique: ArrayRef =
        Arc::new(StringArray::from_iter_values((0..n).map(|i| {
            format!("{:016x}", (start as usize + i).wrapping_mul(0x9e37_79b9))
        })));
    let halves: ArrayRef = Arc::new(Int64Array::from_iter(
        (0..n).map(|i| (i % 3 != 0).then_some((start + i as i64) / 2)),
    ));
    RecordBatch::try_from_iter([
        ("id", ids),
        ("name", names),
        ("unique", unique),
        ("half", halves),
    ])
    .unwrap()
}

/// Parts on any number of instances, split into column runs, are the bytes of one session when
/// the row groups are cut at the same rows: the tail's footer replays the sessions's exactly.
#[test]
fn parts_on_any_instance_count_match_one_session() {
    use atio_encoder_sdk::testing::encode_in_parts;
    let input = [
        wide_batch(0, 3000),
        wide_batch(3000, 0),
        wide_batch(3000, 4500),
    ];
    let schema = input[0].schema();
    for options in [
        vec![("row-group-rows", "2000")],
        vec![
            ("row-group-rows", "1000"),
            ("compression", "gzip"),
            ("statistics", "chunk"),
            ("writer-version", "2.0"),
            ("kv.owner", "data-team"),
        ],
        vec![("statistics", "none"), ("dictionary", "false")],
        vec![("data-page-size", "1KiB")],
    ] {
        let session = Harness::<ParquetEncoder>::encode(&schema, &options, &input)
            .unwrap()
            .bytes;
        for instances in 1..=3 {
            let parts = encode_in_parts::<ParquetEncoder, super::parts::ParquetParts>(
                &schema, &options, &input, instances,
            )
            .unwrap();
            assert!(
                parts == session,
                "{options:?} on {instances} instance(s): {} bytes, one session {}",
                parts.len(),
                session.len()
            );
        }
        let (batches, _, _) = read_back(session);
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(rows, 7500);
    }
}

#[test]
fn parts_of_no_rows_are_an_empty_file() {
    use atio_encoder_sdk::testing::encode_in_parts;
    let input = wide_batch(0, 0);
    let parts = encode_in_parts::<ParquetEncoder, super::parts::ParquetParts>(
        &input.schema(),
        &[],
        &[input.clone()],
        2,
    )
    .unwrap();
    let session = Harness::<ParquetEncoder>::encode(&input.schema(), &[], &[input])
        .unwrap()
        .bytes;
    assert_eq!(parts, session);
    let (batches, row_groups, _) = read_back(parts);
    assert_eq!((batches.len(), row_groups), (0, 0));
}
