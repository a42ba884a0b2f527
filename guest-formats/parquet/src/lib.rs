//! atio encoder for [Apache Parquet](https://parquet.apache.org/), built on the `parquet`
//! crate's `ArrowWriter`.
//!
//! Streaming: each batch is encoded into the current row group as it arrives. A row group is
//! written out (and its memory released) when it reaches `row-group-rows` rows or
//! `row-group-bytes`, so memory stays bounded by roughly one row group plus the footer
//! metadata, whatever the input size.
//!
//! In parts (`parts.rs`, what atio uses): a part is a row group, cut by the host after the
//! batch that brings it to `row-group-bytes` of Arrow data, and split into runs of columns
//! encoded on several instances at once. The same bytes for any number of instances.
//!
//! Options: see [`ParquetEncoder::info`] or `atio plugins inspect parquet`.
//!
//! Zstandard is compiled in only with the crate feature `zstd` (it is C code); without it,
//! `compression=zstd` fails with `unsupported`.

mod parts;
mod types;

use std::sync::Arc;

use atio_encoder_sdk::{
    EncodeError, Encoder, FormatInfo, OptionSpec, Options, RecordBatch, SchemaRef, SinkWriter,
    Summary, export_encoder,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression, GzipLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use types::Conversion;

const CODECS: &[&str] = &[
    "uncompressed",
    "snappy",
    "lz4_raw",
    "gzip",
    "brotli",
    "zstd",
];
const DEFAULT_ROW_GROUP_ROWS: u64 = 1 << 20;
const DEFAULT_ROW_GROUP_BYTES: u64 = 128 << 20;
const DEFAULT_DATA_PAGE_SIZE: u64 = 1 << 20;

/// The Parquet encoder: an `ArrowWriter` over the session's [`SinkWriter`].
pub struct ParquetEncoder {
    writer: ArrowWriter<SinkWriter>,
    conversion: Conversion,
    compression: String,
}

impl std::fmt::Debug for ParquetEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetEncoder")
            .field("compression", &self.compression)
            .field("in_progress_rows", &self.writer.in_progress_rows())
            .finish_non_exhaustive()
    }
}

/// Maps a parquet error: host refusals become `sink-rejected`, what the writer does not
/// implement `unsupported`, the rest `kind(context: text)`.
fn parquet_error(e: &ParquetError, context: &str, kind: fn(String) -> EncodeError) -> EncodeError {
    let kind = match e {
        ParquetError::NYI(_) => EncodeError::Unsupported,
        _ => kind,
    };
    EncodeError::from_error_or(e, |text| kind(format!("{context}: {text}")))
}

fn level_error(codec: &str, level: i64, e: impl std::fmt::Display) -> EncodeError {
    EncodeError::invalid_options(format!(
        "option `compression-level`: {level} is not a valid {codec} level ({e})"
    ))
}

/// Parses `compression` and `compression-level` into a codec and a label for the summary.
fn compression(options: &mut Options) -> Result<(Compression, String), EncodeError> {
    let codec = options.take_enum("compression", CODECS, "snappy")?;
    let level = options.take_opt_i64("compression-level")?;
    let label = match level {
        Some(l) => format!("{codec}({l})"),
        None => codec.to_owned(),
    };
    let unsigned = |level: i64| {
        u32::try_from(level).map_err(|_| level_error(codec, level, "must not be negative"))
    };
    let compression = match (codec, level) {
        ("uncompressed" | "snappy" | "lz4_raw", Some(_)) => {
            return Err(EncodeError::invalid_options(format!(
                "option `compression-level`: codec {codec} has no levels \
                 (levels apply to gzip, brotli and zstd)"
            )));
        }
        ("uncompressed", None) => Compression::UNCOMPRESSED,
        ("snappy", None) => Compression::SNAPPY,
        ("lz4_raw", None) => Compression::LZ4_RAW,
        ("gzip", None) => Compression::GZIP(GzipLevel::default()),
        ("gzip", Some(l)) => Compression::GZIP(
            GzipLevel::try_new(unsigned(l)?).map_err(|e| level_error(codec, l, e))?,
        ),
        ("brotli", None) => Compression::BROTLI(BrotliLevel::default()),
        ("brotli", Some(l)) => Compression::BROTLI(
            BrotliLevel::try_new(unsigned(l)?).map_err(|e| level_error(codec, l, e))?,
        ),
        ("zstd", level) => zstd(level)?,
        _ => unreachable!("take_enum returns one of CODECS"),
    };
    Ok((compression, label))
}

#[cfg(feature = "zstd")]
fn zstd(level: Option<i64>) -> Result<Compression, EncodeError> {
    use parquet::basic::ZstdLevel;
    Ok(Compression::ZSTD(match level {
        None => ZstdLevel::default(),
        Some(l) => {
            let l32 = i32::try_from(l).map_err(|e| level_error("zstd", l, e))?;
            ZstdLevel::try_new(l32).map_err(|e| level_error("zstd", l, e))?
        }
    }))
}

#[cfg(not(feature = "zstd"))]
fn zstd(_level: Option<i64>) -> Result<Compression, EncodeError> {
    Err(EncodeError::unsupported(
        "compression zstd is not compiled into this build of the parquet encoder \
         (it needs the `zstd` cargo feature); use snappy, lz4_raw, gzip or brotli",
    ))
}

/// The options, parsed: shared by sessions and part encoders.
struct Settings {
    compression: Compression,
    label: String,
    rows: usize,
    bytes: usize,
    dictionary: bool,
    statistics: EnabledStatistics,
    page_size: usize,
    version: WriterVersion,
    kv: Vec<KeyValue>,
}

impl Settings {
    fn parse(options: &mut Options) -> Result<Self, EncodeError> {
        let (compression, label) = compression(options)?;
        let rows = positive(options, "row-group-rows", DEFAULT_ROW_GROUP_ROWS, false)?;
        let bytes = positive(options, "row-group-bytes", DEFAULT_ROW_GROUP_BYTES, true)?;
        let dictionary = options.take_bool("dictionary", true)?;
        let statistics =
            match options.take_enum("statistics", &["none", "chunk", "page"], "page")? {
                "none" => EnabledStatistics::None,
                "chunk" => EnabledStatistics::Chunk,
                _ => EnabledStatistics::Page,
            };
        let page_size = positive(options, "data-page-size", DEFAULT_DATA_PAGE_SIZE, true)?;
        let version = match options.take_enum("writer-version", &["1.0", "2.0"], "1.0")? {
            "2.0" => WriterVersion::PARQUET_2_0,
            _ => WriterVersion::PARQUET_1_0,
        };
        let kv = options
            .take_prefixed("kv.")?
            .into_iter()
            .map(|(k, v)| KeyValue::new(k, v))
            .collect();
        Ok(Self {
            compression,
            label,
            rows,
            bytes,
            dictionary,
            statistics,
            page_size,
            version,
            kv,
        })
    }

    /// Writer properties; `row_group_limits: false` for a part, which the host cuts.
    fn properties(&self, row_group_limits: bool) -> WriterProperties {
        WriterProperties::builder()
            .set_compression(self.compression)
            .set_max_row_group_row_count(row_group_limits.then_some(self.rows))
            .set_max_row_group_bytes(row_group_limits.then_some(self.bytes))
            .set_dictionary_enabled(self.dictionary)
            .set_statistics_enabled(self.statistics)
            .set_data_page_size_limit(self.page_size)
            .set_writer_version(self.version)
            .set_key_value_metadata((!self.kv.is_empty()).then(|| self.kv.clone()))
            .build()
    }
}

fn unwritable_schema(e: ParquetError) -> EncodeError {
    parquet_error(
        &e,
        "this schema cannot be written as Parquet",
        EncodeError::Unsupported,
    )
}

/// A count or size option that must be positive and fit in `usize`.
fn positive(
    options: &mut Options,
    name: &str,
    default: u64,
    is_size: bool,
) -> Result<usize, EncodeError> {
    let v = if is_size {
        options.take_size(name, default)?
    } else {
        options.take_u64(name, default)?
    };
    if v == 0 {
        return Err(EncodeError::invalid_options(format!(
            "option `{name}`: must be greater than 0"
        )));
    }
    usize::try_from(v)
        .map_err(|_| EncodeError::invalid_options(format!("option `{name}`: {v} is too large")))
}

impl Encoder for ParquetEncoder {
    fn info() -> FormatInfo {
        FormatInfo::new(
            "parquet",
            env!("CARGO_PKG_VERSION"),
            "application/vnd.apache.parquet",
        )
        .extension("parquet")
        .extension("pq")
        .option(
            OptionSpec::new(
                "compression",
                "page compression codec: uncompressed, snappy, lz4_raw, gzip, brotli or zstd \
                 (zstd only in builds with the `zstd` feature)",
            )
            .default_value("snappy"),
        )
        .option(OptionSpec::new(
            "compression-level",
            "codec level: gzip 0-10 (default 6), brotli 0-11 (default 1), zstd 1-22 \
                 (default 1); not allowed for the other codecs",
        ))
        .option(
            OptionSpec::new("row-group-rows", "maximum rows per row group")
                .default_value(DEFAULT_ROW_GROUP_ROWS.to_string()),
        )
        .option(
            OptionSpec::new(
                "row-group-bytes",
                "end a row group after the batch that brings its Arrow data to this many bytes \
                 (accepts units: 64MiB; a host without parallel encoding uses the writer's \
                 estimate of its encoded size); bounds the encoder's memory",
            )
            .default_value("128MiB"),
        )
        .option(
            OptionSpec::new("dictionary", "dictionary-encode columns: true or false")
                .default_value("true"),
        )
        .option(
            OptionSpec::new(
                "statistics",
                "min/max/null-count statistics: none, chunk (per column chunk) or page",
            )
            .default_value("page"),
        )
        .option(
            OptionSpec::new(
                "data-page-size",
                "target size of a data page in bytes (accepts units: 1MiB)",
            )
            .default_value("1MiB"),
        )
        .option(
            OptionSpec::new(
                "writer-version",
                "Parquet format version of data pages: 1.0 or 2.0",
            )
            .default_value("1.0"),
        )
        .option(OptionSpec::new(
            "kv.<key>",
            "adds <key>=<value> to the file's key-value metadata; repeatable",
        ))
    }

    fn open(
        schema: SchemaRef,
        options: &mut Options,
        out: SinkWriter,
    ) -> Result<Self, EncodeError> {
        let settings = Settings::parse(options)?;
        let conversion = Conversion::new(&schema)?;
        let writer = ArrowWriter::try_new(
            out,
            Arc::clone(&conversion.schema),
            Some(settings.properties(true)),
        )
        .map_err(unwritable_schema)?;
        Ok(Self {
            writer,
            conversion,
            compression: settings.label,
        })
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> Result<(), EncodeError> {
        let batch = self.conversion.apply(batch)?;
        self.writer
            .write(&batch)
            .map_err(|e| parquet_error(&e, "parquet", EncodeError::Internal))
    }

    fn finish(mut self) -> Result<Summary, EncodeError> {
        let metadata = self
            .writer
            .finish()
            .map_err(|e| parquet_error(&e, "parquet", EncodeError::Internal))?;
        Ok(Summary::new()
            .with("row-groups", metadata.num_row_groups())
            .with("compression", self.compression))
    }
}

export_encoder!(ParquetEncoder, parts = parts::ParquetParts);

#[cfg(test)]
mod tests;
