//! Panics of the input readers become errors naming the input.
//!
//! arrow-rs and parquet validate what they read, but some corrupt files still reach an
//! `assert!` or a slice index inside them. A panic there must not crash atio (exit 101, a
//! backtrace instead of a message), so every call into a reader runs under `catch_unwind`; the
//! reader is abandoned afterwards. The panic hook stays quiet for these caught panics only.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Once;

use crate::error::{Error, ErrorKind, Step};

thread_local! {
    /// Whether this thread is inside [`catch_panic`], whose panics are reported as errors.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read`; a panic inside it becomes an invalid-input error on `label`.
pub(super) fn catch_panic<T>(label: &Path, read: impl FnOnce() -> T) -> Result<T, Error> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was_catching = CATCHING.replace(true);
    let result = catch_unwind(AssertUnwindSafe(read));
    CATCHING.set(was_catching);
    result.map_err(|panic| {
        let reason = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        Error::new(
            ErrorKind::InvalidInput,
            Step::Read,
            label,
            format!("the input is corrupt: its reader gave up ({reason})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_invalid_input_error_naming_the_input() {
        let error =
            catch_panic(Path::new("in.arrow"), || -> u8 { panic!("offset beyond") }).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert_eq!(error.path(), Path::new("in.arrow"));
        assert!(error.message().contains("offset beyond"), "{error}");
        assert_eq!(catch_panic(Path::new("x"), || 7).unwrap(), 7);
    }
}
