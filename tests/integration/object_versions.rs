//! Versions of object-store targets: in the process's memory store (always), against moto's S3
//! server (objects read back over plain HTTP, independently of atio), and in azure.rs against
//! Azurite.

use std::io::Write;
use std::process::{Child, Stdio};

use atio::versions::{self, Selector};
use atio::{ErrorKind, ObjectFile, Options};

use crate::objects::{
    assert_ok, atio_s3, bucket, get, http, keys, moto, moto_available, race, s3_command,
};
use crate::support::{stderr, stdout, xxh3};

fn versioned(keep: u32) -> Options {
    Options {
        keep_versions: Some(keep),
        ..Options::default()
    }
}

/// Uploads `bytes` to `url` with `options`; the report.
fn put(url: &str, bytes: &[u8], options: &Options) -> atio::Result<atio::Report> {
    let mut object = ObjectFile::create(url, options)?;
    object.write_all(bytes).unwrap();
    object.commit()
}

/// The hash of the object's bytes, streamed and checked against its `_SUCCESS` by `verify`.
fn content_hash(url: &str) -> String {
    atio::verify(url).unwrap().manifest.hash
}

#[test]
fn object_versions_accumulate_prune_roll_back_and_tag() {
    let url = "memory:///versions/object/a.csv";
    let contents: Vec<Vec<u8>> = (1..=4)
        .map(|run| format!("id\n{run}\n").into_bytes())
        .collect();
    let mut reports = Vec::new();
    for content in &contents {
        reports.push(put(url, content, &versioned(2)).unwrap());
    }
    assert_eq!(
        reports[0].kept_version, None,
        "nothing to keep on the first write"
    );
    assert_eq!(reports[1].kept_version, Some(1));
    assert_eq!(reports[3].kept_version, Some(3));
    assert_eq!(reports[3].pruned_versions, vec![1]);
    let listed = versions::verify(url, &Options::default()).unwrap();
    let numbers: Vec<u64> = listed
        .versions
        .iter()
        .map(|version| version.number)
        .collect();
    assert_eq!(numbers, [2, 3]);
    for (version, content) in listed.versions.iter().zip(&contents[1..3]) {
        assert_eq!(version.record.hash, xxh3(content));
        assert_eq!(version.record.bytes, content.len() as u64);
        assert!(!version.current);
    }
    assert_eq!(listed.current.unwrap().hash, Some(xxh3(&contents[3])));

    // Rollback: the newest version (run 3's content) is current again, with its own marker;
    // run 4's content is kept as a new version.
    let done = versions::rollback(url, &Selector::Newest, &Options::default()).unwrap();
    assert_eq!(done.restored, 3);
    let report = done.report.unwrap();
    assert_eq!(report.kept_version, Some(4));
    let verified = atio::verify(url).unwrap();
    assert_eq!(verified.manifest.hash, xxh3(&contents[2]));
    assert_eq!(verified.manifest.written_by.run_id, reports[2].run_id);
    // A rollback of the rollback.
    let undone = versions::rollback(url, &Selector::Number(4), &Options::default()).unwrap();
    assert_eq!(undone.restored, 4);
    assert_eq!(content_hash(url), xxh3(&contents[3]));
    // Rolling back to the current content changes nothing.
    let same = versions::rollback(url, &Selector::Number(4), &Options::default()).unwrap();
    assert!(same.report.is_none());

    // Tags: the current content (already version 4) is tagged; tagged versions survive prune.
    let tagged = versions::tag(url, "good", None, false, &Options::default()).unwrap();
    assert_eq!(tagged.version, 4);
    let clash = versions::tag(url, "good", Some(2), false, &Options::default()).unwrap_err();
    assert_eq!(clash.kind(), ErrorKind::Conflict);
    let moved = versions::tag(url, "good", Some(2), true, &Options::default()).unwrap();
    assert_eq!(moved.moved_from, Some(4));
    let pruned = versions::prune(url, 0, &Options::default()).unwrap();
    let left: Vec<u64> = versions::list(url, &Options::default())
        .unwrap()
        .versions
        .iter()
        .map(|version| version.number)
        .collect();
    assert_eq!(left, [2], "pruned {pruned:?}");
    let by_tag =
        versions::rollback(url, &Selector::Tag("good".into()), &Options::default()).unwrap();
    assert_eq!(by_tag.restored, 2);
    assert_eq!(content_hash(url), xxh3(&contents[1]));
    assert_eq!(
        versions::untag(url, "good", &Options::default()).unwrap(),
        2
    );
    versions::verify(url, &Options::default()).unwrap();
    let missing = versions::rollback(url, &Selector::Number(99), &Options::default()).unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    assert!(missing.to_string().contains("no version 99"), "{missing}");
}

#[test]
fn a_damaged_object_version_fails_verify_and_is_never_rolled_back_to() {
    let url = "memory:///versions/damaged/a.txt";
    put(url, b"good content\n", &versioned(3)).unwrap();
    put(url, b"bad content!\n", &versioned(3)).unwrap();
    // Same length, other bytes: only the hash can tell.
    let data = "memory:///versions/damaged/.a.txt.atio-versions/000001/data";
    let raw = Options {
        marker: false,
        ..Options::default()
    };
    put(data, b"evil content\n", &raw).unwrap();
    let error = versions::verify(url, &Options::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Verification);
    assert!(error.to_string().contains("version 1"), "{error}");
    let refused = versions::rollback(url, &Selector::Newest, &Options::default()).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Verification, "{refused}");
    assert_eq!(
        content_hash(url),
        xxh3(b"bad content!\n"),
        "the target is untouched"
    );
}

#[test]
fn an_object_written_without_a_marker_is_hashed_when_kept() {
    let url = "memory:///versions/unmarked/a.bin";
    let raw = Options {
        marker: false,
        ..Options::default()
    };
    put(url, b"written by some other tool", &raw).unwrap();
    put(url, b"atio", &versioned(1)).unwrap();
    let listed = versions::verify(url, &Options::default()).unwrap();
    assert_eq!(listed.versions.len(), 1);
    assert_eq!(
        listed.versions[0].record.hash,
        xxh3(b"written by some other tool")
    );
    assert!(listed.versions[0].record.manifest.is_none());
}

/// A partitioned write to `root` with versions kept.
fn write_days(root: &str, rows: &[(&str, i64)]) -> atio::DatasetReport {
    use arrow::array::{Int64Array, RecordBatch, RecordBatchIterator, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};
    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("dt", DataType::Utf8, false),
        Field::new("x", DataType::Int64, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            std::sync::Arc::new(StringArray::from_iter_values(rows.iter().map(|row| row.0))),
            std::sync::Arc::new(Int64Array::from_iter_values(rows.iter().map(|row| row.1))),
        ],
    )
    .unwrap();
    let options = atio::DatasetOptions {
        write: atio::WriteOptions {
            commit: versioned(3),
            ..atio::WriteOptions::default()
        },
        partition_by: vec!["dt".into()],
        rows_per_file: 2,
        ..atio::DatasetOptions::default()
    };
    let reader = RecordBatchIterator::new([Ok(batch)], schema);
    atio::write_dataset(root, reader, &options).unwrap()
}

#[test]
fn a_partition_rerun_then_rollback_restores_exactly_the_old_parts() {
    let root = "memory:///versions/table/";
    let day1 = "memory:///versions/table/dt=1/";
    let day2 = "memory:///versions/table/dt=2/";
    write_days(root, &[("1", 1), ("1", 2), ("1", 3), ("2", 4)]);
    let good = atio::verify_dir(day1).unwrap().manifest;
    assert_eq!(good.files.len(), 2);
    let good2 = atio::verify_dir(day2).unwrap().manifest;
    // A bad re-run of day 1 only.
    let rerun = write_days(root, &[("1", 99)]);
    assert_eq!(rerun.partitions.len(), 1);
    let bad = atio::verify_dir(day1).unwrap().manifest;
    assert_eq!(bad.rows, Some(1));
    assert_eq!(atio::verify_dir(day2).unwrap().manifest, good2);
    let listed = versions::verify(day1, &Options::default()).unwrap();
    assert_eq!(listed.versions.len(), 1);
    assert_eq!(listed.versions[0].record.rows, Some(3));
    assert!(
        versions::list(day2, &Options::default())
            .unwrap()
            .versions
            .is_empty()
    );
    // verify_dir also proves the old run's parts left the live prefix (no unlisted objects).
    let done = versions::rollback(day1, &Selector::Newest, &Options::default()).unwrap();
    let report = done.dir_report.unwrap();
    assert_eq!(report.kept_version, Some(2));
    assert_eq!(report.method, "rollback");
    let restored = atio::verify_dir(day1).unwrap().manifest;
    // (verify_dir hashed every part against it.)
    assert_eq!(
        restored, good,
        "the old manifest, and so the old parts, are back"
    );
    // And back again to the bad run.
    versions::rollback(day1, &Selector::Number(2), &Options::default()).unwrap();
    assert_eq!(atio::verify_dir(day1).unwrap().manifest, bad);
    let listed = versions::verify(day1, &Options::default()).unwrap();
    let numbers: Vec<u64> = listed
        .versions
        .iter()
        .map(|version| version.number)
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert!(listed.versions[1].current);
}

/// The keys of version entries in `bucket` under `store` (`…/.NAME.atio-versions/`).
fn store_keys(bucket: &str, store: &str) -> Vec<String> {
    keys(bucket, store)
}

#[test]
fn s3_versions_through_the_cli() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("objversions");
    let url = format!("s3://{bucket}/out/report.csv");
    let contents: Vec<Vec<u8>> = (1..=3)
        .map(|run| format!("run,{run}\n").into_bytes())
        .collect();
    for content in &contents {
        assert_ok(&atio_s3(&["put", &url, "--keep-versions", "5"], content));
    }
    // The store, read over plain HTTP: two entries, each a record and the replaced bytes.
    let stored = store_keys(&bucket, "out/.report.csv.atio-versions/");
    assert_eq!(
        stored,
        [
            "out/.report.csv.atio-versions/000001/data",
            "out/.report.csv.atio-versions/000001/record.json",
            "out/.report.csv.atio-versions/000002/data",
            "out/.report.csv.atio-versions/000002/record.json",
        ]
    );
    assert_eq!(
        get(&bucket, "out/.report.csv.atio-versions/000001/data").unwrap(),
        contents[0]
    );
    assert_eq!(
        get(&bucket, "out/.report.csv.atio-versions/000002/data").unwrap(),
        contents[1]
    );
    let listed = atio_s3(&["--json", "versions", "--verify", &url], b"");
    assert_ok(&listed);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed["versions"].as_array().unwrap().len(), 2);
    assert_eq!(listed["versions"][1]["record"]["hash"], xxh3(&contents[1]));
    assert_eq!(listed["current"]["hash"], xxh3(&contents[2]));
    let text = atio_s3(&["versions", &url], b"");
    assert_ok(&text);
    assert!(
        stdout(&text).contains("2 stored version(s)"),
        "{}",
        stdout(&text)
    );

    let rolled = atio_s3(&["rollback", &url, "--to", "1"], b"");
    assert_ok(&rolled);
    assert!(
        stdout(&rolled).contains("restored version 1"),
        "{}",
        stdout(&rolled)
    );
    assert_eq!(get(&bucket, "out/report.csv").unwrap(), contents[0]);
    assert_ok(&atio_s3(&["verify", &url], b""));
    assert_eq!(
        get(&bucket, "out/.report.csv.atio-versions/000003/data").unwrap(),
        contents[2],
        "the content the rollback replaced is version 3"
    );
    assert_ok(&atio_s3(&["tag", &url, "first"], b""));
    let pruned = atio_s3(&["--json", "prune", &url, "--keep", "0"], b"");
    assert_ok(&pruned);
    let pruned: serde_json::Value = serde_json::from_slice(&pruned.stdout).unwrap();
    assert_eq!(pruned["pruned"], serde_json::json!([2, 3]));
    assert_eq!(
        store_keys(&bucket, "out/.report.csv.atio-versions/"),
        [
            "out/.report.csv.atio-versions/000001/data",
            "out/.report.csv.atio-versions/000001/record.json",
        ],
        "only the tagged version is left"
    );
    let gone = atio_s3(&["rollback", &url, "--to", "2"], b"");
    assert_eq!(gone.status.code(), Some(7), "{}", stderr(&gone));
    assert!(stderr(&gone).contains("no version 2"), "{}", stderr(&gone));
    let never = format!("s3://{bucket}/out/never.csv");
    let none = atio_s3(&["rollback", &never], b"");
    assert_eq!(none.status.code(), Some(7), "{}", stderr(&none));
    assert!(
        stderr(&none).contains("no versions are kept") && stderr(&none).contains(&never),
        "{}",
        stderr(&none)
    );
}

#[test]
fn s3_racing_versioned_writers_keep_exactly_what_they_replace() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("objversionrace");
    let url = format!("s3://{bucket}/hot.txt");
    assert_ok(&atio_s3(&["put", &url], b"writer start\n"));
    let (winners, outcomes) = race(8, &["put", &url, "--keep-versions", "100"]);
    assert!(!winners.is_empty());
    for (_, output) in outcomes
        .iter()
        .filter(|(_, output)| !output.status.success())
    {
        assert_eq!(output.status.code(), Some(8), "{}", stderr(output));
    }
    // Every stored version verifies, each is the content some commit replaced, and every
    // content that was replaced is stored: the start and all winners but the last one.
    let listed = atio_s3(&["--json", "versions", "--verify", &url], b"");
    assert_ok(&listed);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let mut stored: Vec<String> = listed["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|version| version["record"]["hash"].as_str().unwrap().to_owned())
        .collect();
    stored.sort();
    // A loser may have kept the same content as the winner did, before it lost.
    stored.dedup();
    let current = get(&bucket, "hot.txt").unwrap();
    let mut expected: Vec<String> = std::iter::once(b"writer start\n".to_vec())
        .chain(
            winners
                .iter()
                .map(|writer| format!("writer {writer}\n").into_bytes()),
        )
        .filter(|content| *content != current)
        .map(|content| xxh3(&content))
        .collect();
    expected.sort();
    assert_eq!(stored, expected, "winners {winners:?}");
    assert_ok(&atio_s3(&["verify", &url], b""));
}

#[test]
fn s3_partition_rerun_then_rollback_restores_the_old_parts() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("partversions");
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.csv");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&good, "dt,x\n1,1\n1,2\n1,3\n2,4\n").unwrap();
    std::fs::write(&bad, "dt,x\n1,99\n").unwrap();
    let root = format!("s3://{bucket}/table/");
    let write = |input: &std::path::Path| {
        atio_s3(
            &[
                "write",
                input.to_str().unwrap(),
                &root,
                "--partition-by",
                "dt",
                "--rows-per-file",
                "2",
                "--keep-versions",
                "3",
            ],
            b"",
        )
    };
    assert_ok(&write(&good));
    let good_keys = keys(&bucket, "table/dt=1/");
    let good_parts: Vec<(String, Vec<u8>)> = good_keys
        .iter()
        .map(|key| (key.clone(), get(&bucket, key).unwrap()))
        .collect();
    assert_eq!(good_keys.len(), 3, "two parts and _SUCCESS: {good_keys:?}");
    assert_ok(&write(&bad));
    let bad_keys = keys(&bucket, "table/dt=1/");
    assert_eq!(
        bad_keys.len(),
        2,
        "the old parts left the live prefix: {bad_keys:?}"
    );
    let stored = keys(&bucket, "table/.dt=1.atio-versions/");
    assert_eq!(
        stored.len(),
        3,
        "a record and the two old parts: {stored:?}"
    );
    let partition = format!("{root}dt=1/");
    assert_ok(&atio_s3(&["versions", "--verify", &partition], b""));
    // The kept parts are listed by no live manifest, but a sweep of orphans leaves them alone.
    assert_ok(&atio_s3(&["clean", "-r", "--older-than", "0s", &root], b""));
    assert_eq!(keys(&bucket, "table/.dt=1.atio-versions/"), stored);
    let rolled = atio_s3(&["rollback", &partition], b"");
    assert_ok(&rolled);
    assert!(
        stdout(&rolled).contains("restored version 1"),
        "{}",
        stdout(&rolled)
    );
    // Exactly the old set of objects, byte for byte.
    let restored: Vec<(String, Vec<u8>)> = keys(&bucket, "table/dt=1/")
        .iter()
        .map(|key| (key.clone(), get(&bucket, key).unwrap()))
        .collect();
    assert_eq!(restored, good_parts);
    assert_ok(&atio_s3(&["verify", &partition], b""));
    assert_ok(&atio_s3(&["versions", "--verify", &partition], b""));
    // The other day was never touched and keeps no version.
    let day2 = atio_s3(&["--json", "versions", &format!("{root}dt=2/")], b"");
    assert_ok(&day2);
    let day2: serde_json::Value = serde_json::from_slice(&day2.stdout).unwrap();
    assert_eq!(day2["versions"].as_array().unwrap().len(), 0);
}

/// The object's bytes once moto has finished a request a killed client left in flight (moto
/// can answer 500 while it completes an upload whose client is gone). It must exist.
fn get_settled(bucket: &str, key: &str) -> Vec<u8> {
    for _ in 0..50 {
        match http("GET", &format!("/{bucket}/{key}")) {
            (200, body) => return body,
            (status, _) if status >= 500 => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            (status, body) => panic!(
                "GET {key}: {status} {} (the target must never disappear)",
                String::from_utf8_lossy(&body)
            ),
        }
    }
    panic!("GET {key}: moto kept failing");
}

#[test]
fn s3_versioned_writes_killed_anywhere_keep_every_replaced_content() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("objversionkill");
    let url = format!("s3://{bucket}/big.bin");
    // 6 MiB: a multipart upload of two 5 MiB-or-less parts, so a kill lands in many steps.
    let content = |round: u32| -> Vec<u8> {
        (0..6u32 << 20)
            .map(|i| ((i ^ round.wrapping_mul(2_654_435_761)) % 251) as u8)
            .collect()
    };
    let put = |round: u32| -> Child {
        let mut child = s3_command(
            &moto().endpoint,
            &["put", &url, "--keep-versions", "100", "--part-size", "5"],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let bytes = content(round);
        // A killed writer closes the pipe: the feeder's error is expected.
        std::thread::spawn(move || drop(stdin.write_all(&bytes)));
        child
    };
    assert!(put(0).wait().unwrap().success());
    // A versioned replacement, timed: it also keeps (HEADs, a record, a copy) and prunes.
    let started = std::time::Instant::now();
    assert!(put(0).wait().unwrap().success());
    let full = started.elapsed();
    let mut ever_current = vec![xxh3(&content(0))];
    let rounds = 16;
    for round in 1..=rounds {
        let mut child = put(round);
        // Kill points spread over the whole write, its keep and publish steps included; the
        // last rounds mostly finish.
        std::thread::sleep(full.mul_f64(2.0 * f64::from(round) / f64::from(rounds)));
        drop(child.kill());
        child.wait().unwrap();
        let now = xxh3(&get_settled(&bucket, "big.bin"));
        // A complete content: this round's, or an earlier one's (a kill can land after the
        // request that completes an upload was sent: the server may finish it a moment later).
        let written_yet: Vec<String> = (0..=round).map(|round| xxh3(&content(round))).collect();
        assert!(
            written_yet.contains(&now),
            "round {round}: the target is no complete content"
        );
        if !ever_current.contains(&now) {
            ever_current.push(now);
        }
        // Listed versions are immutable: they are all verified once, at the end.
        assert_ok(&atio_s3(&["versions", &url], b""));
    }
    // Every content that was replaced is a listed, verified version; nothing else is.
    let listed = atio_s3(&["--json", "versions", "--verify", &url], b"");
    assert_ok(&listed);
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let stored: Vec<String> = listed["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|version| version["record"]["hash"].as_str().unwrap().to_owned())
        .collect();
    for replaced in &ever_current[..ever_current.len() - 1] {
        assert!(
            stored.contains(replaced),
            "{replaced} was replaced but not kept"
        );
    }
    let written: Vec<String> = (0..=rounds).map(|round| xxh3(&content(round))).collect();
    let round_of = |hash: &String| written.iter().position(|candidate| candidate == hash);
    assert!(
        stored.iter().all(|hash| round_of(hash).is_some()),
        "stored {:?}, seen current {:?}",
        stored.iter().map(round_of).collect::<Vec<_>>(),
        ever_current.iter().map(round_of).collect::<Vec<_>>()
    );
    assert!(
        ever_current.len() > 2,
        "some kills landed after a publish: {} contents",
        ever_current.len()
    );
    // `clean` removes what killed writers left half-made; every entry left is complete.
    assert_ok(&atio_s3(
        &[
            "clean",
            "-r",
            "--older-than",
            "0s",
            &format!("s3://{bucket}/"),
        ],
        b"",
    ));
    let entries = keys(&bucket, ".big.bin.atio-versions/");
    let numbers: std::collections::BTreeSet<&str> = entries
        .iter()
        .map(|key| key.split('/').nth(1).unwrap())
        .collect();
    assert_eq!(numbers.len(), stored.len(), "{entries:#?}");
    for number in numbers {
        for name in ["data", "record.json"] {
            let key = format!(".big.bin.atio-versions/{number}/{name}");
            assert!(entries.contains(&key), "{key} missing: {entries:#?}");
        }
    }
    assert_ok(&atio_s3(&["versions", "--verify", &url], b""));
}
