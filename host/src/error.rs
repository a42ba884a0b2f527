//! The library's error type: every failure names the path, the step and a kind.
//!
//! The kind is what callers branch on (the CLI maps it to an exit code and a hint); the step and
//! path say where it happened; the source keeps the underlying cause for `{:#}`-style chains.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What went wrong, coarsely: stable, documented, and mapped to exit codes by the CLI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// SIGINT/SIGTERM or an explicit cancellation stopped the write.
    Interrupted,
    /// The OS refused access (EACCES, EPERM).
    PermissionDenied,
    /// The filesystem is full or a quota is exhausted (ENOSPC, EDQUOT).
    NoSpace,
    /// The filesystem is mounted read-only (EROFS).
    ReadOnly,
    /// A path that must exist does not.
    NotFound,
    /// The target exists (create-only mode) or changed under us.
    Conflict,
    /// The output or input format is unknown or cannot hold the data.
    UnsupportedFormat,
    /// The input data or an option is invalid.
    InvalidInput,
    /// An encoder plugin failed, trapped, timed out or was rejected.
    Plugin,
    /// An object store or other network peer could not be reached or refused the request.
    Network,
    /// `verify` found the data and its manifest disagree, or no manifest.
    Verification,
    /// Any other I/O error.
    Io,
}

impl ErrorKind {
    /// Maps an OS error to a kind.
    pub fn from_io(error: &io::Error) -> Self {
        use rustix::io::Errno;
        if let Some(inner) = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Error>())
        {
            return inner.kind();
        }
        if error
            .get_ref()
            .is_some_and(|inner| inner.is::<crate::commit::interrupt::Interrupted>())
        {
            return Self::Interrupted;
        }
        match Errno::from_io_error(error) {
            Some(Errno::NOSPC | Errno::DQUOT) => Self::NoSpace,
            Some(Errno::ROFS) => Self::ReadOnly,
            Some(Errno::EXIST) => Self::Conflict,
            Some(Errno::INTR) => Self::Io,
            _ => match error.kind() {
                io::ErrorKind::PermissionDenied => Self::PermissionDenied,
                io::ErrorKind::NotFound => Self::NotFound,
                io::ErrorKind::AlreadyExists => Self::Conflict,
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Self::NoSpace,
                io::ErrorKind::ReadOnlyFilesystem => Self::ReadOnly,
                io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => Self::InvalidInput,
                _ => Self::Io,
            },
        }
    }

    /// One line telling the user what to try next.
    pub fn hint(self) -> &'static str {
        match self {
            Self::Interrupted => "the write was interrupted; the previous content is intact",
            Self::PermissionDenied => {
                "check write permission on the target's directory (staging happens there)"
            }
            Self::NoSpace => {
                "free space on the target's filesystem; the previous content is intact"
            }
            Self::ReadOnly => "the target's filesystem is mounted read-only",
            Self::NotFound => "check the path",
            Self::Conflict => {
                "the target exists or changed; drop --no-clobber/--if-match or re-read it"
            }
            Self::UnsupportedFormat => {
                "pick a known format with --format (see `atio plugins list`)"
            }
            Self::InvalidInput => "fix the input or the option named above",
            Self::Plugin => "the encoder plugin failed; its message is above",
            Self::Network => "check the endpoint, credentials and network",
            Self::Verification => "the file does not match its _SUCCESS manifest; rewrite it",
            Self::Io => "an unexpected I/O error; the previous content is intact",
        }
    }

    /// The process exit code the CLI uses for this kind (documented in README.md).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Verification => 1,
            Self::Io => 3,
            Self::PermissionDenied => 4,
            Self::NoSpace => 5,
            Self::ReadOnly => 6,
            Self::NotFound => 7,
            Self::Conflict => 8,
            Self::UnsupportedFormat => 9,
            Self::InvalidInput => 10,
            Self::Plugin => 11,
            Self::Network => 12,
            Self::Interrupted => 130,
        }
    }
}

/// The step of a write or check that failed, named in every error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Step {
    /// Resolving the target path (symlinks, parent directory).
    Resolve,
    /// Creating missing parent directories.
    CreateDir,
    /// Creating the staging file next to the target.
    Stage,
    /// Writing bytes into the staging file.
    Write,
    /// Reading input data.
    Read,
    /// Encoding batches through a format encoder.
    Encode,
    /// Loading, compiling or instantiating an encoder plugin.
    LoadPlugin,
    /// Flushing the staging file to stable storage.
    Fsync,
    /// Copying the previous file's mode and owner onto the staging file.
    SetMode,
    /// Removing the previous `_SUCCESS` marker before replacing the data.
    RemoveMarker,
    /// Renaming the staging file onto the target.
    Rename,
    /// Flushing the directory entry to stable storage.
    DirFsync,
    /// Writing the `_SUCCESS` marker.
    Marker,
    /// Taking a lock (the directory's publish lock or a target's `--lock`).
    Lock,
    /// Comparing the current content with `--if-match`.
    Compare,
    /// Running the caller's update function or command.
    Update,
    /// Checking a file against its marker.
    Verify,
    /// Sweeping orphaned staging files.
    Clean,
    /// Aborting: removing the staging file after another failure.
    Cleanup,
    /// Starting a multipart upload or uploading one of its parts (object storage).
    Upload,
    /// Publishing an object: completing its multipart upload, or its single PUT.
    Publish,
    /// Deleting objects a new manifest no longer lists (object storage).
    Delete,
    /// Keeping the replaced content in the target's version store.
    KeepVersion,
    /// Reading the version store (listing, finding a version or tag).
    Versions,
    /// Rolling back to a stored version.
    Rollback,
    /// Tagging a stored version.
    Tag,
    /// Removing old versions from the version store.
    Prune,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Resolve => "resolve",
            Self::CreateDir => "create directory",
            Self::Stage => "stage",
            Self::Write => "write",
            Self::Read => "read input",
            Self::Encode => "encode",
            Self::LoadPlugin => "load plugin",
            Self::Fsync => "fsync",
            Self::SetMode => "set mode",
            Self::RemoveMarker => "remove old marker",
            Self::Rename => "rename",
            Self::DirFsync => "fsync directory",
            Self::Marker => "write marker",
            Self::Lock => "lock",
            Self::Compare => "compare (--if-match)",
            Self::Update => "update",
            Self::Verify => "verify",
            Self::Upload => "upload",
            Self::Publish => "publish object",
            Self::Delete => "delete old objects",
            Self::KeepVersion => "keep version",
            Self::Versions => "versions",
            Self::Rollback => "rollback",
            Self::Tag => "tag",
            Self::Prune => "prune versions",
            Self::Clean => "clean",
            Self::Cleanup => "clean up",
        };
        f.write_str(name)
    }
}

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A failed atio operation: kind, step, path, message and (optionally) the underlying cause.
#[derive(Debug, thiserror::Error)]
#[error("{step} `{}`: {message}", path.display())]
pub struct Error {
    kind: ErrorKind,
    step: Step,
    path: PathBuf,
    message: String,
    #[source]
    source: Option<Source>,
}

impl Error {
    /// An error with an explicit kind and message.
    pub fn new(
        kind: ErrorKind,
        step: Step,
        path: impl Into<PathBuf>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            step,
            path: path.into(),
            message: message.into(),
            source: None,
        }
    }

    /// An OS error at `step` on `path`; the kind comes from the errno. An atio error carried
    /// inside the `io::Error` (a destination's `io::Write` failing, e.g. an upload) is returned
    /// as it is: it already names its own step and path.
    pub fn io(step: Step, path: impl Into<PathBuf>, error: io::Error) -> Self {
        if error.get_ref().is_some_and(|inner| inner.is::<Self>()) {
            let inner = error.into_inner().expect("checked above");
            return *inner.downcast::<Self>().expect("checked above");
        }
        Self {
            kind: ErrorKind::from_io(&error),
            step,
            path: path.into(),
            message: error.to_string(),
            source: Some(Box::new(error)),
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The coarse kind, for branching and exit codes.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The step that failed.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The path the failing step was working on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The message, without step and path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// One line telling the user what to try next.
    pub fn hint(&self) -> &'static str {
        match (self.kind, self.step) {
            (ErrorKind::UnsupportedFormat, Step::Encode) => {
                "this format cannot hold the data named above: pick one that can (README: \
                 \"Arrow types and formats\") or convert that column first"
            }
            (ErrorKind::UnsupportedFormat, Step::Read) => {
                "this input cannot be read as it is; the message above says what to change"
            }
            (ErrorKind::InvalidInput, Step::Read) => {
                "the input named above is malformed or corrupt; nothing was written"
            }
            _ => self.kind.hint(),
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Turns `io::Result` into atio's `Result`, naming the step and path.
pub(crate) trait IoContext<T> {
    fn at(self, step: Step, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn at(self, step: Step, path: &Path) -> Result<T> {
        self.map_err(|error| Error::io(step, path, error))
    }
}

impl<T> IoContext<T> for rustix::io::Result<T> {
    fn at(self, step: Step, path: &Path) -> Result<T> {
        self.map_err(|errno| Error::io(step, path, errno.into()))
    }
}
