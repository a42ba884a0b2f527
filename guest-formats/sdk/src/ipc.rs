//! Decoding the Arrow IPC stream messages the host sends.
//!
//! `open` receives a stream holding only the schema message (optionally followed by the
//! end-of-stream marker); each `write-batch` receives the next messages of that stream: any
//! dictionary batches, then exactly one record batch.
//!
//! The SDK frames messages itself and decodes them with [`FileDecoder`] rather than
//! `arrow_ipc::reader::StreamDecoder`: `StreamDecoder` only finishes a message when the *next*
//! bytes arrive if the message has an empty body (a schema, a zero-row batch, a batch with no
//! columns), so a message that ends one host call would surface only during the next call or
//! never. Framing per call also lets the SDK check that each call holds exactly one record
//! batch and that nothing is truncated.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::reader::FileDecoder;
use arrow_ipc::{Block, MessageHeader, MetadataVersion};
use arrow_schema::SchemaRef;

use crate::EncodeError;

const CONTINUATION: [u8; 4] = [0xff; 4];

/// One message of the stream, located in the caller's buffer.
enum Item {
    Message {
        start: usize,
        /// Prefix + flatbuffer (+ padding): `Block::metaDataLength`.
        meta_len: usize,
        body_len: usize,
        header: MessageHeader,
        version: MetadataVersion,
    },
    EndOfStream,
}

/// Reads the message starting at `pos`; `Ok(None)` at the end of the input.
fn next_item(buf: &[u8], pos: usize) -> Result<Option<(Item, usize)>, EncodeError> {
    let rest = &buf[pos..];
    if rest.is_empty() {
        return Ok(None);
    }
    let truncated = || EncodeError::invalid_input("truncated Arrow IPC message");
    if rest.len() < 4 {
        return Err(truncated());
    }
    let (prefix, len) = if rest[..4] == CONTINUATION {
        if rest.len() < 8 {
            return Err(truncated());
        }
        (
            8,
            u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes")),
        )
    } else {
        // Pre-1.0 streams have no continuation marker.
        (
            4,
            u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")),
        )
    };
    if len == 0 {
        return Ok(Some((Item::EndOfStream, pos + prefix)));
    }
    let meta_len = prefix + len as usize;
    if rest.len() < meta_len {
        return Err(truncated());
    }
    let message = arrow_ipc::root_as_message(&rest[prefix..meta_len]).map_err(|e| {
        EncodeError::invalid_input(format!("invalid Arrow IPC message header: {e}"))
    })?;
    let body_len = usize::try_from(message.bodyLength())
        .map_err(|_| EncodeError::invalid_input("invalid Arrow IPC message: negative body"))?;
    if rest.len() - meta_len < body_len {
        return Err(truncated());
    }
    let item = Item::Message {
        start: pos,
        meta_len,
        body_len,
        header: message.header_type(),
        version: message.version(),
    };
    Ok(Some((item, pos + meta_len + body_len)))
}

/// Decodes the schema sent to `open`; returns it with the decoder for the batches.
pub(crate) fn decode_schema(bytes: &[u8]) -> Result<(SchemaRef, BatchDecoder), EncodeError> {
    let bad = |m: &str| EncodeError::invalid_input(format!("invalid schema: {m}"));
    let Some((item, mut pos)) = next_item(bytes, 0).map_err(|e| e.context("invalid schema"))?
    else {
        return Err(bad("empty Arrow IPC stream, expected a schema message"));
    };
    let Item::Message {
        start,
        meta_len,
        header,
        version,
        ..
    } = item
    else {
        return Err(bad("Arrow IPC stream ends before its schema message"));
    };
    if header != MessageHeader::Schema {
        return Err(bad(&format!(
            "expected an Arrow IPC schema message, got {header:?}"
        )));
    }
    let prefix = if bytes[start..start + 4] == CONTINUATION {
        8
    } else {
        4
    };
    let schema = arrow_ipc::convert::try_schema_from_flatbuffer_bytes(
        &bytes[start + prefix..start + meta_len],
    )
    .map_err(|e| bad(&e.to_string()))?;
    // Only an end-of-stream marker may follow.
    while let Some((item, next)) = next_item(bytes, pos).map_err(|e| e.context("invalid schema"))? {
        match item {
            Item::EndOfStream => pos = next,
            Item::Message { header, .. } => {
                return Err(bad(&format!(
                    "`open` takes only the schema message, but a {header:?} message follows it"
                )));
            }
        }
    }
    let schema = Arc::new(schema);
    let decoder = FileDecoder::new(Arc::clone(&schema), version);
    // SAFETY: the batches come only from the host, which serialises Arrow arrays it already
    // holds (validated when they were built); re-validating them here (UTF-8, offsets, nulls)
    // took half the in-sandbox time of the Arrow IPC encoder. The message framing and
    // flatbuffers are still checked. Validation protects the reader from its writer, and here
    // the writer is the trusted side: a host bug could at worst make this instance misbehave.
    #[allow(unsafe_code)]
    let decoder = unsafe { decoder.with_skip_validation(true) };
    Ok((schema, BatchDecoder { decoder }))
}

/// Decodes the messages of each `write-batch` call, keeping dictionaries across calls.
pub(crate) struct BatchDecoder {
    decoder: FileDecoder,
}

impl std::fmt::Debug for BatchDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchDecoder").finish_non_exhaustive()
    }
}

impl BatchDecoder {
    /// Decodes any dictionary batches followed by exactly one record batch.
    pub(crate) fn decode(&mut self, bytes: Vec<u8>) -> Result<RecordBatch, EncodeError> {
        let ctx = "invalid Arrow IPC batch";
        let buffer = Buffer::from_vec(bytes);
        let mut pos = 0;
        let mut batch: Option<RecordBatch> = None;
        while let Some((item, next)) = next_item(&buffer, pos).map_err(|e| e.context(ctx))? {
            let Item::Message {
                start,
                meta_len,
                body_len,
                header,
                ..
            } = item
            else {
                return Err(EncodeError::invalid_input(format!(
                    "{ctx}: unexpected end-of-stream marker; `write-batch` takes dictionary \
                     batches followed by one record batch"
                )));
            };
            if batch.is_some() {
                return Err(EncodeError::invalid_input(format!(
                    "{ctx}: a {header:?} message follows the record batch; `write-batch` takes \
                     exactly one record batch, last"
                )));
            }
            let block = Block::new(0, meta_len as i32, body_len as i64);
            let message = buffer.slice_with_length(start, meta_len + body_len);
            match header {
                MessageHeader::DictionaryBatch => self
                    .decoder
                    .read_dictionary(&block, &message)
                    .map_err(|e| EncodeError::invalid_input(format!("{ctx}: {e}")))?,
                MessageHeader::RecordBatch => {
                    batch = self
                        .decoder
                        .read_record_batch(&block, &message)
                        .map_err(|e| EncodeError::invalid_input(format!("{ctx}: {e}")))?;
                }
                MessageHeader::NONE => {}
                other => {
                    return Err(EncodeError::invalid_input(format!(
                        "{ctx}: unexpected {other:?} message; `write-batch` takes dictionary \
                         batches followed by one record batch"
                    )));
                }
            }
            pos = next;
        }
        batch.ok_or_else(|| EncodeError::invalid_input(format!("{ctx}: no record batch message")))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use arrow_array::builder::StringDictionaryBuilder;
    use arrow_array::types::Int32Type;
    use arrow_array::{ArrayRef, Int64Array, RecordBatchOptions, StringArray};
    use arrow_ipc::writer::StreamWriter;
    use arrow_schema::{DataType, Field, Schema};

    /// Splits a stream as a host would: schema bytes, then the bytes of each `write`.
    pub(crate) fn split_stream(
        schema: &Schema,
        batches: &[RecordBatch],
    ) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut w = StreamWriter::try_new(Vec::new(), schema).unwrap();
        let schema_bytes = std::mem::take(w.get_mut());
        let mut parts = Vec::new();
        for b in batches {
            w.write(b).unwrap();
            parts.push(std::mem::take(w.get_mut()));
        }
        (schema_bytes, parts)
    }

    fn dict_batch(values: &[&str]) -> RecordBatch {
        let mut b = StringDictionaryBuilder::<Int32Type>::new();
        for v in values {
            b.append_value(v);
        }
        let a: ArrayRef = Arc::new(b.finish());
        RecordBatch::try_from_iter([("d", a)]).unwrap()
    }

    #[test]
    fn roundtrip_with_dictionaries_and_empty_batches() {
        let b1 = dict_batch(&["a", "b", "a"]);
        let b2 = dict_batch(&["c"]);
        let empty = b1.slice(0, 0);
        let schema = b1.schema();
        let (s, parts) = split_stream(&schema, &[b1.clone(), empty.clone(), b2.clone()]);
        let (got_schema, mut dec) = decode_schema(&s).unwrap();
        assert_eq!(got_schema, schema);
        assert_eq!(dec.decode(parts[0].clone()).unwrap(), b1);
        assert_eq!(dec.decode(parts[1].clone()).unwrap().num_rows(), 0);
        assert_eq!(dec.decode(parts[2].clone()).unwrap(), b2);
    }

    #[test]
    fn zero_column_batch_and_schema_with_eos() {
        let schema = Arc::new(Schema::empty());
        let b = RecordBatch::try_new_with_options(
            Arc::clone(&schema),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(5)),
        )
        .unwrap();
        let mut w = StreamWriter::try_new(Vec::new(), &schema).unwrap();
        w.finish().unwrap();
        let with_eos = w.into_inner().unwrap();
        let (_, parts) = split_stream(&schema, std::slice::from_ref(&b));
        let (got, mut dec) = decode_schema(&with_eos).unwrap();
        assert_eq!(got.fields().len(), 0);
        assert_eq!(dec.decode(parts[0].clone()).unwrap().num_rows(), 5);
    }

    #[test]
    fn rejects_two_batches_truncation_and_garbage() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![1, 2, 3]));
        let s: ArrayRef = Arc::new(StringArray::from(vec!["x", "y", "z"]));
        let b = RecordBatch::try_from_iter([("a", a), ("s", s)]).unwrap();
        let (schema, parts) = split_stream(&b.schema(), &[b.clone(), b.clone()]);
        let (_, mut dec) = decode_schema(&schema).unwrap();
        let mut two = parts[0].clone();
        two.extend_from_slice(&parts[1]);
        let err = dec.decode(two).unwrap_err();
        assert!(err.message().contains("exactly one record batch"), "{err}");
        let mut cut = parts[0].clone();
        cut.truncate(cut.len() - 1);
        assert!(dec.decode(cut).unwrap_err().message().contains("truncated"));
        assert!(
            dec.decode(vec![])
                .unwrap_err()
                .message()
                .contains("no record batch")
        );
        assert!(decode_schema(&[1, 2, 3]).is_err());
        assert!(
            decode_schema(&parts[0])
                .unwrap_err()
                .message()
                .contains("schema")
        );
        // The decoder still works after errors.
        assert_eq!(dec.decode(parts[1].clone()).unwrap(), b);
        let _ = Field::new("x", DataType::Null, true);
    }
}
