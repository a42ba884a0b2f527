//! Glue between the generated WIT bindings and [`Encoder`]: used by [`export_encoder!`].

use std::cell::RefCell;
use std::fmt;

use crate::bindings::atio::encoder::sink::Output;
use crate::bindings::atio::encoder::types as wit;
use crate::bindings::exports::atio::encoder::encoder::{GuestSession, Session};
use crate::bindings::exports::atio::encoder::parts::{
    self as wit_parts, GuestPartEncoder, PartEncoder as PartEncoderResource,
};
use crate::parts::{PartEncoder, PartsDriver, PlacedPart};
use crate::session::Driver;
use crate::sink::RawOutput;
use crate::{EncodeError, Encoder};

/// The host's `output` resource as a [`RawOutput`].
struct HostOutput(Output);

impl RawOutput for HostOutput {
    fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.0.write(bytes)
    }

    fn reserve_header(&mut self, size: u32) -> Result<(), String> {
        self.0.reserve_header(size)
    }

    fn rewrite_header(&mut self, header: &[u8]) -> Result<(), String> {
        self.0.rewrite_header(header)
    }
}

/// The WIT `session` resource for encoder `E`.
pub struct ComponentSession<E> {
    driver: RefCell<Driver<E>>,
}

impl<E> fmt::Debug for ComponentSession<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentSession")
            .field("driver", &self.driver)
            .finish()
    }
}

impl<E: Encoder> GuestSession for ComponentSession<E> {
    fn open(
        schema: Vec<u8>,
        options: Vec<(String, String)>,
        out: Output,
    ) -> Result<Session, wit::EncodeError> {
        let driver =
            Driver::<E>::open(&schema, options, Box::new(HostOutput(out))).map_err(to_wit_error)?;
        drop(schema);
        Ok(Session::new(ComponentSession {
            driver: RefCell::new(driver),
        }))
    }

    fn write_batch(&self, ipc: Vec<u8>) -> Result<(), wit::EncodeError> {
        self.driver
            .borrow_mut()
            .write_batch(ipc)
            .map_err(to_wit_error)
    }

    fn finish(&self) -> Result<wit::Summary, wit::EncodeError> {
        let summary = self.driver.borrow_mut().finish().map_err(to_wit_error)?;
        Ok(wit::Summary {
            rows: summary.rows,
            metadata: summary.metadata,
        })
    }

    fn abort(&self) {
        self.driver.borrow_mut().abort();
    }
}

/// `encoder.info` for encoder `E`.
pub fn info<E: Encoder>() -> wit::FormatInfo {
    let info = E::info();
    wit::FormatInfo {
        name: info.name,
        version: info.version,
        media_type: info.media_type,
        extensions: info.extensions,
        options: info
            .options
            .into_iter()
            .map(|o| wit::OptionSpec {
                name: o.name,
                description: o.description,
                default_value: o.default_value,
            })
            .collect(),
    }
}

fn to_wit_error(e: EncodeError) -> wit::EncodeError {
    match e {
        EncodeError::InvalidOptions(m) => wit::EncodeError::InvalidOptions(m),
        EncodeError::InvalidInput(m) => wit::EncodeError::InvalidInput(m),
        EncodeError::Unsupported(m) => wit::EncodeError::Unsupported(m),
        EncodeError::SinkRejected(m) => wit::EncodeError::SinkRejected(m),
        EncodeError::Internal(m) => wit::EncodeError::Internal(m),
    }
}

/// The WIT `part-encoder` resource for encoder `E` (its options) and part encoder `P`.
pub struct ComponentPartEncoder<E, P> {
    driver: RefCell<PartsDriver<P>>,
    encoder: std::marker::PhantomData<E>,
}

impl<E, P> fmt::Debug for ComponentPartEncoder<E, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComponentPartEncoder")
            .field("driver", &self.driver)
            .finish()
    }
}

impl<E: Encoder, P: PartEncoder> GuestPartEncoder for ComponentPartEncoder<E, P> {
    fn open(
        schema: Vec<u8>,
        options: Vec<(String, String)>,
    ) -> Result<PartEncoderResource, wit::EncodeError> {
        let driver = PartsDriver::<P>::open(&E::info(), &schema, options).map_err(to_wit_error)?;
        Ok(PartEncoderResource::new(ComponentPartEncoder::<E, P> {
            driver: RefCell::new(driver),
            encoder: std::marker::PhantomData,
        }))
    }

    fn plan(&self) -> wit_parts::PartPlan {
        let plan = self.driver.borrow().plan();
        wit_parts::PartPlan {
            rows: plan.rows,
            bytes: plan.bytes,
            split_columns: plan.split_columns,
        }
    }

    fn head(&self) -> Result<Vec<u8>, wit::EncodeError> {
        self.driver.borrow_mut().head().map_err(to_wit_error)
    }

    fn begin(&self, part: u64, columns: Vec<u32>, schema: Vec<u8>) -> Result<(), wit::EncodeError> {
        self.driver
            .borrow_mut()
            .begin(part, &columns, &schema)
            .map_err(to_wit_error)
    }

    fn write_batch(&self, ipc: Vec<u8>) -> Result<(), wit::EncodeError> {
        self.driver
            .borrow_mut()
            .write_batch(ipc)
            .map_err(to_wit_error)
    }

    fn end(&self) -> Result<wit_parts::EncodedPart, wit::EncodeError> {
        let part = self.driver.borrow_mut().end().map_err(to_wit_error)?;
        Ok(wit_parts::EncodedPart {
            bytes: part.bytes,
            metadata: part.metadata,
        })
    }

    fn tail(
        &self,
        parts: Vec<wit_parts::PlacedPart>,
    ) -> Result<(Vec<u8>, wit::Summary), wit::EncodeError> {
        let parts: Vec<PlacedPart> = parts
            .into_iter()
            .map(|p| PlacedPart {
                part: p.part,
                columns: p.columns,
                rows: p.rows,
                offset: p.offset,
                length: p.length,
                metadata: p.metadata,
            })
            .collect();
        // Every column run of a part has all its rows: count each part once.
        let mut rows = 0;
        let mut counted = None;
        for p in &parts {
            if counted != Some(p.part) {
                rows += p.rows;
                counted = Some(p.part);
            }
        }
        let (bytes, summary) = self
            .driver
            .borrow_mut()
            .tail(&parts)
            .map_err(to_wit_error)?;
        Ok((
            bytes,
            wit::Summary {
                rows,
                metadata: summary.metadata,
            },
        ))
    }
}
