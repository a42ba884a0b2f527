use std::sync::Arc;

use atio_encoder_sdk::arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int8Array, Int64Array, StringArray,
};
use atio_encoder_sdk::testing::Harness;
use atio_encoder_sdk::{EncodeError, RecordBatch};

use super::{NpyEncoder, header};

fn split(bytes: &[u8]) -> (String, &[u8]) {
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + len) % 64, 0, "data is 64-byte aligned");
    let h = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(h.ends_with('\n'));
    (h.trim_end().to_owned(), &bytes[10 + len..])
}

#[test]
fn header_layout_is_numpys_and_does_not_depend_on_the_row_count() {
    // `np.save(f, np.zeros(1_000_000))` (NumPy 2.x) starts with these 128 bytes.
    let mut expected = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
    expected.extend_from_slice(b"{'descr': '<f8', 'fortran_order': False, 'shape': (1000000,), }");
    expected.resize(127, b' ');
    expected.push(b'\n');
    assert_eq!(header("<f8", 1_000_000, 1), expected);
    for columns in [1, 3] {
        let size = header("<i4", 0, columns).len();
        assert_eq!(size % 64, 0);
        assert_eq!(header("<i4", u64::MAX, columns).len(), size);
    }
    let two_d = header("<i4", 5, 3);
    let (dict, rest) = split(&two_d);
    assert_eq!(
        dict,
        "{'descr': '<i4', 'fortran_order': False, 'shape': (5, 3), }"
    );
    assert!(rest.is_empty());
}

#[test]
fn streamed_and_buffered_outputs_are_identical() {
    let a: ArrayRef = Arc::new(Float64Array::from_iter_values((0..3000).map(f64::from)));
    let b: ArrayRef = Arc::new(Float64Array::from_iter_values(
        (0..3000).map(|v| -f64::from(v)),
    ));
    let one = RecordBatch::try_from_iter([("a", a.clone())]).unwrap();
    let two = RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap();
    for batch in [one, two] {
        let batches = [
            batch.slice(0, 1000),
            batch.slice(1000, 0),
            batch.slice(1000, 2000),
        ];
        let mut streamed = Harness::<NpyEncoder>::open(&batch.schema(), &[]).unwrap();
        let mut buffered = Harness::<NpyEncoder>::open_append_only(&batch.schema(), &[]).unwrap();
        for b in &batches {
            streamed.write_batch(b).unwrap();
            buffered.write_batch(b).unwrap();
        }
        // Buffering sends nothing before `finish` (streaming: see the next test).
        assert!(buffered.output().is_empty());
        let (streamed, buffered) = (streamed.finish().unwrap(), buffered.finish().unwrap());
        assert_eq!(streamed.bytes, buffered.bytes);
        assert_eq!(streamed.summary, buffered.summary);
        assert_eq!(
            streamed.bytes,
            Harness::<NpyEncoder>::encode(&batch.schema(), &[], std::slice::from_ref(&batch))
                .unwrap()
                .bytes
        );
    }
}

#[test]
fn streaming_sends_whole_batches_without_waiting_for_finish() {
    let a: ArrayRef = Arc::new(Int64Array::from_iter_values(0..(1 << 18)));
    let b = RecordBatch::try_from_iter([("a", a)]).unwrap();
    let mut h = Harness::<NpyEncoder>::open(&b.schema(), &[]).unwrap();
    h.write_batch(&b).unwrap();
    h.write_batch(&b).unwrap();
    // 2 MiB of data: everything but the last partial chunk has reached the host.
    let sent = h.output();
    assert!(sent.len() >= 2 << 20, "{} bytes sent", sent.len());
    let (dict, _) = split(&sent);
    assert!(dict.contains("'shape': (0,)"), "provisional header: {dict}");
    let done = h.finish().unwrap();
    let (dict, data) = split(&done.bytes);
    assert!(dict.contains("'shape': (524288,)"), "{dict}");
    assert_eq!(data.len(), 524_288 * 8);
}

#[test]
fn one_column_is_1d() {
    let a: ArrayRef = Arc::new(Int64Array::from(vec![1, -2, 3, 4]));
    let b = RecordBatch::try_from_iter([("x", a)]).unwrap();
    // A sliced batch checks that offsets are honoured.
    let done =
        Harness::<NpyEncoder>::encode(&b.schema(), &[], &[b.clone(), b.slice(1, 2)]).unwrap();
    let (dict, data) = split(&done.bytes);
    assert_eq!(
        dict,
        "{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }"
    );
    let values: Vec<i64> = data
        .chunks(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(values, vec![1, -2, 3, 4, -2, 3]);
    assert_eq!(
        done.summary.metadata,
        vec![
            ("shape".to_owned(), "(6,)".to_owned()),
            ("dtype".to_owned(), "<i8".to_owned())
        ]
    );
}

#[test]
fn several_columns_are_2d_c_order() {
    let a: ArrayRef = Arc::new(Float32Array::from(vec![1.0, 2.0, 3.0]));
    let b: ArrayRef = Arc::new(Float32Array::from(vec![10.0, 20.0, 30.0]));
    let batch = RecordBatch::try_from_iter([("a", a), ("b", b)]).unwrap();
    let done =
        Harness::<NpyEncoder>::encode(&batch.schema(), &[], &[batch.slice(1, 2), batch]).unwrap();
    let (dict, data) = split(&done.bytes);
    assert_eq!(
        dict,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (5, 2), }"
    );
    let values: Vec<f32> = data
        .chunks(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(
        values,
        vec![2.0, 20.0, 3.0, 30.0, 1.0, 10.0, 2.0, 20.0, 3.0, 30.0]
    );
}

#[test]
fn bools_and_bytes() {
    let a: ArrayRef = Arc::new(BooleanArray::from(vec![true, false, true]));
    let b = RecordBatch::try_from_iter([("flag", a)]).unwrap();
    let done = Harness::<NpyEncoder>::encode(&b.schema(), &[], &[b.slice(1, 2)]).unwrap();
    let (dict, data) = split(&done.bytes);
    assert!(dict.contains("'descr': '|b1'"), "{dict}");
    assert_eq!(data, &[0, 1]);
    let i: ArrayRef = Arc::new(Int8Array::from(vec![-1, 2]));
    let b = RecordBatch::try_from_iter([("i", i)]).unwrap();
    let done = Harness::<NpyEncoder>::encode(&b.schema(), &[], &[]).unwrap();
    let (dict, data) = split(&done.bytes);
    assert_eq!(
        dict,
        "{'descr': '|i1', 'fortran_order': False, 'shape': (0,), }"
    );
    assert!(data.is_empty());
}

#[test]
fn rejects_unsupported_schemas_and_nulls() {
    let s: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
    let f: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
    let i: ArrayRef = Arc::new(Int64Array::from(vec![Some(1)]));
    let strings = RecordBatch::try_from_iter([("name", s)]).unwrap();
    let err = Harness::<NpyEncoder>::open(&strings.schema(), &[]).unwrap_err();
    assert!(matches!(err, EncodeError::Unsupported(_)));
    assert!(
        err.message().contains("column `name` has type Utf8"),
        "{err}"
    );

    let mixed = RecordBatch::try_from_iter([("f", f), ("i", i)]).unwrap();
    let err = Harness::<NpyEncoder>::open(&mixed.schema(), &[]).unwrap_err();
    assert!(
        err.message()
            .contains("column `i` has type Int64 but column `f` has type Float64"),
        "{err}"
    );

    let none = atio_encoder_sdk::arrow_schema::Schema::empty();
    let err = Harness::<NpyEncoder>::open(&none, &[]).unwrap_err();
    assert!(matches!(err, EncodeError::Unsupported(_)), "{err}");

    let err = Harness::<NpyEncoder>::open(&strings.schema(), &[("x", "1")]).unwrap_err();
    assert_eq!(
        err.message(),
        "unknown option `x`; this encoder takes no options"
    );

    let n: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None]));
    let nulls = RecordBatch::try_from_iter([("v", n)]).unwrap();
    let mut h = Harness::<NpyEncoder>::open(&nulls.schema(), &[]).unwrap();
    h.write_batch(&nulls.slice(0, 1)).unwrap();
    let err = h.write_batch(&nulls).unwrap_err();
    assert!(matches!(err, EncodeError::InvalidInput(_)));
    assert!(
        err.message().contains("column `v` contains 1 null"),
        "{err}"
    );
}

#[test]
fn buffered_batches_share_chunks() {
    let a: ArrayRef = Arc::new(Float64Array::from_iter_values((0..1000).map(f64::from)));
    let b = RecordBatch::try_from_iter([("a", a)]).unwrap();
    let mut h = Harness::<NpyEncoder>::open_append_only(&b.schema(), &[]).unwrap();
    for _ in 0..500 {
        h.write_batch(&b).unwrap();
    }
    let done = h.finish().unwrap();
    let (_, data) = split(&done.bytes);
    assert_eq!(data.len(), 500 * 1000 * 8);
    assert_eq!(f64::from_le_bytes(data[8..16].try_into().unwrap()), 1.0);
    assert_eq!(done.summary.rows, 500_000);
}
