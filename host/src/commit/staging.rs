//! Staging names: hidden from globbing readers, and saying who owns them.
//!
//! `.{name}.atio-{pid}-{host}-{rand}.tmp`: the leading dot hides it from `*` globs and most
//! readers' listings; `pid` and `host` (a 32-bit tag of the host name) let `clean` tell an
//! orphan (owner gone) from a live write; `rand` makes concurrent writers' names distinct.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::OnceLock;

/// Longest piece of the target's name kept in a staging name, so the whole stays under NAME_MAX.
const MAX_EMBEDDED_NAME: usize = 200;
const TAG: &[u8] = b".atio-";
const SUFFIX: &[u8] = b".tmp";
const DIR_TAG: &[u8] = b".atio-stg-";

/// Who owns a staging file, parsed back from its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Owner {
    pub pid: u32,
    pub host: u32,
}

/// A 32-bit tag of this machine's host name.
pub(crate) fn host_tag() -> u32 {
    static TAG: OnceLock<u32> = OnceLock::new();
    *TAG.get_or_init(|| xxhash_rust::xxh3::xxh3_64(crate::manifest::host_name().as_bytes()) as u32)
}

/// A fresh staging name for a file called `target_name`.
pub(crate) fn new_name(target_name: &OsStr) -> OsString {
    owned_name(target_name, TAG, SUFFIX)
}

/// A fresh staging directory name for a directory target called `target_name`:
/// `.{name}.atio-stg-{pid}-{host}-{rand}`.
pub(crate) fn new_dir_name(target_name: &OsStr) -> OsString {
    owned_name(target_name, DIR_TAG, b"")
}

/// `.{name}{tag}{pid}-{host}-{rand}{suffix}`, with the name cut to keep the whole under NAME_MAX.
fn owned_name(target_name: &OsStr, tag: &[u8], suffix: &[u8]) -> OsString {
    let name = target_name.as_bytes();
    let embedded = &name[..name.len().min(MAX_EMBEDDED_NAME)];
    let owner = format!(
        "{}-{:08x}-{:08x}",
        std::process::id(),
        host_tag(),
        fastrand::u32(..)
    );
    let mut staging =
        Vec::with_capacity(1 + embedded.len() + tag.len() + owner.len() + suffix.len());
    staging.push(b'.');
    staging.extend_from_slice(embedded);
    staging.extend_from_slice(tag);
    staging.extend_from_slice(owner.as_bytes());
    staging.extend_from_slice(suffix);
    OsString::from_vec(staging)
}

/// The owner of a staging file, or `None` when `name` is not a staging name (never touch those).
pub(crate) fn parse(name: &OsStr) -> Option<Owner> {
    let body = name.as_bytes().strip_prefix(b".")?.strip_suffix(SUFFIX)?;
    parse_owner(body, TAG)
}

/// The owner of a staging directory, or `None` when `name` is not one.
pub(crate) fn parse_dir(name: &OsStr) -> Option<Owner> {
    parse_owner(name.as_bytes().strip_prefix(b".")?, DIR_TAG)
}

/// Parses `{name}{tag}{pid}-{host}-{rand}`.
fn parse_owner(body: &[u8], tag: &[u8]) -> Option<Owner> {
    let tag_at = body.windows(tag.len()).rposition(|window| window == tag)?;
    if tag_at == 0 {
        return None;
    }
    let owner = std::str::from_utf8(&body[tag_at + tag.len()..]).ok()?;
    let mut fields = owner.split('-');
    let pid = fields.next()?;
    let host = fields.next()?;
    let random = fields.next()?;
    let is_hex8 = |field: &str| field.len() == 8 && field.bytes().all(|b| b.is_ascii_hexdigit());
    if fields.next().is_some() || !is_hex8(host) || !is_hex8(random) {
        return None;
    }
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Owner {
        pid: pid.parse().ok()?,
        host: u32::from_str_radix(host, 16).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_names_parse_back_to_this_process() {
        let name = new_name(OsStr::new("data.parquet"));
        let text = name.to_str().unwrap();
        assert!(text.starts_with(".data.parquet.atio-"), "{text}");
        assert!(text.ends_with(".tmp"), "{text}");
        let owner = parse(&name).unwrap();
        assert_eq!(
            owner,
            Owner {
                pid: std::process::id(),
                host: host_tag()
            }
        );
        assert_ne!(new_name(OsStr::new("data.parquet")), name);
    }

    #[test]
    fn long_names_stay_under_name_max() {
        let long = "x".repeat(255);
        let name = new_name(OsStr::new(&long));
        assert!(name.len() <= 255, "{}", name.len());
        assert!(parse(&name).is_some());
    }

    #[test]
    fn ordinary_files_are_never_taken_for_staging_files() {
        for name in [
            "data.parquet",
            ".hidden",
            ".data.tmp",
            ".data.atio-1-2-3.tmp",
            ".data.atio-12-0000zzzz-00000000.tmp",
            ".data.atio-12-00000000-00000000.tmp.bak",
            ".atio-12-00000000-00000000.tmp",
            "data.atio-12-00000000-00000000.tmp",
        ] {
            assert_eq!(parse(OsStr::new(name)), None, "{name}");
        }
        assert!(parse(OsStr::new(".d.atio-12-0000abcd-00000000.tmp")).is_some());
    }

    #[test]
    fn staging_directory_names_parse_back() {
        let name = new_dir_name(OsStr::new("dt=2025-01-15"));
        assert!(
            name.to_str()
                .unwrap()
                .starts_with(".dt=2025-01-15.atio-stg-"),
            "{name:?}"
        );
        assert_eq!(
            parse_dir(&name),
            Some(Owner {
                pid: std::process::id(),
                host: host_tag()
            })
        );
        assert_eq!(parse(&name), None);
        assert_eq!(parse_dir(OsStr::new(".dt=1.atio-stg-x")), None);
    }
}
