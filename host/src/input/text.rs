//! CSV and JSON-lines input: schema inference, then arrow-rs's streaming readers.
//!
//! What arrow-rs leaves to its caller, done here: a UTF-8 byte-order mark is skipped; JSON
//! columns keep the order their keys first appear in (arrow-rs sorts them); a JSON key first
//! seen after the inferred rows is an error naming `--infer-rows`, never silently dropped;
//! numbers and booleans in a column inferred as text stay as their text; an empty input has no
//! columns (not one named ""); wide CSVs get fewer rows per batch.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatchIterator;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::parallel_text::{CHUNK_BYTES, ParallelText, Plan, Text, csv_builder, json_builder};
use super::{BatchReader, INFER_ROWS, InferRows, InputFormat, arrow_error, batch_rows, open_file};
use crate::error::{Error, Result, Step};

const BOM: &[u8] = b"\xef\xbb\xbf";
/// Rows sampled to tell whether CSV timestamps carry a zone.
const INFER_SAMPLE_ROWS: usize = 100;
/// Largest prefix of a stream buffered for schema inference.
const INFER_BYTES: usize = 4 << 20;

/// Opens a CSV or JSON-lines file; inference reads the file itself, then it is read again.
pub(super) fn open_path(
    path: &Path,
    format: InputFormat,
    infer_rows: InferRows,
    parsers: usize,
) -> Result<BatchReader> {
    let io_error = |error| Error::io(Step::Read, path, error);
    let mut file = BufReader::with_capacity(1 << 20, open_file(path)?);
    let start = if file.fill_buf().map_err(io_error)?.starts_with(BOM) {
        BOM.len() as u64
    } else {
        0
    };
    file.seek(SeekFrom::Start(start)).map_err(io_error)?;
    let max_rows = match infer_rows {
        InferRows::First(rows) => Some(rows),
        InferRows::All => None,
    };
    let schema = infer(&mut file, format, max_rows, path)?;
    file.seek(SeekFrom::Start(start)).map_err(io_error)?;
    let schema = match format {
        InputFormat::Jsonl => in_first_seen_order(schema, &mut file),
        _ => with_zones(schema, &mut file),
    };
    file.seek(SeekFrom::Start(start)).map_err(io_error)?;
    let size = file.get_ref().metadata().map_err(io_error)?.len();
    let worth_splitting = size.saturating_sub(start) > 2 * CHUNK_BYTES as u64;
    if parsers > 1 && worth_splitting && !schema.fields().is_empty() {
        let schema = Arc::new(schema);
        let plan = Plan {
            text: match format {
                InputFormat::Csv => Text::Csv,
                _ => Text::JsonLines,
            },
            start,
            schema: schema.clone(),
            batch_rows: batch_rows(schema.fields().len()),
            parsers,
            chunk_bytes: CHUNK_BYTES,
        };
        let reader = ParallelText::start(path, plan).map_err(io_error)?;
        let batches =
            reader.map(move |batch| batch.map_err(|error| late_key_hint(error, infer_rows)));
        return Ok(Box::new(RecordBatchIterator::new(batches, schema)));
    }
    build(Box::new(file), format, schema, infer_rows, path)
}

/// Opens CSV or JSON lines from a byte stream, inferring from its first rows (at most
/// `INFER_BYTES`), which are buffered and replayed.
pub(super) fn open_stream(
    mut source: Box<dyn Read + Send>,
    format: InputFormat,
    infer_rows: InferRows,
    label: &Path,
) -> Result<BatchReader> {
    let mut prefix = Vec::new();
    (&mut source)
        .take(INFER_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(|error| Error::io(Step::Read, label, error))?;
    if prefix.starts_with(BOM) {
        prefix.drain(..BOM.len());
    }
    let mut rest: Box<dyn Read + Send> = source;
    if prefix.len() >= INFER_BYTES - BOM.len() {
        // Infer only from whole lines; the cut line is replayed with the rest anyway.
        let whole = prefix
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(prefix.len(), |at| at + 1);
        rest = Box::new(Cursor::new(prefix.split_off(whole)).chain(rest));
    }
    let max_rows = match infer_rows {
        InferRows::First(rows) => Some(rows),
        InferRows::All => None,
    };
    let schema = infer(&mut Cursor::new(&prefix), format, max_rows, label)?;
    let schema = match format {
        InputFormat::Jsonl => in_first_seen_order(schema, &mut Cursor::new(&prefix)),
        _ => with_zones(schema, &mut Cursor::new(&prefix)),
    };
    let replay = BufReader::with_capacity(1 << 20, Cursor::new(prefix).chain(rest));
    build(Box::new(replay), format, schema, infer_rows, label)
}

fn infer(
    source: &mut (impl BufRead + Seek),
    format: InputFormat,
    max_rows: Option<usize>,
    label: &Path,
) -> Result<Schema> {
    if whole_source_is_blank(source) {
        // Nothing at all (or blank lines): no columns, no rows.
        return Ok(Schema::empty());
    }
    let inferred = match format {
        InputFormat::Csv => arrow::csv::reader::Format::default()
            .with_header(true)
            .infer_schema(source, max_rows)
            .map(|(schema, _)| schema),
        _ => arrow::json::reader::infer_json_schema(source, max_rows).map(|(schema, _)| schema),
    };
    inferred.map_err(|error| arrow_error(label, error))
}

/// Whether everything left in `source` is whitespace; leaves the position where it was.
fn whole_source_is_blank(source: &mut (impl BufRead + Seek)) -> bool {
    let Ok(start) = source.stream_position() else {
        return false;
    };
    let mut blank = true;
    let mut chunk = [0u8; 8192];
    loop {
        match source.read(&mut chunk) {
            Ok(0) => break,
            Ok(read) if chunk[..read].iter().all(u8::is_ascii_whitespace) => {}
            // Not blank, or unreadable: inference reads it and reports what it finds.
            _ => {
                blank = false;
                break;
            }
        }
    }
    let _ = source.seek(SeekFrom::Start(start));
    blank
}

/// The reader for an inferred `schema`, its errors naming `label` and, for a JSON key the
/// schema lacks, `--infer-rows`.
fn build(
    source: Box<dyn BufRead + Send>,
    format: InputFormat,
    schema: Schema,
    infer_rows: InferRows,
    label: &Path,
) -> Result<BatchReader> {
    let schema: SchemaRef = Arc::new(schema);
    if schema.fields().is_empty() {
        return Ok(Box::new(RecordBatchIterator::new([], schema)));
    }
    let rows = batch_rows(schema.fields().len());
    match format {
        InputFormat::Csv => {
            let reader = csv_builder(schema, rows)
                .with_header(true)
                .build_buffered(source)
                .map_err(|error| arrow_error(label, error))?;
            Ok(Box::new(reader))
        }
        _ => {
            let reader = json_builder(schema.clone(), rows)
                .build(source)
                .map_err(|error| arrow_error(label, error))?;
            let batches =
                reader.map(move |batch| batch.map_err(|error| late_key_hint(error, infer_rows)));
            Ok(Box::new(RecordBatchIterator::new(batches, schema)))
        }
    }
}

/// Adds what to do to arrow-json's "column 'x' missing from schema".
fn late_key_hint(error: ArrowError, infer_rows: InferRows) -> ArrowError {
    let text = error.to_string();
    if !text.contains("missing from schema") {
        return error;
    }
    let inferred = match infer_rows {
        InferRows::First(rows) => format!("the first {rows} rows"),
        InferRows::All => "the first 4 MiB of this stream".to_owned(),
    };
    ArrowError::JsonError(format!(
        "{text}: this key first appears after {inferred}, which the schema was inferred from; \
         pass --infer-rows all (or a larger number) to infer it from more rows"
    ))
}

/// `schema` with a UTC zone on each timestamp column whose first value names a zone or an
/// offset (`…Z`, `…+05:30`, `… Europe/Paris`). arrow-rs parses such text to the right instant
/// but infers a zone-less type, which Parquet then marks as local time, not an instant.
fn with_zones(schema: Schema, sample: &mut impl BufRead) -> Schema {
    let naive: Vec<usize> = (0..schema.fields().len())
        .filter(|&index| {
            matches!(
                schema.field(index).data_type(),
                DataType::Timestamp(_, None)
            )
        })
        .collect();
    if naive.is_empty() {
        return schema;
    }
    let as_text = Schema::new(
        schema
            .fields()
            .iter()
            .map(|field| Field::new(field.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    );
    let Ok(reader) = arrow::csv::ReaderBuilder::new(Arc::new(as_text))
        .with_header(true)
        .with_batch_size(INFER_SAMPLE_ROWS)
        .build_buffered(sample)
    else {
        return schema;
    };
    let Some(Ok(batch)) = reader.into_iter().next() else {
        return schema;
    };
    let mut fields: Vec<FieldRef> = schema.fields().iter().cloned().collect();
    for index in naive {
        let first = batch
            .column(index)
            .as_string::<i32>()
            .iter()
            .flatten()
            .next();
        if let (Some(text), DataType::Timestamp(unit, None)) = (first, fields[index].data_type())
            && names_a_zone(text)
        {
            let aware = DataType::Timestamp(*unit, Some("UTC".into()));
            fields[index] = Arc::new(fields[index].as_ref().clone().with_data_type(aware));
        }
    }
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// Whether a timestamp's text ends in a zone: `Z`, a `±hh[:mm]` offset, or a zone name.
fn names_a_zone(text: &str) -> bool {
    let text = text.trim();
    if text.ends_with(['Z', 'z']) {
        return true;
    }
    let time_starts = text.find(['T', 't', ' ']).map_or(text.len(), |at| at + 1);
    let time = &text[time_starts..];
    time.contains(['+', '-'])
        || time
            .split_whitespace()
            .nth(1)
            .is_some_and(|zone| zone.starts_with(char::is_alphabetic))
}

/// `schema` with its fields, and the fields of nested objects, in the order their keys first
/// appear in the first rows of `source` (arrow-rs sorts them by name).
fn in_first_seen_order(schema: Schema, source: &mut impl BufRead) -> Schema {
    let mut orders = KeyOrders::default();
    let mut line = String::new();
    for _ in 0..INFER_ROWS {
        line.clear();
        match source.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let mut parser = serde_json::Deserializer::from_str(&line);
        let _ = Keys {
            orders: &mut orders,
            path: String::new(),
        }
        .deserialize(&mut parser);
    }
    let fields = orders.sorted(schema.fields().iter().cloned().collect(), "");
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// The keys of the objects at each path (`""` the rows, `"a"` the object under key `a`,
/// `"a[]"` the objects in the array under `a`), in the order first seen.
#[derive(Default)]
struct KeyOrders(HashMap<String, Vec<String>>);

impl KeyOrders {
    fn record(&mut self, path: &str, key: &str) {
        let keys = self.0.entry(path.to_owned()).or_default();
        if !keys.iter().any(|known| known == key) {
            keys.push(key.to_owned());
        }
    }

    /// `fields` (of the object at `path`) in first-seen order, their children too.
    fn sorted(&self, fields: Vec<FieldRef>, path: &str) -> Vec<FieldRef> {
        let keys = self.0.get(path);
        let position = |name: &str| {
            keys.and_then(|keys| keys.iter().position(|key| key == name))
                .unwrap_or(usize::MAX)
        };
        let mut fields: Vec<FieldRef> = fields
            .into_iter()
            .map(|field| {
                let child = child_path(path, field.name());
                match self.sorted_type(field.data_type(), &child) {
                    Some(data_type) => Arc::new(field.as_ref().clone().with_data_type(data_type)),
                    None => field,
                }
            })
            .collect();
        fields.sort_by_key(|field| position(field.name()));
        fields
    }

    fn sorted_type(&self, data_type: &DataType, path: &str) -> Option<DataType> {
        match data_type {
            DataType::Struct(fields) => Some(DataType::Struct(
                self.sorted(fields.iter().cloned().collect(), path).into(),
            )),
            DataType::List(item) => {
                let element = self.sorted_type(item.data_type(), &format!("{path}[]"))?;
                Some(DataType::List(Arc::new(
                    item.as_ref().clone().with_data_type(element),
                )))
            }
            _ => None,
        }
    }
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Records the keys of every object in one JSON value, skipping everything else.
struct Keys<'a> {
    orders: &'a mut KeyOrders,
    path: String,
}

impl<'de> DeserializeSeed<'de> for Keys<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        parser: D,
    ) -> std::result::Result<(), D::Error> {
        parser.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Keys<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            self.orders.record(&self.path, &key);
            map.next_value_seed(Keys {
                orders: &mut *self.orders,
                path: child_path(&self.path, &key),
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> std::result::Result<(), A::Error> {
        let path = format!("{}[]", self.path);
        while items
            .next_element_seed(Keys {
                orders: &mut *self.orders,
                path: path.clone(),
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> std::result::Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> std::result::Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    fn read(format: InputFormat, bytes: &[u8]) -> Result<Vec<arrow::array::RecordBatch>> {
        let reader = open_stream(
            Box::new(Cursor::new(bytes.to_vec())),
            format,
            InferRows::default(),
            Path::new("in"),
        )?;
        reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|error| arrow_error(Path::new("in"), error))
    }

    fn names(batch: &arrow::array::RecordBatch) -> Vec<String> {
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    #[test]
    fn json_columns_keep_first_seen_order_and_bom_is_skipped() {
        let batches = read(
            InputFormat::Jsonl,
            b"\xef\xbb\xbf{\"k10\":1,\"k2\":2,\"k1\":{\"z\":[{\"y\":1,\"b\":2}],\"a\":3}}\n{\"k0\":4}\n",
        )
        .unwrap();
        assert_eq!(names(&batches[0]), ["k10", "k2", "k1", "k0"]);
        let nested = batches[0].schema().field(2).data_type().to_string();
        assert_eq!(
            nested,
            "Struct(\"z\": List(Struct(\"y\": Int64, \"b\": Int64)), \"a\": Int64)"
        );
        let batches = read(InputFormat::Csv, b"\xef\xbb\xbfa,b\n1,2\n").unwrap();
        assert_eq!(names(&batches[0]), ["a", "b"]);
    }

    #[test]
    fn csv_timestamps_with_a_zone_are_instants_in_utc() {
        let input = "naive,z,offset,named\n2024-01-01T00:00:00,2024-01-01T00:00:00Z,2024-01-01T00:00:00+05:30,2024-01-01 00:00:00 Europe/Paris\n";
        let batches = read(InputFormat::Csv, input.as_bytes()).unwrap();
        let schema = batches[0].schema();
        let zones: Vec<_> = schema
            .fields()
            .iter()
            .map(|field| match field.data_type() {
                DataType::Timestamp(_, zone) => zone.as_deref().map(str::to_owned),
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(
            zones,
            [
                None,
                Some("UTC".into()),
                Some("UTC".into()),
                Some("UTC".into())
            ]
        );
        let seconds = |column: usize| {
            let values = arrow::compute::cast(
                batches[0].column(column),
                &DataType::Timestamp(arrow::datatypes::TimeUnit::Second, None),
            )
            .unwrap();
            values
                .as_primitive::<arrow::datatypes::TimestampSecondType>()
                .value(0)
        };
        assert_eq!(seconds(1), 1_704_067_200);
        assert_eq!(seconds(2), 1_704_067_200 - 5 * 3600 - 1800);
        assert_eq!(seconds(3), 1_704_067_200 - 3600);
    }

    #[test]
    fn a_late_json_key_is_an_error_naming_infer_rows() {
        let mut input = "{\"a\":1}\n".repeat(INFER_ROWS + 5);
        input.push_str("{\"a\":2,\"late\":3}\n");
        let error = read(InputFormat::Jsonl, input.as_bytes()).unwrap_err();
        assert!(error.message().contains("late"), "{error}");
        assert!(error.message().contains("--infer-rows"), "{error}");
    }

    #[test]
    fn mixed_json_values_in_a_text_column_keep_their_text() {
        let batches = read(
            InputFormat::Jsonl,
            b"{\"k\":\"x\"}\n{\"k\":1}\n{\"k\":true}\n",
        )
        .unwrap();
        let column = batches[0].column(0).as_string::<i32>();
        assert_eq!(
            column.iter().collect::<Vec<_>>(),
            [Some("x"), Some("1"), Some("true")]
        );
    }

    #[test]
    fn an_empty_input_has_no_columns() {
        for format in [InputFormat::Csv, InputFormat::Jsonl] {
            for input in [&b""[..], b"\n\n", b"\xef\xbb\xbf"] {
                let reader = open_stream(
                    Box::new(Cursor::new(input.to_vec())),
                    format,
                    InferRows::default(),
                    Path::new("in"),
                )
                .unwrap();
                assert!(reader.schema().fields().is_empty());
                assert_eq!(reader.count(), 0);
            }
        }
    }

    #[test]
    fn wide_csv_batches_are_bounded_by_cells() {
        let header: Vec<String> = (0..2000).map(|i| format!("c{i}")).collect();
        let mut input = header.join(",") + "\n";
        input.push_str(&(vec!["1"; 2000].join(",") + "\n"));
        let batches = read(InputFormat::Csv, input.as_bytes()).unwrap();
        assert_eq!(batches[0].num_columns(), 2000);
        assert_eq!(batches[0].column(1999).len(), 1);
        assert_eq!(batch_rows(2000), 2097);
    }
}
