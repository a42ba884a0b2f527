//! Every Arrow value as JSON, exactly or not at all.
//!
//! arrow-json writes most types right. Where it would write something other than the value,
//! [`JsonValues`] (an [`EncoderFactory`], which arrow-json asks before its own encoders, at
//! every level of nesting) writes it instead:
//!
//! * dictionaries: a value that is null in the dictionary is `null` (arrow-json takes only the
//!   keys' nulls and writes the null slot's bytes, `""` or `0`);
//! * maps: an entry whose value is null is `"key":null` (arrow-json drops it when nulls are
//!   omitted, making it indistinguishable from a missing key);
//! * NaN and ±infinity: with `non-finite=string`, the strings `"NaN"`, `"Infinity"`,
//!   `"-Infinity"` (arrow-json writes `null`, which `non-finite=null` keeps; by default
//!   [`find_non_finite`] refuses the column first);
//! * timestamps with a named time zone (`UTC`, `Europe/Paris`): the UTC instant with a `Z`
//!   (arrow-json needs chrono-tz for those, which the guests leave out);
//! * durations: ISO 8601 text for every value ([`text::write_duration`]; arrow-json writes
//!   `<invalid>` past chrono's range);
//! * binary: hex or base64 text, as the `binary` option says (refused by default in
//!   [`check_type`]: JSON has no bytes).
//!
//! Temporal values chrono cannot show (years past ±262,143, times outside a day) fail the batch
//! naming the column rather than being written as an error text.
//!
//! This file is also compiled into the CSV encoder (for `nested=json` cells).

use std::sync::Arc;

use arrow_data::ArrayData;
use arrow_json::writer::{Encoder, EncoderFactory, EncoderOptions, NullableEncoder, make_encoder};
use atio_encoder_sdk::arrow_array::cast::AsArray;
use atio_encoder_sdk::arrow_array::temporal_conversions::{as_date, as_datetime, as_time};
use atio_encoder_sdk::arrow_array::timezone::Tz;
use atio_encoder_sdk::arrow_array::types::{
    ArrowDictionaryKeyType, ArrowPrimitiveType, Date32Type, Date64Type, Float16Type, Float32Type,
    Float64Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use atio_encoder_sdk::arrow_array::{
    Array, ArrayAccessor, DictionaryArray, MapArray, PrimitiveArray, downcast_dictionary_array,
    make_array,
};
use atio_encoder_sdk::arrow_buffer::{ArrowNativeType, OffsetBuffer, ScalarBuffer};
use atio_encoder_sdk::arrow_schema::{ArrowError, DataType, FieldRef, TimeUnit};
use atio_encoder_sdk::{EncodeError, text};

/// What to write for NaN and ±infinity (option `non-finite`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NonFinite {
    /// Refuse the column (the default): JSON numbers cannot be NaN or infinite.
    Error,
    /// `null`, as arrow-json does.
    Null,
    /// The strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
    String,
}

impl NonFinite {
    pub(crate) const CHOICES: [&'static str; 3] = ["error", "null", "string"];

    pub(crate) fn parse(choice: &str) -> Self {
        match choice {
            "null" => Self::Null,
            "string" => Self::String,
            _ => Self::Error,
        }
    }
}

/// How to write binary values (option `binary`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinaryText {
    /// Refuse the column (the default): JSON has no bytes.
    Error,
    /// Lowercase hexadecimal, as arrow-json writes them.
    Hex,
    /// Standard base64 with padding.
    Base64,
}

impl BinaryText {
    pub(crate) const CHOICES: [&'static str; 3] = ["error", "hex", "base64"];

    pub(crate) fn parse(choice: &str) -> Self {
        match choice {
            "hex" => Self::Hex,
            "base64" => Self::Base64,
            _ => Self::Error,
        }
    }
}

/// The settings values are written with, and the words errors use.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) non_finite: NonFinite,
    pub(crate) binary: BinaryText,
    /// How the format is called in messages, e.g. `JSON lines`.
    pub(crate) format: &'static str,
    /// The formats that hold every type, for messages, e.g. `parquet or arrow`.
    pub(crate) instead: &'static str,
}

/// The [`EncoderFactory`] that corrects arrow-json; see the module docs.
#[derive(Debug)]
pub(crate) struct JsonValues {
    settings: Settings,
}

impl JsonValues {
    pub(crate) fn factory(settings: Settings) -> Arc<dyn EncoderFactory> {
        Arc::new(Self { settings })
    }

    /// arrow-json's options for encoding one value at a time (`make_encoder`).
    pub(crate) fn options(settings: Settings, explicit_nulls: bool) -> EncoderOptions {
        EncoderOptions::default()
            .with_explicit_nulls(explicit_nulls)
            .with_encoder_factory(Self::factory(settings))
    }
}

/// An [`EncodeError`] carried through arrow-json as an [`ArrowError`]; see [`from_arrow`].
fn carried(error: EncodeError) -> ArrowError {
    ArrowError::ExternalError(Box::new(error))
}

/// The [`EncodeError`] a factory call carried through arrow-json, if `error` is one.
pub(crate) fn from_arrow(error: &ArrowError) -> Option<EncodeError> {
    match error {
        ArrowError::ExternalError(e) => e.downcast_ref::<EncodeError>().cloned(),
        _ => None,
    }
}

impl EncoderFactory for JsonValues {
    fn make_default_encoder<'a>(
        &self,
        field: &'a FieldRef,
        array: &'a dyn Array,
        options: &'a EncoderOptions,
    ) -> Result<Option<NullableEncoder<'a>>, ArrowError> {
        let nulls = array.nulls().cloned();
        let encoder: Box<dyn Encoder + 'a> = match array.data_type() {
            DataType::Dictionary(..) => {
                let encoder = downcast_dictionary_array! {
                    array => DictionaryEncoder::try_new(field, array, options)?,
                    _ => unreachable!("a dictionary type")
                };
                // The dictionary's own nulls as well as the keys'.
                return Ok(Some(NullableEncoder::new(encoder, array.logical_nulls())));
            }
            DataType::Map(..) => Box::new(MapEncoder::try_new(field, array.as_map(), options)?),
            DataType::Float16 | DataType::Float32 | DataType::Float64
                if self.settings.non_finite == NonFinite::String =>
            {
                Box::new(FloatEncoder::new(array))
            }
            DataType::Timestamp(unit, Some(zone)) if zone.parse::<Tz>().is_err() => {
                check_temporal(field, array, &self.settings)?;
                Box::new(UtcEncoder {
                    values: timestamp_values(array),
                    unit: *unit,
                })
            }
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => {
                check_temporal(field, array, &self.settings)?;
                return Ok(None);
            }
            DataType::Time32(_) | DataType::Time64(_) => {
                check_temporal(field, array, &self.settings)?;
                return Ok(None);
            }
            DataType::Duration(unit) => Box::new(DurationEncoder {
                values: timestamp_values(array),
                unit: *unit,
            }),
            DataType::Binary if self.settings.binary == BinaryText::Base64 => {
                Box::new(Base64Encoder(array.as_binary::<i32>()))
            }
            DataType::LargeBinary if self.settings.binary == BinaryText::Base64 => {
                Box::new(Base64Encoder(array.as_binary::<i64>()))
            }
            DataType::FixedSizeBinary(_) if self.settings.binary == BinaryText::Base64 => {
                Box::new(Base64Encoder(array.as_fixed_size_binary()))
            }
            DataType::BinaryView if self.settings.binary == BinaryText::Base64 => {
                Box::new(Base64Encoder(array.as_binary_view()))
            }
            _ => return Ok(None),
        };
        Ok(Some(NullableEncoder::new(encoder, nulls)))
    }
}

/// The `i64` values of a timestamp or duration array (all units share the native type).
fn timestamp_values(array: &dyn Array) -> ScalarBuffer<i64> {
    let data = array.to_data();
    ScalarBuffer::new(data.buffers()[0].clone(), data.offset(), data.len())
}

/// Refuses a type JSON cannot hold (found anywhere in `data_type`), naming `column`.
pub(crate) fn check_type(
    column: &str,
    data_type: &DataType,
    settings: &Settings,
) -> Result<(), EncodeError> {
    let refuse = |problem: String, instead: String| {
        Err(EncodeError::unsupported_column(
            column, data_type, problem, instead,
        ))
    };
    match find_unwritable(data_type, settings) {
        None => Ok(()),
        Some(Unwritable::Binary(inner)) => refuse(
            format!(
                "cannot be written as {}: JSON has no bytes type (found {inner})",
                settings.format
            ),
            format!(
                "write it as {}, or pass -o binary=hex or -o binary=base64 to write bytes as \
                 text",
                settings.instead
            ),
        ),
        Some(Unwritable::Other(inner, why)) => refuse(
            format!(
                "cannot be written as {}: {why} (found {inner})",
                settings.format
            ),
            format!("write it as {}", settings.instead),
        ),
        Some(Unwritable::DuplicateField(name)) => refuse(
            format!(
                "cannot be written as {}: two struct fields are named `{name}`, which would \
                 give an object duplicate keys",
                settings.format
            ),
            format!("rename one, or write it as {}", settings.instead),
        ),
    }
}

/// Why a type (or a type inside it) has no exact JSON form.
enum Unwritable<'a> {
    Binary(&'a DataType),
    Other(&'a DataType, &'static str),
    DuplicateField(&'a str),
}

fn find_unwritable<'a>(data_type: &'a DataType, settings: &Settings) -> Option<Unwritable<'a>> {
    use DataType::*;
    match data_type {
        Binary | LargeBinary | FixedSizeBinary(_) | BinaryView
            if settings.binary == BinaryText::Error =>
        {
            Some(Unwritable::Binary(data_type))
        }
        Union(..) => Some(Unwritable::Other(
            data_type,
            "a union has no JSON form that says which member a value belongs to",
        )),
        Map(entries, _) => match entries.data_type() {
            Struct(fields)
                if fields.len() == 2
                    && matches!(fields[0].data_type(), Utf8 | LargeUtf8 | Utf8View) =>
            {
                find_unwritable(fields[1].data_type(), settings)
            }
            _ => Some(Unwritable::Other(
                data_type,
                "only maps with string keys become JSON objects",
            )),
        },
        Struct(fields) => {
            for (index, field) in fields.iter().enumerate() {
                if fields[..index].iter().any(|f| f.name() == field.name()) {
                    return Some(Unwritable::DuplicateField(field.name()));
                }
            }
            fields
                .iter()
                .find_map(|f| find_unwritable(f.data_type(), settings))
        }
        List(f) | LargeList(f) | ListView(f) | LargeListView(f) | FixedSizeList(f, _) => {
            find_unwritable(f.data_type(), settings)
        }
        Dictionary(_, values) => find_unwritable(values, settings),
        RunEndEncoded(_, values) => find_unwritable(values.data_type(), settings),
        _ => None,
    }
}

/// Whether a float type occurs anywhere in `data_type`.
pub(crate) fn has_floats(data_type: &DataType) -> bool {
    use DataType::*;
    match data_type {
        Float16 | Float32 | Float64 => true,
        List(f)
        | LargeList(f)
        | ListView(f)
        | LargeListView(f)
        | FixedSizeList(f, _)
        | Map(f, _) => has_floats(f.data_type()),
        Struct(fields) => fields.iter().any(|f| has_floats(f.data_type())),
        Union(fields, _) => fields.iter().any(|(_, f)| has_floats(f.data_type())),
        Dictionary(_, values) => has_floats(values),
        RunEndEncoded(_, values) => has_floats(values.data_type()),
        _ => false,
    }
}

/// Whether a float anywhere in `array` (its nested values included) that is not null is NaN
/// or infinite. Values under a null parent or outside a slice count too: refusing such a column
/// is safe, writing it wrong would not be.
pub(crate) fn find_non_finite(array: &dyn Array) -> bool {
    fn in_data(data: &ArrayData) -> bool {
        match data.data_type() {
            DataType::Float16 | DataType::Float32 | DataType::Float64 => {
                FloatValues::new(make_array(data.clone()).as_ref()).any_non_finite()
            }
            _ => data.child_data().iter().any(in_data),
        }
    }
    in_data(&array.to_data())
}

/// Whether a map anywhere in `array` has an entry whose key occurs twice in it: its JSON object
/// would hold the key twice, and readers keep one of the values.
pub(crate) fn find_duplicate_map_key(array: &dyn Array) -> bool {
    fn in_data(data: &ArrayData) -> bool {
        if let DataType::Map(..) = data.data_type()
            && map_has_duplicate_key(&MapArray::from(data.clone()))
        {
            return true;
        }
        data.child_data().iter().any(in_data)
    }
    in_data(&array.to_data())
}

fn map_has_duplicate_key(map: &MapArray) -> bool {
    let keys = map.keys();
    let key = |i: usize| -> &str {
        match keys.data_type() {
            DataType::LargeUtf8 => keys.as_string::<i64>().value(i),
            DataType::Utf8View => keys.as_string_view().value(i),
            _ => keys.as_string::<i32>().value(i),
        }
    };
    let mut seen = std::collections::HashSet::new();
    let offsets = map.offsets();
    (0..map.len()).filter(|&i| map.is_valid(i)).any(|i| {
        seen.clear();
        let (start, end) = (offsets[i].as_usize(), offsets[i + 1].as_usize());
        (start..end).any(|entry| !seen.insert(key(entry)))
    })
}

/// The refusal for a column [`find_duplicate_map_key`] flagged.
pub(crate) fn duplicate_map_key_error(
    column: &str,
    data_type: &DataType,
    settings: &Settings,
) -> EncodeError {
    EncodeError::unsupported_column(
        column,
        data_type,
        "holds a map with the same key twice in one value, which a JSON object cannot hold",
        format!("write it as {}", settings.instead),
    )
}

/// Whether a map type occurs anywhere in `data_type`.
pub(crate) fn has_maps(data_type: &DataType) -> bool {
    use DataType::*;
    match data_type {
        Map(..) => true,
        List(f) | LargeList(f) | ListView(f) | LargeListView(f) | FixedSizeList(f, _) => {
            has_maps(f.data_type())
        }
        Struct(fields) => fields.iter().any(|f| has_maps(f.data_type())),
        Dictionary(_, values) => has_maps(values),
        RunEndEncoded(_, values) => has_maps(values.data_type()),
        _ => false,
    }
}

/// The refusal for a column [`find_non_finite`] flagged.
pub(crate) fn non_finite_error(
    column: &str,
    data_type: &DataType,
    settings: &Settings,
) -> EncodeError {
    EncodeError::unsupported_column(
        column,
        data_type,
        format!(
            "holds NaN or infinity, which {} numbers cannot",
            settings.format
        ),
        format!(
            "write it as {}, or pass -o non-finite=null to write null or -o non-finite=string \
             to write \"NaN\", \"Infinity\" and \"-Infinity\"",
            settings.instead
        ),
    )
}

/// Fails if a non-null value of a temporal `array` has no text (chrono's range), naming the
/// field.
fn check_temporal(
    field: &FieldRef,
    array: &dyn Array,
    settings: &Settings,
) -> Result<(), ArrowError> {
    fn first_bad<T: ArrowPrimitiveType>(array: &dyn Array, ok: fn(i64) -> bool) -> Option<i64>
    where
        T::Native: Into<i64>,
    {
        let array = array.as_primitive::<T>();
        (0..array.len())
            .filter(|&i| array.is_valid(i))
            .map(|i| array.value(i).into())
            .find(|&v| !ok(v))
    }
    use DataType::*;
    use TimeUnit::*;
    let bad = match array.data_type() {
        Timestamp(Second, _) => first_bad::<TimestampSecondType>(array, |v| {
            as_datetime::<TimestampSecondType>(v).is_some()
        }),
        Timestamp(Millisecond, _) => first_bad::<TimestampMillisecondType>(array, |v| {
            as_datetime::<TimestampMillisecondType>(v).is_some()
        }),
        Timestamp(Microsecond, _) => first_bad::<TimestampMicrosecondType>(array, |v| {
            as_datetime::<TimestampMicrosecondType>(v).is_some()
        }),
        Timestamp(Nanosecond, _) => first_bad::<TimestampNanosecondType>(array, |v| {
            as_datetime::<TimestampNanosecondType>(v).is_some()
        }),
        Date32 => first_bad::<Date32Type>(array, |v| as_date::<Date32Type>(v).is_some()),
        Date64 => first_bad::<Date64Type>(array, |v| as_datetime::<Date64Type>(v).is_some()),
        Time32(Second) => {
            first_bad::<Time32SecondType>(array, |v| as_time::<Time32SecondType>(v).is_some())
        }
        Time32(Millisecond) => first_bad::<Time32MillisecondType>(array, |v| {
            as_time::<Time32MillisecondType>(v).is_some()
        }),
        Time64(Microsecond) => first_bad::<Time64MicrosecondType>(array, |v| {
            as_time::<Time64MicrosecondType>(v).is_some()
        }),
        Time64(Nanosecond) => first_bad::<Time64NanosecondType>(array, |v| {
            as_time::<Time64NanosecondType>(v).is_some()
        }),
        _ => None,
    };
    match bad {
        None => Ok(()),
        Some(value) => Err(carried(EncodeError::unsupported_column(
            field.name(),
            field.data_type(),
            format!(
                "holds {value}, which has no date or time text (years -262143 to 262142, \
                 times within a day), so it cannot be written as {}",
                settings.format
            ),
            format!("write it as {}", settings.instead),
        ))),
    }
}

struct DictionaryEncoder<'a, K: ArrowDictionaryKeyType> {
    keys: ScalarBuffer<K::Native>,
    values: NullableEncoder<'a>,
}

impl<'a, K: ArrowDictionaryKeyType> DictionaryEncoder<'a, K> {
    fn try_new(
        field: &'a FieldRef,
        array: &'a DictionaryArray<K>,
        options: &'a EncoderOptions,
    ) -> Result<Box<dyn Encoder + 'a>, ArrowError> {
        Ok(Box::new(Self {
            keys: array.keys().values().clone(),
            values: make_encoder(field, array.values().as_ref(), options)?,
        }))
    }
}

impl<K: ArrowDictionaryKeyType> Encoder for DictionaryEncoder<'_, K> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        self.values.encode(self.keys[idx].as_usize(), out);
    }
}

/// arrow-json's map encoder, except that null values are written, not dropped.
struct MapEncoder<'a> {
    offsets: OffsetBuffer<i32>,
    keys: NullableEncoder<'a>,
    values: NullableEncoder<'a>,
}

impl<'a> MapEncoder<'a> {
    fn try_new(
        field: &'a FieldRef,
        array: &'a MapArray,
        options: &'a EncoderOptions,
    ) -> Result<Self, ArrowError> {
        let keys = make_encoder(field, array.keys().as_ref(), options)?;
        if !matches!(
            array.keys().data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) || keys.has_nulls()
            || array.entries().nulls().is_some_and(|n| n.null_count() > 0)
        {
            return Err(ArrowError::InvalidArgumentError(format!(
                "map `{}` has keys that are not strings, null keys or null entries",
                field.name()
            )));
        }
        Ok(Self {
            offsets: array.offsets().clone(),
            keys,
            values: make_encoder(field, array.values().as_ref(), options)?,
        })
    }
}

impl Encoder for MapEncoder<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        let (start, end) = (
            self.offsets[idx].as_usize(),
            self.offsets[idx + 1].as_usize(),
        );
        out.push(b'{');
        for entry in start..end {
            if entry > start {
                out.push(b',');
            }
            self.keys.encode(entry, out);
            out.push(b':');
            if self.values.is_null(entry) {
                out.extend_from_slice(b"null");
            } else {
                self.values.encode(entry, out);
            }
        }
        out.push(b'}');
    }
}

/// A float array of any width.
enum FloatValues<'a> {
    F16(&'a PrimitiveArray<Float16Type>),
    F32(&'a PrimitiveArray<Float32Type>),
    F64(&'a PrimitiveArray<Float64Type>),
}

impl<'a> FloatValues<'a> {
    fn new(array: &'a dyn Array) -> Self {
        match array.data_type() {
            DataType::Float16 => Self::F16(array.as_primitive()),
            DataType::Float32 => Self::F32(array.as_primitive()),
            _ => Self::F64(array.as_primitive()),
        }
    }

    fn any_non_finite(&self) -> bool {
        fn any<T: ArrowPrimitiveType>(
            array: &PrimitiveArray<T>,
            finite: fn(T::Native) -> bool,
        ) -> bool {
            let values = array.values();
            match array.nulls().filter(|n| n.null_count() > 0) {
                None => !values.iter().all(|&v| finite(v)),
                Some(nulls) => nulls.valid_indices().any(|i| !finite(values[i])),
            }
        }
        match self {
            Self::F16(a) => any(a, |v| v.is_finite()),
            Self::F32(a) => any(a, f32::is_finite),
            Self::F64(a) => any(a, f64::is_finite),
        }
    }
}

/// Floats as arrow-json writes them, but NaN and ±infinity as strings.
struct FloatEncoder<'a>(FloatValues<'a>);

impl<'a> FloatEncoder<'a> {
    fn new(array: &'a dyn Array) -> Self {
        Self(FloatValues::new(array))
    }
}

impl Encoder for FloatEncoder<'_> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        match &self.0 {
            // arrow-json writes a half float as the `f32` it widens to.
            FloatValues::F16(a) => write_float(out, a.value(idx).to_f32()),
            FloatValues::F32(a) => write_float(out, a.value(idx)),
            FloatValues::F64(a) => write_float(out, a.value(idx)),
        }
    }
}

/// The JSON text of a float with `non-finite=string`: lexical-core's digits (arrow-json's),
/// or a string naming the non-finite value.
pub(crate) fn write_float<F: lexical_core::ToLexical + Into<f64> + Copy>(
    out: &mut Vec<u8>,
    value: F,
) {
    let wide: f64 = value.into();
    if wide.is_finite() {
        let at = out.len();
        out.resize(at + F::FORMATTED_SIZE_DECIMAL, 0);
        let written = lexical_core::write(value, &mut out[at..]).len();
        out.truncate(at + written);
    } else {
        out.extend_from_slice(non_finite_string(wide));
    }
}

/// `"NaN"`, `"Infinity"` or `"-Infinity"` (the names JavaScript and Python's `json` use).
pub(crate) fn non_finite_string(value: f64) -> &'static [u8] {
    if value.is_nan() {
        b"\"NaN\""
    } else if value > 0.0 {
        b"\"Infinity\""
    } else {
        b"\"-Infinity\""
    }
}

/// Timestamps with a named time zone: the UTC instant, `Z`-suffixed.
struct UtcEncoder {
    values: ScalarBuffer<i64>,
    unit: TimeUnit,
}

impl Encoder for UtcEncoder {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        let value = self.values[idx];
        let datetime = match self.unit {
            TimeUnit::Second => as_datetime::<TimestampSecondType>(value),
            TimeUnit::Millisecond => as_datetime::<TimestampMillisecondType>(value),
            TimeUnit::Microsecond => as_datetime::<TimestampMicrosecondType>(value),
            TimeUnit::Nanosecond => as_datetime::<TimestampNanosecondType>(value),
        };
        // In range: checked when the encoder was made.
        let datetime = datetime.expect("checked by check_temporal");
        out.extend_from_slice(format!("\"{datetime:?}Z\"").as_bytes());
    }
}

/// Durations as ISO 8601 text, exact for every value.
struct DurationEncoder {
    values: ScalarBuffer<i64>,
    unit: TimeUnit,
}

impl Encoder for DurationEncoder {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        let mut text = String::from("\"");
        text::write_duration(&mut text, self.values[idx], self.unit);
        text.push('"');
        out.extend_from_slice(text.as_bytes());
    }
}

/// Binary values as base64 strings.
struct Base64Encoder<A>(A);

impl<'a, A: ArrayAccessor<Item = &'a [u8]>> Encoder for Base64Encoder<A> {
    fn encode(&mut self, idx: usize, out: &mut Vec<u8>) {
        let mut text = String::from("\"");
        text::write_base64(&mut text, self.0.value(idx));
        text.push('"');
        out.extend_from_slice(text.as_bytes());
    }
}
