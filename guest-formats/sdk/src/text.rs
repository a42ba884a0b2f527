//! Faster text for values whose default Arrow display is slow inside WebAssembly.
//!
//! Arrow formats a timestamp through chrono's `Debug`, one `fmt::Write::write_char` call per
//! character through `dyn` dispatch; compiled to WebAssembly that costs about a quarter of a
//! CSV or JSON-lines encode. [`timestamps_as_text`] produces the same bytes directly.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::temporal_conversions::as_datetime;
use arrow_array::types::{
    ArrowTimestampType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use chrono::{Datelike, NaiveDateTime, Timelike};

/// `batch` with every timestamp column that has no time zone replaced by a UTF-8 column holding
/// exactly the text Arrow's default display writes for it (e.g. `2024-01-31T12:34:56.789`), so
/// that writers which use the default display (arrow-csv, arrow-json) produce identical bytes,
/// faster. A column is left as it is when chrono cannot represent one of its values, or when
/// its text would pass 2 GiB in this batch (a `StringArray` has 32-bit offsets).
pub fn timestamps_as_text(batch: &RecordBatch) -> RecordBatch {
    let schema = batch.schema();
    let is_naive = |field: &Arc<Field>| matches!(field.data_type(), DataType::Timestamp(_, None));
    if !schema.fields().iter().any(is_naive) {
        return batch.clone();
    }
    let (fields, columns): (Vec<Arc<Field>>, Vec<ArrayRef>) = schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| {
            let text = match field.data_type() {
                DataType::Timestamp(unit, None) => timestamp_text(column, *unit),
                _ => None,
            };
            match text {
                Some(text) => (
                    Arc::new(
                        Field::new(field.name(), DataType::Utf8, field.is_nullable())
                            .with_metadata(field.metadata().clone()),
                    ),
                    Arc::new(text) as ArrayRef,
                ),
                None => (field.clone(), column.clone()),
            }
        })
        .unzip();
    let schema = Schema::new_with_metadata(fields, schema.metadata().clone());
    RecordBatch::try_new(Arc::new(schema), columns)
        .expect("same row count and nullability as the input batch")
}

fn timestamp_text(column: &ArrayRef, unit: TimeUnit) -> Option<StringArray> {
    match unit {
        TimeUnit::Second => format_column::<TimestampSecondType>(column),
        TimeUnit::Millisecond => format_column::<TimestampMillisecondType>(column),
        TimeUnit::Microsecond => format_column::<TimestampMicrosecondType>(column),
        TimeUnit::Nanosecond => format_column::<TimestampNanosecondType>(column),
    }
}

fn format_column<T: ArrowTimestampType>(column: &ArrayRef) -> Option<StringArray> {
    let array = column.as_primitive::<T>();
    // Offsets and bytes built directly (one UTF-8 check for the whole column at the end), not
    // through a builder's per-value `&str`.
    let mut values = Vec::with_capacity(array.len() * 26);
    let mut offsets = Vec::with_capacity(array.len() + 1);
    offsets.push(0_i32);
    let mut text = Text::default();
    for index in 0..array.len() {
        if array.is_valid(index) {
            let datetime = as_datetime::<T>(array.value(index))?;
            text.clear();
            write_datetime(&mut text, datetime);
            values.extend_from_slice(text.as_bytes());
        }
        offsets.push(i32::try_from(values.len()).ok()?);
    }
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    StringArray::try_new(offsets, Buffer::from_vec(values), array.nulls().cloned()).ok()
}

/// A small ASCII buffer (a formatted date-time is at most 37 bytes).
struct Text {
    bytes: [u8; 48],
    len: usize,
}

impl Default for Text {
    fn default() -> Self {
        Self {
            bytes: [0; 48],
            len: 0,
        }
    }
}

impl Text {
    fn clear(&mut self) {
        self.len = 0;
    }

    fn push(&mut self, byte: u8) {
        self.bytes[self.len] = byte;
        self.len += 1;
    }

    /// `value` as exactly `width` decimal digits (zero-padded).
    fn digits(&mut self, mut value: u32, width: usize) {
        for slot in (0..width).rev() {
            self.bytes[self.len + slot] = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len += width;
    }

    fn push_str(&mut self, text: &str) {
        self.bytes[self.len..self.len + text.len()].copy_from_slice(text.as_bytes());
        self.len += text.len();
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// chrono's `Debug` for `NaiveDateTime`, byte for byte.
fn write_datetime(out: &mut Text, datetime: NaiveDateTime) {
    let year = datetime.year();
    if (0..=9999).contains(&year) {
        out.digits(year as u32, 4);
    } else {
        // ISO 8601's explicit sign for out-of-range years, as chrono writes `{year:+05}`.
        out.push_str(&format!("{year:+05}"));
    }
    out.push(b'-');
    out.digits(datetime.month(), 2);
    out.push(b'-');
    out.digits(datetime.day(), 2);
    out.push(b'T');
    let (mut second, mut nano) = (datetime.second(), datetime.nanosecond());
    if nano >= 1_000_000_000 {
        // A leap second: chrono shows it as second 60.
        second += 1;
        nano -= 1_000_000_000;
    }
    out.digits(datetime.hour(), 2);
    out.push(b':');
    out.digits(datetime.minute(), 2);
    out.push(b':');
    out.digits(second, 2);
    if nano == 0 {
    } else if nano % 1_000_000 == 0 {
        out.push(b'.');
        out.digits(nano / 1_000_000, 3);
    } else if nano % 1_000 == 0 {
        out.push(b'.');
        out.digits(nano / 1_000, 6);
    } else {
        out.push(b'.');
        out.digits(nano, 9);
    }
}

/// Appends a duration of `value` `unit`s as ISO 8601 text, exactly as chrono's `TimeDelta`
/// displays it (what Arrow writes for durations: `PT1.5S`, `-PT0.000001S`, `P0D`), for every
/// `i64` value: chrono's `TimeDelta` cannot hold all of them, and Arrow writes `<invalid>` for
/// those.
pub fn write_duration(out: &mut String, value: i64, unit: TimeUnit) {
    let per_second: u128 = match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    if value < 0 {
        out.push('-');
    }
    out.push('P');
    if value == 0 {
        out.push_str("0D");
        return;
    }
    let magnitude = u128::from(value.unsigned_abs());
    let (seconds, fraction) = (magnitude / per_second, magnitude % per_second);
    out.push_str(&format!("T{seconds}"));
    if fraction > 0 {
        // As nanoseconds, then without trailing zeros (chrono's shortest form).
        let mut digits = format!("{:09}", fraction * (1_000_000_000 / per_second));
        digits.truncate(digits.trim_end_matches('0').len());
        out.push('.');
        out.push_str(&digits);
    }
    out.push('S');
}

/// Appends `bytes` as lowercase hexadecimal, two digits a byte (what Arrow displays for binary
/// values).
pub fn write_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
}

/// Appends `bytes` as standard base64 (RFC 4648 alphabet, `=` padding).
pub fn write_base64(out: &mut String, bytes: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::TimestampNanosecondArray;

    #[test]
    fn matches_chrono_debug_across_the_range() {
        let mut values: Vec<i64> = vec![0, 1, -1, 999, 1_000, 1_000_000, i64::MIN + 1, i64::MAX];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push(state as i64);
            values.push((state % 4_000_000_000_000_000) as i64 * 1_000);
            values.push((state % 400_000_000_000) as i64 * 1_000_000);
        }
        let array: ArrayRef = Arc::new(TimestampNanosecondArray::from(values.clone()));
        let text = timestamp_text(&array, TimeUnit::Nanosecond).unwrap();
        for (index, value) in values.iter().enumerate() {
            let expected = format!(
                "{:?}",
                as_datetime::<TimestampNanosecondType>(*value).unwrap()
            );
            assert_eq!(text.value(index), expected);
        }
        for seconds in [-62_167_219_200 - 86_400, 253_402_300_800, -1, 0] {
            let expected = format!("{:?}", as_datetime::<TimestampSecondType>(seconds).unwrap());
            let mut out = Text::default();
            write_datetime(
                &mut out,
                as_datetime::<TimestampSecondType>(seconds).unwrap(),
            );
            assert_eq!(out.as_bytes(), expected.as_bytes());
        }
    }
    #[test]
    fn durations_match_chrono_where_chrono_can_and_stay_exact_beyond() {
        use chrono::TimeDelta;
        let units = [
            (TimeUnit::Second, 1_000_000_000_i128),
            (TimeUnit::Millisecond, 1_000_000),
            (TimeUnit::Microsecond, 1_000),
            (TimeUnit::Nanosecond, 1),
        ];
        let values = [
            0,
            1,
            -1,
            999,
            -1_500,
            86_400,
            1_000_000_007,
            -123_456_789_012,
        ];
        for (unit, nanos_per_unit) in units {
            for value in values {
                let mut text = String::new();
                write_duration(&mut text, value, unit);
                let nanos = i128::from(value) * nanos_per_unit;
                let delta = TimeDelta::seconds((nanos / 1_000_000_000) as i64)
                    + TimeDelta::nanoseconds((nanos % 1_000_000_000) as i64);
                assert_eq!(text, delta.to_string(), "{value} {unit:?}");
            }
        }
        let mut text = String::new();
        write_duration(&mut text, i64::MIN, TimeUnit::Second);
        assert_eq!(text, "-PT9223372036854775808S");
        text.clear();
        write_duration(&mut text, i64::MAX, TimeUnit::Millisecond);
        assert_eq!(text, "PT9223372036854775.807S");
    }

    #[test]
    fn hex_and_base64() {
        let mut text = String::new();
        write_hex(&mut text, &[0, 0xab, 0xff]);
        assert_eq!(text, "00abff");
        for (bytes, expected) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xff\xfe\x00", "//4A"),
        ] {
            let mut text = String::new();
            write_base64(&mut text, bytes);
            assert_eq!(text, expected);
        }
    }
}
