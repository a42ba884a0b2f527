//! Every value right or refused: the cases where arrow-csv's text would not read back as the
//! value, and the types CSV cannot hold.

use std::sync::Arc;

use atio_encoder_sdk::EncodeError;
use atio_encoder_sdk::arrow_array::builder::{Int32Builder, MapBuilder, StringBuilder};
use atio_encoder_sdk::arrow_array::types::{Float64Type, Int32Type};
use atio_encoder_sdk::arrow_array::{
    ArrayRef, BinaryArray, BinaryViewArray, Decimal32Array, Decimal256Array, DictionaryArray,
    DurationMillisecondArray, DurationSecondArray, Float16Array, Float64Array, Int32Array,
    ListArray, RecordBatch, RunArray, StringArray, StringViewArray, StructArray,
    TimestampMillisecondArray, TimestampSecondArray,
};
use atio_encoder_sdk::arrow_buffer::{Buffer, ScalarBuffer, i256};
use atio_encoder_sdk::arrow_schema::{DataType, Field, Fields, Schema};
use atio_encoder_sdk::testing::Harness;

use crate::CsvEncoder;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

/// The CSV written for `batches` with `options`.
fn csv_of(schema: &Schema, options: &[(&str, &str)], batches: &[RecordBatch]) -> String {
    let done = Harness::<CsvEncoder>::encode(schema, options, batches).unwrap();
    String::from_utf8(done.bytes).unwrap()
}

fn csv(batch: &RecordBatch, options: &[(&str, &str)]) -> String {
    csv_of(&batch.schema(), options, std::slice::from_ref(batch))
}

fn refusal(batch: &RecordBatch, options: &[(&str, &str)]) -> EncodeError {
    Harness::<CsvEncoder>::encode(&batch.schema(), options, std::slice::from_ref(batch))
        .unwrap_err()
}

#[track_caller]
fn assert_unsupported(err: EncodeError, needles: &[&str]) {
    assert!(matches!(err, EncodeError::Unsupported(_)), "{err}");
    for needle in needles {
        assert!(err.message().contains(needle), "`{needle}` not in: {err}");
    }
}

#[test]
fn empty_strings_and_null_like_texts_are_quoted_nulls_are_not() {
    let s: ArrayRef = Arc::new(StringArray::from(vec![
        Some(""),
        None,
        Some("NA"),
        Some("null"),
        Some("NaN"),
        Some("NAN"),
        Some("x"),
    ]));
    let v: ArrayRef = Arc::new(StringViewArray::from(vec![
        None,
        Some(""),
        Some("NULL"),
        Some("n/a"),
        Some("#N/A"),
        Some("1"),
        Some("nulls"),
    ]));
    let b = batch(vec![("s", s), ("v", v)]);
    assert_eq!(
        csv(&b, &[]),
        "s,v\n\"\",\n,\"\"\n\"NA\",\"NULL\"\n\"null\",\"n/a\"\n\"NaN\",\"#N/A\"\nNAN,1\nx,nulls\n"
    );
    // With a null text, values equal to it are quoted.
    assert_eq!(
        csv(&b, &[("null", "x"), ("header", "false")]),
        "\"\",x\nx,\"\"\n\"NA\",\"NULL\"\n\"null\",\"n/a\"\n\"NaN\",\"#N/A\"\nNAN,1\n\"x\",nulls\n"
    );
    let n: ArrayRef = Arc::new(Int32Array::from(vec![Some(0), None, Some(10)]));
    assert_eq!(
        csv(&batch(vec![("n", n.clone()), ("m", n)]), &[("null", "0")]),
        "n,m\n\"0\",\"0\"\n0,0\n10,10\n"
    );
}

#[test]
fn a_null_in_a_one_column_table_is_refused_where_it_would_read_as_empty() {
    let s: ArrayRef = Arc::new(StringArray::from(vec![Some(""), None]));
    let b = batch(vec![("s", s)]);
    assert_unsupported(
        refusal(&b, &[]),
        &["column `s` (Utf8) holds a null", "-o null=<text>"],
    );
    assert_eq!(csv(&b, &[("null", "NULL")]), "s\n\"\"\nNULL\n");
    assert_eq!(csv(&b.slice(0, 1), &[]), "s\n\"\"\n");
    // A number's text is never empty: `""` is unambiguous there.
    let n: ArrayRef = Arc::new(Int32Array::from(vec![Some(1), None]));
    assert_eq!(csv(&batch(vec![("n", n)]), &[]), "n\n1\n\"\"\n");
}

#[test]
fn no_columns_give_an_empty_file() {
    let schema = Schema::empty();
    assert_eq!(csv_of(&schema, &[], &[]), "");
    let rows = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &atio_encoder_sdk::arrow_array::RecordBatchOptions::new().with_row_count(Some(2)),
    )
    .unwrap();
    assert_unsupported(refusal(&rows, &[]), &["no columns", "2 rows"]);
}

fn nested_batch() -> RecordBatch {
    let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), None]),
        None,
    ]));
    let mut map = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    map.keys().append_value("k");
    map.values().append_null();
    map.append(true).unwrap();
    map.keys().append_value("a,b");
    map.values().append_value(2);
    map.append(true).unwrap();
    let map: ArrayRef = Arc::new(map.finish());
    let fields = Fields::from(vec![Field::new("x", DataType::Utf8, true)]);
    let strukt: ArrayRef = Arc::new(StructArray::new(
        fields,
        vec![Arc::new(StringArray::from(vec![Some("q\"t"), None]))],
        None,
    ));
    batch(vec![("tags", list), ("m", map), ("st", strukt)])
}

#[test]
fn nested_columns_are_refused_unless_written_as_json() {
    let b = nested_batch();
    let err = refusal(&b, &[]);
    assert_eq!(
        err,
        EncodeError::Unsupported(format!(
            "column `tags` ({}) cannot be written as CSV; write it as parquet, arrow or jsonl, \
             or pass -o nested=json to write nested values as JSON text",
            b.schema().field(0).data_type()
        ))
    );
    assert_eq!(
        csv(&b, &[("nested", "json")]),
        "tags,m,st\n\"[1,null]\",\"{\"\"k\"\":null}\",\"{\"\"x\"\":\"\"q\\\"\"t\"\"}\"\n\
         ,\"{\"\"a,b\"\":2}\",{}\n"
    );
    let floats: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
        Some(vec![Some(f64::NAN)]),
    ]));
    assert_unsupported(
        refusal(&batch(vec![("f", floats)]), &[("nested", "json")]),
        &["column `f`", "NaN or infinity"],
    );
}

#[test]
fn binary_needs_an_encoding() {
    let bin: ArrayRef = Arc::new(BinaryArray::from(vec![
        Some(&b"\x00\xffab"[..]),
        None,
        Some(b""),
    ]));
    let view: ArrayRef = Arc::new(BinaryViewArray::from(vec![
        Some(&b"hi"[..]),
        Some(b""),
        None,
    ]));
    let b = batch(vec![("b", bin), ("v", view)]);
    assert_unsupported(
        refusal(&b, &[]),
        &["column `b` (Binary) cannot be written as CSV", "binary=hex"],
    );
    assert_eq!(
        csv(&b, &[("binary", "hex")]),
        "b,v\n00ff6162,6869\n,\"\"\n\"\",\n"
    );
    assert_eq!(
        csv(&b, &[("binary", "base64")]),
        "b,v\nAP9hYg==,aGk=\n,\"\"\n\"\",\n"
    );
    let dict: ArrayRef = Arc::new(DictionaryArray::new(
        Int32Array::from(vec![0]),
        Arc::new(BinaryArray::from(vec![&b"a"[..]])),
    ));
    let b = batch(vec![("d", dict)]);
    assert_eq!(csv(&b, &[("binary", "hex")]), "d\n61\n");
    assert_unsupported(refusal(&b, &[("binary", "base64")]), &["column `d`"]);
}

#[test]
fn dictionary_and_run_end_encoded_null_values_are_null() {
    let values: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("")]));
    let dict: ArrayRef = Arc::new(DictionaryArray::new(
        Int32Array::from(vec![Some(0), Some(1), None, Some(2)]),
        Arc::clone(&values),
    ));
    let ree: ArrayRef = Arc::new(
        RunArray::<Int32Type>::try_new(&Int32Array::from(vec![1, 3, 4]), &values).unwrap(),
    );
    assert_eq!(
        csv(&batch(vec![("d", dict), ("r", ree)]), &[]),
        "d,r\na,a\n,\n,\n\"\",\"\"\n"
    );
}

#[test]
fn durations_are_integer_counts_of_their_unit() {
    let b = batch(vec![
        (
            "s",
            Arc::new(DurationSecondArray::from(vec![i64::MIN, 90])) as ArrayRef,
        ),
        (
            "ms",
            Arc::new(DurationMillisecondArray::from(vec![i64::MAX, -1_500])),
        ),
    ]);
    assert_eq!(
        csv(&b, &[]),
        "s,ms\n-9223372036854775808,9223372036854775807\n90,-1500\n"
    );
}

#[test]
fn named_time_zones_are_written_in_utc() {
    let utc: ArrayRef = Arc::new(
        TimestampMillisecondArray::from(vec![Some(1_700_000_000_123), None]).with_timezone("UTC"),
    );
    let paris: ArrayRef =
        Arc::new(TimestampSecondArray::from(vec![Some(0), Some(-1)]).with_timezone("Europe/Paris"));
    let offset: ArrayRef =
        Arc::new(TimestampSecondArray::from(vec![Some(0), Some(0)]).with_timezone("+01:00"));
    let b = batch(vec![("u", utc), ("p", paris), ("o", offset)]);
    assert_eq!(
        csv(&b, &[]),
        "u,p,o\n2023-11-14T22:13:20.123Z,1970-01-01T00:00:00Z,1970-01-01T01:00:00+01:00\n\
         ,1969-12-31T23:59:59Z,1970-01-01T01:00:00+01:00\n"
    );
}

#[test]
fn decimals_half_floats_and_duplicate_names() {
    let d32: ArrayRef = Arc::new(
        Decimal32Array::from(vec![-999_999_999, 5])
            .with_precision_and_scale(9, -3)
            .unwrap(),
    );
    let d256: ArrayRef = Arc::new(
        Decimal256Array::from(vec![i256::from_i128(-(10_i128.pow(38) - 1)), i256::ZERO])
            .with_precision_and_scale(76, 40)
            .unwrap(),
    );
    // 1.0 and NaN as half floats.
    let halves: ArrayRef = Arc::new(Float16Array::new(
        ScalarBuffer::new(Buffer::from_vec(vec![0x3c00_u16, 0x7e00]), 0, 2),
        None,
    ));
    let nan: ArrayRef = Arc::new(Float64Array::from(vec![f64::INFINITY, f64::NAN]));
    let b = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("x", d32.data_type().clone(), true),
            Field::new("x", d256.data_type().clone(), true),
            Field::new("h", DataType::Float16, true),
            Field::new("f", DataType::Float64, true),
        ])),
        vec![d32, d256, halves, nan],
    )
    .unwrap();
    assert_eq!(
        csv(&b, &[]),
        "x,x,h,f\n-999999999000,-0.0099999999999999999999999999999999999999,1,inf\n\
         5000,0.0000000000000000000000000000000000000000,\"NaN\",\"NaN\"\n"
    );
}

#[test]
fn json_cells_refuse_maps_with_a_key_twice() {
    let mut builder = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    for value in [1, 2] {
        builder.keys().append_value("k");
        builder.values().append_value(value);
    }
    builder.append(true).unwrap();
    let map: ArrayRef = Arc::new(builder.finish());
    let n: ArrayRef = Arc::new(Int32Array::from(vec![1]));
    assert_unsupported(
        refusal(&batch(vec![("m", map), ("n", n)]), &[("nested", "json")]),
        &["column `m` (Map(", "same key twice"],
    );
}
