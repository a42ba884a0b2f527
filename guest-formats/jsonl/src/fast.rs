//! The fast path: flat rows of numbers, booleans and strings, written byte for byte as
//! `arrow-json`'s `LineDelimited` writer writes them (see arrow-json 60's
//! `writer/encoder.rs`), without its per-cell `Box<dyn Encoder>` calls and with each column's
//! key escaped once.
//!
//! What the bytes must match:
//!
//! * a row is `{`, then `"key":value` for each column in schema order separated by `,`, then
//!   `}` and `\n`; with nulls omitted, a null column is left out entirely (so an all-null row is
//!   `{}`); with explicit nulls it is written as `"key":null`;
//! * keys and strings are escaped as serde_json's `format_escaped_str` does: `"` and `\` get a
//!   backslash, `\b \t \n \f \r` their short escapes, the other bytes below 0x20 `\u00xx`
//!   (lowercase hex); everything else (`/`, 0x7f, U+2028, non-ASCII) is copied as it is;
//! * integers and finite floats are `lexical_core::write`'s text (the same function and
//!   options arrow-json calls); NaN and ±infinity are what the `values` module writes for the
//!   `non-finite` option: `null` (written even when nulls are omitted, since the value is not
//!   null in the validity bitmap) or a string (with `error`, the encoder refused the batch
//!   before);
//! * booleans are `true` / `false`.

use std::io::{self, Write};

use atio_encoder_sdk::RecordBatch;
use atio_encoder_sdk::arrow_array::cast::AsArray;
use atio_encoder_sdk::arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use atio_encoder_sdk::arrow_array::{Array, ArrayRef};
use atio_encoder_sdk::arrow_buffer::{BooleanBuffer, Buffer, NullBuffer};
use atio_encoder_sdk::arrow_schema::{DataType, Schema};
use lexical_core::{FormattedSize, ToLexical};

use crate::values::{NonFinite, non_finite_string};

/// Rows collect in a buffer that goes to the output once it holds this much (and at the end of
/// each batch).
pub(crate) const FLUSH_AT: usize = 1 << 20;

/// Keys (`,"name":`) up to this long are copied as one fixed-size block (then truncated): a
/// variable-length copy is a `memory.copy`, which Cranelift turns into a libcall.
const KEY_BLOCK: usize = 32;

/// Strings up to this long are copied as one fixed-size block when the source has that many
/// readable bytes, for the same reason.
const STR_BLOCK: usize = 16;

/// One column's key, `,"name":` with the name escaped. The leading comma of a row's first
/// written key is turned into the row's `{`.
#[derive(Debug)]
struct Key {
    /// The key, zero-padded to [`KEY_BLOCK`] bytes; unused if the key is longer.
    block: [u8; KEY_BLOCK],
    full: Box<[u8]>,
}

impl Key {
    fn new(name: &str) -> Self {
        let mut full = Vec::with_capacity(name.len() + 4);
        full.push(b',');
        write_json_string(&mut full, name.as_bytes());
        full.push(b':');
        let mut block = [0; KEY_BLOCK];
        if full.len() <= KEY_BLOCK {
            block[..full.len()].copy_from_slice(&full);
        }
        Self {
            block,
            full: full.into_boxed_slice(),
        }
    }

    #[inline(always)]
    fn put(&self, out: &mut Vec<u8>) {
        if self.full.len() <= KEY_BLOCK {
            let at = out.len();
            out.extend_from_slice(&self.block);
            out.truncate(at + self.full.len());
        } else {
            out.extend_from_slice(&self.full);
        }
    }
}

/// The fast path for one file, or `None` from [`FastPath::new`] if the schema needs
/// arrow-json.
#[derive(Debug)]
pub(crate) struct FastPath {
    keys: Vec<Key>,
    explicit_nulls: bool,
    /// Write NaN and ±infinity as strings rather than `null`.
    non_finite_strings: bool,
}

/// A column type the fast path writes itself. Naive timestamps count as strings: the encoder
/// turns them into UTF-8 text before encoding.
fn eligible(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float32
            | DataType::Float64
            | DataType::Boolean
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Timestamp(_, None)
    )
}

/// One column of a batch, ready for row-by-row encoding.
#[derive(Debug)]
pub(crate) struct Column<'a> {
    key: &'a Key,
    /// `None` when the column has no nulls.
    nulls: Option<&'a NullBuffer>,
    values: Values<'a>,
}

#[derive(Debug)]
enum Values<'a> {
    I8(&'a [i8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    Bool(&'a BooleanBuffer),
    /// Offsets (already sliced to the array) and the whole value buffer.
    Utf8(&'a [i32], &'a [u8]),
    LargeUtf8(&'a [i64], &'a [u8]),
    View(&'a [u128], &'a [Buffer]),
}

impl<'a> Values<'a> {
    fn new(array: &'a ArrayRef) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Int8 => Self::I8(array.as_primitive::<Int8Type>().values()),
            DataType::Int16 => Self::I16(array.as_primitive::<Int16Type>().values()),
            DataType::Int32 => Self::I32(array.as_primitive::<Int32Type>().values()),
            DataType::Int64 => Self::I64(array.as_primitive::<Int64Type>().values()),
            DataType::UInt8 => Self::U8(array.as_primitive::<UInt8Type>().values()),
            DataType::UInt16 => Self::U16(array.as_primitive::<UInt16Type>().values()),
            DataType::UInt32 => Self::U32(array.as_primitive::<UInt32Type>().values()),
            DataType::UInt64 => Self::U64(array.as_primitive::<UInt64Type>().values()),
            DataType::Float32 => Self::F32(array.as_primitive::<Float32Type>().values()),
            DataType::Float64 => Self::F64(array.as_primitive::<Float64Type>().values()),
            DataType::Boolean => Self::Bool(array.as_boolean().values()),
            DataType::Utf8 => {
                let array = array.as_string::<i32>();
                Self::Utf8(array.value_offsets(), array.value_data())
            }
            DataType::LargeUtf8 => {
                let array = array.as_string::<i64>();
                Self::LargeUtf8(array.value_offsets(), array.value_data())
            }
            DataType::Utf8View => {
                let array = array.as_string_view();
                Self::View(array.views(), array.data_buffers())
            }
            _ => return None,
        })
    }
}

impl FastPath {
    /// The fast path for `schema`, if every column has an eligible type.
    pub(crate) fn new(
        schema: &Schema,
        explicit_nulls: bool,
        non_finite: NonFinite,
    ) -> Option<Self> {
        if !schema.fields().iter().all(|f| eligible(f.data_type())) {
            return None;
        }
        let keys = schema.fields().iter().map(|f| Key::new(f.name())).collect();
        Some(Self {
            keys,
            explicit_nulls,
            non_finite_strings: non_finite == NonFinite::String,
        })
    }

    /// `batch`'s columns, or `None` if one has a type the fast path does not write (a naive
    /// timestamp column that `timestamps_as_text` left as it was, say): that batch then goes
    /// through arrow-json.
    pub(crate) fn columns<'a>(&'a self, batch: &'a RecordBatch) -> Option<Vec<Column<'a>>> {
        if batch.num_columns() != self.keys.len() {
            return None;
        }
        self.keys
            .iter()
            .zip(batch.columns())
            .map(|(key, array)| {
                Some(Column {
                    key,
                    nulls: array.nulls().filter(|n| n.null_count() > 0),
                    values: Values::new(array)?,
                })
            })
            .collect()
    }

    /// Writes `rows` rows of `columns` to `out` through `buf`, which is left empty.
    pub(crate) fn encode<W: Write + ?Sized>(
        &self,
        columns: &[Column<'_>],
        rows: usize,
        buf: &mut Vec<u8>,
        out: &mut W,
    ) -> io::Result<()> {
        buf.clear();
        for row in 0..rows {
            self.encode_row(columns, row, buf);
            if buf.len() >= FLUSH_AT {
                out.write_all(buf)?;
                buf.clear();
            }
        }
        if !buf.is_empty() {
            out.write_all(buf)?;
            buf.clear();
        }
        Ok(())
    }

    fn encode_row(&self, columns: &[Column<'_>], row: usize, out: &mut Vec<u8>) {
        let start = out.len();
        for column in columns {
            if let Some(nulls) = column.nulls
                && nulls.is_null(row)
            {
                if self.explicit_nulls {
                    column.key.put(out);
                    out.extend_from_slice(b"null");
                }
                continue;
            }
            column.key.put(out);
            match column.values {
                Values::I8(v) => put_number(out, v[row]),
                Values::I16(v) => put_number(out, v[row]),
                Values::I32(v) => put_number(out, v[row]),
                Values::I64(v) => put_number(out, v[row]),
                Values::U8(v) => put_number(out, v[row]),
                Values::U16(v) => put_number(out, v[row]),
                Values::U32(v) => put_number(out, v[row]),
                Values::U64(v) => put_number(out, v[row]),
                Values::F32(v) => {
                    let v = v[row];
                    if v.is_finite() {
                        put_number(out, v);
                    } else {
                        self.put_non_finite(out, v.into());
                    }
                }
                Values::F64(v) => {
                    let v = v[row];
                    if v.is_finite() {
                        put_number(out, v);
                    } else {
                        self.put_non_finite(out, v);
                    }
                }
                Values::Bool(v) => {
                    // Without a branch: random booleans would mispredict half the time.
                    const TEXT: [[u8; 8]; 2] = [*b"false\0\0\0", *b"true\0\0\0\0"];
                    let value = usize::from(v.value(row));
                    let at = out.len();
                    out.extend_from_slice(&TEXT[value]);
                    out.truncate(at + 5 - value);
                }
                Values::Utf8(offsets, data) => {
                    put_offset_str(out, data, offsets[row] as usize, offsets[row + 1] as usize)
                }
                Values::LargeUtf8(offsets, data) => {
                    put_offset_str(out, data, offsets[row] as usize, offsets[row + 1] as usize)
                }
                Values::View(views, buffers) => put_view_str(out, views[row], buffers),
            }
        }
        // Every key was written with a leading comma: the first becomes the `{`.
        if out.len() == start {
            out.push(b'{');
        } else {
            out[start] = b'{';
        }
        out.extend_from_slice(b"}\n");
    }
}

impl FastPath {
    #[cold]
    fn put_non_finite(&self, out: &mut Vec<u8>, value: f64) {
        if self.non_finite_strings {
            out.extend_from_slice(non_finite_string(value));
        } else {
            out.extend_from_slice(b"null");
        }
    }
}

/// Appends `value` as `lexical_core::write` writes it, straight into `out`.
#[inline(always)]
fn put_number<N: ToLexical + FormattedSize>(out: &mut Vec<u8>, value: N) {
    let at = out.len();
    out.resize(at + N::FORMATTED_SIZE_DECIMAL, 0);
    let written = lexical_core::write(value, &mut out[at..]).len();
    out.truncate(at + written);
}

/// Appends the string `data[start..end]` (offsets from a UTF-8 array), quoted and escaped.
#[inline(always)]
fn put_offset_str(out: &mut Vec<u8>, data: &[u8], start: usize, end: usize) {
    let text = &data[start..end];
    let block = if text.len() <= STR_BLOCK {
        data[start..].first_chunk::<STR_BLOCK>()
    } else {
        None
    };
    put_str(out, text, block);
}

/// Appends the string a `Utf8View` view points to, quoted and escaped.
#[inline(always)]
fn put_view_str(out: &mut Vec<u8>, view: u128, buffers: &[Buffer]) {
    let len = view as u32 as usize;
    if len <= 12 {
        // Inline: the bytes follow the 4-byte length, zero-padded.
        let block = (view >> 32).to_le_bytes();
        put_str(out, &block[..len], Some(&block));
    } else {
        let index = (view >> 64) as u32 as usize;
        let offset = (view >> 96) as u32 as usize;
        let data = buffers[index].as_slice();
        put_offset_str(out, data, offset, offset + len);
    }
}

/// Appends `text` quoted and escaped. `block`, if given, starts with `text` (which is then at
/// most [`STR_BLOCK`] bytes long) and is copied whole when `text` needs no escapes.
#[inline(always)]
fn put_str(out: &mut Vec<u8>, text: &[u8], block: Option<&[u8; STR_BLOCK]>) {
    out.push(b'"');
    match block {
        Some(block) if !block_needs_escape(block, text.len()) => {
            let at = out.len();
            out.extend_from_slice(block);
            out.truncate(at + text.len());
        }
        _ => match find_escape(text) {
            None => out.extend_from_slice(text),
            Some(first) => write_escaped(out, text, first),
        },
    }
    out.push(b'"');
}

/// Whether any of the first `len` (at most [`STR_BLOCK`]) bytes of `block` needs escaping.
#[inline(always)]
fn block_needs_escape(block: &[u8; STR_BLOCK], len: usize) -> bool {
    /// `MASK[k]`: the high bits of the low `k` bytes of a word.
    const MASK: [u64; 9] = {
        let mut mask = [0; 9];
        let mut k = 1;
        while k < 9 {
            mask[k] = 0x8080_8080_8080_8080 >> (8 * (8 - k));
            k += 1;
        }
        mask
    };
    let block = u128::from_le_bytes(*block);
    let low = escape_bits(block as u64);
    let high = escape_bits((block >> 64) as u64);
    let len = len.min(STR_BLOCK);
    (low & MASK[len.min(8)]) | (high & MASK[len.saturating_sub(8)]) != 0
}

/// Appends `text` as a JSON string, quoted and escaped (used for keys).
pub(crate) fn write_json_string(out: &mut Vec<u8>, text: &[u8]) {
    put_str(out, text, None);
}

/// Whether serde_json escapes this byte: `"`, `\` and the bytes below 0x20.
const ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// The classic "has a byte less than n" / "has a zero byte" word tricks for the bytes that
/// need escaping: the high bit of a byte is set if that byte needs escaping, or if a lower byte
/// does (borrows only run upwards). So the lowest set bit is exact, and so is "any bit set among
/// the low k bytes".
#[inline(always)]
fn escape_bits(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * b'"' as u64);
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = word ^ (ONES * b'\\' as u64);
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGH
}

/// Whether any of the 8 bytes of `word` needs escaping.
#[inline(always)]
fn word_needs_escape(word: u64) -> bool {
    escape_bits(word) != 0
}

/// The index of the first byte of `text` that needs escaping.
#[inline(always)]
fn find_escape(text: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(word) = text[i..].first_chunk::<8>() {
        if word_needs_escape(u64::from_le_bytes(*word)) {
            break;
        }
        i += 8;
    }
    text[i..]
        .iter()
        .position(|&b| ESCAPE[b as usize])
        .map(|p| i + p)
}

/// Appends `text` escaped (without quotes); `first` is the index of its first byte to escape.
#[cold]
fn write_escaped(out: &mut Vec<u8>, text: &[u8], first: usize) {
    let mut start = 0;
    let mut pos = first;
    loop {
        out.extend_from_slice(&text[start..pos]);
        push_escape(out, text[pos]);
        start = pos + 1;
        match find_escape(&text[start..]) {
            Some(p) => pos = start + p,
            None => break,
        }
    }
    out.extend_from_slice(&text[start..]);
}

/// serde_json's escape for `byte` (one [`ESCAPE`] marks).
fn push_escape(out: &mut Vec<u8>, byte: u8) {
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => 0,
    };
    if short != 0 {
        out.extend_from_slice(&[b'\\', short]);
    } else {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[(byte >> 4) as usize],
            HEX[(byte & 0xf) as usize],
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_check_agrees_with_the_table() {
        // Every byte value in every position, among bytes that need no escape and bytes that
        // would confuse a sloppy word check (0x80+, 0x20, 0x21, 0x5b...).
        let fillers = [
            b'a', 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff,
        ];
        for filler in fillers {
            for pos in 0..8 {
                for byte in 0..=255u8 {
                    let mut word = [filler; 8];
                    word[pos] = byte;
                    let expected = word.iter().any(|&b| ESCAPE[b as usize]);
                    assert_eq!(
                        word_needs_escape(u64::from_le_bytes(word)),
                        expected,
                        "{word:?}"
                    );
                    assert_eq!(
                        find_escape(&word),
                        word.iter().position(|&b| ESCAPE[b as usize])
                    );
                }
            }
        }
    }

    #[test]
    fn block_check_agrees_with_the_table() {
        // An escapable byte at each position, with clean bytes, other escapable bytes or
        // bytes with the high bit set around it, for every string length the block holds.
        for filler in [b'a', 0x7f, 0x80, 0xff, 0x1f, b'"', 0x21] {
            for pos in 0..STR_BLOCK {
                for byte in [0x00, 0x1f, 0x20, b'"', b'\\', 0x5b, 0x80, 0xe2] {
                    let mut block = [filler; STR_BLOCK];
                    block[pos] = byte;
                    for len in 0..=STR_BLOCK {
                        let expected = block[..len].iter().any(|&b| ESCAPE[b as usize]);
                        assert_eq!(block_needs_escape(&block, len), expected, "{block:?} {len}");
                    }
                }
            }
        }
    }

    #[test]
    fn escapes_like_serde_json() {
        let mut out = Vec::new();
        write_json_string(
            &mut out,
            "a\"b\\c/\u{7f}\u{2028}\u{0}\u{1f}\u{b}\t\n\r\u{8}\u{c}é".as_bytes(),
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c/\u{7f}\u{2028}\\u0000\\u001f\\u000b\\t\\n\\r\\b\\fé\""
        );
    }
}
