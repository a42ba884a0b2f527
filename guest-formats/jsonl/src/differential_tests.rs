//! Differential tests: the encoder (both paths) against arrow-json's `LineDelimited` writer
//! with the same `explicit-nulls` setting and the `values` corrections, byte for byte (and,
//! for the fast path's types with `non-finite=null`, against arrow-json alone).

use std::sync::Arc;

use arrow_json::writer::{LineDelimited, WriterBuilder};
use atio_encoder_sdk::arrow_array::builder::{ListBuilder, StringDictionaryBuilder};
use atio_encoder_sdk::arrow_array::types::Int32Type;
use atio_encoder_sdk::arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int8Array,
    Int16Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, RecordBatchOptions,
    StringArray, StringViewArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array,
    UInt64Array,
};
use atio_encoder_sdk::arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use atio_encoder_sdk::testing::Harness;
use atio_encoder_sdk::text;

use crate::fast::FastPath;
use crate::values::{BinaryText, JsonValues, NonFinite, Settings};
use crate::{FAST_BATCHES, JsonlEncoder};

/// xorshift64*: small, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `num / den`.
    fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next() % den < num
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// arrow-json's bytes for `batches`, with the encoder's corrections (`values`).
fn reference(batches: &[RecordBatch], explicit_nulls: bool, non_finite: NonFinite) -> Vec<u8> {
    let settings = Settings {
        non_finite,
        binary: BinaryText::Hex,
        format: "JSON lines",
        instead: "parquet or arrow",
    };
    arrow_json_bytes(
        batches,
        WriterBuilder::new()
            .with_explicit_nulls(explicit_nulls)
            .with_encoder_factory(JsonValues::factory(settings)),
    )
}

/// arrow-json's own bytes for `batches`.
fn plain_arrow_json(batches: &[RecordBatch], explicit_nulls: bool) -> Vec<u8> {
    arrow_json_bytes(
        batches,
        WriterBuilder::new().with_explicit_nulls(explicit_nulls),
    )
}

fn arrow_json_bytes(batches: &[RecordBatch], builder: WriterBuilder) -> Vec<u8> {
    let mut writer = builder.build::<_, LineDelimited>(Vec::new());
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.finish().unwrap();
    writer.into_inner()
}

/// The modes every differential test runs in: explicit nulls or not, non-finite floats as
/// null or as strings.
const MODES: [(bool, NonFinite); 4] = [
    (false, NonFinite::Null),
    (true, NonFinite::Null),
    (false, NonFinite::String),
    (true, NonFinite::String),
];

fn options(explicit_nulls: bool, non_finite: NonFinite) -> Vec<(&'static str, &'static str)> {
    let mut options = vec![
        (
            "explicit-nulls",
            if explicit_nulls { "true" } else { "false" },
        ),
        ("binary", "hex"),
    ];
    options.push(match non_finite {
        NonFinite::Error => ("non-finite", "error"),
        NonFinite::Null => ("non-finite", "null"),
        NonFinite::String => ("non-finite", "string"),
    });
    options
}

/// The encoder's bytes through the harness (IPC and all), and how many batches took the fast
/// path.
fn encode(
    schema: &Schema,
    batches: &[RecordBatch],
    explicit_nulls: bool,
    non_finite: NonFinite,
) -> (Vec<u8>, usize) {
    let before = FAST_BATCHES.with(|n| n.get());
    let options = options(explicit_nulls, non_finite);
    let done = Harness::<JsonlEncoder>::encode(schema, &options, batches).unwrap();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(done.summary.rows, rows as u64);
    (done.bytes, FAST_BATCHES.with(|n| n.get()) - before)
}

/// The fast path's bytes for `batches` as they are (no IPC round trip, so slices keep their
/// offsets), after the same timestamp-to-text step as the encoder.
fn encode_fast_directly(
    schema: &Schema,
    batches: &[RecordBatch],
    explicit_nulls: bool,
    non_finite: NonFinite,
) -> Vec<u8> {
    let fast = FastPath::new(schema, explicit_nulls, non_finite).expect("eligible schema");
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for batch in batches {
        let batch = text::timestamps_as_text(batch);
        let columns = fast.columns(&batch).expect("eligible batch");
        fast.encode(&columns, batch.num_rows(), &mut buf, &mut out)
            .unwrap();
        assert!(buf.is_empty());
    }
    out
}

/// Asserts that the encoder writes the reference bytes for `batches` in every mode, and that
/// `fast` of them went through the fast path.
#[track_caller]
fn assert_same(schema: &Schema, batches: &[RecordBatch], fast: usize) {
    for (explicit_nulls, non_finite) in MODES {
        let expected = reference(batches, explicit_nulls, non_finite);
        let (actual, fast_batches) = encode(schema, batches, explicit_nulls, non_finite);
        if actual != expected {
            panic!(
                "explicit_nulls={explicit_nulls} {non_finite:?}\nexpected: {}\nactual:   {}",
                String::from_utf8_lossy(&expected),
                String::from_utf8_lossy(&actual)
            );
        }
        assert_eq!(fast_batches, fast, "batches on the fast path");
    }
}

#[derive(Clone, Copy, Debug)]
enum Ty {
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
    Bool,
    Utf8,
    LargeUtf8,
    View,
    Timestamp(TimeUnit),
}

const TYPES: &[Ty] = &[
    Ty::I8,
    Ty::I16,
    Ty::I32,
    Ty::I64,
    Ty::U8,
    Ty::U16,
    Ty::U32,
    Ty::U64,
    Ty::F32,
    Ty::F64,
    Ty::Bool,
    Ty::Utf8,
    Ty::LargeUtf8,
    Ty::View,
    Ty::Timestamp(TimeUnit::Second),
    Ty::Timestamp(TimeUnit::Millisecond),
    Ty::Timestamp(TimeUnit::Microsecond),
    Ty::Timestamp(TimeUnit::Nanosecond),
];

impl Ty {
    fn data_type(self) -> DataType {
        match self {
            Ty::I8 => DataType::Int8,
            Ty::I16 => DataType::Int16,
            Ty::I32 => DataType::Int32,
            Ty::I64 => DataType::Int64,
            Ty::U8 => DataType::UInt8,
            Ty::U16 => DataType::UInt16,
            Ty::U32 => DataType::UInt32,
            Ty::U64 => DataType::UInt64,
            Ty::F32 => DataType::Float32,
            Ty::F64 => DataType::Float64,
            Ty::Bool => DataType::Boolean,
            Ty::Utf8 => DataType::Utf8,
            Ty::LargeUtf8 => DataType::LargeUtf8,
            Ty::View => DataType::Utf8View,
            Ty::Timestamp(unit) => DataType::Timestamp(unit, None),
        }
    }
}

/// Column names, some needing escapes, one longer than the fast path's key block.
const NAMES: &[&str] = &[
    "a",
    "id",
    "x y",
    "quote\"d",
    "back\\slash",
    "new\nline",
    "ctl\u{1}\u{1f}\u{7f}",
    "slash/",
    "ü",
    "😀",
    "\u{2028}",
    "",
    "a_very_long_column_name_that_is_longer_than_the_key_block",
    "exactly_29_bytes_long_name__",
];

/// String pieces worth escaping (or worth not escaping).
const PIECES: &[&str] = &[
    "\"",
    "\\",
    "/",
    "\u{7f}",
    "\u{2028}",
    "\u{2029}",
    "😀",
    "é",
    "\u{feff}",
    "\n",
    "\r\n",
    "\t",
    "\u{8}",
    "\u{c}",
    "\u{0}",
    "</script>",
    "null",
    "",
];

fn random_string(rng: &mut Rng) -> String {
    let mut s = String::new();
    let pieces = match rng.below(10) {
        0 => 0,
        1..=6 => rng.below(4),
        7 | 8 => rng.below(12),
        _ => rng.below(60),
    };
    for _ in 0..pieces {
        match rng.below(6) {
            0 => s.push_str(rng.pick(PIECES)),
            1 => s.push(char::from(rng.below(32) as u8)),
            2 => s.push(char::from_u32(rng.below(0x3000) as u32).unwrap_or('?')),
            _ => {
                for _ in 0..rng.below(20) {
                    s.push(char::from(b' ' + rng.below(95) as u8));
                }
            }
        }
    }
    s
}

fn random_f64(rng: &mut Rng) -> f64 {
    const SPECIAL: &[f64] = &[
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        5e-324,
        -5e-324,
        2.225_073_858_507_201e-308,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        1e300,
        1e-300,
        1e15,
        1e16,
        1e17,
        1e21,
        1e22,
        1e-5,
        1e-6,
        1e-7,
        0.1,
        0.3,
        1.0 / 3.0,
        -1.5,
        123_456_789.123,
        9_007_199_254_740_993.0,
    ];
    match rng.below(5) {
        0 => rng.pick(SPECIAL),
        1 => f64::from_bits(rng.next()),
        2 => (rng.next() as i64) as f64,
        _ => (rng.next() as i32) as f64 / 1000.0,
    }
}

fn random_f32(rng: &mut Rng) -> f32 {
    const SPECIAL: &[f32] = &[
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.0,
        0.0,
        1e-45,
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::MIN,
        f32::EPSILON,
        1e30,
        1e-30,
        0.1,
        16_777_217.0,
        -2.5,
    ];
    match rng.below(4) {
        0 => rng.pick(SPECIAL),
        1 => f32::from_bits(rng.next() as u32),
        _ => (rng.next() as i32) as f32 / 100.0,
    }
}

/// A random integer in `min..=max`, often an extreme.
fn random_int(rng: &mut Rng, min: i128, max: i128) -> i128 {
    let v = match rng.below(4) {
        0 => rng.pick(&[min, max, 0, 1, -1, min + 1, max - 1]),
        1 => min + (rng.next() as i128).rem_euclid(max - min + 1),
        _ => (rng.next() % 2000) as i128 - 1000,
    };
    v.clamp(min, max)
}

macro_rules! ints {
    ($rng:expr, $rows:expr, $valid:expr, $array:ty, $t:ty) => {{
        let values: Vec<Option<$t>> = (0..$rows)
            .map(|_| {
                let v = random_int($rng, <$t>::MIN as i128, <$t>::MAX as i128);
                $valid($rng).then(|| <$t>::try_from(v).unwrap())
            })
            .collect();
        Arc::new(<$array>::from(values)) as ArrayRef
    }};
}

/// A random column of `ty` with `rows` values, each null with probability `nulls / 4`.
fn random_array(rng: &mut Rng, ty: Ty, rows: usize, nulls: u64) -> ArrayRef {
    let valid = |rng: &mut Rng| !rng.chance(nulls, 4);
    match ty {
        Ty::I8 => ints!(rng, rows, valid, Int8Array, i8),
        Ty::I16 => ints!(rng, rows, valid, Int16Array, i16),
        Ty::I32 => ints!(rng, rows, valid, Int32Array, i32),
        Ty::I64 => ints!(rng, rows, valid, Int64Array, i64),
        Ty::U8 => ints!(rng, rows, valid, UInt8Array, u8),
        Ty::U16 => ints!(rng, rows, valid, UInt16Array, u16),
        Ty::U32 => ints!(rng, rows, valid, UInt32Array, u32),
        Ty::U64 => ints!(rng, rows, valid, UInt64Array, u64),
        Ty::F32 => Arc::new(Float32Array::from(
            (0..rows)
                .map(|_| {
                    let v = random_f32(rng);
                    valid(rng).then_some(v)
                })
                .collect::<Vec<_>>(),
        )),
        Ty::F64 => Arc::new(Float64Array::from(
            (0..rows)
                .map(|_| {
                    let v = random_f64(rng);
                    valid(rng).then_some(v)
                })
                .collect::<Vec<_>>(),
        )),
        Ty::Bool => Arc::new(BooleanArray::from(
            (0..rows)
                .map(|_| {
                    let v = rng.chance(1, 2);
                    valid(rng).then_some(v)
                })
                .collect::<Vec<_>>(),
        )),
        Ty::Utf8 | Ty::LargeUtf8 | Ty::View => {
            let values: Vec<Option<String>> = (0..rows)
                .map(|_| {
                    let v = random_string(rng);
                    valid(rng).then_some(v)
                })
                .collect();
            match ty {
                Ty::Utf8 => Arc::new(StringArray::from_iter(values)),
                Ty::LargeUtf8 => Arc::new(LargeStringArray::from_iter(values)),
                _ => Arc::new(StringViewArray::from_iter(values)),
            }
        }
        Ty::Timestamp(unit) => {
            // Within chrono's range for every unit (nanoseconds: all of i64).
            let range: i64 = match unit {
                TimeUnit::Second => 200_000_000_000,
                TimeUnit::Millisecond => 200_000_000_000_000,
                TimeUnit::Microsecond => 200_000_000_000_000_000,
                TimeUnit::Nanosecond => i64::MAX,
            };
            let values: Vec<Option<i64>> = (0..rows)
                .map(|_| {
                    let v = match rng.below(3) {
                        0 => rng.pick(&[0, 1, -1, 999, 1_000_000, range, -range]),
                        _ => (rng.next() as i64) % range,
                    };
                    valid(rng).then_some(v)
                })
                .collect();
            match unit {
                TimeUnit::Second => Arc::new(TimestampSecondArray::from(values)),
                TimeUnit::Millisecond => Arc::new(TimestampMillisecondArray::from(values)),
                TimeUnit::Microsecond => Arc::new(TimestampMicrosecondArray::from(values)),
                TimeUnit::Nanosecond => Arc::new(TimestampNanosecondArray::from(values)),
            }
        }
    }
}

fn random_schema(rng: &mut Rng) -> (SchemaRef, Vec<Ty>) {
    let columns = 1 + rng.below(7);
    let types: Vec<Ty> = (0..columns).map(|_| rng.pick(TYPES)).collect();
    let fields: Vec<Field> = types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            // Names are unique: the encoder refuses duplicates (see `fidelity_tests`).
            let name = if rng.chance(1, 2) {
                format!("{}{i}", rng.pick(NAMES))
            } else {
                format!("c{i}")
            };
            Field::new(name, ty.data_type(), true)
        })
        .collect();
    (Arc::new(Schema::new(fields)), types)
}

/// A batch of `rows` rows, built `extra` rows longer and sliced when `offset` is set.
fn random_batch(rng: &mut Rng, schema: &SchemaRef, types: &[Ty], rows: usize) -> RecordBatch {
    let (offset, extra) = if rng.chance(1, 3) {
        let offset = rng.below(9);
        (offset, offset + rng.below(5))
    } else {
        (0, 0)
    };
    let columns = types
        .iter()
        .map(|&ty| {
            let nulls = rng.pick(&[0, 0, 1, 2, 4]);
            random_array(rng, ty, rows + extra, nulls)
        })
        .collect();
    let batch = RecordBatch::try_new(Arc::clone(schema), columns).unwrap();
    batch.slice(offset, rows)
}

#[test]
fn random_batches_match_arrow_json() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..150 {
        let (schema, types) = random_schema(&mut rng);
        assert!(
            FastPath::new(&schema, false, NonFinite::Null).is_some(),
            "{schema:?}"
        );
        let count = rng.below(5);
        let batches: Vec<RecordBatch> = (0..count)
            .map(|_| {
                let rows = match rng.below(4) {
                    0 => 0,
                    1 => 1,
                    _ => rng.below(80),
                };
                random_batch(&mut rng, &schema, &types, rows)
            })
            .collect();
        assert_same(&schema, &batches, batches.len());
        // The same batches without the IPC round trip, so slices keep their offsets.
        for (explicit_nulls, non_finite) in MODES {
            let fast = encode_fast_directly(&schema, &batches, explicit_nulls, non_finite);
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(reference(&batches, explicit_nulls, non_finite)).unwrap(),
            );
        }
        // The corrections leave these types as arrow-json writes them.
        for explicit_nulls in [false, true] {
            assert_eq!(
                reference(&batches, explicit_nulls, NonFinite::Null),
                plain_arrow_json(&batches, explicit_nulls)
            );
        }
    }
}

#[test]
fn every_type_in_one_schema() {
    let mut rng = Rng(42);
    let schema = Arc::new(Schema::new(
        TYPES
            .iter()
            .enumerate()
            .map(|(i, ty)| {
                let name = format!("{}{}", NAMES[i % NAMES.len()], i / NAMES.len());
                Field::new(name, ty.data_type(), true)
            })
            .collect::<Vec<_>>(),
    ));
    let batches: Vec<RecordBatch> = [300, 0, 17, 1]
        .into_iter()
        .map(|rows| random_batch(&mut rng, &schema, TYPES, rows))
        .collect();
    assert_same(&schema, &batches, batches.len());
}

#[test]
fn all_null_rows_and_columns() {
    // With nulls omitted, all-null rows are `{}`; NaN and infinities are written as `null`
    // even then, because they are not null values.
    let schema = Arc::new(Schema::new(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("f", DataType::Float64, true),
        Field::new("g", DataType::Float32, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int32Array::from(vec![None, None, Some(1)])),
            Arc::new(StringArray::from(vec![None, None, Some("")])),
            Arc::new(Float64Array::from(vec![None, Some(f64::NAN), Some(-0.0)])),
            Arc::new(Float32Array::from(vec![
                None,
                Some(f32::NEG_INFINITY),
                Some(1e-45),
            ])),
        ],
    )
    .unwrap();
    let (bytes, fast) = encode(
        &schema,
        std::slice::from_ref(&batch),
        false,
        NonFinite::Null,
    );
    assert_eq!(fast, 1);
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "{}\n{\"f\":null,\"g\":null}\n{\"a\":1,\"s\":\"\",\"f\":-0.0,\"g\":1.0e-45}\n"
    );
    assert_same(&schema, &[batch], 1);
}

#[test]
fn sliced_arrays_keep_their_offsets() {
    // Slices at every offset, without the IPC round trip (which rebases them), and with it.
    let mut rng = Rng(7);
    let types = [
        Ty::Utf8,
        Ty::LargeUtf8,
        Ty::View,
        Ty::Bool,
        Ty::I16,
        Ty::F64,
    ];
    let schema = Arc::new(Schema::new(
        types
            .iter()
            .enumerate()
            .map(|(i, ty)| Field::new(format!("c{i}"), ty.data_type(), true))
            .collect::<Vec<_>>(),
    ));
    let columns = types
        .iter()
        .map(|&ty| random_array(&mut rng, ty, 100, 1))
        .collect();
    let whole = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
    for offset in 0..20 {
        for len in [0, 1, 7, 30] {
            let batches = [whole.slice(offset, len), whole.slice(offset + 50, len)];
            for (explicit_nulls, non_finite) in MODES {
                assert_eq!(
                    encode_fast_directly(&schema, &batches, explicit_nulls, non_finite),
                    reference(&batches, explicit_nulls, non_finite)
                );
            }
            assert_same(&schema, &batches, 2);
        }
    }
}

#[test]
fn integer_extremes() {
    macro_rules! column {
        ($array:ty, $t:ty) => {
            Arc::new(<$array>::from(vec![
                <$t>::MIN,
                <$t>::MAX,
                0,
                1,
                <$t>::MIN / 2,
                <$t>::MAX / 10,
            ])) as ArrayRef
        };
    }
    let batch = RecordBatch::try_from_iter([
        ("i8", column!(Int8Array, i8)),
        ("i16", column!(Int16Array, i16)),
        ("i32", column!(Int32Array, i32)),
        ("i64", column!(Int64Array, i64)),
        ("u8", column!(UInt8Array, u8)),
        ("u16", column!(UInt16Array, u16)),
        ("u32", column!(UInt32Array, u32)),
        ("u64", column!(UInt64Array, u64)),
    ])
    .unwrap();
    let (bytes, _) = encode(
        &batch.schema(),
        std::slice::from_ref(&batch),
        false,
        NonFinite::Null,
    );
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with(
        "{\"i8\":-128,\"i16\":-32768,\"i32\":-2147483648,\"i64\":-9223372036854775808,\
         \"u8\":0,\"u16\":0,\"u32\":0,\"u64\":0}\n"
    ));
    assert!(text.contains("\"u64\":18446744073709551615}"));
    assert_same(&batch.schema(), &[batch], 1);
}

#[test]
fn strings_of_every_length_and_escape() {
    // Every single byte below 0x80 at every position of strings of length 0..40, so the word
    // scan, the short-string block copy and the escape loop all see every boundary.
    let mut values = vec![String::new()];
    for len in 1..40 {
        for byte in (0u8..0x80).step_by(if len % 8 == 0 { 1 } else { 5 }) {
            for pos in [0, len / 2, len - 1] {
                let mut s: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                s[pos] = byte;
                values.push(String::from_utf8(s).unwrap());
            }
        }
        values.push("😀".repeat(len));
        values.push("\u{2028}\"\\".repeat(len));
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("s", DataType::Utf8, false),
        Field::new("l", DataType::LargeUtf8, false),
        Field::new("v", DataType::Utf8View, false),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(StringArray::from_iter_values(&values)),
            Arc::new(LargeStringArray::from_iter_values(values.iter().rev())),
            Arc::new(StringViewArray::from_iter_values(&values)),
        ],
    )
    .unwrap();
    let (bytes, _) = encode(
        &schema,
        std::slice::from_ref(&batch),
        false,
        NonFinite::Null,
    );
    // Every line is valid JSON that reads back as the original strings.
    for (line, expected) in String::from_utf8(bytes).unwrap().lines().zip(&values) {
        let start = "{\"s\":".len();
        let end = line.find(",\"l\":").unwrap();
        assert_eq!(&unescape(&line[start..end]), expected);
    }
    assert_same(&schema, &[batch], 1);
}

/// Reads back a JSON string literal (enough of JSON for the escapes serde_json writes).
fn unescape(quoted: &str) -> String {
    let inner = quoted.strip_prefix('"').unwrap().strip_suffix('"').unwrap();
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            assert!(c >= ' ', "unescaped control character in {quoted:?}");
            out.push(c);
            continue;
        }
        match chars.next().unwrap() {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).unwrap()).unwrap());
            }
            other => panic!("unexpected escape \\{other}"),
        }
    }
    out
}

#[test]
fn output_over_a_mebibyte_is_flushed_in_pieces() {
    let mut rng = Rng(99);
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ]));
    let types = [Ty::I64, Ty::Utf8, Ty::F64];
    let batches = [
        random_batch(&mut rng, &schema, &types, 40_000),
        random_batch(&mut rng, &schema, &types, 3),
    ];
    let (bytes, fast) = encode(&schema, &batches, true, NonFinite::Null);
    assert!(bytes.len() > 2 << 20, "{}", bytes.len());
    assert_eq!(fast, 2);
    assert_same(&schema, &batches, 2);
}

#[test]
fn no_columns() {
    let schema = Arc::new(Schema::empty());
    let batch = RecordBatch::try_new_with_options(
        Arc::clone(&schema),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(3)),
    )
    .unwrap();
    let (bytes, _) = encode(&schema, std::slice::from_ref(&batch), true, NonFinite::Null);
    assert_eq!(bytes, b"{}\n{}\n{}\n");
    assert_same(&schema, &[batch], 1);
}

#[test]
fn no_batches_and_empty_batches() {
    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
    assert_same(&schema, &[], 0);
    let empty = RecordBatch::new_empty(Arc::clone(&schema));
    assert_same(&schema, &[empty.clone(), empty], 2);
}

#[test]
fn ineligible_schemas_use_arrow_json() {
    let mut list = ListBuilder::new(atio_encoder_sdk::arrow_array::builder::Int32Builder::new());
    list.append_value([Some(1), None]);
    list.append_null();
    list.append_value([]);
    let list: ArrayRef = Arc::new(list.finish());
    let date: ArrayRef = Arc::new(Date32Array::from(vec![Some(0), None, Some(19_000)]));
    let decimal: ArrayRef = Arc::new(
        Decimal128Array::from(vec![Some(12_345), None, Some(-1)])
            .with_precision_and_scale(10, 2)
            .unwrap(),
    );
    let zoned: ArrayRef = Arc::new(
        TimestampMillisecondArray::from(vec![Some(0), Some(1_700_000_000_123), None])
            .with_timezone("+02:00"),
    );
    let mut dictionary = StringDictionaryBuilder::<Int32Type>::new();
    dictionary.append_value("x\"y");
    dictionary.append_null();
    dictionary.append_value("x\"y");
    let dictionary: ArrayRef = Arc::new(dictionary.finish());
    let s: ArrayRef = Arc::new(StringArray::from(vec![Some("a\nb"), None, Some("")]));
    let n: ArrayRef = Arc::new(Float64Array::from(vec![Some(f64::NAN), None, Some(2.5)]));
    for odd in [list, date, decimal, zoned, dictionary] {
        let batch = RecordBatch::try_from_iter([
            ("s", Arc::clone(&s)),
            ("odd", odd),
            ("n", Arc::clone(&n)),
        ])
        .unwrap();
        assert!(FastPath::new(&batch.schema(), false, NonFinite::Null).is_none());
        assert_same(&batch.schema(), &[batch.clone(), batch.slice(1, 2)], 0);
    }
}

#[test]
fn timestamps_without_text_are_refused_naming_the_column() {
    // A value chrono cannot represent leaves the column a timestamp, so that batch goes to
    // arrow-json, which has no text for it either: the batch is refused, the others written.
    let schema = Arc::new(Schema::new(vec![
        Field::new("t", DataType::Timestamp(TimeUnit::Second, None), true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let batch = |t: Vec<Option<i64>>| {
        let s = StringArray::from(vec![Some("x"); t.len()]);
        RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(TimestampSecondArray::from(t)), Arc::new(s)],
        )
        .unwrap()
    };
    let good = batch(vec![Some(0), None, Some(1_700_000_000)]);
    let bad = batch(vec![Some(1), Some(i64::MAX), None]);
    let (actual, fast) = encode(
        &schema,
        &[good.clone(), good.clone()],
        false,
        NonFinite::Null,
    );
    assert_eq!(fast, 2);
    assert!(
        String::from_utf8(actual)
            .unwrap()
            .starts_with("{\"t\":\"1970-01-01T00:00:00\",\"s\":\"x\"}\n{\"s\":\"x\"}\n")
    );
    let mut harness = Harness::<JsonlEncoder>::open(&schema, &[]).unwrap();
    harness.write_batch(&good).unwrap();
    let err = harness.write_batch(&bad).unwrap_err();
    assert!(
        matches!(&err, atio_encoder_sdk::EncodeError::Unsupported(m)
            if m.starts_with("column `t` (Timestamp(s)) holds 9223372036854775807")),
        "{err}"
    );
}

#[test]
fn non_nullable_and_int16_columns() {
    let a: ArrayRef = Arc::new(Int16Array::from(vec![1, -2, 3]));
    let b: ArrayRef = Arc::new(Int8Array::from(vec![Some(1), None, Some(-128)]));
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int16, false),
            Field::new("b", DataType::Int8, true),
        ])),
        vec![a, b],
    )
    .unwrap();
    assert_same(&batch.schema(), &[batch], 1);
}

#[test]
fn host_refusal_on_the_fast_path_is_reported_as_such() {
    let mut rng = Rng(5);
    let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
    let batch = random_batch(&mut rng, &schema, &[Ty::Utf8], 60_000);
    let mut harness = Harness::<JsonlEncoder>::open_with_limit(&schema, &[], 1000).unwrap();
    let before = FAST_BATCHES.with(|n| n.get());
    let err = harness.write_batch(&batch).unwrap_err();
    assert_eq!(FAST_BATCHES.with(|n| n.get()) - before, 1);
    assert_eq!(
        err,
        atio_encoder_sdk::EncodeError::SinkRejected(
            "output limit of 1000 bytes exceeded".to_owned()
        )
    );
}
