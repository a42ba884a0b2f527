//! Reading input data (CSV, JSON lines, Parquet, Arrow IPC) as a stream of record batches.
//!
//! Every reader streams: memory is bounded by the batch size, never by the input size. CSV and
//! JSON schemas are inferred from the first rows, which are buffered once and then replayed.
//!
//! Inputs are untrusted: every error (and every panic of the underlying arrow-rs and parquet
//! readers, which some corrupt files still provoke) becomes an [`Error`] naming the *input*,
//! so a write fails with exit 10 and the right path instead of crashing or blaming the output.

mod guard;
mod ipc;
mod parallel_text;
mod parquet;
mod text;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;

use crate::error::{Error, ErrorKind, Result, Step};

/// Rows per batch handed to encoders: large, so each sandbox crossing carries real work.
pub const BATCH_ROWS: usize = 64 * 1024;
/// Cells (rows × columns) per batch: wide inputs get fewer rows per batch, so a CSV with
/// thousands of columns costs memory near its size instead of `BATCH_ROWS` rows of every column.
const BATCH_CELLS: usize = 4 << 20;
/// Rows read to infer a CSV or JSON schema unless [`InferRows`] says otherwise.
pub const INFER_ROWS: usize = 1000;

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

/// How many rows of a CSV or JSON-lines input the schema is inferred from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InferRows {
    /// The first N rows (at most 4 MiB of them from a stream).
    First(usize),
    /// Every row: a file is read twice; a stream is inferred from its first 4 MiB.
    All,
}

impl Default for InferRows {
    fn default() -> Self {
        Self::First(INFER_ROWS)
    }
}

impl std::str::FromStr for InferRows {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        if text == "all" {
            return Ok(Self::All);
        }
        match text.parse::<usize>() {
            Ok(rows) if rows > 0 => Ok(Self::First(rows)),
            _ => Err(format!(
                "`{text}` is not a positive number of rows or `all`"
            )),
        }
    }
}

/// How to read an input.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// The format; `None` picks it by the input's extension.
    pub format: Option<InputFormat>,
    /// Rows a CSV or JSON-lines schema is inferred from.
    pub infer_rows: InferRows,
    /// Threads that parse a CSV or JSON-lines file (`None`: [`crate::default_threads`]); with
    /// 1, or for a file smaller than a few chunks, or a stream, the caller's thread parses it.
    /// The batches are the same for any count.
    pub threads: Option<usize>,
}

/// How errors of batches that did not come from [`open`] (a library caller's own reader) name
/// their source.
pub const CALLER_BATCHES: &str = "<input batches>";

/// A streaming batch source.
pub type BatchReader = Box<dyn RecordBatchReader + Send>;

/// Opens `input` (`-` for stdin) as a stream of batches, the format chosen by `format` or the
/// extension.
pub fn open(input: &Path, format: Option<InputFormat>) -> Result<BatchReader> {
    open_with(
        input,
        &ReadOptions {
            format,
            ..ReadOptions::default()
        },
    )
}

/// Opens `input` (`-` for stdin) as a stream of batches.
pub fn open_with(input: &Path, options: &ReadOptions) -> Result<BatchReader> {
    let stdin = input == Path::new("-");
    let label: PathBuf = if stdin {
        PathBuf::from("<stdin>")
    } else {
        input.to_path_buf()
    };
    let format = options
        .format
        .or_else(|| InputFormat::from_path(input))
        .ok_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedFormat,
                Step::Read,
                &label,
                "cannot tell the input format from the name; pass --input-format csv|jsonl|parquet|arrow",
            )
        })?;
    let needs_file = |what: &str| {
        Error::new(
            ErrorKind::InvalidInput,
            Step::Read,
            &label,
            format!("{what} cannot be read from stdin; pass a file"),
        )
    };
    let reader: BatchReader = match format {
        InputFormat::Csv | InputFormat::Jsonl if stdin => text::open_stream(
            Box::new(std::io::stdin()),
            format,
            options.infer_rows,
            &label,
        )?,
        InputFormat::Csv | InputFormat::Jsonl => {
            let parsers = options
                .threads
                .unwrap_or_else(crate::options::default_threads);
            text::open_path(input, format, options.infer_rows, parsers)?
        }
        InputFormat::Parquet if stdin => {
            return Err(needs_file("Parquet (its footer is at the end)"));
        }
        InputFormat::Parquet => parquet::open(input)?,
        InputFormat::Arrow => {
            let source: Box<dyn Read + Send> = if stdin {
                Box::new(std::io::stdin())
            } else {
                Box::new(open_file(input)?)
            };
            ipc::open(source, input, stdin, &label)?
        }
    };
    Ok(Box::new(Labelled::new(reader, label)))
}

/// Reads CSV, JSON lines or an Arrow IPC *stream* from any byte source (stdin, a pipe, bytes in
/// memory) as a stream of batches; `label` names the source in errors. Parquet and Arrow IPC
/// files need seeking: use [`open`].
pub fn read_stream(
    source: Box<dyn Read + Send>,
    format: InputFormat,
    label: &Path,
) -> Result<BatchReader> {
    let reader = match format {
        InputFormat::Csv | InputFormat::Jsonl => {
            text::open_stream(source, format, InferRows::default(), label)?
        }
        InputFormat::Arrow => ipc::open(source, label, true, label)?,
        InputFormat::Parquet => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Step::Read,
                label,
                "Parquet is not read from a byte stream (its footer is at the end); open the file by path",
            ));
        }
    };
    Ok(Box::new(Labelled::new(reader, label.to_path_buf())))
}

fn open_file(path: &Path) -> Result<File> {
    File::open(path).map_err(|error| Error::io(Step::Read, path, error))
}

/// Rows per batch for `columns` columns: `BATCH_ROWS`, fewer for wide inputs.
fn batch_rows(columns: usize) -> usize {
    (BATCH_CELLS / columns.max(1)).clamp(1024, BATCH_ROWS)
}

/// An input's batches with every error naming the input, and panics of the reader turned into
/// errors. Errors travel as `ArrowError::ExternalError` holding the atio [`Error`], which
/// [`arrow_error`] unwraps wherever the batches are consumed.
struct Labelled {
    inner: BatchReader,
    schema: SchemaRef,
    label: PathBuf,
    failed: bool,
}

impl Labelled {
    fn new(inner: BatchReader, label: PathBuf) -> Self {
        Self {
            schema: inner.schema(),
            inner,
            label,
            failed: false,
        }
    }
}

impl Iterator for Labelled {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = match guard::catch_panic(&self.label, || self.inner.next()) {
            Ok(item) => item?,
            Err(error) => Err(ArrowError::ExternalError(Box::new(error))),
        };
        Some(item.map_err(|error| {
            self.failed = true;
            ArrowError::ExternalError(Box::new(arrow_error(&self.label, error)))
        }))
    }
}

impl RecordBatchReader for Labelled {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// An Arrow reading error on `label`; an error that already names its input (from a reader
/// [`open`] made) is returned as it is.
pub fn arrow_error(label: &Path, error: ArrowError) -> Error {
    let error = match error {
        ArrowError::ExternalError(inner) => match inner.downcast::<Error>() {
            Ok(named) => return *named,
            Err(inner) => ArrowError::ExternalError(inner),
        },
        other => other,
    };
    let kind = match &error {
        // An OS error (EIO, EACCES, …) reading the input is I/O; an `io::Error` without an errno
        // comes from a decoder (a short read inside a message, a broken compressed buffer):
        // the input is at fault.
        ArrowError::IoError(_, io_error) if io_error.raw_os_error().is_some() => {
            ErrorKind::from_io(io_error)
        }
        _ => ErrorKind::InvalidInput,
    };
    Error::new(kind, Step::Read, label, error.to_string())
}
