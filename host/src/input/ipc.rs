//! Arrow IPC input (file or stream), checked before arrow-rs reads it.
//!
//! arrow-rs trusts two things an input can lie about: the sizes of a file's blocks (it
//! allocates each block's declared size before reading it) and, for streams, the byte order
//! (it reads a big-endian stream's buffers as if they were little-endian: wrong values, no
//! error). Both are checked here first, and so is what compressed bodies claim: arrow-rs
//! allocates each buffer's declared decompressed size before decompressing, so a few corrupt
//! bytes could ask for petabytes (an allocation failure aborts the process).

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use arrow::ipc::reader::{FileReader, StreamReader};
use arrow::ipc::{CompressionType, Endianness, Message, MessageHeader};

use super::{BatchReader, guard, open_file};
use crate::error::{Error, ErrorKind, Result, Step};

const MAGIC: &[u8] = b"ARROW1";
const CONTINUATION: [u8; 4] = [0xff; 4];
/// Largest schema message read to check a stream's byte order (a schema of ~100k columns).
const MAX_SCHEMA_MESSAGE: u32 = 64 << 20;

/// Opens an Arrow IPC file (`path`, when not stdin) or stream (`source`).
pub(super) fn open(
    source: Box<dyn Read + Send>,
    path: &Path,
    stdin: bool,
    label: &Path,
) -> Result<BatchReader> {
    let invalid = |message: String| Error::new(ErrorKind::InvalidInput, Step::Read, label, message);
    let mut source = BufReader::with_capacity(1 << 20, source);
    let head = source
        .fill_buf()
        .map_err(|error| Error::io(Step::Read, label, error))?;
    if head.is_empty() {
        return Err(invalid(
            "the input is empty, not an Arrow IPC file or stream".into(),
        ));
    }
    if head.starts_with(MAGIC) {
        if stdin {
            return Err(invalid(
                "an Arrow IPC file cannot be read from stdin (it needs seeking); pass a file or an IPC stream"
                    .into(),
            ));
        }
        let mut file = open_file(path)?;
        check_file_blocks(&mut file)
            .map_err(|message| invalid(format!("corrupt Arrow IPC file: {message}")))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|error| Error::io(Step::Read, label, error))?;
        let reader = guard::catch_panic(label, || FileReader::try_new(BufReader::new(file), None))?
            .map_err(|error| super::arrow_error(label, error))?;
        return Ok(Box::new(reader));
    }
    let schema_message = read_schema_message(&mut source)
        .map_err(|message| invalid(format!("not a valid Arrow IPC stream: {message}")))?;
    let checked = Checked {
        source,
        pending: Vec::new(),
        position: 0,
        ended: false,
    };
    let replay = BufReader::new(Cursor::new(schema_message).chain(checked));
    let reader = guard::catch_panic(label, || StreamReader::try_new(replay, None))?
        .map_err(|error| super::arrow_error(label, error))?;
    Ok(Box::new(reader))
}

/// Most a compressed buffer may expand, per compressed byte: LZ4 frames stay below 255; a
/// Zstandard RLE block turns 4 bytes into 128 KiB.
const LZ4_MAX_RATIO: u64 = 256;
const ZSTD_MAX_RATIO: u64 = 32 << 10;

/// A record or dictionary batch message's batch and codec, if its body is compressed.
fn compressed_batch<'a>(
    message: &Message<'a>,
) -> Option<(arrow::ipc::RecordBatch<'a>, arrow::ipc::BodyCompression<'a>)> {
    let batch = match message.header_type() {
        MessageHeader::RecordBatch => message.header_as_record_batch(),
        MessageHeader::DictionaryBatch => message
            .header_as_dictionary_batch()
            .and_then(|dictionary| dictionary.data()),
        _ => None,
    }?;
    let compression = batch.compression()?;
    Some((batch, compression))
}

/// Checks that every compressed buffer of a record or dictionary batch message declares a
/// decompressed size its codec could produce from its compressed bytes.
fn check_body(message: &Message, body: &[u8]) -> std::result::Result<(), String> {
    let Some((batch, compression)) = compressed_batch(message) else {
        return Ok(());
    };
    let ratio = match compression.codec() {
        CompressionType::LZ4_FRAME => LZ4_MAX_RATIO,
        _ => ZSTD_MAX_RATIO,
    };
    for buffer in batch.buffers().iter().flatten() {
        let (Ok(offset), Ok(length)) = (
            usize::try_from(buffer.offset()),
            u64::try_from(buffer.length()),
        ) else {
            return Err("a buffer has a negative offset or length".into());
        };
        if length < 8 {
            continue; // empty: no length prefix
        }
        let prefix = offset
            .checked_add(8)
            .and_then(|end| body.get(offset..end))
            .ok_or("a buffer lies outside its message body")?;
        let declared = i64::from_le_bytes(prefix.try_into().expect("8 bytes"));
        if declared == -1 {
            continue; // stored uncompressed
        }
        let most = (length - 8).saturating_mul(ratio).saturating_add(1 << 16);
        if declared < 0 || declared as u64 > most {
            return Err(format!(
                "a compressed buffer of {length} bytes claims to hold {declared} bytes, more \
                 than {:?} can expand it to",
                compression.codec()
            ));
        }
    }
    Ok(())
}

/// An IPC stream passed through message by message, each checked ([`check_body`]) before the
/// reader sees its bytes. Reads grow with the bytes that actually arrive, never by what a
/// message declares.
struct Checked<R> {
    source: R,
    /// The current message's bytes, served from `position`.
    pending: Vec<u8>,
    position: usize,
    /// The end-of-stream marker (or the source's end) was reached.
    ended: bool,
}

impl<R: Read> Checked<R> {
    /// Reads the next whole message into `pending`.
    fn next_message(&mut self) -> std::io::Result<()> {
        let invalid =
            |message: String| std::io::Error::new(std::io::ErrorKind::InvalidData, message);
        self.pending.clear();
        self.position = 0;
        let mut prefix = [0u8; 4];
        let read = (&mut self.source).take(4).read(&mut prefix)?;
        if read == 0 {
            self.ended = true;
            return Ok(());
        }
        // Not UnexpectedEof: arrow-rs takes that, before a message, for the stream's end.
        let truncated = || invalid("the stream is truncated inside a message".into());
        let short = |error: std::io::Error| match error.kind() {
            std::io::ErrorKind::UnexpectedEof => truncated(),
            _ => error,
        };
        self.source.read_exact(&mut prefix[read..]).map_err(short)?;
        self.pending.extend_from_slice(&prefix);
        let mut length = u32::from_le_bytes(prefix);
        if prefix == CONTINUATION {
            self.source.read_exact(&mut prefix).map_err(short)?;
            self.pending.extend_from_slice(&prefix);
            length = u32::from_le_bytes(prefix);
        }
        if length == 0 {
            self.ended = true;
            return Ok(());
        }
        let start = self.pending.len();
        let read = (&mut self.source)
            .take(u64::from(length))
            .read_to_end(&mut self.pending)?;
        if read < length as usize {
            return Err(truncated());
        }
        let message = arrow::ipc::root_as_message(&self.pending[start..])
            .map_err(|error| invalid(format!("an unreadable message ({error})")))?;
        let body_length = u64::try_from(message.bodyLength())
            .map_err(|_| invalid("a message with a negative body length".into()))?;
        let body_start = self.pending.len();
        let read = (&mut self.source)
            .take(body_length)
            .read_to_end(&mut self.pending)?;
        if (read as u64) < body_length {
            return Err(truncated());
        }
        let message = arrow::ipc::root_as_message(&self.pending[start..body_start])
            .map_err(|error| invalid(format!("an unreadable message ({error})")))?;
        check_body(&message, &self.pending[body_start..]).map_err(invalid)
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, into: &mut [u8]) -> std::io::Result<usize> {
        if self.position == self.pending.len() {
            if self.ended {
                return Ok(0);
            }
            self.next_message()?;
        }
        let available = &self.pending[self.position..];
        let count = available.len().min(into.len());
        into[..count].copy_from_slice(&available[..count]);
        self.position += count;
        Ok(count)
    }
}

/// Reads a stream's first message, which must be a little-endian schema; returns its bytes.
fn read_schema_message(source: &mut impl Read) -> std::result::Result<Vec<u8>, String> {
    let mut bytes = vec![0; 4];
    read_exact(source, &mut bytes)?;
    if bytes[..4] == CONTINUATION {
        bytes.resize(8, 0);
        read_exact(source, &mut bytes[4..])?;
    }
    let prefix = bytes.len();
    let length = u32::from_le_bytes(bytes[prefix - 4..].try_into().expect("4 bytes"));
    if length == 0 {
        return Err("it ends before its schema message".into());
    }
    if length > MAX_SCHEMA_MESSAGE {
        return Err(format!(
            "its first message claims {length} bytes (more than {MAX_SCHEMA_MESSAGE} for a schema)"
        ));
    }
    let read = source
        .take(u64::from(length))
        .read_to_end(&mut bytes)
        .map_err(|error| error.to_string())?;
    if read < length as usize {
        return Err("it is truncated inside its schema message".into());
    }
    let message = arrow::ipc::root_as_message(&bytes[prefix..])
        .map_err(|error| format!("its first message is unreadable ({error})"))?;
    if message.header_type() != MessageHeader::Schema {
        return Err(format!(
            "its first message is a {:?}, not a schema",
            message.header_type()
        ));
    }
    let schema = message
        .header_as_schema()
        .ok_or("its schema message has no schema")?;
    check_endianness(schema.endianness())?;
    Ok(bytes)
}

fn check_endianness(endianness: Endianness) -> std::result::Result<(), String> {
    if endianness == Endianness::Big {
        return Err(
            "it is big-endian, which atio cannot read; write it little-endian \
             (the default of every Arrow library on x86 and ARM)"
                .into(),
        );
    }
    Ok(())
}

/// [`check_body`] for one block of a file (its bounds already checked against the file). Only
/// a compressed message's body is read here: an uncompressed file is not read twice.
fn check_block(
    file: &mut File,
    offset: u64,
    meta_length: usize,
    body_length: usize,
) -> std::result::Result<(), String> {
    let mut block = vec![0; meta_length];
    file.seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut block))
        .map_err(|error| error.to_string())?;
    let prefix = if block.starts_with(&CONTINUATION) {
        8
    } else {
        4
    };
    let message = block
        .get(prefix..)
        .ok_or("a block too short for its message")
        .and_then(|bytes| {
            arrow::ipc::root_as_message(bytes).map_err(|_| "a block's message is unreadable")
        })?;
    if compressed_batch(&message).is_none() {
        return Ok(());
    }
    let mut body = vec![0; body_length];
    file.read_exact(&mut body)
        .map_err(|error| error.to_string())?;
    check_body(&message, &body)
}

fn read_exact(source: &mut impl Read, into: &mut [u8]) -> std::result::Result<(), String> {
    source.read_exact(into).map_err(|error| match error.kind() {
        std::io::ErrorKind::UnexpectedEof => "it is truncated".to_owned(),
        _ => error.to_string(),
    })
}

/// Checks that the footer's schema is little-endian and every block lies inside the file, so
/// no block's declared size can make the reader allocate beyond the file's own size.
fn check_file_blocks(file: &mut File) -> std::result::Result<(), String> {
    let size = file.metadata().map_err(|error| error.to_string())?.len();
    let trailer = MAGIC.len() as u64 + 4;
    if size < 8 + trailer {
        return Err("too short for an Arrow IPC file".into());
    }
    let mut tail = [0u8; 10];
    file.seek(SeekFrom::End(-10))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(|error| error.to_string())?;
    let footer_length =
        arrow::ipc::reader::read_footer_length(tail).map_err(|error| error.to_string())? as u64;
    if footer_length > size - trailer - 8 {
        return Err(format!(
            "its footer claims {footer_length} bytes, more than the file holds"
        ));
    }
    let mut footer = vec![0; footer_length as usize];
    file.seek(SeekFrom::Start(size - trailer - footer_length))
        .and_then(|_| file.read_exact(&mut footer))
        .map_err(|error| error.to_string())?;
    let footer = arrow::ipc::root_as_footer(&footer)
        .map_err(|error| format!("its footer is unreadable ({error})"))?;
    if let Some(schema) = footer.schema() {
        check_endianness(schema.endianness())?;
    }
    let blocks = footer
        .recordBatches()
        .into_iter()
        .chain(footer.dictionaries())
        .flatten();
    for block in blocks {
        let end = u64::try_from(block.offset())
            .ok()
            .zip(u64::try_from(block.metaDataLength()).ok())
            .zip(u64::try_from(block.bodyLength()).ok())
            .and_then(|((offset, meta), body)| offset.checked_add(meta)?.checked_add(body));
        if end.is_none_or(|end| end > size) {
            return Err(format!(
                "a block (offset {}, {} + {} bytes) lies outside the file's {size} bytes",
                block.offset(),
                block.metaDataLength(),
                block.bodyLength()
            ));
        }
        check_block(
            file,
            block.offset() as u64,
            block.metaDataLength() as usize,
            block.bodyLength() as usize,
        )?;
    }
    Ok(())
}
