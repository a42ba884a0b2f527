//! [`Destination`]: where a plugin session's bytes go, and whether it can rewrite a header.

use std::any::Any;
use std::fs::File;
use std::io::{self, BufWriter, Cursor, Write};
use std::os::unix::fs::FileExt;

use crate::{AtomicFile, DirFile, ObjectFile, Output};

/// The largest header an encoder may reserve (`output.reserve-header`): 64 KiB.
pub const MAX_HEADER_SIZE: u32 = 1 << 16;

/// Where a plugin session's bytes go ([`Plugin::open`](super::Plugin::open)): a [`Write`] that
/// may also let the encoder overwrite the header it reserved (`output.reserve-header`, for
/// formats such as npy whose header states the row count). Destinations that cannot (the
/// default) make such encoders buffer their whole output instead of streaming it.
///
/// Implemented for atio's outputs ([`Output`], [`AtomicFile`], [`DirFile`]: rewritable;
/// [`ObjectFile`]: not, its first part is uploaded early), and for `Vec<u8>`,
/// `Cursor<Vec<u8>>`, `io::Sink`, `File` and `BufWriter<File>` (files opened for appending
/// are not rewritable). For your own writer, `impl Destination for MyWriter {}` declares it
/// append-only.
pub trait Destination: Write + Send + 'static {
    /// Whether [`rewrite_header`](Self::rewrite_header) works on this destination.
    fn can_rewrite_header(&self) -> bool {
        false
    }

    /// Told, before any byte is written, that the encoder reserved a header of `size` bytes
    /// (it can rewrite them later): a destination may skip work those bytes would waste. atio's
    /// files stop hashing as they write and hash once, from the file, at commit.
    fn header_reserved(&mut self, size: usize) {
        let _ = size;
    }

    /// Overwrites the first `header.len()` bytes, all written already (possibly still
    /// buffered), leaving the length and where the next write goes unchanged.
    fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        let _ = header;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this destination is append-only",
        ))
    }
}

/// A destination whose concrete type [`Session::finish`](super::Session::finish) recovers.
pub(crate) trait AnyDestination: Destination {
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<D: Destination> AnyDestination for D {
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

fn too_long(header: &[u8], written: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "a header of {} bytes is longer than the {written} bytes written",
            header.len()
        ),
    )
}

impl Destination for Vec<u8> {
    fn can_rewrite_header(&self) -> bool {
        true
    }

    fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        let written = self.len();
        let start = self
            .get_mut(..header.len())
            .ok_or_else(|| too_long(header, written))?;
        start.copy_from_slice(header);
        Ok(())
    }
}

impl Destination for Cursor<Vec<u8>> {
    fn can_rewrite_header(&self) -> bool {
        true
    }

    fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        self.get_mut().rewrite_header(header)
    }
}

/// Discards everything, a rewritten header too.
impl Destination for io::Sink {
    fn can_rewrite_header(&self) -> bool {
        true
    }

    fn rewrite_header(&mut self, _header: &[u8]) -> io::Result<()> {
        Ok(())
    }
}

impl Destination for File {
    fn can_rewrite_header(&self) -> bool {
        // Linux appends a positioned write to a file opened with O_APPEND.
        rustix::fs::fcntl_getfl(self).is_ok_and(|flags| !flags.contains(rustix::fs::OFlags::APPEND))
    }

    fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        if !self.can_rewrite_header() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the file is open for appending",
            ));
        }
        self.write_all_at(header, 0)
    }
}

impl Destination for BufWriter<File> {
    fn can_rewrite_header(&self) -> bool {
        self.get_ref().can_rewrite_header()
    }

    fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        self.flush()?;
        self.get_mut().rewrite_header(header)
    }
}

impl Destination for AtomicFile {
    fn can_rewrite_header(&self) -> bool {
        true
    }

    fn header_reserved(&mut self, _size: usize) {
        self.hash_at_commit();
    }

    fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        AtomicFile::rewrite_header(self, header)
    }
}

impl Destination for DirFile {
    fn can_rewrite_header(&self) -> bool {
        true
    }

    fn header_reserved(&mut self, _size: usize) {
        self.hash_at_commit();
    }

    fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        DirFile::rewrite_header(self, header)
    }
}

/// Append-only: parts leave for the store while the encoder is still writing.
impl Destination for ObjectFile {}

impl Destination for Output {
    fn can_rewrite_header(&self) -> bool {
        match self {
            Self::File(file) => file.can_rewrite_header(),
            Self::Object(object) => object.can_rewrite_header(),
        }
    }

    fn header_reserved(&mut self, size: usize) {
        match self {
            Self::File(file) => file.header_reserved(size),
            Self::Object(object) => object.header_reserved(size),
        }
    }

    fn rewrite_header(&mut self, header: &[u8]) -> io::Result<()> {
        match self {
            Self::File(file) => Destination::rewrite_header(file, header),
            Self::Object(object) => object.rewrite_header(header),
        }
    }
}
