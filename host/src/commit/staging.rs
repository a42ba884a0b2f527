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
/// What the journal fallback appends to a staging directory's name to move the old tree aside.
const BACKUP_SUFFIX: &[u8] = b".old";

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

/// The name the journal fallback moves a target's old tree to: `{staging}.old`.
pub(crate) fn backup_name(staging_dir: &OsStr) -> OsString {
    let mut name = staging_dir.to_os_string();
    name.push(OsStr::from_bytes(BACKUP_SUFFIX));
    name
}

/// The staging directory a backup name (`{staging}.old`) was made from, when `name` is one.
pub(crate) fn backup_of(name: &OsStr) -> Option<&OsStr> {
    let staging = OsStr::from_bytes(name.as_bytes().strip_suffix(BACKUP_SUFFIX)?);
    parse_dir(staging).map(|_| staging)
}

/// The target a staging directory (or its backup) was made for, when its name carries the
/// whole target name (names longer than the embedded maximum were cut and cannot be told).
pub(crate) fn dir_target(name: &OsStr) -> Option<&OsStr> {
    let staging = backup_of(name).unwrap_or(name);
    parse_dir(staging)?;
    let body = staging.as_bytes().strip_prefix(b".")?;
    let tag_at = body.windows(DIR_TAG.len()).rposition(|w| w == DIR_TAG)?;
    (tag_at < MAX_EMBEDDED_NAME).then(|| OsStr::from_bytes(&body[..tag_at]))
}

/// Whether `name` is a staging directory (or its backup) made for the target `target_name`.
pub(crate) fn is_dir_for(name: &OsStr, target_name: &OsStr) -> bool {
    let embedded = &target_name.as_bytes()[..target_name.len().min(MAX_EMBEDDED_NAME)];
    let staging = backup_of(name).unwrap_or(name);
    parse_dir(staging).is_some()
        && staging
            .as_bytes()
            .strip_prefix(b".")
            .and_then(|body| body.strip_prefix(embedded))
            .is_some_and(|rest| {
                rest.strip_prefix(DIR_TAG)
                    .is_some_and(|owner| !owner.windows(DIR_TAG.len()).any(|w| w == DIR_TAG))
            })
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

    #[test]
    fn backups_name_their_staging_directory_and_target() {
        let staging = new_dir_name(OsStr::new("dt=1"));
        let backup = backup_name(&staging);
        assert_eq!(backup_of(&backup), Some(staging.as_os_str()));
        assert_eq!(backup_of(&staging), None);
        assert_eq!(
            parse_dir(&backup),
            None,
            "a backup is not a staging directory"
        );
        for name in [&staging, &backup] {
            assert_eq!(dir_target(name), Some(OsStr::new("dt=1")));
            assert!(is_dir_for(name, OsStr::new("dt=1")));
            assert!(!is_dir_for(name, OsStr::new("dt=10")));
            assert!(!is_dir_for(name, OsStr::new("dt")));
        }
        assert_eq!(backup_of(OsStr::new(".dt=1.old")), None);
        assert_eq!(dir_target(OsStr::new("dt=1")), None);
        // A cut name: the staging name still says who owns it, but not the whole target name.
        let long = "x".repeat(230);
        let cut = new_dir_name(OsStr::new(&long));
        assert!(parse_dir(&cut).is_some());
        assert_eq!(dir_target(&cut), None);
        assert!(is_dir_for(&cut, OsStr::new(&long)));
    }
}
