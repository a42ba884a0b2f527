//! The same object-storage code path against a second store: Azure Blob Storage, as served by
//! Azurite (npm `azurite`) on 127.0.0.1. The container is created, and objects are read back,
//! with Microsoft's own Python SDK (PyPI `azure-storage-blob`), independently of atio.

use std::process::Output;
use std::sync::OnceLock;

use crate::support::{
    self, LocalServer, atio, output_with_stdin, probe_on_path, probe_python_module, stderr, stdout,
    tool_available, xxh3,
};

/// Azurite's documented development account.
const CONNECTION: &str = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=";

struct Azurite {
    url: String,
    _server: LocalServer,
}

/// Whether Azurite and the Azure SDK for Python are there; if not, the calling test returns (or,
/// when every tool is required, fails).
fn azurite_available() -> bool {
    tool_available(
        "Azurite",
        "npm install azurite (its `azurite-blob` on PATH)",
        || probe_on_path("azurite-blob"),
    ) && tool_available(
        "azure-storage-blob",
        "pip install azure-storage-blob",
        || probe_python_module("azure.storage.blob"),
    )
}

fn azurite() -> &'static Azurite {
    static AZURITE: OnceLock<Azurite> = OnceLock::new();
    AZURITE.get_or_init(|| {
        let server = LocalServer::start(
            &[
                "azurite-blob",
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "{port}",
                "--inMemoryPersistence",
                "--silent",
                "--skipApiVersionCheck",
            ],
            &[],
            "install it with `npm install azurite` (tests/run does, into target/azurite)",
        );
        Azurite {
            url: format!("http://127.0.0.1:{}", server.port),
            _server: server,
        }
    })
}

/// Runs Python with the Azure SDK connected to Azurite as `service`.
fn python(script: &str, args: &[&str]) -> Output {
    let connection = format!("{CONNECTION}{}/devstoreaccount1;", azurite().url);
    let prelude = "import sys\n\
                   from azure.storage.blob import BlobServiceClient\n\
                   service = BlobServiceClient.from_connection_string(sys.argv[1])\n";
    let output = support::python()
        .args(["-c", &format!("{prelude}{script}"), &connection])
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "azure-storage-blob (pip install azure-storage-blob): {}",
        stderr(&output)
    );
    output
}

fn container(name: &str) -> String {
    python("service.create_container(sys.argv[2])", &[name]);
    name.to_owned()
}

/// The blob's bytes, downloaded by the Azure SDK.
fn download(container: &str, blob: &str) -> Vec<u8> {
    python(
        "sys.stdout.buffer.write(service.get_blob_client(sys.argv[2], sys.argv[3]).download_blob().readall())",
        &[container, blob],
    )
    .stdout
}

fn blobs(container: &str) -> Vec<String> {
    let output = python(
        "print('\\n'.join(b.name for b in service.get_container_client(sys.argv[2]).list_blobs()))",
        &[container],
    );
    stdout(&output).lines().map(str::to_owned).collect()
}

fn atio_az(args: &[&str], stdin: &[u8]) -> Output {
    let mut command = atio();
    command
        .args(args)
        .env("AZURE_STORAGE_USE_EMULATOR", "true")
        .env("AZURITE_BLOB_STORAGE_URL", &azurite().url);
    output_with_stdin(command, stdin)
}

#[track_caller]
fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "atio failed: {}{}",
        stdout(output),
        stderr(output)
    );
}

#[test]
fn objects_multipart_uploads_and_partitions_work_on_azure_too() {
    if !azurite_available() {
        return;
    }
    let container = container("atio-objects");
    // A small object (one PUT) and a 12 MiB one (three blocks, committed as one blob).
    assert_ok(&atio_az(
        &["put", &format!("az://{container}/small.txt")],
        b"hello",
    ));
    let big: Vec<u8> = (0..12u32 << 20).map(|i| (i % 251) as u8).collect();
    assert_ok(&atio_az(
        &[
            "put",
            &format!("az://{container}/big.bin"),
            "--part-size",
            "5",
        ],
        &big,
    ));
    assert_eq!(download(&container, "small.txt"), b"hello");
    let downloaded = download(&container, "big.bin");
    assert_eq!(downloaded.len(), big.len());
    assert_eq!(xxh3(&downloaded), xxh3(&big));
    let marker: serde_json::Value =
        serde_json::from_slice(&download(&container, "big.bin._SUCCESS")).unwrap();
    assert_eq!(marker["hash"], xxh3(&big));
    for key in ["small.txt", "big.bin"] {
        assert_ok(&atio_az(
            &["verify", &format!("az://{container}/{key}")],
            b"",
        ));
    }
    // Create-only is refused on an existing blob, and the blob is untouched.
    let refused = atio_az(
        &[
            "put",
            &format!("az://{container}/small.txt"),
            "--no-clobber",
        ],
        b"other",
    );
    assert_eq!(refused.status.code(), Some(8), "{}", stderr(&refused));
    assert_eq!(download(&container, "small.txt"), b"hello");

    // Partitions: a re-run leaves exactly the parts its manifest lists.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "dt,v\nd1,1\nd1,2\nd2,3\n").unwrap();
    let root = format!("az://{container}/table/");
    for _ in 0..2 {
        assert_ok(&atio_az(
            &[
                "write",
                input.to_str().unwrap(),
                &root,
                "--partition-by",
                "dt",
            ],
            b"",
        ));
    }
    let table: Vec<String> = blobs(&container)
        .into_iter()
        .filter(|blob| blob.starts_with("table/"))
        .collect();
    assert_eq!(table.len(), 4, "two parts and two manifests: {table:#?}");
    for dt in ["d1", "d2"] {
        assert_ok(&atio_az(&["verify", &format!("{root}dt={dt}/")], b""));
    }
}

#[test]
fn racing_create_only_writers_on_azure_have_exactly_one_winner() {
    if !azurite_available() {
        return;
    }
    let container = container("atio-race");
    let url = format!("az://{container}/once.txt");
    let writers: Vec<std::thread::JoinHandle<Output>> = (0..8)
        .map(|writer| {
            let url = url.clone();
            std::thread::spawn(move || {
                atio_az(
                    &["put", &url, "--no-clobber"],
                    format!("{writer}").as_bytes(),
                )
            })
        })
        .collect();
    let outcomes: Vec<Output> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let winners = outcomes.iter().filter(|o| o.status.success()).count();
    assert_eq!(
        winners,
        1,
        "{:?}",
        outcomes.iter().map(stderr).collect::<Vec<_>>()
    );
    assert!(
        outcomes
            .iter()
            .filter(|o| !o.status.success())
            .all(|o| o.status.code() == Some(8))
    );
    assert_ok(&atio_az(&["verify", &url], b""));
}

#[test]
fn versions_of_blobs_and_partitions_on_azure() {
    if !azurite_available() {
        return;
    }
    let container = container("atio-versions");
    let url = format!("az://{container}/out/report.csv");
    // 12 MiB (multipart) then a small one: the big blob is kept by a server-side copy.
    let big: Vec<u8> = (0..12u32 << 20).map(|i| (i % 253) as u8).collect();
    assert_ok(&atio_az(
        &["put", &url, "--part-size", "5", "--keep-versions", "3"],
        &big,
    ));
    assert_ok(&atio_az(&["put", &url, "--keep-versions", "3"], b"small\n"));
    let kept = download(&container, "out/.report.csv.atio-versions/000001/data");
    assert_eq!(xxh3(&kept), xxh3(&big));
    assert_ok(&atio_az(&["versions", "--verify", &url], b""));
    let rolled = atio_az(&["rollback", &url, "--part-size", "5"], b"");
    assert_ok(&rolled);
    assert_eq!(xxh3(&download(&container, "out/report.csv")), xxh3(&big));
    assert_ok(&atio_az(&["verify", &url], b""));
    assert_eq!(
        download(&container, "out/.report.csv.atio-versions/000002/data"),
        b"small\n"
    );

    // A partition re-run, then a rollback: exactly the first run's blobs again.
    let dir = tempfile::tempdir().unwrap();
    let (good, bad) = (dir.path().join("good.csv"), dir.path().join("bad.csv"));
    std::fs::write(&good, "dt,v\nd1,1\nd1,2\nd1,3\n").unwrap();
    std::fs::write(&bad, "dt,v\nd1,99\n").unwrap();
    let root = format!("az://{container}/table/");
    let write = |input: &std::path::Path| {
        atio_az(
            &[
                "write",
                input.to_str().unwrap(),
                &root,
                "--partition-by",
                "dt",
                "--rows-per-file",
                "2",
                "--keep-versions",
                "2",
            ],
            b"",
        )
    };
    let partition_blobs = || -> Vec<(String, Vec<u8>)> {
        blobs(&container)
            .into_iter()
            .filter(|blob| blob.starts_with("table/dt=d1/"))
            .map(|blob| {
                let bytes = download(&container, &blob);
                (blob, bytes)
            })
            .collect()
    };
    assert_ok(&write(&good));
    let first = partition_blobs();
    assert_eq!(first.len(), 3, "two parts and _SUCCESS: {first:#?}");
    assert_ok(&write(&bad));
    assert_eq!(partition_blobs().len(), 2);
    let partition = format!("{root}dt=d1/");
    assert_ok(&atio_az(&["rollback", &partition], b""));
    assert_eq!(partition_blobs(), first);
    assert_ok(&atio_az(&["verify", &partition], b""));
    assert_ok(&atio_az(&["versions", "--verify", &partition], b""));
}
