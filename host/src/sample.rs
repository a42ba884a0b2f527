//! A deterministic sample dataset: used by `atio demo`, the benchmarks and the tests.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The sample schema: `id` i64, `value` f64, `name` 16-char string, `flag` bool, `ts` timestamp µs.
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("value", DataType::Float64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("flag", DataType::Boolean, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
    ]))
}

/// Rows `start..start + rows` of the sample dataset as one batch.
pub fn batch(start: u64, rows: usize) -> RecordBatch {
    let ids: Vec<i64> = (start..start + rows as u64).map(|id| id as i64).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.clone())),
        Arc::new(Float64Array::from_iter_values(
            ids.iter().map(|id| *id as f64 * 0.25 - 1000.0),
        )),
        Arc::new(StringArray::from_iter_values(ids.iter().map(|id| {
            format!("name-{:011}", id.wrapping_mul(7919) % 100_000_000_000)
        }))),
        Arc::new(BooleanArray::from_iter(
            ids.iter().map(|id| Some(id % 3 == 0)),
        )),
        Arc::new(TimestampMicrosecondArray::from_iter_values(
            ids.iter().map(|id| 1_700_000_000_000_000 + id * 1_000_003),
        )),
    ];
    RecordBatch::try_new(schema(), columns).expect("the sample columns match the sample schema")
}

/// `rows` rows of the sample dataset in batches of at most `batch_rows`.
pub fn batches(rows: u64, batch_rows: usize) -> Vec<RecordBatch> {
    (0..rows)
        .step_by(batch_rows)
        .map(|start| batch(start, batch_rows.min((rows - start) as usize)))
        .collect()
}
