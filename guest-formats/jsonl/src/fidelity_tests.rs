//! Every value right or refused: the cases where arrow-json alone writes something other than
//! the value, and the types JSON cannot hold.

use std::sync::Arc;

use atio_encoder_sdk::EncodeError;
use atio_encoder_sdk::arrow_array::builder::{Int32Builder, MapBuilder, StringBuilder};
use atio_encoder_sdk::arrow_array::types::{Float64Type, Int32Type};
use atio_encoder_sdk::arrow_array::{
    Array, ArrayRef, BinaryArray, BinaryViewArray, Decimal32Array, Decimal64Array, Decimal128Array,
    Decimal256Array, DictionaryArray, DurationMillisecondArray, DurationNanosecondArray,
    DurationSecondArray, Float16Array, Float64Array, Int32Array, IntervalDayTimeArray,
    IntervalMonthDayNanoArray, IntervalYearMonthArray, ListArray, RecordBatch, RunArray,
    StringArray, StructArray, Time64MicrosecondArray, TimestampMillisecondArray,
    TimestampSecondArray, UnionArray,
};
use atio_encoder_sdk::arrow_buffer::{
    Buffer, IntervalDayTime, IntervalMonthDayNano, OffsetBuffer, ScalarBuffer, i256,
};
use atio_encoder_sdk::arrow_schema::{DataType, Field, Fields, UnionFields};
use atio_encoder_sdk::testing::Harness;

use crate::JsonlEncoder;

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

/// The JSON lines written for `batch` with `options`.
/// `batch` written as JSON lines; keys with null values omitted unless `options` say otherwise
/// (the default writes them: the expected texts here are the shorter form).
fn json(batch: &RecordBatch, options: &[(&str, &str)]) -> String {
    let options = with_omitted_nulls(options);
    let done =
        Harness::<JsonlEncoder>::encode(&batch.schema(), &options, std::slice::from_ref(batch))
            .unwrap();
    String::from_utf8(done.bytes).unwrap()
}

/// The error writing `batch` ends with (at `open` or at the batch).
fn refusal(batch: &RecordBatch, options: &[(&str, &str)]) -> EncodeError {
    let options = with_omitted_nulls(options);
    Harness::<JsonlEncoder>::encode(&batch.schema(), &options, std::slice::from_ref(batch))
        .unwrap_err()
}

/// `options` with `explicit-nulls=false` unless they set it.
fn with_omitted_nulls<'a>(options: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut options = options.to_vec();
    if !options.iter().any(|(name, _)| *name == "explicit-nulls") {
        options.push(("explicit-nulls", "false"));
    }
    options
}

#[track_caller]
fn assert_unsupported(err: EncodeError, needles: &[&str]) {
    assert!(matches!(err, EncodeError::Unsupported(_)), "{err}");
    for needle in needles {
        assert!(err.message().contains(needle), "`{needle}` not in: {err}");
    }
}

#[test]
fn dictionary_null_values_are_null() {
    let values = StringArray::from(vec![Some("a"), None]);
    let keys = Int32Array::from(vec![Some(0), Some(1), None]);
    let dict: ArrayRef = Arc::new(DictionaryArray::new(keys, Arc::new(values)));
    let ints = DictionaryArray::new(
        Int32Array::from(vec![1, 0]),
        Arc::new(Int32Array::from(vec![Some(7), None])),
    );
    let b = batch(vec![("d", dict.clone())]);
    assert_eq!(json(&b, &[]), "{\"d\":\"a\"}\n{}\n{}\n");
    assert_eq!(
        json(&b, &[("explicit-nulls", "true")]),
        "{\"d\":\"a\"}\n{\"d\":null}\n{\"d\":null}\n"
    );
    // Inside a list, and with integer values (arrow-json alone writes 0).
    let list: ArrayRef = Arc::new(ListArray::new(
        Arc::new(Field::new_list_field(Array::data_type(&ints).clone(), true)),
        OffsetBuffer::new(ScalarBuffer::from(vec![0, 2])),
        Arc::new(ints),
        None,
    ));
    assert_eq!(json(&batch(vec![("l", list)]), &[]), "{\"l\":[null,7]}\n");
}

#[test]
fn map_null_values_are_kept() {
    let mut builder = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    builder.keys().append_value("a");
    builder.values().append_value(1);
    builder.keys().append_value("b");
    builder.values().append_null();
    builder.append(true).unwrap();
    builder.append(false).unwrap();
    let map: ArrayRef = Arc::new(builder.finish());
    let b = batch(vec![("m", map)]);
    assert_eq!(json(&b, &[]), "{\"m\":{\"a\":1,\"b\":null}}\n{}\n");
    assert_eq!(
        json(&b, &[("explicit-nulls", "true")]),
        "{\"m\":{\"a\":1,\"b\":null}}\n{\"m\":null}\n"
    );
}

#[test]
fn durations_and_intervals_are_exact_at_the_extremes() {
    let b = batch(vec![
        (
            "s",
            Arc::new(DurationSecondArray::from(vec![i64::MIN, 0, 90])) as ArrayRef,
        ),
        (
            "ms",
            Arc::new(DurationMillisecondArray::from(vec![i64::MAX, -1_500, 1])),
        ),
        (
            "ns",
            Arc::new(DurationNanosecondArray::from(vec![i64::MIN, 1, -1])),
        ),
        (
            "ym",
            Arc::new(IntervalYearMonthArray::from(vec![i32::MIN, -1, 14])),
        ),
        (
            "dt",
            Arc::new(IntervalDayTimeArray::from(vec![
                IntervalDayTime::new(i32::MIN, i32::MIN),
                IntervalDayTime::new(0, 0),
                IntervalDayTime::new(1, -1),
            ])),
        ),
        (
            "mdn",
            Arc::new(IntervalMonthDayNanoArray::from(vec![
                IntervalMonthDayNano::new(i32::MIN, i32::MIN, i64::MIN),
                IntervalMonthDayNano::new(0, 0, 0),
                IntervalMonthDayNano::new(1, 2, 3),
            ])),
        ),
    ]);
    let text = json(&b, &[]);
    assert!(!text.contains("invalid"), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "{\"s\":\"-PT9223372036854775808S\",\"ms\":\"PT9223372036854775.807S\",\
         \"ns\":\"-PT9223372036.854775808S\",\"ym\":\"-178956971 years 4 mons\",\
         \"dt\":\"-2147483648 days -596 hours -31 mins -23.648 secs\",\
         \"mdn\":\"-2147483648 mons -2147483648 days -2562047 hours -47 mins -16.854775808 secs\"}"
    );
    assert_eq!(
        lines[2],
        "{\"s\":\"PT90S\",\"ms\":\"PT0.001S\",\"ns\":\"-PT0.000000001S\",\"ym\":\"1 years 2 mons\",\
         \"dt\":\"1 days -0.001 secs\",\"mdn\":\"1 mons 2 days 0.000000003 secs\"}"
    );
}

#[test]
fn duplicate_names_are_refused_naming_them() {
    let a: ArrayRef = Arc::new(Int32Array::from(vec![1]));
    let b = RecordBatch::try_new(
        Arc::new(atio_encoder_sdk::arrow_schema::Schema::new(vec![
            Field::new("x", DataType::Int32, true),
            Field::new("x", DataType::Int32, true),
        ])),
        vec![a.clone(), a.clone()],
    )
    .unwrap();
    assert_unsupported(refusal(&b, &[]), &["column `x` (Int32)", "same name"]);
    let fields = Fields::from(vec![
        Field::new("k", DataType::Int32, true),
        Field::new("k", DataType::Int32, true),
    ]);
    let s: ArrayRef = Arc::new(StructArray::new(fields, vec![a.clone(), a], None));
    assert_unsupported(
        refusal(&batch(vec![("s", s)]), &[]),
        &["column `s`", "named `k`"],
    );
}

#[test]
fn non_finite_floats_are_refused_unless_asked_for() {
    let f: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), None]));
    let b = batch(vec![("f", f)]);
    assert_unsupported(
        refusal(&b, &[]),
        &["column `f` (Float64)", "NaN or infinity", "non-finite=null"],
    );
    assert_eq!(
        json(&b, &[("non-finite", "null")]),
        "{\"f\":1.5}\n{\"f\":null}\n{}\n"
    );
    assert_eq!(
        json(&b, &[("non-finite", "string")]),
        "{\"f\":1.5}\n{\"f\":\"NaN\"}\n{}\n"
    );
    // Nested, on arrow-json's path.
    let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
        Some(vec![
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
            Some(0.25),
        ]),
    ]));
    let b = batch(vec![("l", list)]);
    assert_unsupported(refusal(&b, &[]), &["column `l` (List("]);
    assert_eq!(
        json(&b, &[("non-finite", "string")]),
        "{\"l\":[\"Infinity\",\"-Infinity\",0.25]}\n"
    );
    // A NaN under a null is no value at all.
    let hidden: ArrayRef = Arc::new(Float64Array::new(
        vec![f64::NAN, 2.0].into(),
        Some(vec![false, true].into()),
    ));
    assert_eq!(json(&batch(vec![("h", hidden)]), &[]), "{}\n{\"h\":2.0}\n");
}

#[test]
fn binary_needs_an_encoding() {
    let bin: ArrayRef = Arc::new(BinaryArray::from(vec![Some(&b"\x00\xffab"[..]), None]));
    let view: ArrayRef = Arc::new(BinaryViewArray::from(vec![Some(&b"hi"[..]), Some(b"")]));
    let b = batch(vec![("b", bin), ("v", view)]);
    assert_unsupported(
        refusal(&b, &[]),
        &["column `b` (Binary)", "binary=base64", "parquet or arrow"],
    );
    assert_eq!(
        json(&b, &[("binary", "hex")]),
        "{\"b\":\"00ff6162\",\"v\":\"6869\"}\n{\"v\":\"\"}\n"
    );
    assert_eq!(
        json(&b, &[("binary", "base64")]),
        "{\"b\":\"AP9hYg==\",\"v\":\"aGk=\"}\n{\"v\":\"\"}\n"
    );
}

#[test]
fn named_time_zones_are_written_as_utc_instants() {
    let utc: ArrayRef = Arc::new(
        TimestampMillisecondArray::from(vec![Some(1_700_000_000_123), None]).with_timezone("UTC"),
    );
    let paris: ArrayRef =
        Arc::new(TimestampSecondArray::from(vec![Some(0), Some(-1)]).with_timezone("Europe/Paris"));
    let offset: ArrayRef =
        Arc::new(TimestampSecondArray::from(vec![Some(0), Some(0)]).with_timezone("+01:00"));
    let b = batch(vec![("u", utc), ("p", paris), ("o", offset)]);
    assert_eq!(
        json(&b, &[]),
        "{\"u\":\"2023-11-14T22:13:20.123Z\",\"p\":\"1970-01-01T00:00:00Z\",\
         \"o\":\"1970-01-01T01:00:00+01:00\"}\n\
         {\"p\":\"1969-12-31T23:59:59Z\",\"o\":\"1970-01-01T01:00:00+01:00\"}\n"
    );
    let far: ArrayRef =
        Arc::new(TimestampSecondArray::from(vec![i64::MIN]).with_timezone("Europe/Paris"));
    assert_unsupported(refusal(&batch(vec![("far", far)]), &[]), &["column `far`"]);
}

#[test]
fn times_outside_a_day_are_refused() {
    let t: ArrayRef = Arc::new(Time64MicrosecondArray::from(vec![0, 86_400_000_000]));
    assert_unsupported(
        refusal(&batch(vec![("t", t)]), &[]),
        &["column `t` (Time64(µs)) holds 86400000000"],
    );
}

#[test]
fn decimals_keep_every_digit() {
    let b = batch(vec![
        (
            "d32",
            Arc::new(
                Decimal32Array::from(vec![-999_999_999, 5])
                    .with_precision_and_scale(9, 3)
                    .unwrap(),
            ) as ArrayRef,
        ),
        (
            "d64",
            Arc::new(
                Decimal64Array::from(vec![i64::MAX / 10, -1])
                    .with_precision_and_scale(18, -2)
                    .unwrap(),
            ),
        ),
        (
            "d128",
            Arc::new(
                Decimal128Array::from(vec![10_i128.pow(38) - 1, 150])
                    .with_precision_and_scale(38, 2)
                    .unwrap(),
            ),
        ),
        (
            "d256",
            Arc::new(
                Decimal256Array::from(vec![i256::from_i128(-(10_i128.pow(38) - 1)), i256::ZERO])
                    .with_precision_and_scale(76, 40)
                    .unwrap(),
            ),
        ),
    ]);
    assert_eq!(
        json(&b, &[]),
        "{\"d32\":-999999.999,\"d64\":92233720368547758000,\
         \"d128\":999999999999999999999999999999999999.99,\
         \"d256\":-0.0099999999999999999999999999999999999999}\n\
         {\"d32\":0.005,\"d64\":-100,\"d128\":1.50,\
         \"d256\":0.0000000000000000000000000000000000000000}\n"
    );
}

#[test]
fn half_floats_are_their_shortest_single_precision_text() {
    // 1.0, 0.1 (rounded to half precision), 65504 (the largest half).
    let bits: Vec<u16> = vec![0x3c00, 0x2e66, 0x7bff];
    let halves: ArrayRef = Arc::new(Float16Array::new(
        ScalarBuffer::new(Buffer::from_vec(bits), 0, 3),
        None,
    ));
    assert_eq!(
        json(&batch(vec![("h", halves)]), &[]),
        "{\"h\":1.0}\n{\"h\":0.099975586}\n{\"h\":65504.0}\n"
    );
}

#[test]
fn run_end_encoded_dictionaries_keep_null_values() {
    let values = DictionaryArray::new(
        Int32Array::from(vec![0, 1]),
        Arc::new(StringArray::from(vec![Some("x"), None])),
    );
    let ree: ArrayRef =
        Arc::new(RunArray::<Int32Type>::try_new(&Int32Array::from(vec![2, 3]), &values).unwrap());
    assert_eq!(
        json(&batch(vec![("r", ree)]), &[("explicit-nulls", "true")]),
        "{\"r\":\"x\"}\n{\"r\":\"x\"}\n{\"r\":null}\n"
    );
}

#[test]
fn unions_are_refused() {
    let fields =
        UnionFields::try_new(vec![0], vec![Field::new("i", DataType::Int32, true)]).unwrap();
    let union: ArrayRef = Arc::new(
        UnionArray::try_new(
            fields,
            ScalarBuffer::from(vec![0_i8]),
            None,
            vec![Arc::new(Int32Array::from(vec![1]))],
        )
        .unwrap(),
    );
    assert_unsupported(
        refusal(&batch(vec![("u", union)]), &[]),
        &["column `u` (Union(", "parquet or arrow"],
    );
}

#[test]
fn maps_with_a_key_twice_are_refused() {
    let mut builder = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    for (key, value) in [("a", 1), ("b", 2)] {
        builder.keys().append_value(key);
        builder.values().append_value(value);
    }
    builder.append(true).unwrap();
    for value in [3, 4] {
        builder.keys().append_value("a");
        builder.values().append_value(value);
    }
    builder.append(true).unwrap();
    let map: ArrayRef = Arc::new(builder.finish());
    let b = batch(vec![("m", map)]);
    assert_eq!(json(&b.slice(0, 1), &[]), "{\"m\":{\"a\":1,\"b\":2}}\n");
    assert_unsupported(refusal(&b, &[]), &["column `m` (Map(", "same key twice"]);
}
