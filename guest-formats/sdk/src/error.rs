//! [`EncodeError`]: why an encoder call failed.

use std::fmt;
use std::io;

use arrow_schema::{ArrowError, DataType};

use crate::sink::SinkRejected;

/// Why an encoder call failed; mirrors the WIT `encode-error` variant.
///
/// Every case carries a human-readable message that the host shows to the user together with
/// the output path and the step that failed, so write messages for people: name the option,
/// column or type at fault, and what would have been accepted.
///
/// Build one with the constructor functions ([`EncodeError::invalid_options`], ...) or convert
/// from a [`std::io::Error`] or an [`ArrowError`] with `?`/[`From`]: I/O errors produced by
/// [`SinkWriter`](crate::SinkWriter) when the host refuses bytes become
/// [`EncodeError::SinkRejected`] with the host's message unchanged, everything else becomes
/// [`EncodeError::Internal`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// An option was unknown or its value invalid. The message names the option.
    InvalidOptions(String),
    /// The schema or a batch could not be decoded, or does not fit the format.
    InvalidInput(String),
    /// A valid request this encoder does not support (e.g. a codec not compiled in).
    Unsupported(String),
    /// The host's output refused bytes. The message is the host's, unchanged.
    SinkRejected(String),
    /// Anything else: a bug or an internal limit of the encoder.
    Internal(String),
}

impl EncodeError {
    /// An [`EncodeError::InvalidOptions`] with this message.
    pub fn invalid_options(message: impl Into<String>) -> Self {
        Self::InvalidOptions(message.into())
    }

    /// An [`EncodeError::InvalidInput`] with this message.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }

    /// An [`EncodeError::Unsupported`] with this message.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::Unsupported(message.into())
    }

    /// An [`EncodeError::Unsupported`] for a column whose type or values the format cannot
    /// hold, worded like every built-in encoder's: ``column `{column}` ({data_type})
    /// {problem}; {instead}``, where `instead` names the formats that can hold it and any
    /// option that writes it anyway, e.g. `write it as parquet or arrow, or pass -o ...`.
    pub fn unsupported_column(
        column: &str,
        data_type: &DataType,
        problem: impl fmt::Display,
        instead: impl fmt::Display,
    ) -> Self {
        Self::Unsupported(format!(
            "column `{column}` ({data_type}) {problem}; {instead}"
        ))
    }

    /// An [`EncodeError::Internal`] with this message.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }

    /// The message carried by this error, whatever its kind.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidOptions(m)
            | Self::InvalidInput(m)
            | Self::Unsupported(m)
            | Self::SinkRejected(m)
            | Self::Internal(m) => m,
        }
    }

    /// The WIT name of this error's case, e.g. `"invalid-options"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidOptions(_) => "invalid-options",
            Self::InvalidInput(_) => "invalid-input",
            Self::Unsupported(_) => "unsupported",
            Self::SinkRejected(_) => "sink-rejected",
            Self::Internal(_) => "internal",
        }
    }

    /// Prefix the message with some context, keeping the kind: `"{context}: {message}"`.
    ///
    /// [`EncodeError::SinkRejected`] is returned unchanged: its message is the host's and must
    /// reach the user as the host wrote it.
    pub fn context(self, context: impl fmt::Display) -> Self {
        match self {
            Self::InvalidOptions(m) => Self::InvalidOptions(format!("{context}: {m}")),
            Self::InvalidInput(m) => Self::InvalidInput(format!("{context}: {m}")),
            Self::Unsupported(m) => Self::Unsupported(format!("{context}: {m}")),
            Self::Internal(m) => Self::Internal(format!("{context}: {m}")),
            e @ Self::SinkRejected(_) => e,
        }
    }

    /// Map any error to an [`EncodeError`]: if `error` or anything in its
    /// [`source`](std::error::Error::source) chain (including the payload of an
    /// [`io::Error`]) is the error [`SinkWriter`](crate::SinkWriter) reports when the host
    /// refuses bytes, the result is [`EncodeError::SinkRejected`] with the host's message;
    /// otherwise it is [`EncodeError::Internal`] with `error`'s text.
    ///
    /// Use this for errors of libraries that wrap the writer's I/O errors in their own types
    /// (for example `parquet::errors::ParquetError`).
    pub fn from_error(error: &(dyn std::error::Error + 'static)) -> Self {
        match find_sink_rejected(error) {
            Some(message) => Self::SinkRejected(message),
            None => Self::Internal(error.to_string()),
        }
    }

    /// Like [`EncodeError::from_error`], but for a library error that is not
    /// [`SinkRejected`]-related turns into `fallback(text)` instead of
    /// [`EncodeError::Internal`].
    pub fn from_error_or(
        error: &(dyn std::error::Error + 'static),
        fallback: impl FnOnce(String) -> EncodeError,
    ) -> Self {
        match find_sink_rejected(error) {
            Some(message) => Self::SinkRejected(message),
            None => fallback(error.to_string()),
        }
    }
}

/// Walks `error`'s source chain looking for a [`SinkRejected`] and returns the host's message.
fn find_sink_rejected(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(rejected) = e.downcast_ref::<SinkRejected>() {
            return Some(rejected.host_message().to_owned());
        }
        if let Some(io) = e.downcast_ref::<io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(rejected) = inner.downcast_ref::<SinkRejected>()
        {
            return Some(rejected.host_message().to_owned());
        }
        current = e.source();
    }
    None
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for EncodeError {}

impl From<io::Error> for EncodeError {
    /// Host refusals reported by [`SinkWriter`](crate::SinkWriter) become
    /// [`EncodeError::SinkRejected`] with the host's message; other I/O errors become
    /// [`EncodeError::Internal`].
    fn from(error: io::Error) -> Self {
        if let Some(rejected) = error
            .get_ref()
            .and_then(|e| e.downcast_ref::<SinkRejected>())
        {
            return Self::SinkRejected(rejected.host_message().to_owned());
        }
        Self::Internal(format!("I/O error: {error}"))
    }
}

impl From<ArrowError> for EncodeError {
    /// Host refusals (wrapped in [`ArrowError::IoError`] or [`ArrowError::ExternalError`])
    /// become [`EncodeError::SinkRejected`]; every other Arrow error becomes
    /// [`EncodeError::Internal`]. Map errors that mean "bad input" or "unsupported type"
    /// yourself where you can tell them apart.
    fn from(error: ArrowError) -> Self {
        match error {
            ArrowError::IoError(_, io) => Self::from(io),
            ArrowError::ExternalError(e) => Self::from_error(e.as_ref()),
            other => Self::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_from_sink_maps_back_to_host_message() {
        let io = SinkRejected::new("quota exceeded: 10 MiB").into_io_error();
        assert_eq!(
            EncodeError::from(io),
            EncodeError::SinkRejected("quota exceeded: 10 MiB".into())
        );
    }

    #[test]
    fn wrapped_sink_error_is_found_in_source_chain() {
        #[derive(Debug)]
        struct Wrapper(io::Error);
        impl fmt::Display for Wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "library failed: {}", self.0)
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let w = Wrapper(SinkRejected::new("disk full").into_io_error());
        assert_eq!(
            EncodeError::from_error(&w),
            EncodeError::SinkRejected("disk full".into())
        );
        let arrow = ArrowError::ExternalError(Box::new(w));
        assert_eq!(
            EncodeError::from(arrow),
            EncodeError::SinkRejected("disk full".into())
        );
    }

    #[test]
    fn other_errors_are_internal() {
        let io = io::Error::other("boom");
        assert_eq!(EncodeError::from(io).kind(), "internal");
        let e = EncodeError::from(ArrowError::ComputeError("x".into()));
        assert!(matches!(e, EncodeError::Internal(_)));
    }

    #[test]
    fn unsupported_column_names_column_type_and_way_out() {
        let e = EncodeError::unsupported_column(
            "tags",
            &DataType::Binary,
            "cannot be written as CSV",
            "write it as parquet",
        );
        assert_eq!(
            e,
            EncodeError::Unsupported(
                "column `tags` (Binary) cannot be written as CSV; write it as parquet".into()
            )
        );
    }

    #[test]
    fn context_keeps_kind_and_host_message() {
        let e = EncodeError::invalid_input("bad").context("column `a`");
        assert_eq!(e, EncodeError::InvalidInput("column `a`: bad".into()));
        let s = EncodeError::SinkRejected("host says no".into()).context("x");
        assert_eq!(s.message(), "host says no");
    }
}
