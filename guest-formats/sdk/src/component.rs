//! Glue between the generated WIT bindings and [`Encoder`]: used by [`export_encoder!`].

use std::cell::RefCell;
use std::fmt;

use crate::bindings::atio::encoder::sink::Output;
use crate::bindings::atio::encoder::types as wit;
use crate::bindings::exports::atio::encoder::encoder::{GuestSession, Session};
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
