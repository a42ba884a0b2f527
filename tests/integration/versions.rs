//! Versions and rollback (`--keep-versions`, `atio versions|rollback|tag|prune`): what a commit
//! replaces is kept by hard link, listed, restored byte for byte with its marker, tagged, pruned.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use atio::Options;
use atio::versions::{self, Selector};

use crate::support::{assert_no_leftovers, marker, run_atio, stderr, stdout, xxh3};

/// `atio --keep-versions N put PATH < bytes`, which must succeed.
fn put(dir: &Path, path: &str, keep: u32, bytes: &[u8]) {
    let keep = keep.to_string();
    let output = run_atio(dir, &["put", "--keep-versions", &keep, path], bytes);
    assert!(output.status.success(), "{}", stderr(&output));
}

fn payload(index: usize) -> Vec<u8> {
    format!("payload {index}\n").repeat(index + 1).into_bytes()
}

/// (number, bytes of its data) of every stored version, oldest first.
fn stored(path: &Path) -> Vec<(u64, Vec<u8>)> {
    versions::list(path, &Options::default())
        .unwrap()
        .versions
        .into_iter()
        .map(|version| (version.number, std::fs::read(&version.data).unwrap()))
        .collect()
}

fn keeping(keep: u32) -> Options {
    Options {
        keep_versions: Some(keep),
        ..Options::default()
    }
}

#[test]
fn versions_accumulate_and_the_oldest_beyond_n_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    for index in 1..=5 {
        put(dir.path(), "data.bin", 3, &payload(index));
    }
    assert_eq!(std::fs::read(&path).unwrap(), payload(5));
    // p1 became version 1 when p2 replaced it, …, p4 version 4; the newest 3 stay.
    assert_eq!(
        stored(&path),
        vec![(2, payload(2)), (3, payload(3)), (4, payload(4))]
    );
    let listed = versions::verify(&path, &Options::default()).unwrap();
    let current = listed.current.unwrap();
    assert_eq!(current.hash.as_deref(), Some(xxh3(&payload(5)).as_str()));
    for version in &listed.versions {
        assert_eq!(version.record.hash, xxh3(&payload(version.number as usize)));
        assert_eq!(
            version.record.bytes,
            payload(version.number as usize).len() as u64
        );
        assert!(version.record.run_id.is_some(), "the kept marker's run id");
        assert!(!version.current);
    }
    // The store is hidden and nothing half-made is left.
    assert!(
        dir.path()
            .join(".data.bin.atio-versions/000004/data")
            .is_file()
    );
    assert_no_leftovers(dir.path());

    let output = run_atio(dir.path(), &["--json", "versions", "data.bin"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let numbers: Vec<u64> = json["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|version| version["number"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 3, 4]);
    assert_eq!(json["current"]["bytes"], payload(5).len());
    let text = run_atio(dir.path(), &["versions", "data.bin"], b"");
    assert!(text.status.success());
    let text = stdout(&text);
    assert!(
        text.contains("current") && text.contains("3 stored version(s)"),
        "{text}"
    );

    // `prune` by hand.
    let output = run_atio(dir.path(), &["prune", "data.bin", "--keep", "1"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("[2, 3]"), "{}", stdout(&output));
    assert_eq!(stored(&path), vec![(4, payload(4))]);
    // A write without --keep-versions keeps nothing and prunes nothing.
    let output = run_atio(dir.path(), &["put", "data.bin"], b"plain");
    assert!(output.status.success());
    assert_eq!(stored(&path), vec![(4, payload(4))]);
}

#[test]
fn rollback_restores_the_exact_bytes_and_marker_and_can_itself_be_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.csv"), "id,name\n1,a\n2,b\n3,c\n").unwrap();
    std::fs::write(dir.path().join("bad.csv"), "id,name\n9,garbage\n").unwrap();
    let path = dir.path().join("out.parquet");
    let write = |input: &str| {
        let output = run_atio(
            dir.path(),
            &["write", "--keep-versions", "5", input, "out.parquet"],
            b"",
        );
        assert!(output.status.success(), "{}", stderr(&output));
    };
    write("good.csv");
    let good_bytes = std::fs::read(&path).unwrap();
    let good_marker = marker(&path);
    write("bad.csv");
    let bad_bytes = std::fs::read(&path).unwrap();
    let bad_marker = marker(&path);
    assert_ne!(good_bytes, bad_bytes);

    let output = run_atio(dir.path(), &["rollback", "out.parquet"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("restored version 1"), "{text}");
    assert!(
        text.contains("previous content kept as version 2"),
        "{text}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), good_bytes);
    assert_eq!(
        marker(&path),
        good_marker,
        "the version's own marker is back"
    );
    assert_eq!(marker(&path)["rows"], 3);
    let verify = run_atio(dir.path(), &["verify", "out.parquet"], b"");
    assert!(verify.status.success(), "{}", stderr(&verify));

    // Undo the rollback: the newest version is the bad content it replaced.
    let output = run_atio(dir.path(), &["--json", "rollback", "out.parquet"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["restored"], 2);
    assert_eq!(report["report"]["kept_version"], 3);
    assert_eq!(std::fs::read(&path).unwrap(), bad_bytes);
    assert_eq!(marker(&path), bad_marker);
    atio::verify(&path).unwrap();

    // And back to a number; then again: nothing to do.
    let output = run_atio(dir.path(), &["rollback", "out.parquet", "--to", "1"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(&path).unwrap(), good_bytes);
    let again = run_atio(dir.path(), &["rollback", "out.parquet", "--to", "1"], b"");
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("already the current content"));
    let listed = versions::verify(&path, &Options::default()).unwrap();
    let current: Vec<u64> = listed
        .versions
        .iter()
        .filter(|version| version.current)
        .map(|version| version.number)
        .collect();
    assert_eq!(current, [1, 3], "versions 1 and 3 hold the good content");
    assert_no_leftovers(dir.path());
}

#[test]
fn the_store_holds_hard_links_to_the_replaced_inodes_and_copies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let big = vec![7u8; 4 << 20];
    put(dir.path(), "big.bin", 3, &big);
    let original = std::fs::metadata(&path).unwrap();
    put(dir.path(), "big.bin", 3, b"small");
    let listed = versions::list(&path, &Options::default()).unwrap();
    let kept = std::fs::metadata(&listed.versions[0].data).unwrap();
    assert_eq!(
        (kept.dev(), kept.ino()),
        (original.dev(), original.ino()),
        "version 1 is the very inode the target had"
    );
    assert_eq!(kept.nlink(), 1, "its only name is now the store's");
    // Rolling back links that inode back: still no copy.
    let restored = versions::rollback(&path, &Selector::Newest, &Options::default()).unwrap();
    assert_eq!(restored.restored, 1);
    let now = std::fs::metadata(&path).unwrap();
    assert_eq!((now.dev(), now.ino()), (original.dev(), original.ino()));
    assert_eq!(now.nlink(), 2, "the target and version 1 share it");
    assert_eq!(std::fs::read(&path).unwrap(), big);
    atio::verify(&path).unwrap();
}

#[test]
fn tagged_versions_survive_pruning_and_tags_are_unique() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.json");
    put(dir.path(), "t.json", 1, &payload(1));
    put(dir.path(), "t.json", 1, &payload(2));
    let output = run_atio(
        dir.path(),
        &["tag", "t.json", "good", "--version", "1"],
        b"",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    for index in 3..=5 {
        put(dir.path(), "t.json", 1, &payload(index));
    }
    // keep 1: only the newest untagged (p4, version 4) and the tagged one stay.
    assert_eq!(stored(&path), vec![(1, payload(1)), (4, payload(4))]);
    let pruned = versions::prune(&path, 0, &Options::default()).unwrap();
    assert_eq!(pruned, [4]);
    assert_eq!(stored(&path), vec![(1, payload(1))]);

    let output = run_atio(dir.path(), &["rollback", "t.json", "--tag", "good"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(&path).unwrap(), payload(1));

    // Tagging the current content (p1 again, as version 1) and then a new tag on it.
    let report = versions::tag(&path, "release-1.0", None, false, &Options::default()).unwrap();
    assert_eq!(
        report.version, 1,
        "the current content already is version 1"
    );
    // A tag names one version: moving it needs force.
    atio::write_bytes(&path, b"other", &keeping(5)).unwrap();
    let output = run_atio(dir.path(), &["tag", "t.json", "good"], b"");
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("tag `good` is on version 1"),
        "{}",
        stderr(&output)
    );
    let output = run_atio(dir.path(), &["tag", "t.json", "good", "--force"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("moved from version 1"),
        "{}",
        stdout(&output)
    );
    let listed = versions::list(&path, &Options::default()).unwrap();
    let newest = listed.versions.last().unwrap();
    assert!(
        newest.current,
        "tagging the current content kept it as a version"
    );
    assert_eq!(newest.record.tags, ["good"]);
    assert_eq!(listed.versions[0].record.tags, ["release-1.0"]);
    let output = run_atio(dir.path(), &["tag", "t.json", "good", "--delete"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        versions::list(&path, &Options::default())
            .unwrap()
            .versions
            .last()
            .unwrap()
            .record
            .tags
            .is_empty()
    );
    let output = run_atio(dir.path(), &["tag", "t.json", "12"], b"");
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
    versions::verify(&path, &Options::default()).unwrap();
    assert_no_leftovers(dir.path());
}

#[test]
fn a_failed_write_keeps_the_original_and_adds_no_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("numbers.csv"), "x\n1\n2\n").unwrap();
    std::fs::write(dir.path().join("text.csv"), "x,name\n1,a\n").unwrap();
    let path = dir.path().join("a.npy");
    let write = |input: &str| {
        run_atio(
            dir.path(),
            &["write", "--keep-versions", "3", input, "a.npy"],
            b"",
        )
    };
    assert!(write("numbers.csv").status.success());
    assert!(write("numbers.csv").status.success());
    let before = std::fs::read(&path).unwrap();
    let listed_before = stored(&path);
    assert_eq!(listed_before.len(), 1);
    // npy refuses a string column: the encoder fails, nothing is committed or kept.
    let failed = write("text.csv");
    assert_eq!(failed.status.code(), Some(9), "{}", stderr(&failed));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(stored(&path), listed_before);
    // A failed precondition does not keep one either.
    let output = run_atio(
        dir.path(),
        &[
            "put",
            "--keep-versions",
            "3",
            "--if-match",
            "xxh3-128:00",
            "a.npy",
        ],
        b"x",
    );
    assert_eq!(output.status.code(), Some(8), "{}", stderr(&output));
    assert_eq!(stored(&path), listed_before);
    atio::verify(&path).unwrap();
    assert_no_leftovers(dir.path());
}

#[test]
fn clear_errors_for_missing_stores_versions_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plain.txt"), b"no versions").unwrap();
    let output = run_atio(dir.path(), &["rollback", "plain.txt"], b"");
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("rollback") && err.contains("plain.txt"),
        "{err}"
    );
    assert!(
        err.contains("no versions are kept") && err.contains("--keep-versions"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("plain.txt")).unwrap(),
        b"no versions"
    );

    put(dir.path(), "v.txt", 3, b"one");
    put(dir.path(), "v.txt", 3, b"two");
    let output = run_atio(dir.path(), &["rollback", "v.txt", "--to", "99"], b"");
    assert_eq!(output.status.code(), Some(7));
    assert!(
        stderr(&output).contains("no version 99 (stored versions: 1)"),
        "{}",
        stderr(&output)
    );
    let output = run_atio(dir.path(), &["rollback", "v.txt", "--tag", "nope"], b"");
    assert_eq!(output.status.code(), Some(7));
    assert!(
        stderr(&output).contains("no version is tagged `nope`"),
        "{}",
        stderr(&output)
    );
    let output = run_atio(dir.path(), &["versions", "missing.txt"], b"");
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    let output = run_atio(dir.path(), &["prune", "plain.txt", "--keep", "1"], b"");
    assert_eq!(output.status.code(), Some(7), "{}", stderr(&output));
    assert_eq!(std::fs::read(dir.path().join("v.txt")).unwrap(), b"two");

    let output = run_atio(dir.path(), &["put", "--keep-versions", "0", "x"], b"");
    assert_eq!(output.status.code(), Some(2), "N is at least 1");
}

#[test]
fn clean_removes_half_made_store_entries_and_nothing_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.bin");
    put(dir.path(), "c.bin", 5, b"one");
    put(dir.path(), "c.bin", 5, b"two");
    put(dir.path(), "c.bin", 5, b"three");
    let store = dir.path().join(".c.bin.atio-versions");
    // What a writer killed while keeping a version leaves: an entry under a staging name.
    let half = store.join(".000003.atio-stg-4000000-00000000-00000000");
    std::fs::create_dir(&half).unwrap();
    std::fs::hard_link(&path, half.join("data")).unwrap();
    // … and one killed while rewriting a record (tagging).
    let half_record = store.join("000001/.record.json.atio-4000000-00000000-00000000.tmp");
    std::fs::write(&half_record, b"{").unwrap();
    assert_eq!(crate::support::leftovers(dir.path()).len(), 2);
    // Not listed: only complete entries are versions.
    assert_eq!(stored(&path).len(), 2);
    let report = atio::clean(
        dir.path(),
        &atio::CleanOptions {
            older_than: Duration::ZERO,
            ..atio::CleanOptions::default()
        },
    )
    .unwrap();
    let removed: BTreeSet<_> = report.removed.into_iter().collect();
    assert_eq!(removed, BTreeSet::from([half.clone(), half_record.clone()]));
    assert_no_leftovers(dir.path());
    assert_eq!(
        stored(&path),
        vec![(1, b"one".to_vec()), (2, b"two".to_vec())]
    );
    versions::verify(&path, &Options::default()).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"three");
}

#[test]
fn concurrent_writers_and_rollbacks_serialise() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.bin");
    let options = Options {
        keep_versions: Some(1000),
        durability: atio::Durability::None,
        ..Options::default()
    };
    atio::write_bytes(&path, b"initial", &options).unwrap();
    atio::write_bytes(&path, b"start", &options).unwrap();
    let writes = 30;
    let rollbacks = 15;
    let (commits, restores) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            for index in 0..writes {
                let report = atio::write_bytes(&path, &payload(index), &options).unwrap();
                assert!(
                    report.kept_version.is_some(),
                    "every write replaced something"
                );
            }
            writes
        });
        let roller = scope.spawn(|| {
            let mut changed = 0;
            for _ in 0..rollbacks {
                let done = versions::rollback(&path, &Selector::Newest, &options).unwrap();
                if let Some(report) = done.report {
                    assert!(report.kept_version.is_some());
                    changed += 1;
                }
            }
            changed
        });
        (writer.join().unwrap(), roller.join().unwrap())
    });
    atio::verify(&path).unwrap();
    let listed = versions::verify(&path, &Options::default()).unwrap();
    // One version per commit that replaced content, numbered without gaps or repeats.
    let numbers: Vec<u64> = listed
        .versions
        .iter()
        .map(|version| version.number)
        .collect();
    assert_eq!(
        numbers,
        (1..=(1 + commits + restores) as u64).collect::<Vec<_>>()
    );
    let known: BTreeSet<String> = (0..writes)
        .map(|index| xxh3(&payload(index)))
        .chain([xxh3(b"initial"), xxh3(b"start")])
        .collect();
    for version in &listed.versions {
        assert!(known.contains(&version.record.hash), "{:?}", version.record);
    }
    assert_no_leftovers(dir.path());
}

/// Every file under `dir` (relative path → bytes), `_SUCCESS` included.
fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, found: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &entry.path(), found);
            } else {
                let path = entry.path();
                let relative = path.strip_prefix(root).unwrap().to_string_lossy();
                found.insert(relative.into_owned(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut found = std::collections::BTreeMap::new();
    walk(dir, dir, &mut found);
    found
}

#[test]
fn a_partition_rerun_then_rollback_restores_exactly_the_old_set_of_files() {
    let dir = tempfile::tempdir().unwrap();
    let good: String = (0..3)
        .flat_map(|row| {
            [
                format!("{{\"dt\":\"1\",\"x\":{row}}}\n"),
                format!("{{\"dt\":\"2\",\"x\":{row}}}\n"),
            ]
        })
        .collect();
    std::fs::write(dir.path().join("good.jsonl"), good).unwrap();
    std::fs::write(dir.path().join("bad.jsonl"), "{\"dt\":\"1\",\"x\":99}\n").unwrap();
    let write = |input: &str| {
        let output = run_atio(
            dir.path(),
            &[
                "write",
                "--keep-versions",
                "3",
                input,
                "table/",
                "--partition-by",
                "dt",
                "--format",
                "csv",
                "--rows-per-file",
                "1",
            ],
            b"",
        );
        assert!(output.status.success(), "{}", stderr(&output));
    };
    let day1 = dir.path().join("table/dt=1");
    let day2 = dir.path().join("table/dt=2");
    write("good.jsonl");
    let (good1, good2) = (tree(&day1), tree(&day2));
    assert_eq!(good1.len(), 4, "3 parts and _SUCCESS: {:?}", good1.keys());
    write("bad.jsonl");
    let bad1 = tree(&day1);
    assert_eq!(bad1.len(), 2, "{:?}", bad1.keys());
    assert_eq!(tree(&day2), good2);
    let listed = versions::verify(&day1, &Options::default()).unwrap();
    assert_eq!(listed.versions.len(), 1);
    assert!(!listed.versions[0].current);
    assert_eq!(listed.versions[0].record.rows, Some(3));
    assert!(
        listed.versions[0].data.join("_SUCCESS").is_file(),
        "the kept tree itself"
    );
    assert!(
        versions::list(&day2, &Options::default())
            .unwrap()
            .versions
            .is_empty(),
        "day 2 was not re-run"
    );

    let output = run_atio(dir.path(), &["rollback", "table/dt=1"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("previous content kept as version 2"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        tree(&day1),
        good1,
        "exactly the old files, the old _SUCCESS included"
    );
    assert_eq!(tree(&day2), good2);
    let verify = run_atio(dir.path(), &["verify", "table/dt=1", "table/dt=2"], b"");
    assert!(verify.status.success(), "{}", stderr(&verify));
    let output = run_atio(dir.path(), &["versions", "--verify", "table/dt=1"], b"");
    assert!(output.status.success(), "{}", stderr(&output));

    // Roll the rollback back, by number; tag and prune work on directories too.
    let output = run_atio(dir.path(), &["rollback", "table/dt=1", "--to", "2"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(tree(&day1), bad1);
    let output = run_atio(
        dir.path(),
        &["tag", "table/dt=1", "good", "--version", "1"],
        b"",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run_atio(dir.path(), &["tag", "table/dt=1", "now"], b"");
    assert_eq!(output.status.code(), Some(10), "{}", stderr(&output));
    assert_eq!(
        versions::prune(&day1, 0, &Options::default()).unwrap(),
        [2, 3]
    );
    let output = run_atio(
        dir.path(),
        &["rollback", "table/dt=1", "--tag", "good"],
        b"",
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(tree(&day1), good1);
    atio::verify_dir(&day1).unwrap();
    versions::verify(&day1, &Options::default()).unwrap();
    assert_no_leftovers(dir.path());
}

#[test]
fn a_directory_target_keeps_its_replaced_tree() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "x\n1\n2\n").unwrap();
    std::fs::write(dir.path().join("b.csv"), "x\n3\n").unwrap();
    let flat = dir.path().join("flat");
    let options = atio::DatasetOptions {
        write: atio::WriteOptions {
            commit: keeping(2),
            encoder: Some(atio::formats::EncoderChoice::Format("csv".into())),
            ..atio::WriteOptions::default()
        },
        ..atio::DatasetOptions::default()
    };
    let read = |name: &str| atio::input::open(&dir.path().join(name), None).unwrap();
    atio::write_dataset(&flat, read("a.csv"), &options).unwrap();
    let report = atio::write_dataset(&flat, read("b.csv"), &options).unwrap();
    assert_eq!(report.partitions[0].kept_version, Some(1));
    let report = atio::write_dataset(&flat, read("a.csv"), &options).unwrap();
    assert_eq!(report.partitions[0].kept_version, Some(2));
    let third = tree(&flat);
    let report = atio::write_dataset(&flat, read("b.csv"), &options).unwrap();
    assert_eq!(report.partitions[0].kept_version, Some(3));
    assert_eq!(report.partitions[0].pruned_versions, [1]);
    // Version 2 holds b, which is current: nothing to do. Version 3 holds a.
    let done = versions::rollback(&flat, &Selector::Number(2), &Options::default()).unwrap();
    assert!(done.dir_report.is_none() && done.report.is_none());
    let done = versions::rollback(&flat, &Selector::Number(3), &Options::default()).unwrap();
    assert_eq!(done.dir_report.unwrap().kept_version, Some(4));
    assert_eq!(tree(&flat), third, "the third run's files and manifest");
    atio::verify_dir(&flat).unwrap();
    let listed = versions::verify(&flat, &Options::default()).unwrap();
    let numbers: Vec<u64> = listed
        .versions
        .iter()
        .map(|version| version.number)
        .collect();
    assert_eq!(numbers, [2, 3, 4]);
    let current: Vec<bool> = listed
        .versions
        .iter()
        .map(|version| version.current)
        .collect();
    assert_eq!(current, [false, true, false]);
    assert_no_leftovers(dir.path());
}

#[test]
fn update_keeps_versions_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counter.txt");
    let increment = [
        "update",
        "--keep-versions",
        "2",
        "counter.txt",
        "--",
        "sh",
        "-c",
        "read -r n; echo $((${n:-0}+1))",
    ];
    for _ in 0..3 {
        let output = run_atio(dir.path(), &increment, b"");
        assert!(output.status.success(), "{}", stderr(&output));
    }
    assert_eq!(std::fs::read(&path).unwrap(), b"3\n");
    assert_eq!(
        stored(&path),
        vec![(1, b"1\n".to_vec()), (2, b"2\n".to_vec())]
    );
    let output = run_atio(dir.path(), &["rollback", "counter.txt", "--to", "1"], b"");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(std::fs::read(&path).unwrap(), b"1\n");
    atio::verify(&path).unwrap();
}

#[test]
fn a_corrupted_version_is_reported_and_never_rolled_back_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.txt");
    put(dir.path(), "c.txt", 3, b"first content");
    put(dir.path(), "c.txt", 3, b"second content");
    put(dir.path(), "c.txt", 3, b"third content");
    let store = dir.path().join(".c.txt.atio-versions");
    // Same size, other bytes (edited in place by something that is not atio) …
    std::fs::write(store.join("000001/data"), b"FIRST content").unwrap();
    // … and a truncated one.
    std::fs::write(store.join("000002/data"), b"second").unwrap();
    let output = run_atio(dir.path(), &["versions", "--verify", "c.txt"], b"");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("version 1 does not match its record"),
        "{}",
        stderr(&output)
    );
    for (number, why) in [("1", "content hash"), ("2", "bytes, recorded 14")] {
        let output = run_atio(dir.path(), &["rollback", "c.txt", "--to", number], b"");
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let err = stderr(&output);
        assert!(
            err.contains(&format!(
                "stored version {number} does not match its record"
            )) && err.contains(why)
                && err.contains("nothing was changed"),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"third content");
        atio::verify(&path).unwrap();
        assert_eq!(
            versions::list(&path, &Options::default())
                .unwrap()
                .versions
                .len(),
            2
        );
        assert_no_leftovers(dir.path());
    }
}
