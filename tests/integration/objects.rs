//! Object storage against a real S3 protocol server: `moto_server` (PyPI `moto[server]`) on
//! 127.0.0.1, started by the tests on a free port and stopped when the test binary exits.
//! Objects are read back over plain HTTP (moto serves unauthenticated requests), independently
//! of atio and object_store.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::encoders::guest_wasm;
use crate::support::{
    LocalServer, atio, output_with_stdin, probe_command, stderr, stdout, tool_available, xxh3,
};

const SECRET: &str = "atio-test-secret-never-printed-4f1c";

/// A moto server and its endpoint.
pub(super) struct Moto {
    pub(super) endpoint: String,
    _server: LocalServer,
}

fn start_moto(auth: bool) -> Moto {
    // INITIAL_NO_AUTH_ACTION_COUNT=0: authenticate every request, so unknown credentials are
    // refused as on AWS.
    let envs: &[(&str, &str)] = if auth {
        &[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]
    } else {
        &[]
    };
    let server = LocalServer::start(
        &["moto_server", "-H", "127.0.0.1", "-p", "{port}"],
        envs,
        "install it with `pip install \"moto[server]\"`",
    );
    Moto {
        endpoint: format!("http://127.0.0.1:{}", server.port),
        _server: server,
    }
}

/// Whether moto's S3 server can be started; if not, the calling test returns (or, when every
/// tool is required, fails).
pub(super) fn moto_available() -> bool {
    tool_available("moto_server", "pip install \"moto[server]\"", || {
        probe_command(Command::new("moto_server").arg("--help"))
    })
}

/// The shared server for every test but the credentials one.
pub(super) fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| start_moto(false))
}

/// A fresh bucket per test, so tests run in parallel without seeing each other.
pub(super) fn bucket(name: &str) -> String {
    let (status, body) = http("PUT", &format!("/{name}"));
    assert_eq!(status, 200, "create bucket {name}: {body:?}");
    name.to_owned()
}

/// moto (without auth checks) accepts any signature, but treats unsigned requests as anonymous
/// and refuses them private objects.
const AUTHORIZATION: &str = "Authorization: AWS4-HMAC-SHA256 Credential=atio-test/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// One plain HTTP/1.1 request to moto; (status, body).
pub(super) fn http(method: &str, target: &str) -> (u16, Vec<u8>) {
    let address = moto().endpoint.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "{method} {target} HTTP/1.1\r\nHost: {address}\r\n{AUTHORIZATION}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = Some(value.trim().parse::<usize>().unwrap());
        }
    }
    let mut body = Vec::new();
    match length {
        Some(length) => {
            body.resize(length, 0);
            reader.read_exact(&mut body).unwrap();
        }
        None => {
            reader.read_to_end(&mut body).unwrap();
        }
    }
    (status, body)
}

/// The object's bytes, or `None` when it does not exist.
pub(super) fn get(bucket: &str, key: &str) -> Option<Vec<u8>> {
    match http("GET", &format!("/{bucket}/{key}")) {
        (200, body) => Some(body),
        (404, _) => None,
        (status, body) => panic!("GET {key}: {status} {}", String::from_utf8_lossy(&body)),
    }
}

/// Every key in the bucket under `prefix`.
pub(super) fn keys(bucket: &str, prefix: &str) -> Vec<String> {
    let (status, body) = http("GET", &format!("/{bucket}?list-type=2&prefix={prefix}"));
    assert_eq!(status, 200);
    xml_values(&body, "Key")
}

/// Multipart uploads started and neither completed nor aborted.
pub(super) fn pending_uploads(bucket: &str) -> Vec<String> {
    let (status, body) = http("GET", &format!("/{bucket}?uploads"));
    assert_eq!(status, 200);
    xml_values(&body, "UploadId")
}

fn xml_values(xml: &[u8], tag: &str) -> Vec<String> {
    let xml = String::from_utf8_lossy(xml);
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split_once(&close).map(|(value, _)| value.to_owned()))
        .collect()
}

/// `atio ARGS` against the shared server, with credentials in the environment.
pub(super) fn atio_s3(args: &[&str], stdin: &[u8]) -> Output {
    atio_at(&moto().endpoint, args, stdin)
}

fn atio_at(endpoint: &str, args: &[&str], stdin: &[u8]) -> Output {
    output_with_stdin(s3_command(endpoint, args), stdin)
}

pub(super) fn s3_command(endpoint: &str, args: &[&str]) -> Command {
    let mut command = atio();
    command
        .args(args)
        .args(["--endpoint", endpoint, "--retry-timeout", "2s"])
        .env("AWS_ACCESS_KEY_ID", "atio-test")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ENDPOINT_URL");
    command
}

#[track_caller]
pub(super) fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "atio failed: {}{}",
        stdout(output),
        stderr(output)
    );
}

/// `count` atio processes started at once with `args`, writer N writing `writer N\n` on
/// stdin; the writers that exited 0, and every (writer, output).
pub(super) fn race(count: usize, args: &[&str]) -> (Vec<usize>, Vec<(usize, Output)>) {
    let children: Vec<(usize, Child)> = (0..count)
        .map(|writer| {
            let mut child = s3_command(&moto().endpoint, args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            stdin
                .write_all(format!("writer {writer}\n").as_bytes())
                .unwrap();
            (writer, child)
        })
        .collect();
    let outcomes: Vec<(usize, Output)> = children
        .into_iter()
        .map(|(writer, child)| (writer, child.wait_with_output().unwrap()))
        .collect();
    let winners = outcomes
        .iter()
        .filter(|(_, output)| output.status.success())
        .map(|(writer, _)| *writer)
        .collect();
    (winners, outcomes)
}

/// CSV rows: id, name, score, flag.
pub(super) fn sample_csv(rows: usize) -> Vec<u8> {
    let mut csv = b"id,name,score,flag\n".to_vec();
    for row in 0..rows {
        writeln!(csv, "{row},name-{row},{}.5,{}", row % 97, row % 2 == 0).unwrap();
    }
    csv
}

#[test]
fn every_format_round_trips_byte_identical_to_a_local_write() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("round-trip");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, sample_csv(5000)).unwrap();
    let input = input.to_str().unwrap();
    for extension in ["parquet", "csv", "jsonl", "arrow", "npy"] {
        // npy takes numeric columns only.
        let options: &[&str] = if extension == "npy" {
            &["--format", "npy"]
        } else {
            &[]
        };
        let input = if extension == "npy" {
            let numeric = dir.path().join("numeric.csv");
            std::fs::write(&numeric, "a,b\n1.5,2.5\n3.5,4.5\n").unwrap();
            numeric.to_str().unwrap().to_owned()
        } else {
            input.to_owned()
        };
        let local = dir.path().join(format!("data.{extension}"));
        let url = format!("s3://{bucket}/rt/data.{extension}");
        let local_run = atio()
            .args(["write", &input, local.to_str().unwrap()])
            .args(options)
            .output()
            .unwrap();
        assert_ok(&local_run);
        let mut args = vec!["write", input.as_str(), url.as_str()];
        args.extend(options);
        assert_ok(&atio_s3(&args, b""));
        let object = get(&bucket, &format!("rt/data.{extension}")).expect("object exists");
        assert_eq!(
            object,
            std::fs::read(&local).unwrap(),
            "{extension}: the object differs from the local file"
        );
        let marker: serde_json::Value = serde_json::from_slice(
            &get(&bucket, &format!("rt/data.{extension}._SUCCESS")).unwrap(),
        )
        .unwrap();
        assert_eq!(marker["hash"], xxh3(&object));
        assert_eq!(marker["bytes"], object.len());
        assert_eq!(marker["format"], extension);
        assert!(marker["e_tag"].as_str().is_some_and(|tag| !tag.is_empty()));
        assert_ok(&atio_s3(&["verify", &url], b""));
    }
    // An independent reader: the Parquet object decodes to the input rows.
    let parquet = bytes::Bytes::from(get(&bucket, "rt/data.parquet").unwrap());
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(parquet)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|batch| batch.unwrap().num_rows()).sum();
    assert_eq!(rows, 5000);
}

#[test]
fn a_large_object_goes_up_in_parts_with_flat_memory() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("large");
    let size: usize = 96 << 20;
    let mut child = s3_command(
        &moto().endpoint,
        &[
            "put",
            &format!("s3://{bucket}/big.bin"),
            "--part-size",
            "5",
            "--upload-concurrency",
            "2",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut block = vec![0u8; 1 << 20];
        for index in 0..size >> 20 {
            block.fill(index as u8);
            block[..8].copy_from_slice(&(index as u64).to_le_bytes());
            hasher.update(&block);
            stdin.write_all(&block).unwrap();
        }
        format!("xxh3-128:{:032x}", hasher.digest128())
    });
    // VmHWM is the process's peak resident set; sample it until the process is gone.
    let mut peak_kib = 0u64;
    while child.try_wait().unwrap().is_none() {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(line) = status.lines().find(|line| line.starts_with("VmHWM:"))
        {
            peak_kib = peak_kib.max(line.split_whitespace().nth(1).unwrap().parse().unwrap());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let expected_hash = feeder.join().unwrap();
    let output = child.wait_with_output().unwrap();
    assert_ok(&output);
    let object = get(&bucket, "big.bin").unwrap();
    assert_eq!(object.len(), size);
    assert_eq!(xxh3(&object), expected_hash);
    assert!(
        stdout(&output).contains(&format!("-{}\"", size.div_ceil(5 << 20))),
        "a multipart ETag names its part count: {}",
        stdout(&output)
    );
    // Parts of 5 MiB, two in flight: the peak stays far below the 96 MiB object.
    assert!(peak_kib > 0, "VmHWM was sampled");
    assert!(
        peak_kib < 64 << 10,
        "peak RSS {} MiB while uploading a 96 MiB object",
        peak_kib >> 10
    );
    assert!(pending_uploads(&bucket).is_empty());
}

#[test]
fn a_plugin_fault_mid_upload_leaves_no_object_and_no_pending_upload() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("plugin-fault");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, sample_csv(10)).unwrap();
    // Keep an old object to prove it survives.
    assert_ok(&atio_s3(
        &["put", &format!("s3://{bucket}/out.txt")],
        b"old",
    ));
    // The output bomb writes until the quota stops it: three 5 MiB parts are uploaded first.
    let output = atio_s3(
        &[
            "write",
            input.to_str().unwrap(),
            &format!("s3://{bucket}/out.txt"),
            "--plugin",
            guest_wasm("atio_test_output_bomb").to_str().unwrap(),
            "--plugin-output-quota",
            &(18u64 << 20).to_string(),
            "--part-size",
            "5",
        ],
        b"",
    );
    assert_eq!(output.status.code(), Some(11), "{}", stderr(&output));
    assert!(stderr(&output).contains("quota"), "{}", stderr(&output));
    assert_eq!(get(&bucket, "out.txt").unwrap(), b"old");
    assert!(pending_uploads(&bucket).is_empty(), "upload left pending");
    assert_ok(&atio_s3(
        &["verify", &format!("s3://{bucket}/out.txt")],
        b"",
    ));
}

#[test]
fn ctrl_c_mid_upload_aborts_it() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("interrupt");
    let mut child = s3_command(
        &moto().endpoint,
        &[
            "put",
            &format!("s3://{bucket}/slow.bin"),
            "--part-size",
            "5",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Two parts' worth, then hold the pipe open so the upload is in flight when SIGINT lands.
    stdin.write_all(&vec![7u8; 12 << 20]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while pending_uploads(&bucket).is_empty() {
        assert!(
            Instant::now() < deadline,
            "the multipart upload never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::INT,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(pending_uploads(&bucket).is_empty(), "upload left pending");
    assert_eq!(get(&bucket, "slow.bin"), None);
}

#[test]
fn sixteen_racing_create_only_writers_have_exactly_one_winner() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("race");
    let url = format!("s3://{bucket}/once.txt");
    let (winners, outcomes) = race(16, &["put", &url, "--no-clobber"]);
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    for (_, output) in outcomes
        .iter()
        .filter(|(_, output)| !output.status.success())
    {
        assert_eq!(output.status.code(), Some(8), "{}", stderr(output));
        assert!(
            stderr(output).contains("--no-clobber"),
            "{}",
            stderr(output)
        );
    }
    let content = get(&bucket, "once.txt").unwrap();
    assert_eq!(content, format!("writer {}\n", winners[0]).as_bytes());
    assert_ok(&atio_s3(&["verify", &url], b""));
}

#[test]
fn if_match_is_compare_and_swap_on_the_etag() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("cas");
    let url = format!("s3://{bucket}/counter.txt");
    let first = atio_s3(&["--json", "put", &url], b"1");
    assert_ok(&first);
    let e_tag = serde_json::from_slice::<serde_json::Value>(&first.stdout).unwrap()["e_tag"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ok(&atio_s3(&["put", &url, "--if-match", &e_tag], b"2"));
    // The ETag is now stale: the swap is refused and the object keeps "2".
    let stale = atio_s3(&["put", &url, "--if-match", &e_tag], b"3");
    assert_eq!(stale.status.code(), Some(8), "{}", stderr(&stale));
    assert!(stderr(&stale).contains("--if-match"), "{}", stderr(&stale));
    assert_eq!(get(&bucket, "counter.txt").unwrap(), b"2");
    // The losing write left the winner's marker alone.
    assert_ok(&atio_s3(&["verify", &url], b""));
    // A content hash is not an ETag: said plainly.
    let hash = atio_s3(&["put", &url, "--if-match", &xxh3(b"2")], b"4");
    assert_eq!(hash.status.code(), Some(10), "{}", stderr(&hash));
    assert!(stderr(&hash).contains("ETag"), "{}", stderr(&hash));
}

#[test]
fn partition_reruns_leave_exactly_the_manifest_parts() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("partitions");
    let dir = tempfile::tempdir().unwrap();
    let mut csv = b"dt,region,value\n".to_vec();
    for row in 0..3000 {
        let dt = ["2025-01-01", "2025-01-02"][row % 2];
        let region = ["eu", "us", "ap"][row % 3];
        writeln!(csv, "{dt},{region},{row}").unwrap();
    }
    let input = dir.path().join("in.csv");
    std::fs::write(&input, &csv).unwrap();
    let root = format!("s3://{bucket}/table/");
    let write = |input: &Path, extra: &[&str]| {
        let mut args = vec![
            "write",
            input.to_str().unwrap(),
            &root,
            "--partition-by",
            "dt,region",
            "--rows-per-file",
            "200",
        ];
        args.extend(extra);
        atio_s3(&args, b"")
    };
    assert_ok(&write(&input, &[]));
    let first_run = keys(&bucket, "table/");
    // 2 dt × 3 regions × ceil(500 / 200) = 18 parts, plus one manifest per dt.
    assert_eq!(first_run.len(), 18 + 2, "{first_run:#?}");
    // A re-run replaces every part: no duplicates, no orphans.
    assert_ok(&write(&input, &[]));
    let second_run = keys(&bucket, "table/");
    assert_eq!(second_run.len(), 20, "{second_run:#?}");
    assert!(
        second_run
            .iter()
            .filter(|key| key.contains("part-"))
            .all(|key| !first_run.contains(key)),
        "the second run's parts replace the first run's"
    );
    // Fewer rows for one day: that partition shrinks, the other day is untouched.
    let mut fewer = b"dt,region,value\n".to_vec();
    writeln!(fewer, "2025-01-01,eu,1").unwrap();
    let small = dir.path().join("small.csv");
    std::fs::write(&small, &fewer).unwrap();
    assert_ok(&write(&small, &[]));
    let third_run = keys(&bucket, "table/");
    let day_one: Vec<_> = third_run
        .iter()
        .filter(|key| key.starts_with("table/dt=2025-01-01/"))
        .collect();
    assert_eq!(day_one.len(), 2, "{day_one:#?}");
    let day_two_before: Vec<_> = second_run
        .iter()
        .filter(|key| key.starts_with("table/dt=2025-01-02/"))
        .collect();
    let day_two_after: Vec<_> = third_run
        .iter()
        .filter(|key| key.starts_with("table/dt=2025-01-02/"))
        .collect();
    assert_eq!(day_two_before, day_two_after);
    // Every listed part is exactly what its manifest says.
    for dt in ["2025-01-01", "2025-01-02"] {
        let prefix = format!("{root}dt={dt}/");
        let verified = atio_s3(&["--json", "verify", &prefix], b"");
        assert_ok(&verified);
        let manifest: serde_json::Value =
            serde_json::from_slice(&get(&bucket, &format!("table/dt={dt}/_SUCCESS")).unwrap())
                .unwrap();
        for file in manifest["files"].as_array().unwrap() {
            let part = get(
                &bucket,
                &format!("table/dt={dt}/{}", file["path"].as_str().unwrap()),
            )
            .unwrap();
            assert_eq!(file["hash"], xxh3(&part));
        }
    }
    // --if-changed with identical data uploads parts, finds them equal, and deletes them again.
    assert_ok(&write(&small, &["--if-changed"]));
    assert_eq!(keys(&bucket, "table/"), third_run);
}

#[test]
fn a_killed_partition_run_leaves_orphans_that_verify_reports_and_the_next_run_sweeps() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("orphans");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "dt,v\nd1,1\n").unwrap();
    let root = format!("s3://{bucket}/t/");
    let write = || {
        atio_s3(
            &[
                "write",
                input.to_str().unwrap(),
                &root,
                "--partition-by",
                "dt",
            ],
            b"",
        )
    };
    assert_ok(&write());
    // What a run killed between uploading a part and its manifest leaves: an unlisted part with
    // an older run id.
    let orphan = "t/dt=d1/part-00000-000000000001-0123456789abcdef.parquet";
    assert_eq!(http("PUT", &format!("/{bucket}/{orphan}")).0, 200);
    let verify = atio_s3(&["verify", &format!("{root}dt=d1/")], b"");
    assert_eq!(verify.status.code(), Some(1));
    assert!(
        stderr(&verify).contains("not in the manifest"),
        "{}",
        stderr(&verify)
    );
    assert_ok(&write());
    assert!(!keys(&bucket, "t/").contains(&orphan.to_owned()));
    // A damaged manifest does not wedge the partition: the next run replaces it.
    assert_eq!(http("PUT", &format!("/{bucket}/t/dt=d1/_SUCCESS")).0, 200);
    let damaged = atio_s3(&["verify", &format!("{root}dt=d1/")], b"");
    assert_eq!(damaged.status.code(), Some(1), "{}", stderr(&damaged));
    assert_ok(&write());
    assert_ok(&atio_s3(&["verify", &format!("{root}dt=d1/")], b""));
    // Without the trailing `/` the URL names an object; the error says how to check the prefix.
    let as_object = atio_s3(&["verify", &format!("{root}dt=d1")], b"");
    assert_eq!(as_object.status.code(), Some(1));
    assert!(
        stderr(&as_object).contains("end the URL with `/`"),
        "{}",
        stderr(&as_object)
    );
    assert_ok(&atio_s3(&["verify", &format!("{root}dt=d1/")], b""));
}

#[test]
fn clean_deletes_only_old_parts_that_no_manifest_lists() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("clean");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "dt,v\nd1,1\nd2,2\n").unwrap();
    let root = format!("s3://{bucket}/t/");
    let written = atio_s3(
        &[
            "write",
            input.to_str().unwrap(),
            &root,
            "--partition-by",
            "dt",
        ],
        b"",
    );
    assert_ok(&written);
    let live = keys(&bucket, "t/");
    assert_eq!(live.len(), 4, "{live:#?}");
    // A run killed before its manifest, in a written partition and in a partition whose first
    // run never committed; and objects that are not run parts, which clean never touches.
    let orphans = [
        "t/dt=d1/part-00000-000000000001-0123456789abcdef.parquet",
        "t/dt=d3/part-00000-000000000002-0123456789abcdef.parquet",
    ];
    let bystanders = ["t/notes.txt", "t/part-00000.parquet"];
    for key in orphans.iter().chain(&bystanders) {
        assert_eq!(http("PUT", &format!("/{bucket}/{key}")).0, 200, "{key}");
    }
    let everything = keys(&bucket, "t/");

    // The default grace period (24 h) keeps parts this young: their run may still be writing.
    let young = atio_s3(&["clean", "-r", &root], b"");
    assert_ok(&young);
    assert!(
        stdout(&young).contains("removed 0 orphaned part(s), kept 2"),
        "{}",
        stdout(&young)
    );
    assert!(
        stdout(&young).contains("grace period"),
        "{}",
        stdout(&young)
    );
    // A dry run lists exactly the orphans and deletes nothing.
    let dry = atio_s3(
        &["clean", "-r", "--dry-run", "--older-than", "0s", &root],
        b"",
    );
    assert_ok(&dry);
    for orphan in orphans {
        assert!(
            stdout(&dry).contains(&format!("would remove s3://{bucket}/{orphan}")),
            "{}",
            stdout(&dry)
        );
    }
    assert!(stdout(&dry).contains("would remove 2 orphaned part(s)"));
    // Without -r only the prefix's own objects are considered: no part there.
    let shallow = atio_s3(&["clean", "--older-than", "0s", &root], b"");
    assert_ok(&shallow);
    assert!(stdout(&shallow).contains("removed 0 orphaned part(s)"));
    assert_eq!(keys(&bucket, "t/"), everything);

    let cleaned = atio_s3(&["--json", "clean", "-r", "--older-than", "0s", &root], b"");
    assert_ok(&cleaned);
    let report: serde_json::Value = serde_json::from_slice(&cleaned.stdout).unwrap();
    let expected: Vec<String> = orphans
        .iter()
        .map(|key| format!("s3://{bucket}/{key}"))
        .collect();
    assert_eq!(report["removed"], serde_json::json!(expected));
    let mut left = live.clone();
    left.extend(bystanders.iter().map(|key| (*key).to_owned()));
    left.sort();
    assert_eq!(keys(&bucket, "t/"), left);
    for dt in ["d1", "d2"] {
        assert_ok(&atio_s3(&["verify", &format!("{root}dt={dt}/")], b""));
    }

    // A damaged manifest: which parts are live is unknown, so none of them is deleted.
    let stray = "t/dt=d2/part-00000-000000000003-0123456789abcdef.parquet";
    assert_eq!(http("PUT", &format!("/{bucket}/{stray}")).0, 200);
    assert_eq!(http("PUT", &format!("/{bucket}/t/dt=d2/_SUCCESS")).0, 200);
    let damaged = atio_s3(&["clean", "-r", "--older-than", "0s", &root], b"");
    assert_ok(&damaged);
    assert!(
        stdout(&damaged).contains("unreadable") && stdout(&damaged).contains("removed 0"),
        "{}",
        stdout(&damaged)
    );
    assert!(keys(&bucket, "t/").contains(&stray.to_owned()));
}

#[test]
fn unreachable_endpoints_are_network_errors_and_bad_credentials_permission_errors() {
    // Nothing listens on a port we just bound and released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let output = atio_at(
        &format!("http://127.0.0.1:{port}"),
        &["put", "s3://nowhere/key.txt"],
        b"data",
    );
    assert_eq!(output.status.code(), Some(12), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("s3://nowhere/key.txt"),
        "{}",
        stderr(&output)
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "gave up in {:?}",
        started.elapsed()
    );

    if !moto_available() {
        return;
    }
    let guarded = start_moto(true);
    let output = atio_at(&guarded.endpoint, &["put", "s3://locked/key.txt"], b"data");
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("s3://locked/key.txt"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains(SECRET) && !stdout(&output).contains(SECRET));
}

#[test]
fn secrets_never_reach_the_output() {
    if !moto_available() {
        return;
    }
    let bucket = bucket("secrets");
    let output = atio_s3(
        &[
            "--verbose",
            "--json",
            "put",
            &format!("s3://{bucket}/k.txt"),
        ],
        b"data",
    );
    assert_ok(&output);
    assert!(!stderr(&output).contains(SECRET), "{}", stderr(&output));
    assert!(!stdout(&output).contains(SECRET));
    let failed = atio_s3(&["--verbose", "put", "s3://no-such-bucket/k.txt"], b"data");
    assert_eq!(failed.status.code(), Some(7), "{}", stderr(&failed));
    assert!(!stderr(&failed).contains(SECRET), "{}", stderr(&failed));
}

#[test]
fn the_library_writes_to_the_in_process_memory_store() {
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![
        arrow::datatypes::Field::new("x", arrow::datatypes::DataType::Int64, false),
    ]));
    let batch = arrow::array::RecordBatch::try_new(
        schema.clone(),
        vec![std::sync::Arc::new(
            arrow::array::Int64Array::from_iter_values(0..1000),
        )],
    )
    .unwrap();
    let reader = arrow::array::RecordBatchIterator::new([Ok(batch)], schema);
    let report = atio::write(
        "memory:///lib/x.csv",
        reader,
        &atio::WriteOptions::default(),
    )
    .unwrap();
    assert_eq!(report.rows, Some(1000));
    let verified = atio::verify("memory:///lib/x.csv").unwrap();
    assert_eq!(verified.manifest.hash, report.hash);
    assert_eq!(verified.manifest.rows, Some(1000));
}

#[test]
fn verify_names_a_marker_written_for_another_etag_stale() {
    let url = "memory:///stale/x.txt";
    let mut object = atio::ObjectFile::create(url, &atio::Options::default()).unwrap();
    object.write_all(b"first").unwrap();
    object.commit().unwrap();
    // Replaced by a writer that writes no marker: the old one stays, naming the old ETag.
    let raw = atio::Options {
        marker: false,
        ..atio::Options::default()
    };
    let mut object = atio::ObjectFile::create(url, &raw).unwrap();
    object.write_all(b"second").unwrap();
    object.commit().unwrap();
    let error = atio::verify(url).unwrap_err();
    assert_eq!(error.kind(), atio::ErrorKind::Verification);
    assert!(error.to_string().contains("the marker is stale"), "{error}");
}
