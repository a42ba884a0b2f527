//! Arrow IPC input (file or stream), checked before arrow-rs reads it.
//!
//! arrow-rs trusts two things an input can lie about: the sizes of a file's blocks (it
//! allocates each block's declared size before reading it) and, for streams, the byte order
//! (it reads a big-endian stream's buffers as if they were little-endian: wrong values, no
//! error). Both are checked here first.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use arrow::ipc::reader::{FileReader, StreamReader};
use arrow::ipc::{Endianness, MessageHeader};

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
    let replay = BufReader::new(Cursor::new(schema_message).chain(source));
    let reader = guard::catch_panic(label, || StreamReader::try_new(replay, None))?
        .map_err(|error| super::arrow_error(label, error))?;
    Ok(Box::new(reader))
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
    }
    Ok(())
}
