//! The durability order, checked on the real system calls: `strace -f` records what `atio` asks
//! the kernel for, and each test asserts the order the commit protocol promises (README "What a
//! commit guarantees", ARCHITECTURE "Order of a file commit"): the data is fsynced before it is
//! renamed into place, the directory is fsynced after the rename and before atio reports
//! success, and the marker is staged, fsynced and renamed only after the data.
//!
//! strace is a Debian package that `.ci/reliability.sh` installs. Without it these tests fail under
//! CI (`CI` set) and print a loud SKIPPED line elsewhere.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::support::{stderr, xxh3};

/// System calls the order checks look at (everything else stays out of the log).
const TRACED: &str = "trace=openat,write,fsync,fdatasync,rename,renameat,renameat2,unlinkat,mkdirat,linkat,exit_group";

/// One system call from the strace log, with the log lines where it started and returned.
#[derive(Debug, Clone)]
struct Call {
    name: String,
    /// The argument text, as strace printed it (`-y`: file descriptors carry their path).
    args: String,
    /// The return value text (`0`, `6</dir/file>`, `-1 ENOENT (…)`, `?`).
    result: String,
    /// Line index of the call (its entry).
    start: usize,
    /// Line index of its return (the same line unless another thread interleaved).
    end: usize,
}

impl Call {
    /// The path of the first argument's file descriptor (`6</tmp/x/.f.tmp>` → `/tmp/x/.f.tmp`).
    fn fd_path(&self) -> Option<&str> {
        let first = self.args.split(", ").next()?;
        let open = first.find('<')?;
        first[open + 1..].strip_suffix('>')
    }

    /// The quoted string arguments (file names), unescaped enough for atio's ASCII names.
    fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        let mut chars = self.args.chars();
        while let Some(c) = chars.next() {
            if c != '"' {
                continue;
            }
            let mut name = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => name.extend(chars.next()),
                    '"' => break,
                    c => name.push(c),
                }
            }
            names.push(name);
        }
        names
    }

    fn succeeded(&self) -> bool {
        !self.result.starts_with('-') && self.result != "?"
    }

    fn is_rename(&self) -> bool {
        matches!(self.name.as_str(), "rename" | "renameat" | "renameat2")
    }

    fn is_fsync(&self) -> bool {
        matches!(self.name.as_str(), "fsync" | "fdatasync")
    }

    /// A write to stdout: how atio reports success.
    fn is_stdout_write(&self) -> bool {
        self.name == "write" && (self.args.starts_with("1<") || self.args.starts_with("1,"))
    }
}

/// Parses `strace -f -y -o` output, joining `<unfinished ...>` calls with their `resumed` ends.
fn parse_log(log: &str) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    // (pid, name) → index in `calls` of a call still waiting for its `resumed` line.
    let mut pending: Vec<((String, String), usize)> = Vec::new();
    for (line_number, line) in log.lines().enumerate() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(resumed) = rest.strip_prefix("<... ") {
            let Some((name, tail)) = resumed.split_once(" resumed>") else {
                continue;
            };
            let key = (pid.to_owned(), name.to_owned());
            let Some(slot) = pending.iter().position(|(waiting, _)| *waiting == key) else {
                continue;
            };
            let (_, index) = pending.swap_remove(slot);
            let call = &mut calls[index];
            let (args, result) = split_result(tail);
            call.args.push_str(args);
            call.result = result.to_owned();
            call.end = line_number;
            continue;
        }
        let Some(open) = rest.find('(') else {
            continue; // `+++ exited`, `--- SIGCHLD`, …
        };
        let name = rest[..open].to_owned();
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let body = &rest[open + 1..];
        if let Some(args) = body.strip_suffix(" <unfinished ...>") {
            pending.push(((pid.to_owned(), name.clone()), calls.len()));
            calls.push(Call {
                name,
                args: args.to_owned(),
                result: String::new(),
                start: line_number,
                end: usize::MAX,
            });
        } else {
            let (args, result) = split_result(body);
            calls.push(Call {
                name,
                args: args.to_owned(),
                result: result.to_owned(),
                start: line_number,
                end: line_number,
            });
        }
    }
    calls
}

/// `args)   = result` → (`args`, `result`): strace pads short calls with spaces before `=`, and
/// the last ` = ` is the real one (written data may contain it).
fn split_result(text: &str) -> (&str, &str) {
    match text.rfind(" = ") {
        Some(at) => {
            let args = text[..at].trim_end();
            (
                args.strip_suffix(')').unwrap_or(args),
                text[at + 3..].trim(),
            )
        }
        None => (text.trim_end().trim_end_matches(')'), "?"),
    }
}

/// Whether strace can be used; when not: a failure under CI (`ATIO_REQUIRE_ALL_TOOLS=1` or
/// `CI`), a loud skip elsewhere.
fn strace_available() -> bool {
    crate::support::tool_available(
        "strace",
        "apt-get install strace; the syscall order was NOT checked",
        || crate::support::probe_command(std::process::Command::new("strace").arg("-V")),
    )
}

/// Runs `atio args` in `dir` under `strace -f`, feeding `stdin`; returns the parsed calls.
fn traced(dir: &Path, args: &[&str], stdin: &[u8]) -> Vec<Call> {
    use std::io::Write;
    let log = dir.join("strace.log");
    let mut child = std::process::Command::new("strace")
        .args(["-f", "-qq", "-y", "-s", "4096", "-e", TRACED, "-o"])
        .arg(&log)
        .arg(env!("CARGO_BIN_EXE_atio"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn strace");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    let calls = parse_log(&text);
    assert!(
        calls.iter().any(|call| call.name == "exit_group"),
        "the strace log has no exit_group; is it complete?\n{text}"
    );
    calls
}

/// A temporary directory by its canonical path (strace prints descriptors' real paths).
fn canonical_tempdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().canonicalize().unwrap();
    (dir, path)
}

/// The first call matching `predicate`, or a failure naming `what`.
#[track_caller]
fn find<'a>(calls: &'a [Call], what: &str, predicate: impl Fn(&Call) -> bool) -> &'a Call {
    calls
        .iter()
        .find(|call| call.succeeded() && predicate(call))
        .unwrap_or_else(|| panic!("no successful {what} in the trace: {calls:#?}"))
}

/// The first fsync of the descriptor whose path is `path`, that starts after line `after`.
#[track_caller]
fn fsync_of<'a>(calls: &'a [Call], path: &Path, after: usize, what: &str) -> &'a Call {
    let path = path.to_str().unwrap();
    find(calls, what, |call| {
        call.is_fsync() && call.fd_path() == Some(path) && call.start > after
    })
}

/// The staging file atio opened for the target `name` (`.name.atio-….tmp`), by its name.
#[track_caller]
fn staging_opened(calls: &[Call], name: &str) -> String {
    let prefix = format!(".{name}.atio-");
    let open = find(calls, &format!("openat of {prefix}…tmp"), |call| {
        call.name == "openat"
            && call.args.contains("O_CREAT")
            && call
                .names()
                .first()
                .is_some_and(|staged| staged.starts_with(&prefix) && staged.ends_with(".tmp"))
    });
    open.names()[0].clone()
}

#[track_caller]
fn rename_of<'a>(calls: &'a [Call], from: &str, to: &str) -> &'a Call {
    find(calls, &format!("rename {from} → {to}"), |call| {
        call.is_rename() && call.names() == [from, to]
    })
}

/// The first success report on stdout and the process exit.
#[track_caller]
fn report_and_exit(calls: &[Call]) -> (&Call, &Call) {
    let report = find(calls, "write to stdout (the success report)", |call| {
        call.is_stdout_write()
    });
    let exit = calls
        .iter()
        .find(|call| call.name == "exit_group")
        .expect("exit_group");
    (report, exit)
}

/// `atio put data.bin` over an existing file with a marker, traced.
fn traced_put(dir: &Path) -> Vec<Call> {
    let first = crate::support::run_atio(dir, &["put", "data.bin"], b"old content");
    assert!(first.status.success(), "{}", stderr(&first));
    traced(dir, &["put", "data.bin"], b"new content")
}

#[test]
fn a_file_write_fsyncs_the_data_before_the_rename_and_the_directory_before_reporting() {
    if !strace_available() {
        return;
    }
    let (_guard, dir) = canonical_tempdir();
    let calls = traced_put(&dir);
    let staging = staging_opened(&calls, "data.bin");
    let staging_path = dir.join(&staging);

    let write = find(&calls, "write of the data", |call| {
        call.name == "write"
            && call.fd_path() == staging_path.to_str()
            && call.args.contains("new content")
    });
    let data_fsync = fsync_of(
        &calls,
        &staging_path,
        write.end,
        "fsync of the staging file",
    );
    let old_marker_removed = find(&calls, "unlink of the old marker", |call| {
        call.name == "unlinkat" && call.names() == ["data.bin._SUCCESS"]
    });
    let rename = rename_of(&calls, &staging, "data.bin");
    let dir_fsync = fsync_of(
        &calls,
        &dir,
        rename.end,
        "fsync of the directory after the rename",
    );
    let (report, exit) = report_and_exit(&calls);

    assert!(
        data_fsync.end < rename.start,
        "the data must be durable before it is renamed into place: {data_fsync:?} vs {rename:?}"
    );
    assert!(
        old_marker_removed.end < rename.start,
        "the old marker must go before the data it describes is replaced"
    );
    // The marker removal itself is made durable before the rename, so a power cut cannot bring
    // back a marker describing the old bytes next to the new ones.
    let removal_fsync = fsync_of(
        &calls,
        &dir,
        old_marker_removed.end,
        "fsync after the marker removal",
    );
    assert!(
        removal_fsync.end < rename.start,
        "the directory is fsynced between the marker removal and the rename"
    );
    assert!(
        dir_fsync.end < report.start && dir_fsync.end < exit.start,
        "the rename must be durable before success is reported: {dir_fsync:?} vs {report:?}"
    );
    assert_eq!(std::fs::read(dir.join("data.bin")).unwrap(), b"new content");
}

#[test]
fn a_marker_is_staged_fsynced_and_renamed_only_after_the_data() {
    if !strace_available() {
        return;
    }
    let (_guard, dir) = canonical_tempdir();
    let calls = traced_put(&dir);
    let staging = staging_opened(&calls, "data.bin");
    let data_rename = rename_of(&calls, &staging, "data.bin");
    let data_dir_fsync = fsync_of(&calls, &dir, data_rename.end, "fsync after the data rename");

    let marker_staging = staging_opened(&calls, "data.bin._SUCCESS");
    let marker_path = dir.join(&marker_staging);
    let marker_open = find(&calls, "open of the staged marker", |call| {
        call.name == "openat" && call.names().first() == Some(&marker_staging)
    });
    let marker_write = find(&calls, "write of the marker", |call| {
        call.name == "write" && call.fd_path() == marker_path.to_str()
    });
    // The staged marker describes the new bytes (strace prints JSON quotes escaped).
    let new_hash = xxh3(b"new content");
    assert!(
        marker_write.args.contains(&new_hash),
        "the marker must describe the new data ({new_hash}): {marker_write:?}"
    );
    let marker_fsync = fsync_of(
        &calls,
        &marker_path,
        marker_write.end,
        "fsync of the marker",
    );
    let marker_rename = rename_of(&calls, &marker_staging, "data.bin._SUCCESS");
    let marker_dir_fsync = fsync_of(&calls, &dir, marker_rename.end, "fsync after the marker");
    let (report, _) = report_and_exit(&calls);

    assert!(
        data_dir_fsync.end < marker_open.start,
        "the marker is staged only once the data rename is durable"
    );
    assert!(marker_fsync.end < marker_rename.start);
    assert!(data_rename.end < marker_rename.start);
    assert!(marker_dir_fsync.end < report.start);
    crate::support::marker(&dir.join("data.bin"))
        .get("hash")
        .filter(|hash| **hash == new_hash)
        .expect("the committed marker records the new hash");
}

#[test]
fn a_partition_swap_fsyncs_every_file_and_the_manifest_before_the_exchange() {
    if !strace_available() {
        return;
    }
    let (_guard, dir) = canonical_tempdir();
    std::fs::write(dir.join("in.csv"), "dt,v\n1,a\n2,b\n1,c\n").unwrap();
    let args = [
        "write",
        "in.csv",
        "part/",
        "--partition-by",
        "dt",
        "--format",
        "csv",
    ];
    let first = crate::support::run_atio(&dir, &args, b"");
    assert!(first.status.success(), "{}", stderr(&first));
    // The second run replaces existing partitions: the RENAME_EXCHANGE path.
    let calls = traced(&dir, &args, b"");
    let parent = dir.join("part");
    let (report, exit) = report_and_exit(&calls);

    for partition in ["dt=1", "dt=2"] {
        let prefix = format!(".{partition}.atio-stg-");
        let staged_dir = find(&calls, &format!("mkdirat {prefix}…"), |call| {
            call.name == "mkdirat" && call.names().first().is_some_and(|n| n.starts_with(&prefix))
        })
        .names()[0]
            .clone();
        let staged_path = parent.join(&staged_dir);
        let exchange = rename_of(&calls, &staged_dir, partition);
        assert!(
            exchange.name == "renameat2" && exchange.args.contains("RENAME_EXCHANGE"),
            "an existing partition is replaced in one atomic exchange: {exchange:?}"
        );

        let part_file = staged_path.join("part-00000.csv");
        let part_write = find(&calls, "write of the part file", |call| {
            call.name == "write" && call.fd_path() == part_file.to_str()
        });
        let part_fsync = fsync_of(&calls, &part_file, part_write.end, "fsync of the part file");
        let manifest_path = staged_path.join("_SUCCESS");
        let manifest_open = find(&calls, "open of the staged _SUCCESS", |call| {
            call.name == "openat"
                && call.fd_path() == staged_path.to_str()
                && call.names() == ["_SUCCESS"]
        });
        let manifest_write = find(&calls, "write of the staged _SUCCESS", |call| {
            call.name == "write" && call.fd_path() == manifest_path.to_str()
        });
        let manifest_fsync = fsync_of(
            &calls,
            &manifest_path,
            manifest_write.end,
            "fsync of _SUCCESS",
        );
        let staged_dir_fsync = fsync_of(
            &calls,
            &staged_path,
            manifest_fsync.end,
            "fsync of the staged dir",
        );
        let parent_fsync = fsync_of(
            &calls,
            &parent,
            exchange.end,
            "fsync of part/ after the swap",
        );

        assert!(
            part_fsync.end < manifest_open.start,
            "{partition}: the manifest is written after every part is durable"
        );
        assert!(
            manifest_fsync.end < exchange.start && staged_dir_fsync.end < exchange.start,
            "{partition}: the staged tree is durable before the exchange"
        );
        assert!(
            parent_fsync.end < report.start && parent_fsync.end < exit.start,
            "{partition}: the exchange is durable before success is reported"
        );
        atio::verify_dir(parent.join(partition)).unwrap();
    }
    crate::support::assert_no_leftovers(&dir);
}

#[test]
fn the_strace_log_parser_joins_interleaved_calls() {
    // Another thread's line between a call and its return must not lose either call.
    let log = "\
10 fsync(6</d/.f.atio-1-0000000a-0000000b.tmp> <unfinished ...>
11 write(1<pipe:[5]>, \"x) = 1\", 6) = 6
11 fsync(5</d>)           = 0
10 <... fsync resumed>) = 0
10 renameat(5</d>, \".f.atio-1-0000000a-0000000b.tmp\", 5</d>, \"f\") = 0
10 +++ exited with 0 +++
";
    let calls = parse_log(log);
    assert_eq!(calls.len(), 4, "{calls:#?}");
    assert_eq!(calls[0].name, "fsync");
    assert_eq!(
        calls[0].fd_path(),
        Some("/d/.f.atio-1-0000000a-0000000b.tmp")
    );
    assert_eq!(
        (calls[0].start, calls[0].end, calls[0].result.as_str()),
        (0, 3, "0")
    );
    assert!(calls[1].is_stdout_write());
    assert_eq!(calls[1].result, "6");
    // strace pads short calls before ` = `.
    assert_eq!(
        (calls[2].fd_path(), calls[2].result.as_str()),
        (Some("/d"), "0")
    );
    assert_eq!(calls[3].names(), [".f.atio-1-0000000a-0000000b.tmp", "f"]);
    assert!(calls[3].is_rename() && calls[0].end < calls[3].start);
}

#[test]
fn a_versioned_write_keeps_the_old_inode_durably_before_replacing_it() {
    if !strace_available() {
        return;
    }
    let (_guard, dir) = canonical_tempdir();
    let first = crate::support::run_atio(&dir, &["put", "data.bin"], b"old content");
    assert!(first.status.success(), "{}", stderr(&first));
    let calls = traced(
        &dir,
        &["put", "--keep-versions", "2", "data.bin"],
        b"new content",
    );
    let staging = staging_opened(&calls, "data.bin");
    let store = dir.join(".data.bin.atio-versions");
    let link = find(
        &calls,
        "hard link of the old inode into the store",
        |call| {
            call.name == "linkat"
                && call.names() == ["data.bin", "data"]
                && call
                    .args
                    .contains(".data.bin.atio-versions/.000001.atio-stg-")
        },
    );
    let record_fsync = find(&calls, "fsync of the version's record", |call| {
        call.is_fsync()
            && call.fd_path().is_some_and(|path| {
                path.contains(".atio-versions/.000001.atio-stg-") && path.ends_with("/record.json")
            })
    });
    let entry_rename = find(&calls, "rename of the entry into place", |call| {
        call.is_rename() && call.names().get(1).is_some_and(|name| name == "000001")
    });
    let store_fsync = fsync_of(&calls, &store, entry_rename.end, "fsync of the store");
    let old_marker_removed = find(&calls, "unlink of the old marker", |call| {
        call.name == "unlinkat" && call.names() == ["data.bin._SUCCESS"]
    });
    let rename = rename_of(&calls, &staging, "data.bin");
    assert!(link.end < record_fsync.start, "{link:?} {record_fsync:?}");
    assert!(record_fsync.end < entry_rename.start);
    assert!(
        store_fsync.end < old_marker_removed.start && store_fsync.end < rename.start,
        "the version is complete and durable before the old content is touched: {store_fsync:?} vs {rename:?}"
    );
    assert_eq!(
        std::fs::read(store.join("000001/data")).unwrap(),
        b"old content"
    );
    assert_eq!(std::fs::read(dir.join("data.bin")).unwrap(), b"new content");
}
