//! Differential tests: the encoder (and its writer called directly) against arrow-csv's
//! `Writer` with the same options, byte for byte, on randomized batches.
//!
//! The generators leave out the values the encoder deliberately writes differently (texts a
//! reader would take for null, NaN: see `fast`) and one-column tables whose nulls it refuses;
//! `fidelity_tests` covers those.

use std::sync::Arc;

use arrow_csv::WriterBuilder;
use atio_encoder_sdk::arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Date64Array, Decimal128Array, DictionaryArray,
    Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array,
    IntervalYearMonthArray, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    Time64NanosecondArray, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array,
    UInt64Array,
};
use atio_encoder_sdk::arrow_schema::{DataType, Field, Schema, TimeUnit};
use atio_encoder_sdk::testing::Harness;
use atio_encoder_sdk::{EncodeError, text};

use crate::fast::{FastCsv, NULL_TOKENS};
use crate::{CsvEncoder, text_can_be_empty, timestamp_text_columns, written_schema};

/// xorshift64*: deterministic, good enough to pick test values.
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

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
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
    Utf8View,
    TsSecond,
    TsMilli,
    TsMicro,
    TsNano,
}

const KINDS: [Kind; 18] = [
    Kind::I8,
    Kind::I16,
    Kind::I32,
    Kind::I64,
    Kind::U8,
    Kind::U16,
    Kind::U32,
    Kind::U64,
    Kind::F32,
    Kind::F64,
    Kind::Bool,
    Kind::Utf8,
    Kind::LargeUtf8,
    Kind::Utf8View,
    Kind::TsSecond,
    Kind::TsMilli,
    Kind::TsMicro,
    Kind::TsNano,
];

/// Pieces strings are made of: every delimiter and quote the tests use, line breaks, unicode.
const PIECES: &[&str] = &[
    "a",
    "x",
    "b c",
    ",",
    ";",
    "\t",
    "|",
    "'",
    "\"",
    "e",
    ".",
    "-",
    "1",
    "t",
    "N",
    "\r",
    "\n",
    "\r\n",
    "é",
    "日本",
    "🦀",
    " ",
    "NULL",
    "",
    "ab'cd\"ef",
    "a text longer than twelve bytes",
];

/// Column names, several needing quotes with some option set.
const NAMES: &[&str] = &[
    "a",
    "id",
    "a,b",
    "q\"uote",
    "it's",
    "line\nbreak",
    "cr\r",
    "",
    "tab\there",
    "semi;colon",
    "naïve",
    "e",
    "1",
];

const F64_SPECIAL: &[f64] = &[
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -0.0,
    1.0,
    -1.5,
    0.1,
    1e15,
    1e16,
    1e17,
    1e-7,
    1e-6,
    123_456_789.0,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    f64::EPSILON,
    5e-324,
    -5e-324,
    2.225_073_858_507_201e-308,
];

const F32_SPECIAL: &[f32] = &[
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    0.0,
    -0.0,
    1.0,
    -1.5,
    0.1,
    1e15,
    1e16,
    1e-7,
    16_777_217.0,
    f32::MAX,
    f32::MIN,
    f32::MIN_POSITIVE,
    f32::EPSILON,
    1e-45,
];

macro_rules! ints {
    ($rng:expr, $n:expr, $nulls:expr, $array:ty, $t:ty) => {{
        let values: Vec<Option<$t>> = (0..$n)
            .map(|_| {
                if $rng.chance($nulls) {
                    return None;
                }
                Some(match $rng.below(6) {
                    0 => <$t>::MIN,
                    1 => <$t>::MAX,
                    2 => 0,
                    3 => ($rng.next() % 100) as $t,
                    _ => $rng.next() as $t,
                })
            })
            .collect();
        Arc::new(<$array>::from(values)) as ArrayRef
    }};
}

/// NaN is written `"NaN"`, unlike arrow-csv: left out here.
fn f64_value(rng: &mut Rng) -> f64 {
    let value = match rng.below(5) {
        0 => *rng.pick(F64_SPECIAL),
        1 => f64::from_bits(rng.next()),
        2 => (rng.next() % 2_000_000) as f64 / 100.0 - 10_000.0,
        3 => 10f64.powi(rng.below(640) as i32 - 330),
        _ => rng.next() as i64 as f64,
    };
    if value.is_nan() { 0.5 } else { value }
}

fn f32_value(rng: &mut Rng) -> f32 {
    let value = match rng.below(4) {
        0 => *rng.pick(F32_SPECIAL),
        1 => f32::from_bits(rng.next() as u32),
        2 => (rng.next() % 2_000_000) as f32 / 100.0 - 10_000.0,
        _ => 10f32.powi(rng.below(90) as i32 - 46),
    };
    if value.is_nan() { 0.5 } else { value }
}

/// A string, never one the encoder quotes where arrow-csv does not (empty, a null token or
/// a null text of [`OPTIONS`]).
fn string_value(rng: &mut Rng) -> String {
    let pieces = rng.below(5);
    let mut text: String = (0..pieces).map(|_| *rng.pick(PIECES)).collect();
    let null_like = text.is_empty()
        || NULL_TOKENS.contains(&text.as_bytes())
        || OPTIONS.iter().any(|opts| opts.null == text);
    if null_like {
        text.push('~');
    }
    text
}

/// Timestamps within chrono's range for every unit (about ±290 years around 1970 for ns).
fn timestamp_value(rng: &mut Rng, per_second: i64) -> i64 {
    let seconds = (rng.next() % 18_000_000_000) as i64 - 9_000_000_000;
    let fraction = match rng.below(3) {
        0 => 0,
        _ => (rng.next() % per_second as u64) as i64,
    };
    seconds * per_second + fraction
}

fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::I8 => DataType::Int8,
        Kind::I16 => DataType::Int16,
        Kind::I32 => DataType::Int32,
        Kind::I64 => DataType::Int64,
        Kind::U8 => DataType::UInt8,
        Kind::U16 => DataType::UInt16,
        Kind::U32 => DataType::UInt32,
        Kind::U64 => DataType::UInt64,
        Kind::F32 => DataType::Float32,
        Kind::F64 => DataType::Float64,
        Kind::Bool => DataType::Boolean,
        Kind::Utf8 => DataType::Utf8,
        Kind::LargeUtf8 => DataType::LargeUtf8,
        Kind::Utf8View => DataType::Utf8View,
        Kind::TsSecond => DataType::Timestamp(TimeUnit::Second, None),
        Kind::TsMilli => DataType::Timestamp(TimeUnit::Millisecond, None),
        Kind::TsMicro => DataType::Timestamp(TimeUnit::Microsecond, None),
        Kind::TsNano => DataType::Timestamp(TimeUnit::Nanosecond, None),
    }
}

/// `n` random values of `kind`, about `nulls` percent of them null.
fn column(rng: &mut Rng, kind: Kind, n: usize, nulls: u64) -> ArrayRef {
    let opt = |rng: &mut Rng| !rng.chance(nulls);
    match kind {
        Kind::I8 => ints!(rng, n, nulls, Int8Array, i8),
        Kind::I16 => ints!(rng, n, nulls, Int16Array, i16),
        Kind::I32 => ints!(rng, n, nulls, Int32Array, i32),
        Kind::I64 => ints!(rng, n, nulls, Int64Array, i64),
        Kind::U8 => ints!(rng, n, nulls, UInt8Array, u8),
        Kind::U16 => ints!(rng, n, nulls, UInt16Array, u16),
        Kind::U32 => ints!(rng, n, nulls, UInt32Array, u32),
        Kind::U64 => ints!(rng, n, nulls, UInt64Array, u64),
        Kind::F32 => Arc::new(Float32Array::from_iter(
            (0..n).map(|_| opt(rng).then(|| f32_value(rng))),
        )),
        Kind::F64 => Arc::new(Float64Array::from_iter(
            (0..n).map(|_| opt(rng).then(|| f64_value(rng))),
        )),
        Kind::Bool => Arc::new(BooleanArray::from_iter(
            (0..n).map(|_| opt(rng).then(|| rng.chance(50))),
        )),
        Kind::Utf8 => Arc::new(StringArray::from_iter(
            (0..n).map(|_| opt(rng).then(|| string_value(rng))),
        )),
        Kind::LargeUtf8 => Arc::new(LargeStringArray::from_iter(
            (0..n).map(|_| opt(rng).then(|| string_value(rng))),
        )),
        Kind::Utf8View => Arc::new(StringViewArray::from_iter(
            (0..n).map(|_| opt(rng).then(|| string_value(rng))),
        )),
        Kind::TsSecond => Arc::new(TimestampSecondArray::from_iter(
            (0..n).map(|_| opt(rng).then(|| timestamp_value(rng, 1))),
        )),
        Kind::TsMilli => Arc::new(TimestampMillisecondArray::from_iter(
            (0..n).map(|_| opt(rng).then(|| timestamp_value(rng, 1_000))),
        )),
        Kind::TsMicro => Arc::new(TimestampMicrosecondArray::from_iter(
            (0..n).map(|_| opt(rng).then(|| timestamp_value(rng, 1_000_000))),
        )),
        Kind::TsNano => Arc::new(TimestampNanosecondArray::from_iter(
            (0..n).map(|_| opt(rng).then(|| timestamp_value(rng, 1_000_000_000))),
        )),
    }
}

/// A batch of `rows` rows; each column is cut from a longer array at a random offset, so
/// values and null bitmaps start mid-buffer (and mid-byte).
fn batch(rng: &mut Rng, schema: &Arc<Schema>, rows: usize) -> RecordBatch {
    let columns = schema
        .fields()
        .iter()
        .map(|field| {
            let kind = *KINDS
                .iter()
                .find(|k| data_type(**k) == *field.data_type())
                .expect("a test kind");
            let nulls = *rng.pick(&[0, 0, 10, 50, 100]);
            let offset = rng.below(20);
            let len = offset + rows + rng.below(3);
            column(rng, kind, len, nulls).slice(offset, rows)
        })
        .collect();
    RecordBatch::try_new(Arc::clone(schema), columns).unwrap()
}

/// The CSV options under test.
#[derive(Clone, Debug)]
struct Opts {
    delimiter: u8,
    quote: u8,
    null: &'static str,
    header: bool,
}

impl Opts {
    const fn new(delimiter: u8, quote: u8, null: &'static str, header: bool) -> Self {
        Self {
            delimiter,
            quote,
            null,
            header,
        }
    }

    fn harness(&self) -> Vec<(&'static str, String)> {
        let char_option = |c: u8| match c {
            b'\t' => "tab".to_owned(),
            b' ' => "space".to_owned(),
            b'\\' => "\\\\".to_owned(),
            _ => (c as char).to_string(),
        };
        vec![
            ("delimiter", char_option(self.delimiter)),
            ("quote", char_option(self.quote)),
            ("null", self.null.to_owned()),
            ("header", self.header.to_string()),
        ]
    }

    fn builder(&self) -> WriterBuilder {
        WriterBuilder::new()
            .with_delimiter(self.delimiter)
            .with_quote(self.quote)
            .with_null(self.null.to_owned())
            .with_header(self.header)
    }
}

const OPTIONS: &[Opts] = &[
    Opts::new(b',', b'"', "", true),
    Opts::new(b',', b'"', "", false),
    Opts::new(b';', b'\'', "NULL", true),
    Opts::new(b'\t', b'"', "a\tb", true),
    Opts::new(b',', b'"', "n,a", false),
    Opts::new(b'|', b'\'', "it's", true),
    Opts::new(b',', b'"', "say \"null\"", true),
    Opts::new(b',', b'"', "line\nbreak", true),
    // Delimiters and quotes that occur in number and boolean text.
    Opts::new(b'e', b'.', "", true),
    Opts::new(b'-', b'a', "-", true),
    Opts::new(b'1', b't', "", false),
    Opts::new(b'N', b'f', "", true),
    Opts::new(b'.', b'-', "x", true),
    Opts::new(b' ', b'\\', "\\N", true),
    // ... and in timestamp text.
    Opts::new(b':', b'T', "", true),
];

/// What arrow-csv writes for `batches` with `opts` (with the header alone when there are no
/// batches, as the encoder does).
fn expected(schema: &Arc<Schema>, opts: &Opts, batches: &[RecordBatch]) -> Vec<u8> {
    let mut writer = opts.builder().build(Vec::new());
    if batches.is_empty() {
        writer
            .write(&RecordBatch::new_empty(Arc::clone(schema)))
            .unwrap();
    }
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.into_inner()
}

/// The encoder's bytes, through the SDK's harness (IPC round trip included).
fn encoded(
    schema: &Schema,
    opts: &Opts,
    extra: &[(&str, &str)],
    batches: &[RecordBatch],
) -> Result<Vec<u8>, EncodeError> {
    let owned = opts.harness();
    let mut options: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    options.extend_from_slice(extra);
    Ok(Harness::<CsvEncoder>::encode(schema, &options, batches)?.bytes)
}

/// The fast path's bytes, called directly: the batches keep their slice offsets (an IPC round
/// trip would remove them).
fn fast_path(schema: &Schema, opts: &Opts, batches: &[RecordBatch]) -> Vec<u8> {
    let written = written_schema(schema, true);
    let csv = FastCsv::new(opts.delimiter, opts.quote, opts.null)
        .with_timestamp_text(timestamp_text_columns(schema, true));
    let (mut buf, mut sink) = (Vec::new(), Vec::new());
    if opts.header {
        csv.header(&written, &mut buf);
    }
    for batch in batches {
        let batch = text::timestamps_as_text(batch);
        csv.write_batch(&batch, &mut buf, &mut sink).unwrap();
    }
    sink.extend_from_slice(&buf);
    sink
}

fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn check(schema: &Arc<Schema>, opts: &Opts, batches: &[RecordBatch]) {
    let fields = schema.fields();
    if fields.len() == 1
        && opts.null.is_empty()
        && text_can_be_empty(fields[0].data_type())
        && batches.iter().any(|b| b.column(0).null_count() > 0)
    {
        // A null would be `""`, an empty string: refused.
        let err = encoded(schema, opts, &[], batches).unwrap_err();
        assert!(err.message().contains("holds a null"), "{err}");
        return;
    }
    let want = expected(schema, opts, batches);
    let fast = fast_path(schema, opts, batches);
    assert_eq!(
        show(&fast),
        show(&want),
        "fast path, {opts:?}, schema {schema:?}"
    );
    let got = encoded(schema, opts, &[], batches).unwrap();
    assert_eq!(
        show(&got),
        show(&want),
        "encoder, {opts:?}, schema {schema:?}"
    );
    assert_eq!(got, want);
}

fn random_schema(rng: &mut Rng, columns: usize) -> Arc<Schema> {
    let fields: Vec<Field> = (0..columns)
        .map(|index| {
            let name = format!("{}{}", rng.pick(NAMES), if index > 0 { "_" } else { "" });
            let name = if rng.chance(30) {
                format!("{name}{index}")
            } else {
                name
            };
            Field::new(name, data_type(*rng.pick(&KINDS)), true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

#[test]
fn random_batches_match_arrow_csv() {
    let mut rng = Rng(0x5DEE_CE66_D1CE_4E5B);
    for round in 0..400 {
        let columns = 1 + rng.below(6);
        let schema = random_schema(&mut rng, columns);
        let opts = &OPTIONS[round % OPTIONS.len()];
        let batches: Vec<RecordBatch> = (0..rng.below(4))
            .map(|_| {
                let rows = *rng.pick(&[0, 1, 2, 7, 30, 100]);
                batch(&mut rng, &schema, rows)
            })
            .collect();
        check(&schema, opts, &batches);
    }
}

#[test]
fn every_type_alone_and_together() {
    let mut rng = Rng(42);
    let all = Arc::new(Schema::new(
        KINDS
            .iter()
            .enumerate()
            .map(|(index, kind)| Field::new(format!("c{index}"), data_type(*kind), true))
            .collect::<Vec<_>>(),
    ));
    for opts in OPTIONS {
        let batches: Vec<RecordBatch> = [50, 0, 200].map(|rows| batch(&mut rng, &all, rows)).into();
        check(&all, opts, &batches);
        // One column: an empty value is written as two quotes.
        for kind in KINDS {
            let schema = Arc::new(Schema::new(vec![Field::new("v", data_type(kind), true)]));
            let batches = [batch(&mut rng, &schema, 60)];
            check(&schema, opts, &batches);
        }
    }
}

#[test]
fn integer_text_matches_arrow_over_whole_ranges() {
    let i16s: ArrayRef = Arc::new(Int16Array::from_iter_values(i16::MIN..=i16::MAX));
    let u16s: ArrayRef = Arc::new(UInt16Array::from_iter_values(0..=u16::MAX));
    let i8s: ArrayRef = Arc::new(Int8Array::from_iter_values(
        (0..65_536).map(|i: i32| (i % 256) as i8),
    ));
    let mut rng = Rng(7);
    let i64s: ArrayRef = Arc::new(Int64Array::from_iter_values((0..65_536).map(|i| {
        let digits = i % 19;
        (rng.next() as i64) >> (rng.below(64) as u32) ^ 10i64.pow(digits as u32)
    })));
    let u64s: ArrayRef = Arc::new(UInt64Array::from_iter_values(
        (0..65_536).map(|_| rng.next() >> rng.below(64)),
    ));
    let batch = RecordBatch::try_from_iter([
        ("a", i16s),
        ("b", u16s),
        ("c", i8s),
        ("d", i64s),
        ("e", u64s),
    ])
    .unwrap();
    check(&batch.schema(), &OPTIONS[0], &[batch]);
}

#[test]
fn float_text_matches_arrow() {
    let mut rng = Rng(99);
    let n = 50_000;
    let f64s: ArrayRef = Arc::new(Float64Array::from_iter_values(
        F64_SPECIAL
            .iter()
            .map(|&v| if v.is_nan() { 0.5 } else { v })
            .chain((0..n).map(|_| f64_value(&mut rng))),
    ));
    let f32s: ArrayRef = Arc::new(Float32Array::from_iter_values(
        (0..F64_SPECIAL.len() + n).map(|i| {
            F32_SPECIAL
                .get(i)
                .copied()
                .filter(|v| !v.is_nan())
                .unwrap_or_else(|| f32_value(&mut rng))
        }),
    ));
    let batch = RecordBatch::try_from_iter([("d", f64s), ("f", f32s)]).unwrap();
    check(&batch.schema(), &OPTIONS[0], &[batch]);

    // The special values, as arrow (ryu) writes them, but NaN quoted (readers take a bare
    // `NaN` for null).
    let f64s: ArrayRef = Arc::new(Float64Array::from(vec![
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        1e15,
        1e16,
        1e-7,
        5e-324,
        0.1,
    ]));
    let f32s: ArrayRef = Arc::new(Float32Array::from(vec![
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        -0.0,
        1e15,
        1e16,
        1e-7,
        1e-45,
        0.1,
    ]));
    let batch = RecordBatch::try_from_iter([("d", f64s), ("f", f32s)]).unwrap();
    let want = "d,f\nNaN,NaN\ninf,inf\n-inf,-inf\n-0.0,-0.0\n1000000000000000.0,1e15\n\
                1e16,1e16\n1e-7,1e-7\n5e-324,1e-45\n0.1,0.1\n";
    let schema = batch.schema();
    assert_eq!(
        show(&expected(
            &schema,
            &OPTIONS[0],
            std::slice::from_ref(&batch)
        )),
        want
    );
    assert_eq!(
        show(&encoded(&schema, &OPTIONS[0], &[], &[batch]).unwrap()),
        want.replace("NaN,NaN", "\"NaN\",\"NaN\"")
    );
}

#[test]
fn output_past_the_flush_size_is_complete() {
    // One batch far larger than the 1 MiB buffer: the fast path hands it out in pieces.
    let mut rng = Rng(3);
    let schema = Arc::new(Schema::new(vec![
        Field::new("s", DataType::Utf8, true),
        Field::new("x", DataType::Float64, true),
        Field::new("i", DataType::Int64, true),
    ]));
    let big = batch(&mut rng, &schema, 60_000);
    check(&schema, &OPTIONS[2], &[big.clone(), big]);
}

#[test]
fn timestamps_as_text_path() {
    let mut rng = Rng(11);
    let schema = Arc::new(Schema::new(vec![
        Field::new("s", DataType::Timestamp(TimeUnit::Second, None), true),
        Field::new("ms", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        Field::new("us", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("ns", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
        Field::new("n", DataType::Int32, true),
    ]));
    for opts in OPTIONS {
        let batches: Vec<RecordBatch> = [40, 0, 25]
            .map(|rows| batch(&mut rng, &schema, rows))
            .into();
        check(&schema, opts, &batches);
    }
    // With a `timestamp-format`, the timestamps are arrow-cast's to write, with arrow-csv's
    // bytes.
    let batches: Vec<RecordBatch> = [40, 10].map(|rows| batch(&mut rng, &schema, rows)).into();
    let opts = &OPTIONS[2];
    let want = opts
        .builder()
        .with_timestamp_format("%Y/%m/%d %H-%M-%S%.f".to_owned())
        .build(Vec::new());
    let want = batches
        .iter()
        .fold(want, |mut w, b| {
            w.write(b).unwrap();
            w
        })
        .into_inner();
    let got = encoded(
        &schema,
        opts,
        &[("timestamp-format", "%Y/%m/%d %H-%M-%S%.f")],
        &batches,
    )
    .unwrap();
    assert_eq!(show(&got), show(&want));
}

#[test]
fn timestamp_out_of_chrono_range_is_refused_naming_the_column() {
    // timestamps_as_text leaves such a column a timestamp; arrow-cast has no text for it.
    let ts: ArrayRef = Arc::new(TimestampSecondArray::from(vec![0, i64::MAX]));
    let n: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
    let bad = RecordBatch::try_from_iter([("t", ts), ("n", n)]).unwrap();
    let schema = bad.schema();
    let err = encoded(&schema, &OPTIONS[0], &[], std::slice::from_ref(&bad)).unwrap_err();
    assert!(matches!(err, EncodeError::Unsupported(_)), "{err}");
    assert!(
        err.message()
            .starts_with("column `t` (Timestamp(s)) holds a value"),
        "{err}"
    );
    // In-range batches still come out as arrow-csv writes them.
    let good = bad.slice(0, 1);
    let got = encoded(&schema, &OPTIONS[0], &[], &[good.clone(), good.clone()]).unwrap();
    assert_eq!(
        show(&got),
        show(&expected(&schema, &OPTIONS[0], &[good.clone(), good]))
    );
}

#[test]
fn other_flat_types_match_arrow_csv() {
    let mut rng = Rng(5);
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![
        Some(0),
        None,
        Some(19_000),
        Some(-1),
    ]));
    let ints: ArrayRef = Arc::new(Int32Array::from(vec![
        Some(1),
        Some(2),
        None,
        Some(i32::MIN),
    ]));
    let decimals: ArrayRef = Arc::new(
        Decimal128Array::from(vec![
            Some(-12_345),
            None,
            Some(i128::from(i64::MAX)),
            Some(0),
        ])
        .with_precision_and_scale(38, 4)
        .unwrap(),
    );
    let times: ArrayRef = Arc::new(Time64NanosecondArray::from(vec![
        Some(0),
        Some(86_399_999_999_999),
        None,
        Some(1_500),
    ]));
    let dates64: ArrayRef = Arc::new(Date64Array::from(vec![
        Some(0),
        Some(-86_400_000),
        Some(1_700_000_000_123),
        None,
    ]));
    let intervals: ArrayRef = Arc::new(IntervalYearMonthArray::from(vec![
        Some(14),
        Some(-1),
        None,
        Some(0),
    ]));
    // A dictionary with a null value and null keys; no text a reader takes for null.
    let dictionary: ArrayRef = Arc::new(DictionaryArray::new(
        Int8Array::from(vec![Some(0), Some(1), None, Some(2)]),
        Arc::new(StringArray::from(vec![Some("x,y"), None, Some("q\"t")])),
    ));
    let batch = RecordBatch::try_from_iter([
        ("d", dates),
        ("i", ints),
        ("dec", decimals),
        ("t", times),
        ("d64", dates64),
        ("ym", intervals),
        ("dict", dictionary),
    ])
    .unwrap();
    let schema = batch.schema();
    for opts in OPTIONS {
        let want = expected(&schema, opts, &[batch.clone(), batch.slice(1, 2)]);
        let got = encoded(&schema, opts, &[], &[batch.clone(), batch.slice(1, 2)]).unwrap();
        assert_eq!(show(&got), show(&want), "{opts:?}");
        let want = expected(&schema, opts, &[]);
        assert_eq!(encoded(&schema, opts, &[], &[]).unwrap(), want, "{opts:?}");
    }
    // A timestamp with a time zone, next to plain columns.
    let tz: ArrayRef = Arc::new(
        TimestampMillisecondArray::from(vec![Some(0), None, Some(1_700_000_000_123)])
            .with_timezone("+01:00"),
    );
    let s: ArrayRef = Arc::new(StringArray::from(vec![Some("a,b"), None, Some("e")]));
    let batch = RecordBatch::try_from_iter([("tz", tz), ("s", s)]).unwrap();
    let schema = batch.schema();
    let opts = &OPTIONS[rng.below(OPTIONS.len())];
    let got = encoded(&schema, opts, &[], std::slice::from_ref(&batch)).unwrap();
    assert_eq!(show(&got), show(&expected(&schema, opts, &[batch])));
    // No columns at all: an empty file, not arrow-csv's `""` line (a column named ``).
    let empty = Arc::new(Schema::empty());
    assert_eq!(show(&encoded(&empty, opts, &[], &[]).unwrap()), "");
}
