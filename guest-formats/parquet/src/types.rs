//! Arrow types → the types the Parquet writer is given.
//!
//! arrow-rs writes some Arrow types as bare integers, with no logical type (`timestamp[s]`,
//! `time32[s]`, `date64`): pyarrow, DuckDB and Spark then read numbers, not times. Those
//! columns are converted to the nearest type Parquet annotates, exactly (seconds become
//! milliseconds; `date64` becomes `date32`, refused when a value is not a whole day). Types
//! Parquet cannot hold at all (unions, month-day-nanosecond intervals) are refused at `open`
//! with the column's name, instead of a panic or an error in the middle of the file.

use std::sync::Arc;

use arrow_cast::{CastOptions, cast_with_options};
use atio_encoder_sdk::arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use atio_encoder_sdk::arrow_schema::{DataType, Field, FieldRef, IntervalUnit, Schema, TimeUnit};
use atio_encoder_sdk::{EncodeError, SchemaRef};

/// How the batches of a schema are converted before they are written.
#[derive(Debug)]
pub struct Conversion {
    /// The schema the Parquet writer gets.
    pub schema: SchemaRef,
    /// Columns whose type changes (index into the schema).
    changed: Vec<usize>,
}

impl Conversion {
    /// The conversion for `schema`, or `unsupported` naming the first column Parquet cannot hold.
    pub fn new(schema: &SchemaRef) -> Result<Self, EncodeError> {
        let mut changed = Vec::new();
        let mut fields = Vec::with_capacity(schema.fields().len());
        for (index, field) in schema.fields().iter().enumerate() {
            match convert_field(field, field.name())? {
                Some(converted) => {
                    changed.push(index);
                    fields.push(converted);
                }
                None => fields.push(Arc::clone(field)),
            }
        }
        let schema = if changed.is_empty() {
            Arc::clone(schema)
        } else {
            Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
        };
        Ok(Self { schema, changed })
    }

    /// `batch` with its columns converted to [`Conversion::schema`].
    pub fn apply(&self, batch: &RecordBatch) -> Result<RecordBatch, EncodeError> {
        if self.changed.is_empty() {
            return Ok(batch.clone());
        }
        let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
        for &index in &self.changed {
            let field = self.schema.field(index);
            columns[index] = convert_column(&columns[index], field)?;
        }
        RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
        .map_err(|error| EncodeError::internal(format!("converting a batch: {error}")))
    }
}

fn convert_column(column: &ArrayRef, field: &Field) -> Result<ArrayRef, EncodeError> {
    let exact = CastOptions {
        safe: false,
        ..CastOptions::default()
    };
    let name = field.name();
    let converted = cast_with_options(column, field.data_type(), &exact).map_err(|error| {
        EncodeError::invalid_input(format!(
            "column `{name}` ({}) cannot be written as Parquet's {}: {error}",
            column.data_type(),
            field.data_type()
        ))
    })?;
    if contains_date64(column.data_type()) {
        // date64 → date32 drops any time of day: refuse rather than truncate.
        let back = cast_with_options(&converted, column.data_type(), &exact)
            .map_err(|error| EncodeError::internal(format!("column `{name}`: {error}")))?;
        if back.to_data() != column.to_data() {
            return Err(EncodeError::invalid_input(format!(
                "column `{name}` ({}) holds values that are not whole days; Parquet's DATE \
                 cannot hold them (Arrow's date64 must be whole days): cast it to a timestamp",
                column.data_type()
            )));
        }
    }
    Ok(converted)
}

fn contains_date64(data_type: &DataType) -> bool {
    match data_type {
        DataType::Date64 => true,
        other => children(other)
            .iter()
            .any(|f| contains_date64(f.data_type())),
    }
}

/// The converted field, `None` if it is written as it is.
fn convert_field(field: &FieldRef, path: &str) -> Result<Option<FieldRef>, EncodeError> {
    Ok(convert_type(field.data_type(), path)?
        .map(|data_type| Arc::new(field.as_ref().clone().with_data_type(data_type))))
}

/// The nearest type Parquet annotates, `None` if `data_type` is written as it is.
fn convert_type(data_type: &DataType, path: &str) -> Result<Option<DataType>, EncodeError> {
    let refuse = |why: &str| {
        Err(EncodeError::unsupported(format!(
            "column `{path}` ({data_type}) cannot be written as Parquet: {why}; \
             write it as arrow (IPC), which holds every Arrow type"
        )))
    };
    Ok(match data_type {
        DataType::Timestamp(TimeUnit::Second, zone) => {
            Some(DataType::Timestamp(TimeUnit::Millisecond, zone.clone()))
        }
        DataType::Time32(TimeUnit::Second) => Some(DataType::Time32(TimeUnit::Millisecond)),
        DataType::Date64 => Some(DataType::Date32),
        DataType::Decimal32(precision, scale)
        | DataType::Decimal64(precision, scale)
        | DataType::Decimal128(precision, scale)
        | DataType::Decimal256(precision, scale)
            if *scale < 0 =>
        {
            // Parquet's DECIMAL has no negative scale: the same values with scale 0 need
            // as many more digits.
            let digits = u16::from(*precision) + scale.unsigned_abs() as u16;
            return match digits {
                ..=9 => Ok(Some(DataType::Decimal32(digits as u8, 0))),
                ..=18 => Ok(Some(DataType::Decimal64(digits as u8, 0))),
                ..=38 => Ok(Some(DataType::Decimal128(digits as u8, 0))),
                ..=76 => Ok(Some(DataType::Decimal256(digits as u8, 0))),
                _ => refuse("its negative scale needs more than 76 digits at scale 0"),
            };
        }
        DataType::Union(..) => return refuse("Parquet has no union type"),
        DataType::Interval(IntervalUnit::MonthDayNano) => {
            return refuse("Parquet's INTERVAL holds milliseconds, not nanoseconds");
        }
        DataType::List(item) => convert_field(item, &format!("{path}[]"))?.map(DataType::List),
        DataType::LargeList(item) => {
            convert_field(item, &format!("{path}[]"))?.map(DataType::LargeList)
        }
        DataType::ListView(item) => {
            convert_field(item, &format!("{path}[]"))?.map(DataType::ListView)
        }
        DataType::LargeListView(item) => {
            convert_field(item, &format!("{path}[]"))?.map(DataType::LargeListView)
        }
        DataType::FixedSizeList(item, size) => convert_field(item, &format!("{path}[]"))?
            .map(|item| DataType::FixedSizeList(item, *size)),
        DataType::Map(entries, sorted) => {
            convert_field(entries, path)?.map(|entries| DataType::Map(entries, *sorted))
        }
        DataType::Struct(fields) => {
            let mut any = false;
            let mut converted = Vec::with_capacity(fields.len());
            for field in fields {
                let name = format!("{path}.{}", field.name());
                match convert_field(field, &name)? {
                    Some(field) => {
                        any = true;
                        converted.push(field);
                    }
                    None => converted.push(Arc::clone(field)),
                }
            }
            any.then(|| DataType::Struct(converted.into()))
        }
        DataType::Dictionary(key, value) => convert_type(value, path)?
            .map(|value| DataType::Dictionary(key.clone(), Box::new(value))),
        DataType::RunEndEncoded(ends, values) => convert_field(values, path)?
            .map(|values| DataType::RunEndEncoded(Arc::clone(ends), values)),
        _ => None,
    })
}

fn children(data_type: &DataType) -> Vec<FieldRef> {
    match data_type {
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::ListView(item)
        | DataType::LargeListView(item)
        | DataType::FixedSizeList(item, _)
        | DataType::Map(item, _) => vec![Arc::clone(item)],
        DataType::Struct(fields) => fields.iter().cloned().collect(),
        DataType::RunEndEncoded(_, values) => vec![Arc::clone(values)],
        DataType::Dictionary(_, value) => vec![Arc::new(Field::new("", (**value).clone(), true))],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atio_encoder_sdk::arrow_array::{
        Array, Date64Array, Decimal128Array, Int32Array, TimestampSecondArray, UnionArray,
    };
    use atio_encoder_sdk::arrow_buffer::ScalarBuffer;
    use atio_encoder_sdk::arrow_schema::UnionFields;

    #[test]
    fn seconds_become_milliseconds_exactly_and_whole_days_become_dates() {
        let ts: ArrayRef = Arc::new(
            TimestampSecondArray::from(vec![Some(1), None, Some(-2)]).with_timezone("Europe/Paris"),
        );
        let days: ArrayRef = Arc::new(Date64Array::from(vec![Some(86_400_000), None]).slice(0, 2));
        let batch = RecordBatch::try_from_iter([("ts", ts)]).unwrap();
        let conversion = Conversion::new(&batch.schema()).unwrap();
        let converted = conversion.apply(&batch).unwrap();
        assert_eq!(
            converted.schema().field(0).data_type(),
            &DataType::Timestamp(TimeUnit::Millisecond, Some("Europe/Paris".into()))
        );
        let values = converted.column(0).to_data();
        assert_eq!(
            values.buffers()[0].typed_data::<i64>()[..],
            [1000, 0, -2000][..]
        );

        let batch = RecordBatch::try_from_iter([("d", days)]).unwrap();
        let conversion = Conversion::new(&batch.schema()).unwrap();
        assert_eq!(conversion.schema.field(0).data_type(), &DataType::Date32);
        assert_eq!(conversion.apply(&batch).unwrap().column(0).null_count(), 1);

        let thousands: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(12), None])
                .with_precision_and_scale(5, -3)
                .unwrap(),
        );
        let batch = RecordBatch::try_from_iter([("k", thousands)]).unwrap();
        let converted = Conversion::new(&batch.schema())
            .unwrap()
            .apply(&batch)
            .unwrap();
        assert_eq!(
            converted.schema().field(0).data_type(),
            &DataType::Decimal32(8, 0)
        );
        let values = converted.column(0).to_data();
        assert_eq!(values.buffers()[0].typed_data::<i32>()[0], 12_000);

        let partial: ArrayRef = Arc::new(Date64Array::from(vec![86_400_001]));
        let batch = RecordBatch::try_from_iter([("d", partial)]).unwrap();
        let error = Conversion::new(&batch.schema())
            .unwrap()
            .apply(&batch)
            .unwrap_err();
        assert!(error.message().contains("not whole days"), "{error}");
    }

    #[test]
    fn unions_are_refused_naming_the_column() {
        let fields = UnionFields::try_new([0], [Field::new("i", DataType::Int32, true)]).unwrap();
        let union = UnionArray::try_new(
            fields,
            ScalarBuffer::from(vec![0i8]),
            None,
            vec![Arc::new(Int32Array::from(vec![1])) as ArrayRef],
        )
        .unwrap();
        let batch = RecordBatch::try_from_iter([("u", Arc::new(union) as ArrayRef)]).unwrap();
        let error = Conversion::new(&batch.schema()).unwrap_err();
        assert!(matches!(error, EncodeError::Unsupported(_)), "{error:?}");
        assert!(error.message().contains("column `u`"), "{error}");
    }
}
