//! `atio._atio`: the Python extension, a thin pyo3 layer over the `atio` library.
//!
//! Everything that commits, encodes, locks or writes manifests is the library's; this module
//! only converts: Python arguments into `atio` options (one function, [`write_options`]), Arrow
//! data from the PyCapsule stream interface (or NumPy bytes) into record batches, `atio::Error`
//! into the Python exception classes of `atio/_errors.py`, and reports into JSON that
//! `atio/__init__.py` turns into Python objects. The GIL is released while atio works; it is taken
//! back between batches to pull the next batch, report progress and run Python's signal handlers,
//! so Ctrl-C stops a write at the next batch with the target untouched.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, RecordBatchReader, make_array};
use arrow::buffer::Buffer;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::ffi_stream::RecordBatchStreamReader;
use arrow_pyarrow::FromPyArrow;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

/// Large input batches are cut into slices of at most this many rows (zero-copy), so progress
/// and Ctrl-C are seen within one slice's encoding time even when a table is one big chunk.
const SLICE_ROWS: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// Errors

/// An `atio::Error` as the matching `atio` exception (built by `atio._errors._from_native`).
fn to_py(error: &atio::Error) -> PyErr {
    // A lock wait Ctrl-C stopped: raise what the signal handler raised (KeyboardInterrupt).
    let raised = RAISED_WHILE_WAITING.with(|slot| slot.borrow_mut().take());
    if let Some(raised) = raised
        && error.kind() == atio::ErrorKind::Interrupted
    {
        return raised;
    }
    Python::attach(|py| {
        let kind = serde_json::to_value(error.kind())
            .ok()
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_else(|| "io".to_owned());
        let errno = os_errno(error);
        let made = py.import("atio._errors").and_then(|module| {
            module.getattr("_from_native")?.call1((
                kind,
                error.step().to_string(),
                error.path().to_string_lossy().into_owned(),
                error.to_string(),
                error.hint(),
                errno,
            ))
        });
        match made {
            Ok(exception) => PyErr::from_value(exception),
            Err(failure) => failure,
        }
    })
}

/// The OS error number behind an error, if its cause chain holds one.
fn os_errno(error: &atio::Error) -> Option<i32> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>()
            && let Some(code) = io.raw_os_error()
        {
            return Some(code);
        }
        source = cause.source();
    }
    None
}

/// An invalid argument, as `atio.InvalidInput` (a `ValueError`).
fn invalid(path: &Path, message: impl Into<String>) -> PyErr {
    to_py(&atio::Error::new(
        atio::ErrorKind::InvalidInput,
        atio::Step::Resolve,
        path,
        message,
    ))
}

// ---------------------------------------------------------------------------------------------
// Options: the one place Python keywords become atio options.

/// Seconds (int or float) as a `Duration`.
fn seconds(path: &Path, name: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        invalid(
            path,
            format!("{name} must be a number of seconds >= 0, not {value}"),
        )
    })
}

thread_local! {
    /// The exception a signal handler raised while this thread waited for a lock (`to_py`
    /// raises it instead of atio's `interrupted` error).
    static RAISED_WHILE_WAITING: std::cell::RefCell<Option<PyErr>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs Python's signal handlers while atio waits for a lock (the GIL released): Ctrl-C stops
/// the wait, and the call raises the handler's exception.
fn stop_on_signals() -> atio::StopWaiting {
    atio::StopWaiting::new(|| {
        Python::attach(|py| match py.check_signals() {
            Ok(()) => false,
            Err(raised) => {
                RAISED_WHILE_WAITING.with(|slot| *slot.borrow_mut() = Some(raised));
                true
            }
        })
    })
}

/// Every option, from the keyword dictionary `atio/__init__.py` builds (`_options`), into the
/// library's nested options: `DatasetOptions` ⊃ `WriteOptions` ⊃ `Options` (+ `StoreOptions`).
/// One match arm per keyword, so a new one (`threads`, `keep_versions`, …) is one arm here and
/// one keyword there. Unknown keys are an error, so a keyword added on one side only is caught.
fn dataset_options(path: &Path, options: &Bound<'_, PyDict>) -> PyResult<atio::DatasetOptions> {
    let mut dataset = atio::DatasetOptions::default();
    let write = &mut dataset.write;
    let commit = &mut write.commit;
    commit.stop_waiting = Some(stop_on_signals());
    for (key, value) in options.iter() {
        let key: String = key.extract()?;
        if value.is_none() {
            continue;
        }
        match key.as_str() {
            // How the commit is done (`atio::Options`).
            "durability" => {
                let durability: String = value.extract()?;
                commit.durability = match durability.as_str() {
                    "full" => atio::Durability::Full,
                    "none" => atio::Durability::None,
                    other => {
                        return Err(invalid(
                            path,
                            format!("durability must be \"full\" or \"none\", not {other:?}"),
                        ));
                    }
                }
            }
            "marker" => commit.marker = value.extract()?,
            "no_clobber" => commit.no_clobber = value.extract()?,
            "if_match" => commit.if_match = Some(value.extract()?),
            "if_changed" => commit.if_changed = value.extract()?,
            "follow_symlinks" => {
                commit.symlinks = if value.extract()? {
                    atio::Symlinks::Follow
                } else {
                    atio::Symlinks::Replace
                }
            }
            "lock" => {
                // True: the default timeout; a number: that many seconds; False: no lock.
                if let Ok(flag) = value.extract::<bool>() {
                    commit.lock = flag.then_some(atio::DEFAULT_LOCK_TIMEOUT);
                } else {
                    commit.lock = Some(seconds(path, "lock", value.extract()?)?);
                }
            }
            // Object stores (`atio::StoreOptions`).
            "endpoint" => commit.store.endpoint = Some(value.extract()?),
            "path_style" => commit.store.path_style = value.extract()?,
            "part_size" => commit.store.part_size = value.extract()?,
            "upload_concurrency" => commit.store.upload_concurrency = value.extract()?,
            "retry_timeout" => {
                commit.store.retry_timeout = seconds(path, "retry_timeout", value.extract()?)?;
            }
            // The encoder (`atio::WriteOptions`); `plugin` wins over `format`.
            "format" => {
                if !matches!(
                    write.encoder,
                    Some(atio::formats::EncoderChoice::PluginFile(_))
                ) {
                    write.encoder = Some(atio::formats::EncoderChoice::Format(value.extract()?));
                }
            }
            "plugin" => {
                write.encoder = Some(atio::formats::EncoderChoice::PluginFile(value.extract()?));
            }
            "encoder_options" => write.encoder_options = value.extract()?,
            "plugin_timeout" => {
                write.limits.timeout = seconds(path, "plugin_timeout", value.extract()?)?;
            }
            "plugin_memory" => write.limits.memory = value.extract()?,
            "threads" => {
                let threads: usize = value.extract()?;
                if threads == 0 {
                    return Err(invalid(path, "threads must be at least 1".to_owned()));
                }
                write.threads = Some(threads);
            }
            "keep_versions" => commit.keep_versions = Some(value.extract()?),
            // Directory and partitioned writes (`atio::DatasetOptions`).
            "partition_by" => dataset.partition_by = value.extract()?,
            "rows_per_file" => dataset.rows_per_file = value.extract()?,
            "max_open_files" => dataset.max_open_files = value.extract()?,
            other => return Err(invalid(path, format!("unknown option {other:?}"))),
        }
    }
    Ok(dataset)
}

/// The commit options alone, for calls that write no encoded data.
fn commit_options(path: &Path, options: &Bound<'_, PyDict>) -> PyResult<atio::Options> {
    Ok(dataset_options(path, options)?.write.commit)
}

// ---------------------------------------------------------------------------------------------
// Sources: Arrow streams and NumPy chunks, pulled with the GIL taken back for each batch.

/// Where batches come from.
enum Source {
    /// Anything with `__arrow_c_stream__` (pyarrow, polars, pandas, DuckDB, …).
    Stream(RecordBatchStreamReader),
    /// A NumPy array: a Python iterator of C-order `bytes` chunks of whole rows.
    Numpy {
        chunks: Py<PyAny>,
        data_type: DataType,
        width: usize,
        columns: usize,
    },
}

/// Shared between the batch reader (which runs inside atio, GIL released) and the caller.
struct Feedback {
    /// The Python exception that stopped the stream (KeyboardInterrupt, a failing source).
    raised: Mutex<Option<PyErr>>,
    /// Output bytes so far (single-file writes), for the progress callback.
    bytes: AtomicU64,
    progress: Option<Py<PyAny>>,
}

/// The record batch reader atio pulls from: slices large batches and, before each one, takes the
/// GIL to run signal handlers and report progress.
struct Reader {
    source: Source,
    schema: SchemaRef,
    pending: Option<(RecordBatch, usize)>,
    rows: u64,
    feedback: Arc<Feedback>,
}

impl Reader {
    fn stop(&self, error: PyErr) -> Option<Result<RecordBatch, ArrowError>> {
        let message = error.to_string();
        *self.feedback.raised.lock().expect("not poisoned") = Some(error);
        Some(Err(ArrowError::ExternalError(message.into())))
    }

    /// Between batches: Python's signal handlers (Ctrl-C), then the progress callback.
    fn checkpoint(&self, py: Python<'_>) -> PyResult<()> {
        py.check_signals()?;
        if let Some(progress) = &self.feedback.progress {
            progress.call1(py, (self.rows, self.feedback.bytes.load(Ordering::Relaxed)))?;
        }
        Ok(())
    }

    fn next_source_batch(&mut self, py: Python<'_>) -> PyResult<Option<RecordBatch>> {
        match &mut self.source {
            Source::Stream(stream) => match py.detach(|| {
                stream
                    .next()
                    .map(|batch| batch.and_then(|batch| unview(batch, &self.schema)))
            }) {
                None => Ok(None),
                Some(Ok(batch)) => Ok(Some(batch)),
                // A Python source (a generator behind a pyarrow reader) that Ctrl-C stopped
                // reaches us as a message through the C stream interface: raise it as what it was.
                Some(Err(error)) if error.to_string().contains("KeyboardInterrupt") => Err(
                    pyo3::exceptions::PyKeyboardInterrupt::new_err(error.to_string()),
                ),
                Some(Err(error)) => Err(PyValueError::new_err(format!(
                    "reading the input stream failed: {error}"
                ))),
            },
            Source::Numpy {
                chunks,
                data_type,
                width,
                columns,
            } => {
                let chunk = match chunks.bind(py).call_method0("__next__") {
                    Ok(chunk) => chunk,
                    Err(error) if error.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) => {
                        return Ok(None);
                    }
                    Err(error) => return Err(error),
                };
                let bytes = chunk.cast::<PyBytes>()?.as_bytes();
                numpy_batch(&self.schema, bytes, data_type, *width, *columns)
                    .map(Some)
                    .map_err(|error| PyValueError::new_err(error.to_string()))
            }
        }
    }
}

impl Iterator for Reader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((batch, offset)) = self.pending.take() {
            let length = SLICE_ROWS.min(batch.num_rows() - offset);
            let slice = batch.slice(offset, length);
            if offset + length < batch.num_rows() {
                self.pending = Some((batch, offset + length));
            }
            if let Err(error) = Python::attach(|py| self.checkpoint(py)) {
                return self.stop(error);
            }
            self.rows += slice.num_rows() as u64;
            return Some(Ok(slice));
        }
        let pulled = Python::attach(|py| -> PyResult<Option<RecordBatch>> {
            self.checkpoint(py)?;
            self.next_source_batch(py)
        });
        match pulled {
            Ok(None) => {
                // The last checkpoint before the encoder finishes and the commit starts.
                match Python::attach(|py| self.checkpoint(py)) {
                    Ok(()) => None,
                    Err(error) => self.stop(error),
                }
            }
            Ok(Some(batch)) if batch.num_rows() > SLICE_ROWS => {
                self.pending = Some((batch, 0));
                self.next()
            }
            Ok(Some(batch)) => {
                self.rows += batch.num_rows() as u64;
                Some(Ok(batch))
            }
            Err(error) => self.stop(error),
        }
    }
}

impl RecordBatchReader for Reader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// NumPy dtype string (`<i8`, `|b1`, …, little-endian: the caller converts) → Arrow type, width.
fn numpy_type(dtype: &str) -> Option<(DataType, usize)> {
    Some(match dtype {
        "|b1" => (DataType::Boolean, 1),
        "|i1" => (DataType::Int8, 1),
        "|u1" => (DataType::UInt8, 1),
        "<i2" => (DataType::Int16, 2),
        "<u2" => (DataType::UInt16, 2),
        "<f2" => (DataType::Float16, 2),
        "<i4" => (DataType::Int32, 4),
        "<u4" => (DataType::UInt32, 4),
        "<f4" => (DataType::Float32, 4),
        "<i8" => (DataType::Int64, 8),
        "<u8" => (DataType::UInt64, 8),
        "<f8" => (DataType::Float64, 8),
        _ => return None,
    })
}

/// One chunk of a C-order array (`rows × columns` values of `width` bytes) as a record batch
/// with one column per array column.
fn numpy_batch(
    schema: &SchemaRef,
    bytes: &[u8],
    data_type: &DataType,
    width: usize,
    columns: usize,
) -> Result<RecordBatch, ArrowError> {
    let row_bytes = width * columns;
    if !bytes.len().is_multiple_of(row_bytes) {
        return Err(ArrowError::InvalidArgumentError(format!(
            "a chunk of {} bytes is not whole rows of {row_bytes} bytes",
            bytes.len()
        )));
    }
    let rows = bytes.len() / row_bytes;
    let arrays = (0..columns)
        .map(|column| -> Result<ArrayRef, ArrowError> {
            let values = bytes
                .chunks_exact(row_bytes)
                .flat_map(|row| &row[column * width..(column + 1) * width]);
            if *data_type == DataType::Boolean {
                let values: Vec<bool> = values.map(|byte| *byte != 0).collect();
                return Ok(Arc::new(BooleanArray::from(values)));
            }
            let buffer = Buffer::from_vec(values.copied().collect::<Vec<u8>>());
            let data = arrow::array::ArrayData::builder(data_type.clone())
                .len(rows)
                .add_buffer(buffer)
                .build()?;
            Ok(make_array(data))
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), arrays)
}

/// The source behind `data`: a `(dtype, columns, chunk iterator)` tuple for NumPy, anything else
/// must have `__arrow_c_stream__` (the Python side has converted what it could).
fn open_source(
    data: &Bound<'_, PyAny>,
    numpy: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Source, SchemaRef)> {
    if let Some(numpy) = numpy {
        let (dtype, columns, chunks): (String, usize, Py<PyAny>) = numpy.extract()?;
        let (data_type, width) = numpy_type(&dtype).ok_or_else(|| {
            PyValueError::new_err(format!("NumPy dtype {dtype} is not supported"))
        })?;
        let fields: Vec<Field> = (0..columns)
            .map(|column| Field::new(column.to_string(), data_type.clone(), false))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let source = Source::Numpy {
            chunks,
            data_type,
            width,
            columns,
        };
        return Ok((source, schema));
    }
    let stream = RecordBatchStreamReader::from_pyarrow_bound(data)?;
    let schema = unviewed(&stream.schema());
    Ok((Source::Stream(stream), schema))
}

/// The schema with top-level `string_view`/`binary_view` columns (what polars exports for its
/// strings) as `large_utf8`/`large_binary`: same values, and the host serialises and the encoders
/// read the offset layout several times faster (1M 16-character strings: 1.7 s → 0.3 s to
/// Parquet). Nested view types are passed through as they are.
fn unviewed(schema: &SchemaRef) -> SchemaRef {
    if !schema
        .fields()
        .iter()
        .any(|field| matches!(field.data_type(), DataType::Utf8View | DataType::BinaryView))
    {
        return schema.clone();
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| {
            let data_type = match field.data_type() {
                DataType::Utf8View => DataType::LargeUtf8,
                DataType::BinaryView => DataType::LargeBinary,
                other => other.clone(),
            };
            field.as_ref().clone().with_data_type(data_type)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` in `schema` (from [`unviewed`]): view columns cast to their offset counterparts.
fn unview(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    if batch.schema().fields() == schema.fields() {
        return Ok(batch);
    }
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(column.clone())
            } else {
                arrow::compute::cast(column, field.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new_with_options(
        schema.clone(),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

/// The `atio::Error` of a failed write, or the Python exception that stopped its input.
fn write_error(error: &atio::Error, feedback: &Feedback) -> PyErr {
    match feedback.raised.lock().expect("not poisoned").take() {
        Some(raised) => raised,
        None => to_py(error),
    }
}

/// `atio.write` for Arrow streams and NumPy arrays: one file, or a directory (partitioned) when
/// `directory` is true. Returns the report as JSON.
#[pyfunction]
#[pyo3(signature = (data, path, options, directory=false, numpy=None, progress=None))]
fn write(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    path: PathBuf,
    options: &Bound<'_, PyDict>,
    directory: bool,
    numpy: Option<&Bound<'_, PyAny>>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let dataset = dataset_options(&path, options)?;
    let (source, schema) = open_source(data, numpy)?;
    let feedback = Arc::new(Feedback {
        raised: Mutex::new(None),
        bytes: AtomicU64::new(0),
        progress,
    });
    let reader = Reader {
        source,
        schema,
        pending: None,
        rows: 0,
        feedback: feedback.clone(),
    };
    if directory {
        let result = py.detach(|| atio::write_dataset(&path, reader, &dataset));
        let report = result.map_err(|error| write_error(&error, &feedback))?;
        return json(&report);
    }
    let bytes = &feedback.bytes;
    let result = py.detach(|| {
        atio::write_with_progress(&path, reader, &dataset.write, |progress| {
            bytes.store(progress.bytes, Ordering::Relaxed);
        })
    });
    let report = result.map_err(|error| write_error(&error, &feedback))?;
    json(&report)
}

fn json(value: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(value).map_err(|error| PyRuntimeError::new_err(error.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Bytes: open(), write_json, update

/// `atio.write_bytes` (and `write_json`): `data` committed to `path` (a local file, or an
/// object through `atio::Output`); the report as JSON.
#[pyfunction]
fn write_bytes(
    py: Python<'_>,
    data: &[u8],
    path: PathBuf,
    options: &Bound<'_, PyDict>,
) -> PyResult<String> {
    let commit = commit_options(&path, options)?;
    let report = py
        .detach(|| {
            let mut output = atio::Output::create(&path, &commit)?;
            let staging = output.staging();
            std::io::Write::write_all(&mut output, data)
                .map_err(|error| atio::Error::io(atio::Step::Write, staging, error))?;
            output.commit()
        })
        .map_err(|error| to_py(&error))?;
    json(&report)
}

/// Refuses an object-store URL where only local paths work (locks, read-modify-write, recovery).
fn local_only(path: &Path, why: &str) -> PyResult<()> {
    match atio::Location::parse(path).map_err(|error| to_py(&error))? {
        atio::Location::Local(_) => Ok(()),
        atio::Location::Object(_) => Err(invalid(
            path,
            format!("not supported on object storage: {why}"),
        )),
    }
}

/// A file being written by `atio.open`: an `atio::Output` (local staging file or object upload).
#[pyclass(module = "atio._atio")]
struct Output {
    /// Boxed: `atio::Output` is 64-byte aligned, more than a Python object's allocation is.
    output: Mutex<Option<Box<atio::Output>>>,
    staging: PathBuf,
}

#[pymethods]
impl Output {
    #[new]
    fn new(py: Python<'_>, path: PathBuf, options: &Bound<'_, PyDict>) -> PyResult<Self> {
        let commit = commit_options(&path, options)?;
        let output = py
            .detach(|| atio::Output::create(&path, &commit))
            .map_err(|error| to_py(&error))?;
        Ok(Self {
            staging: output.staging(),
            output: Mutex::new(Some(Box::new(output))),
        })
    }

    /// Appends `data`; returns its length.
    fn write(&self, py: Python<'_>, data: &[u8]) -> PyResult<usize> {
        let staging = &self.staging;
        py.detach(|| {
            let mut guard = self.output.lock().expect("not poisoned");
            let output = guard.as_mut().ok_or_else(closed)?;
            std::io::Write::write_all(output.as_mut(), data)
                .map_err(|error| atio::Error::io(atio::Step::Write, staging, error))
                .map_err(|error| to_py(&error))?;
            Ok(data.len())
        })
    }

    /// Bytes written so far.
    fn tell(&self) -> PyResult<u64> {
        let guard = self.output.lock().expect("not poisoned");
        Ok(guard.as_ref().ok_or_else(closed)?.bytes_written())
    }

    /// The staging path (local files) or the target (objects).
    #[getter]
    fn staging(&self) -> PathBuf {
        self.staging.clone()
    }

    /// Commits: fsync, rename, marker. Returns the report as JSON.
    fn commit(&self, py: Python<'_>) -> PyResult<String> {
        let output = self
            .output
            .lock()
            .expect("not poisoned")
            .take()
            .ok_or_else(closed)?;
        let report = py
            .detach(|| (*output).commit())
            .map_err(|error| to_py(&error))?;
        json(&report)
    }

    /// Discards the staging file (or aborts the upload); the target is untouched.
    fn abort(&self, py: Python<'_>) {
        if let Some(output) = self.output.lock().expect("not poisoned").take() {
            py.detach(|| drop(output));
        }
    }

    #[getter]
    fn closed(&self) -> bool {
        self.output.lock().expect("not poisoned").is_none()
    }
}

fn closed() -> PyErr {
    PyValueError::new_err("I/O operation on a committed or discarded atio file")
}

/// `atio.update`: locked read-modify-write. `change(old: bytes | None) -> bytes` runs with the
/// lock held; if it raises, nothing is written and its exception propagates.
#[pyfunction]
fn update(
    py: Python<'_>,
    path: PathBuf,
    change: Py<PyAny>,
    options: &Bound<'_, PyDict>,
) -> PyResult<String> {
    local_only(&path, "a read-modify-write holds a local lock file")?;
    let commit = commit_options(&path, options)?;
    let raised: Mutex<Option<PyErr>> = Mutex::new(None);
    let result = py.detach(|| {
        atio::update(&path, &commit, |old| -> Result<Vec<u8>, String> {
            Python::attach(|py| {
                let old = old.map(|bytes| PyBytes::new(py, bytes));
                change
                    .call1(py, (old,))
                    .and_then(|new| new.extract::<Vec<u8>>(py))
            })
            .map_err(|error| {
                let message = error.to_string();
                *raised.lock().expect("not poisoned") = Some(error);
                message
            })
        })
    });
    match result {
        Ok(report) => json(&report),
        Err(error) => Err(raised
            .lock()
            .expect("not poisoned")
            .take()
            .unwrap_or_else(|| to_py(&error))),
    }
}

// ---------------------------------------------------------------------------------------------
// Locks, checks, sweeps

/// A held target lock (`atio.lock`).
#[pyclass(module = "atio._atio")]
struct Lock {
    lock: Mutex<Option<atio::TargetLock>>,
    path: PathBuf,
}

#[pymethods]
impl Lock {
    /// Waits for `path`'s lock at most `timeout` seconds, in slices so that Ctrl-C is seen.
    #[new]
    fn new(py: Python<'_>, path: PathBuf, timeout: f64) -> PyResult<Self> {
        let timeout = seconds(&path, "timeout", timeout)?;
        let started = std::time::Instant::now();
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            let slice = left.min(Duration::from_millis(200));
            match py.detach(|| atio::lock_target(&path, slice)) {
                Ok(lock) => {
                    return Ok(Self {
                        path: lock.path().to_path_buf(),
                        lock: Mutex::new(Some(lock)),
                    });
                }
                Err(error)
                    if error.step() == atio::Step::Lock
                        && error.kind() == atio::ErrorKind::Conflict
                        && !left.is_zero() =>
                {
                    py.check_signals()?;
                }
                Err(error)
                    if error.step() == atio::Step::Lock
                        && error.kind() == atio::ErrorKind::Conflict =>
                {
                    // Say the whole wait, not the last slice.
                    let message =
                        error
                            .message()
                            .replacen(&format!("{slice:?}"), &format!("{timeout:?}"), 1);
                    return Err(to_py(&atio::Error::new(
                        error.kind(),
                        error.step(),
                        error.path(),
                        message,
                    )));
                }
                Err(error) => return Err(to_py(&error)),
            }
        }
    }

    /// Releases the lock (also on garbage collection).
    fn release(&self) {
        self.lock.lock().expect("not poisoned").take();
    }

    /// The lock file.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    #[getter]
    fn locked(&self) -> bool {
        self.lock.lock().expect("not poisoned").is_some()
    }
}

/// Whether `path` names a directory target: a local directory or an object prefix (`…/`).
fn is_directory(path: &Path) -> PyResult<bool> {
    Ok(
        match atio::Location::parse(path).map_err(|error| to_py(&error))? {
            atio::Location::Local(path) => path.is_dir(),
            atio::Location::Object(url) => url.is_prefix(),
        },
    )
}

/// `atio.verify`: a file against its marker, or a directory against its manifest (objects and
/// prefixes with the store options given). Returns what was verified as JSON; a mismatch
/// raises `atio.VerificationError`.
#[pyfunction]
fn verify(py: Python<'_>, path: PathBuf, options: &Bound<'_, PyDict>) -> PyResult<String> {
    let store = commit_options(&path, options)?.store;
    let directory = is_directory(&path)?;
    let location = atio::Location::parse(&path).map_err(|error| to_py(&error))?;
    let verified = py.detach(|| -> atio::Result<serde_json::Result<String>> {
        Ok(match (&location, directory) {
            (atio::Location::Object(url), true) => {
                serde_json::to_string(&atio::store::verify_prefix(url, &store)?)
            }
            (atio::Location::Object(url), false) => {
                serde_json::to_string(&atio::store::verify_object(url, &store)?)
            }
            (atio::Location::Local(_), true) => serde_json::to_string(&atio::verify_dir(&path)?),
            (atio::Location::Local(_), false) => serde_json::to_string(&atio::verify(&path)?),
        })
    });
    verified
        .map_err(|error| to_py(&error))?
        .map_err(|error| PyRuntimeError::new_err(error.to_string()))
}

/// `atio.versions`: the versions kept for a target (checked with `verify`), as JSON.
#[pyfunction]
fn versions(
    py: Python<'_>,
    path: PathBuf,
    options: &Bound<'_, PyDict>,
    verify: bool,
) -> PyResult<String> {
    let options = commit_options(&path, options)?;
    let listed = py.detach(|| {
        if verify {
            atio::versions::verify(&path, &options)
        } else {
            atio::versions::list(&path, &options)
        }
    });
    json(&listed.map_err(|error| to_py(&error))?)
}

/// `atio.rollback`: makes a stored version current again (the newest, `to`, or `tag`).
#[pyfunction]
#[pyo3(signature = (path, options, to=None, tag=None))]
fn rollback(
    py: Python<'_>,
    path: PathBuf,
    options: &Bound<'_, PyDict>,
    to: Option<u64>,
    tag: Option<String>,
) -> PyResult<String> {
    let options = commit_options(&path, options)?;
    let selector = match (to, tag) {
        (Some(_), Some(_)) => {
            return Err(invalid(&path, "give `to` or `tag`, not both".to_owned()));
        }
        (Some(number), None) => atio::versions::Selector::Number(number),
        (None, Some(tag)) => atio::versions::Selector::Tag(tag),
        (None, None) => atio::versions::Selector::Newest,
    };
    let rolled = py.detach(|| atio::versions::rollback(&path, &selector, &options));
    json(&rolled.map_err(|error| to_py(&error))?)
}

/// `atio.tag`: names a stored version (the newest unless `version` is given).
#[pyfunction]
#[pyo3(signature = (path, name, options, version=None, force=false))]
fn tag(
    py: Python<'_>,
    path: PathBuf,
    name: String,
    options: &Bound<'_, PyDict>,
    version: Option<u64>,
    force: bool,
) -> PyResult<String> {
    let options = commit_options(&path, options)?;
    let tagged = py.detach(|| atio::versions::tag(&path, &name, version, force, &options));
    json(&tagged.map_err(|error| to_py(&error))?)
}

/// `atio.prune`: keeps the newest `keep` untagged versions; returns the numbers removed.
#[pyfunction]
fn prune(
    py: Python<'_>,
    path: PathBuf,
    keep: u32,
    options: &Bound<'_, PyDict>,
) -> PyResult<Vec<u64>> {
    let options = commit_options(&path, options)?;
    let pruned = py.detach(|| atio::versions::prune(&path, keep, &options));
    pruned.map_err(|error| to_py(&error))
}

/// `atio.clean`: removes staging files (local) or orphaned run parts (object prefixes).
#[pyfunction]
fn clean(
    py: Python<'_>,
    path: PathBuf,
    older_than: f64,
    dry_run: bool,
    recursive: bool,
    options: &Bound<'_, PyDict>,
) -> PyResult<String> {
    let clean_options = atio::CleanOptions {
        older_than: seconds(&path, "older_than", older_than)?,
        dry_run,
        recursive,
    };
    let store = commit_options(&path, options)?.store;
    let report = py
        .detach(|| match atio::Location::parse(&path)? {
            atio::Location::Object(url) => atio::store::clean_prefix(&url, &clean_options, &store),
            atio::Location::Local(dir) => atio::clean(&dir, &clean_options),
        })
        .map_err(|error| to_py(&error))?;
    json(&report)
}

/// `atio.recover`: completes or rolls back an interrupted directory swap.
#[pyfunction]
fn recover(py: Python<'_>, path: PathBuf, options: &Bound<'_, PyDict>) -> PyResult<String> {
    local_only(
        &path,
        "an object prefix is committed by its manifest alone: nothing to recover",
    )?;
    let commit = commit_options(&path, options)?;
    let report = py
        .detach(|| atio::recover_report(&path, &commit))
        .map_err(|error| to_py(&error))?;
    json(&report)
}

/// The built-in format names.
#[pyfunction]
fn formats() -> Vec<&'static str> {
    atio::formats::builtin_names()
}

#[pymodule]
fn _atio(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(write, module)?)?;
    module.add_function(wrap_pyfunction!(write_bytes, module)?)?;
    module.add_function(wrap_pyfunction!(update, module)?)?;
    module.add_function(wrap_pyfunction!(verify, module)?)?;
    module.add_function(wrap_pyfunction!(clean, module)?)?;
    module.add_function(wrap_pyfunction!(recover, module)?)?;
    module.add_function(wrap_pyfunction!(versions, module)?)?;
    module.add_function(wrap_pyfunction!(rollback, module)?)?;
    module.add_function(wrap_pyfunction!(tag, module)?)?;
    module.add_function(wrap_pyfunction!(prune, module)?)?;
    module.add_function(wrap_pyfunction!(formats, module)?)?;
    module.add_class::<Output>()?;
    module.add_class::<Lock>()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
