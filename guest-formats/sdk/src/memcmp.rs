//! A word-at-a-time `memcmp`/`bcmp` for wasm32, replacing wasi-libc's byte loop.
//!
//! Every byte-slice comparison in Rust (`==` and `Ord` on `[u8]`/`str`) ends in `memcmp` or
//! `bcmp`. wasi-libc implements them one byte per iteration, which under wasmtime costs ~10 % of
//! a Parquet encode (dictionary interning and byte-array statistics compare every value). Linking
//! these definitions first makes every component built with the SDK use them instead.

/// Index of the first byte at which `a` and `b` differ within `n` bytes, if any.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
#[allow(unsafe_code)]
unsafe fn first_difference(a: *const u8, b: *const u8, n: usize) -> Option<usize> {
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: i + 8 <= n, and both pointers are valid for n bytes.
        let (x, y) = unsafe {
            (
                a.add(i).cast::<u64>().read_unaligned(),
                b.add(i).cast::<u64>().read_unaligned(),
            )
        };
        if x != y {
            // Little-endian: the lowest differing bit is in the first differing byte.
            return Some(i + ((x ^ y).trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while i < n {
        // SAFETY: i < n.
        if unsafe { a.add(i).read() != b.add(i).read() } {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// C `memcmp`: the sign of the first differing byte pair (as unsigned), or 0.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: forwarded from the caller.
    match unsafe { first_difference(a, b, n) } {
        // SAFETY: i < n.
        Some(i) => unsafe { i32::from(a.add(i).read()) - i32::from(b.add(i).read()) },
        None => 0,
    }
}

/// C `bcmp`: 0 if the `n` bytes are equal, non-zero otherwise.
///
/// # Safety
/// `a` and `b` must be valid for reads of `n` bytes.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: forwarded from the caller.
    i32::from(unsafe { first_difference(a, b, n) }.is_some())
}
