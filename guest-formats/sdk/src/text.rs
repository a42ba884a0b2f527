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
}
