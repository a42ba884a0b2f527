//! Reading input data (CSV, JSON lines, Parquet, Arrow IPC) as a stream of record batches.
//!
//! Every reader streams: memory is bounded by the batch size, never by the input size. CSV and
//! JSON schemas are inferred from the first rows, which are buffered once and then replayed.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use arrow::array::RecordBatchReader;
use arrow::error::ArrowError;

use crate::error::{Error, ErrorKind, Result, Step};

/// Rows per batch handed to encoders: large, so each sandbox crossing carries real work.
pub const BATCH_ROWS: usize = 64 * 1024;
/// Rows read to infer a CSV or JSON schema.
const INFER_ROWS: usize = 1000;
/// Largest prefix buffered for schema inference.
const INFER_BYTES: usize = 4 << 20;

/// An input format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// Newline-delimited JSON objects.
    Jsonl,
    /// Apache Parquet (a file; not stdin).
    Parquet,
    /// Arrow IPC file or stream.
    Arrow,
}

impl InputFormat {
    /// The format an input path's extension names.
    pub fn from_path(path: &Path) -> Option<Self> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "csv" => Self::Csv,
            "jsonl" | "ndjson" | "json" => Self::Jsonl,
            "parquet" | "pq" => Self::Parquet,
            "arrow" | "feather" | "arrows" | "ipc" => Self::Arrow,
            _ => return None,
        })
    }
}

/// A streaming batch source.
pub type BatchReader = Box<dyn RecordBatchReader + Send>;

/// Opens `input` (`-` for stdin) as a stream of batches.
pub fn open(input: &Path, format: Option<InputFormat>) -> Result<BatchReader> {
    let stdin = input == Path::new("-");
    let label: PathBuf = if stdin {
        PathBuf::from("<stdin>")
    } else {
        input.to_path_buf()
    };
    let format = format.or_else(|| InputFormat::from_path(input)).ok_or_else(|| {
        Error::new(
            ErrorKind::UnsupportedFormat,
            Step::Read,
            &label,
            "cannot tell the input format from the name; pass --input-format csv|jsonl|parquet|arrow",
        )
    })?;
    let read_error = |error: ArrowError| arrow_error(&label, error);
    let source: Box<dyn Read + Send> = if stdin {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(input).map_err(|error| Error::io(Step::Read, input, error))?)
    };
    match format {
        InputFormat::Csv | InputFormat::Jsonl => read_stream(source, format, &label),
        InputFormat::Parquet => {
            if stdin {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    Step::Read,
                    &label,
                    "Parquet cannot be read from stdin (its footer is at the end); pass a file",
                ));
            }
            let file = File::open(input).map_err(|error| Error::io(Step::Read, input, error))?;
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .and_then(|builder| builder.with_batch_size(BATCH_ROWS).build())
                    .map_err(|error| {
                        Error::new(
                            ErrorKind::InvalidInput,
                            Step::Read,
                            &label,
                            error.to_string(),
                        )
                    })?;
            Ok(Box::new(reader))
        }
        InputFormat::Arrow => {
            let mut reader = BufReader::with_capacity(1 << 20, source);
            let is_file_format = reader
                .fill_buf()
                .map_err(|error| Error::io(Step::Read, &label, error))?
                .starts_with(b"ARROW1");
            if is_file_format {
                if stdin {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        Step::Read,
                        &label,
                        "an Arrow IPC file cannot be read from stdin (it needs seeking); pass a file or an IPC stream",
                    ));
                }
                let mut file =
                    File::open(input).map_err(|error| Error::io(Step::Read, input, error))?;
                file.seek(SeekFrom::Start(0))
                    .map_err(|error| Error::io(Step::Read, input, error))?;
                Ok(Box::new(
                    arrow::ipc::reader::FileReader::try_new(file, None).map_err(read_error)?,
                ))
            } else {
                Ok(Box::new(
                    arrow::ipc::reader::StreamReader::try_new(reader, None).map_err(read_error)?,
                ))
            }
        }
    }
}

/// Reads CSV or JSON lines from any byte source (stdin, a pipe, bytes in memory) as a stream of
/// batches; `label` names the source in errors. Parquet and Arrow IPC files need a file: use
/// [`open`].
pub fn read_stream(
    source: Box<dyn Read + Send>,
    format: InputFormat,
    label: &Path,
) -> Result<BatchReader> {
    let read_error = |error: ArrowError| arrow_error(label, error);
    match format {
        InputFormat::Csv => {
            let (prefix, rest) = buffer_prefix(source, label)?;
            let arrow_format = arrow::csv::reader::Format::default().with_header(true);
            let (schema, _) = arrow_format
                .infer_schema(Cursor::new(&prefix), Some(INFER_ROWS))
                .map_err(read_error)?;
            let replay = BufReader::with_capacity(1 << 20, Cursor::new(prefix).chain(rest));
            let reader = arrow::csv::ReaderBuilder::new(schema.into())
                .with_format(arrow_format)
                .with_batch_size(BATCH_ROWS)
                .build_buffered(replay)
                .map_err(read_error)?;
            Ok(Box::new(reader))
        }
        InputFormat::Jsonl => {
            let (prefix, rest) = buffer_prefix(source, label)?;
            let (schema, _) =
                arrow::json::reader::infer_json_schema(Cursor::new(&prefix), Some(INFER_ROWS))
                    .map_err(read_error)?;
            let replay = BufReader::with_capacity(1 << 20, Cursor::new(prefix).chain(rest));
            let reader = arrow::json::ReaderBuilder::new(schema.into())
                .with_batch_size(BATCH_ROWS)
                .build(replay)
                .map_err(read_error)?;
            Ok(Box::new(reader))
        }
        InputFormat::Parquet | InputFormat::Arrow => Err(Error::new(
            ErrorKind::InvalidInput,
            Step::Read,
            label,
            "only CSV and JSON lines are read from a byte stream; open Parquet and Arrow files by path",
        )),
    }
}

/// Reads up to `INFER_BYTES` (ending on a line boundary when possible) for schema inference.
fn buffer_prefix(
    mut source: Box<dyn Read + Send>,
    label: &Path,
) -> Result<(Vec<u8>, Box<dyn Read + Send>)> {
    let mut prefix = Vec::new();
    (&mut source)
        .take(INFER_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(|error| Error::io(Step::Read, label, error))?;
    if prefix.len() == INFER_BYTES {
        // Infer only from whole lines; the cut line is replayed with the rest anyway.
        let whole = prefix
            .iter()
            .rposition(|&byte| byte == b'\n')
            .map_or(prefix.len(), |at| at + 1);
        let tail = prefix.split_off(whole);
        let replayed: Box<dyn Read + Send> = Box::new(Cursor::new(tail).chain(source));
        return Ok((prefix, replayed));
    }
    Ok((prefix, source))
}

/// An Arrow reading error on `label`.
pub(crate) fn arrow_error(label: &Path, error: ArrowError) -> Error {
    let kind = match &error {
        ArrowError::IoError(_, io_error) => ErrorKind::from_io(io_error),
        _ => ErrorKind::InvalidInput,
    };
    Error::new(kind, Step::Read, label, error.to_string())
}
