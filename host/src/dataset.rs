//! Directory and hive-partitioned writes: `atio write INPUT DIR/ [--partition-by col,...]`.
//!
//! Each top-level partition (`DIR/dt=2025-01-15/`) — or `DIR` itself without `partition_by` —
//! is one [`StagedDir`] committed as a unit: a re-run replaces exactly that partition's files,
//! leaves no orphan parts, and never shows readers a mix. Several partitions written by one run
//! are each atomic, not atomic together. Rows are routed while streaming; at most
//! `max_open_files` encoder sessions are open at once (the least recently used part is finished
//! when another is needed), and a part is finished every `rows_per_file` rows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, RecordBatchReader, UInt32Array};
use arrow::datatypes::{DataType, SchemaRef};
use serde::Serialize;

use crate::commit::dir::{DirFile, DirReport, StagedDir};
use crate::error::{Error, ErrorKind, Result, Step};
use crate::formats::{self, EncoderChoice};
use crate::input;
use crate::plugin::{BackgroundSession, Gate, Plugin};
use crate::store::{Location, ObjectDir, ObjectFile};
use crate::write::WriteOptions;

/// Hive's marker for a null (or empty) partition value.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Options for [`write_dataset`].
#[derive(Clone, Debug)]
pub struct DatasetOptions {
    /// Encoder, encoder options, limits and commit options (durability, lock, `if_changed`…).
    /// Without an encoder choice, Parquet is used.
    pub write: WriteOptions,
    /// Columns to partition by, outermost first; they are not repeated inside the data files.
    pub partition_by: Vec<String>,
    /// Start a new part file after this many rows.
    pub rows_per_file: u64,
    /// Most encoder sessions (open part files) at once.
    pub max_open_files: usize,
}

impl Default for DatasetOptions {
    fn default() -> Self {
        Self {
            write: WriteOptions::default(),
            partition_by: Vec::new(),
            rows_per_file: 1_000_000,
            max_open_files: 32,
        }
    }
}

/// What a dataset write committed.
#[derive(Clone, Debug, Serialize)]
pub struct DatasetReport {
    /// The dataset root.
    pub root: PathBuf,
    /// One report per directory committed (one per top-level partition).
    pub partitions: Vec<DirReport>,
    /// Rows written.
    pub rows: u64,
}

/// Escapes a partition value the way Hive does (`/`, `=`, `:`, `%`… become `%XX`); null and
/// empty become [`NULL_PARTITION`].
pub fn escape_partition_value(value: Option<&str>) -> String {
    let Some(value) = value.filter(|value| !value.is_empty()) else {
        return NULL_PARTITION.to_owned();
    };
    let mut escaped = String::with_capacity(value.len());
    for character in value.chars() {
        let special = matches!(
            character,
            '"' | '#' | '%' | '\'' | '*' | '/' | ':' | '=' | '?' | '\\' | '{' | '[' | ']' | '^'
        ) || (character as u32) < 0x20
            || character == '\x7f';
        if special {
            escaped.push_str(&format!("%{:02X}", character as u32));
        } else {
            escaped.push(character);
        }
    }
    escaped
}

/// Writes `source` into the directory `root`, partitioned by `options.partition_by`. `root` may
/// be an object-store prefix (`s3://bucket/table/`): each partition is then committed by its
/// `_SUCCESS` manifest (see [`ObjectDir`]).
pub fn write_dataset(
    root: impl AsRef<Path>,
    source: impl RecordBatchReader,
    options: &DatasetOptions,
) -> Result<DatasetReport> {
    let root = root.as_ref();
    let choice = options
        .write
        .encoder
        .clone()
        .unwrap_or_else(|| EncoderChoice::Format("parquet".into()));
    let plugin = formats::resolve(Some(&choice), root, &options.write.limits)?;
    let extension = plugin
        .info
        .extensions
        .first()
        .cloned()
        .unwrap_or_else(|| plugin.info.name.clone());
    let schema = source.schema();
    let partition_columns = options
        .partition_by
        .iter()
        .map(|column| {
            schema.index_of(column).map_err(|_| {
                Error::new(
                    ErrorKind::InvalidInput,
                    Step::Read,
                    root,
                    format!(
                        "no column `{column}` to partition by (the input has {})",
                        column_names(&schema)
                    ),
                )
            })
        })
        .collect::<Result<Vec<usize>>>()?;
    let data_columns: Vec<usize> = (0..schema.fields().len())
        .filter(|index| !partition_columns.contains(index))
        .collect();
    if data_columns.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Step::Read,
            root,
            "every column is a partition column: no data is left to write",
        ));
    }
    let data_schema: SchemaRef = Arc::new(
        schema
            .project(&data_columns)
            .map_err(|error| input::arrow_error(root, error))?,
    );
    let mut writer = Writer {
        root: root.to_path_buf(),
        base: Location::parse(root)?,
        options,
        plugin,
        extension,
        data_schema,
        units: HashMap::new(),
        open: Vec::new(),
        parts: HashMap::new(),
        clock: 0,
        rows: 0,
        gate: Gate::new(
            options
                .write
                .threads
                .unwrap_or_else(crate::options::default_threads),
        ),
    };
    for batch in source {
        let batch =
            batch.map_err(|error| input::arrow_error(Path::new(input::CALLER_BATCHES), error))?;
        let data = batch
            .project(&data_columns)
            .map_err(|error| input::arrow_error(root, error))?;
        if partition_columns.is_empty() {
            writer.route(Vec::new(), data)?;
            continue;
        }
        for (key, indices) in group_rows(&batch, &partition_columns, &schema, root)? {
            let rows = arrow::compute::take_record_batch(&data, &UInt32Array::from(indices))
                .map_err(|error| input::arrow_error(root, error))?;
            writer.route(key, rows)?;
        }
    }
    writer.finish()
}

fn column_names(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|field| field.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Row indices per partition key (`col=value` path segments), in first-seen order.
fn group_rows(
    batch: &RecordBatch,
    columns: &[usize],
    schema: &SchemaRef,
    root: &Path,
) -> Result<Vec<(Vec<String>, Vec<u32>)>> {
    let as_text = columns
        .iter()
        .map(|&index| {
            arrow::compute::cast(batch.column(index), &DataType::Utf8)
                .map_err(|error| input::arrow_error(root, error))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut groups: Vec<(Vec<String>, Vec<u32>)> = Vec::new();
    let mut slots: HashMap<Vec<String>, usize> = HashMap::new();
    for row in 0..batch.num_rows() {
        let key: Vec<String> = columns
            .iter()
            .zip(&as_text)
            .map(|(&index, text)| {
                let text = text.as_string::<i32>();
                let value = (!text.is_null(row)).then(|| text.value(row));
                format!(
                    "{}={}",
                    escape_partition_value(Some(schema.field(index).name())),
                    escape_partition_value(value)
                )
            })
            .collect();
        let slot = *slots.entry(key.clone()).or_insert_with(|| {
            groups.push((key, Vec::new()));
            groups.len() - 1
        });
        groups[slot].1.push(row as u32);
    }
    Ok(groups)
}

/// A directory committed as one unit: a staged local directory, or an object-store prefix.
#[allow(
    clippy::large_enum_variant,
    reason = "one per partition of a run; never moved in bulk"
)]
enum Unit {
    Local(StagedDir),
    Object(ObjectDir),
}

impl Unit {
    /// Starts the unit `segment` (`""` for the root itself) under `base`.
    fn create(base: &Location, segment: &str, options: &crate::Options) -> Result<Self> {
        Ok(match base {
            Location::Local(root) if segment.is_empty() => {
                Self::Local(StagedDir::create(root, options)?)
            }
            Location::Local(root) => Self::Local(StagedDir::create(root.join(segment), options)?),
            Location::Object(url) if segment.is_empty() => {
                Self::Object(ObjectDir::create(url.clone(), options)?)
            }
            Location::Object(url) => Self::Object(ObjectDir::create(url.join(segment), options)?),
        })
    }

    fn set_details(&mut self, plugin: &Plugin, schema: String) {
        let (format, encoder) = (Some(plugin.info.name.clone()), Some(plugin.encoder_info()));
        match self {
            Self::Local(staged) => staged.set_details(format, encoder, Some(schema)),
            Self::Object(prefix) => prefix.set_details(format, encoder, Some(schema)),
        }
    }

    /// Part file names: object-store parts carry the run id, since runs share the prefix.
    fn part_name(&self, number: u32, extension: &str) -> String {
        match self {
            Self::Local(_) => format!("part-{number:05}.{extension}"),
            Self::Object(prefix) => prefix.part_name(number, extension),
        }
    }

    /// Creates the part at `relative` and starts an encoder session writing into it, on its
    /// own thread.
    fn open_part(
        &mut self,
        relative: &str,
        plugin: &Arc<Plugin>,
        schema: &SchemaRef,
        options: &WriteOptions,
        gate: &Arc<Gate>,
    ) -> Result<PartSession> {
        let (encoder_options, limits) = (&options.encoder_options, &options.limits);
        Ok(match self {
            Self::Local(staged) => {
                let label = staged.target_path().join(relative);
                let file = staged.create_file(relative)?;
                let session = plugin.open(schema, encoder_options, file, limits, &label)?;
                PartSession::Local(BackgroundSession::spawn(session, gate.clone())?)
            }
            Self::Object(prefix) => {
                let object = prefix.create_file(relative)?;
                let label = object.url().as_path();
                let session = plugin.open(schema, encoder_options, object, limits, &label)?;
                PartSession::Object(BackgroundSession::spawn(session, gate.clone())?)
            }
        })
    }

    /// Finishes an encoder session and adds its part to the unit.
    fn close_part(&mut self, session: PartSession) -> Result<()> {
        match (self, session) {
            (Self::Local(staged), PartSession::Local(session)) => {
                let finished = session.finish()?;
                staged.add(finished.destination, Some(finished.rows))
            }
            (Self::Object(prefix), PartSession::Object(session)) => {
                let finished = session.finish()?;
                prefix.add(finished.destination, Some(finished.rows))
            }
            _ => unreachable!("a unit opens parts of its own kind"),
        }
    }

    fn commit(self) -> Result<DirReport> {
        match self {
            Self::Local(staged) => staged.commit(),
            Self::Object(prefix) => prefix.commit(),
        }
    }
}

/// A part file's encoder session, encoding on its own thread.
enum PartSession {
    Local(BackgroundSession<DirFile>),
    Object(BackgroundSession<ObjectFile>),
}

impl PartSession {
    fn write_batch(&mut self, batch: RecordBatch) -> Result<()> {
        match self {
            Self::Local(session) => session.write_batch(batch),
            Self::Object(session) => session.write_batch(batch),
        }
    }
}

/// An open part file: its encoder session and where it lives.
struct OpenPart {
    unit: String,
    leaf: String,
    session: PartSession,
    rows: u64,
    last_used: u64,
}

struct Writer<'a> {
    root: PathBuf,
    base: Location,
    options: &'a DatasetOptions,
    plugin: Arc<Plugin>,
    extension: String,
    data_schema: SchemaRef,
    /// Units by top-level partition segment (`""` for the root itself).
    units: HashMap<String, Unit>,
    open: Vec<OpenPart>,
    /// Next part number per (unit, leaf directory).
    parts: HashMap<(String, String), u32>,
    clock: u64,
    rows: u64,
    /// How many part files may encode at the same moment (`threads`).
    gate: Arc<Gate>,
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        // Stop the session threads (aborting their sessions) before the staged units they
        // write into are removed.
        self.open.clear();
    }
}

impl Writer<'_> {
    /// Sends rows to the part file of their partition, rotating parts every `rows_per_file`.
    fn route(&mut self, key: Vec<String>, mut rows: RecordBatch) -> Result<()> {
        let (unit, leaf) = match key.split_first() {
            Some((first, rest)) => (first.clone(), rest.join("/")),
            None => (String::new(), String::new()),
        };
        self.rows += rows.num_rows() as u64;
        while rows.num_rows() > 0 {
            let slot = self.part_for(&unit, &leaf)?;
            let room = (self.options.rows_per_file - self.open[slot].rows)
                .min(rows.num_rows() as u64) as usize;
            let chunk = rows.slice(0, room);
            rows = rows.slice(room, rows.num_rows() - room);
            self.clock += 1;
            let part = &mut self.open[slot];
            part.session.write_batch(chunk)?;
            part.rows += room as u64;
            part.last_used = self.clock;
            if part.rows >= self.options.rows_per_file {
                self.close(slot)?;
            }
        }
        Ok(())
    }

    /// The open part for (unit, leaf), opening one (and closing the least recently used) if needed.
    fn part_for(&mut self, unit: &str, leaf: &str) -> Result<usize> {
        if let Some(slot) = self
            .open
            .iter()
            .position(|part| part.unit == unit && part.leaf == leaf)
        {
            return Ok(slot);
        }
        if self.open.len() >= self.options.max_open_files.max(1) {
            let oldest = (0..self.open.len())
                .min_by_key(|&slot| self.open[slot].last_used)
                .expect("some part is open");
            self.close(oldest)?;
        }
        if !self.units.contains_key(unit) {
            let mut created = Unit::create(&self.base, unit, &self.options.write.commit)?;
            let schema = self
                .data_schema
                .fields()
                .iter()
                .map(|field| format!("{}: {}", field.name(), field.data_type()))
                .collect::<Vec<_>>()
                .join(", ");
            created.set_details(&self.plugin, schema);
            self.units.insert(unit.to_owned(), created);
        }
        let staged = self.units.get_mut(unit).expect("created above");
        let number = self
            .parts
            .entry((unit.to_owned(), leaf.to_owned()))
            .or_insert(0);
        let name = staged.part_name(*number, &self.extension);
        *number += 1;
        let relative = if leaf.is_empty() {
            name
        } else {
            format!("{leaf}/{name}")
        };
        let session = staged.open_part(
            &relative,
            &self.plugin,
            &self.data_schema,
            &self.options.write,
            &self.gate,
        )?;
        self.open.push(OpenPart {
            unit: unit.to_owned(),
            leaf: leaf.to_owned(),
            session,
            rows: 0,
            last_used: self.clock,
        });
        Ok(self.open.len() - 1)
    }

    fn close(&mut self, slot: usize) -> Result<()> {
        let part = self.open.swap_remove(slot);
        self.units
            .get_mut(&part.unit)
            .expect("a part's unit is staged")
            .close_part(part.session)
    }

    fn finish(mut self) -> Result<DatasetReport> {
        while !self.open.is_empty() {
            self.close(self.open.len() - 1)?;
        }
        if self.units.is_empty() {
            // No rows at all: still replace the target (partition) with an empty, manifested one.
            if self.options.partition_by.is_empty() {
                self.units.insert(
                    String::new(),
                    Unit::create(&self.base, "", &self.options.write.commit)?,
                );
            }
        }
        let mut units: Vec<(String, Unit)> = std::mem::take(&mut self.units).into_iter().collect();
        units.sort_by(|a, b| a.0.cmp(&b.0));
        let partitions = units
            .into_iter()
            .map(|(_, staged)| staged.commit())
            .collect::<Result<Vec<_>>>()?;
        Ok(DatasetReport {
            root: std::mem::take(&mut self.root),
            partitions,
            rows: self.rows,
        })
    }
}
