//! Parquet input.
//!
//! Its row count is taken from the row groups, not the file's footer total: some writers (early
//! parquet-rs, parquet-testing's `repeated_no_annotation.parquet`) leave that total at 0, and
//! arrow-rs caps its batches by it — a file of 6 rows then read as 0, with no error. Readers
//! such as pyarrow and DuckDB count the row groups, so atio does too.
//!
//! INT96 timestamps (Impala, Hive, older Spark) are read in nanoseconds, like every other
//! reader does, unless a value lies outside what 64-bit nanoseconds hold (years 1677–2262):
//! arrow-rs (and pyarrow) would then wrap it around silently. Such a column is read in the
//! finest unit that holds all its values (microseconds: what Spark means by a timestamp).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::AsArray;
use arrow::datatypes::{
    DataType, FieldRef, Schema, SchemaRef, TimeUnit, TimestampNanosecondType, TimestampSecondType,
};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::basic::Type as PhysicalType;
use parquet::errors::ParquetError;
use parquet::file::metadata::{FileMetaData, ParquetMetaData, ParquetMetaDataBuilder};

use super::{BatchReader, batch_rows, guard, open_file};
use crate::error::{Error, ErrorKind, Result, Step};

pub(super) fn open(path: &Path) -> Result<BatchReader> {
    let invalid = |error: parquet::errors::ParquetError| {
        Error::new(ErrorKind::InvalidInput, Step::Read, path, error.to_string())
    };
    let file = open_file(path)?;
    let options = ArrowReaderOptions::new();
    let metadata = guard::catch_panic(path, || ArrowReaderMetadata::load(&file, options.clone()))?
        .map_err(invalid)?;
    let metadata = match with_row_group_total(metadata.metadata()) {
        Some(fixed) => {
            ArrowReaderMetadata::try_new(Arc::new(fixed), options.clone()).map_err(invalid)?
        }
        None => metadata,
    };
    let int96 = guard::catch_panic(path, || int96_units(&file, &metadata))?.map_err(|error| {
        match error {
            // Valid data that no Arrow timestamp holds exactly, not a corrupt file.
            ParquetError::General(message) => {
                Error::new(ErrorKind::UnsupportedFormat, Step::Read, path, message)
            }
            other => invalid(other),
        }
    })?;
    let metadata = match int96 {
        Some(schema) => ArrowReaderMetadata::try_new(
            Arc::clone(metadata.metadata()),
            options.with_schema(schema),
        )
        .map_err(invalid)?,
        None => metadata,
    };
    let rows = batch_rows(metadata.schema().fields().len());
    let reader = guard::catch_panic(path, || {
        ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata)
            .with_batch_size(rows)
            .build()
    })?
    .map_err(invalid)?;
    Ok(Box::new(reader))
}

/// The schema to read with where a top-level INT96 column holds a value beyond nanoseconds:
/// that column in the finest unit holding all its values, an error if that unit would drop
/// another value's finer digits. Scans those columns once more, in seconds (which cannot
/// overflow) and nanoseconds.
fn int96_units(
    file: &File,
    metadata: &ArrowReaderMetadata,
) -> parquet::errors::Result<Option<SchemaRef>> {
    let descriptor = metadata.metadata().file_metadata().schema_descr();
    let schema = metadata.schema();
    let roots: Vec<usize> = (0..descriptor.num_columns())
        .filter(|&leaf| {
            let column = descriptor.column(leaf);
            column.physical_type() == PhysicalType::INT96 && column.path().parts().len() == 1
        })
        .map(|leaf| descriptor.get_column_root_idx(leaf))
        .collect();
    if roots.is_empty() {
        return Ok(None);
    }
    let all_seconds: Vec<_> = roots.iter().map(|&root| (root, TimeUnit::Second)).collect();
    let seconds = ArrowReaderMetadata::try_new(
        Arc::clone(metadata.metadata()),
        ArrowReaderOptions::new().with_schema(with_units(schema, &all_seconds)),
    )?;
    let projection = ProjectionMask::roots(descriptor, roots.iter().copied());
    let in_seconds = ParquetRecordBatchReaderBuilder::new_with_metadata(file.try_clone()?, seconds)
        .with_projection(projection.clone())
        .build()?;
    // Nanoseconds wrap around beyond 1677–2262, but consistently modulo 2^64: subtracting the
    // seconds (times 10^9, wrapping the same way) leaves each value's exact sub-second part.
    let in_nanos =
        ParquetRecordBatchReaderBuilder::new_with_metadata(file.try_clone()?, metadata.clone())
            .with_projection(projection)
            .build()?;
    // Per column: lowest and highest second, and the gcd of the sub-second nanoseconds with
    // 10^9 (the finest unit every value needs).
    let mut seen = vec![(0i64, 0i64, NANOS_PER_SECOND); roots.len()];
    for (seconds, nanos) in in_seconds.zip(in_nanos) {
        let (seconds, nanos) = (seconds?, nanos?);
        for ((low, high, step), (seconds, nanos)) in seen
            .iter_mut()
            .zip(seconds.columns().iter().zip(nanos.columns()))
        {
            let seconds = seconds.as_primitive::<TimestampSecondType>();
            let nanos = nanos.as_primitive::<TimestampNanosecondType>();
            for (second, nano) in seconds.iter().zip(nanos.iter()) {
                let (Some(second), Some(nano)) = (second, nano) else {
                    continue;
                };
                (*low, *high) = ((*low).min(second), (*high).max(second));
                let fraction = nano.wrapping_sub(second.wrapping_mul(NANOS_PER_SECOND));
                *step = gcd(*step, fraction.rem_euclid(NANOS_PER_SECOND));
            }
        }
    }
    let mut coarser = Vec::new();
    for (&root, &(low, high, step)) in roots.iter().zip(&seen) {
        let holds = |per_second: i64| {
            low.checked_mul(per_second).is_some() && high.checked_mul(per_second).is_some()
        };
        let (unit, per_second) = [
            (TimeUnit::Nanosecond, NANOS_PER_SECOND),
            (TimeUnit::Microsecond, 1_000_000),
            (TimeUnit::Millisecond, 1_000),
            (TimeUnit::Second, 1),
        ]
        .into_iter()
        .find(|&(_, per_second)| holds(per_second))
        .unwrap_or((TimeUnit::Second, 1));
        if step % (NANOS_PER_SECOND / per_second) != 0 {
            return Err(ParquetError::General(format!(
                "INT96 column `{}` cannot be read exactly: its times span more than 64 bits of \
                 any finer unit hold, so they need {}, which would drop the finer digits of \
                 other values (Arrow timestamps have one unit per column)",
                schema.field(root).name(),
                match unit {
                    TimeUnit::Millisecond => "milliseconds",
                    _ => "seconds",
                }
            )));
        }
        if unit != TimeUnit::Nanosecond {
            coarser.push((root, unit));
        }
    }
    Ok((!coarser.is_empty()).then(|| with_units(schema, &coarser)))
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `schema` with the timestamp columns at these indices in these units.
fn with_units(schema: &SchemaRef, units: &[(usize, TimeUnit)]) -> SchemaRef {
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let unit = units.iter().find(|(root, _)| *root == index);
            match (unit, field.data_type()) {
                (Some(&(_, unit)), DataType::Timestamp(_, zone)) => Arc::new(
                    field
                        .as_ref()
                        .clone()
                        .with_data_type(DataType::Timestamp(unit, zone.clone())),
                ),
                _ => Arc::clone(field),
            }
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// The metadata with the file's row count set to its row groups' sum, where they differ.
fn with_row_group_total(metadata: &ParquetMetaData) -> Option<ParquetMetaData> {
    let total: i64 = metadata
        .row_groups()
        .iter()
        .map(|group| group.num_rows())
        .sum();
    let file = metadata.file_metadata();
    if file.num_rows() == total {
        return None;
    }
    let corrected = FileMetaData::new(
        file.version(),
        total,
        file.created_by().map(str::to_owned),
        file.key_value_metadata().cloned(),
        file.schema_descr_ptr(),
        file.column_orders().cloned(),
    );
    Some(
        ParquetMetaDataBuilder::new(corrected)
            .set_row_groups(metadata.row_groups().to_vec())
            .build(),
    )
}
