//! Helpers shared by the test modules.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `atio` binary built for this test run.
pub fn atio() -> Command {
    Command::new(env!("CARGO_BIN_EXE_atio"))
}

/// Runs `atio` with `args` in `dir`, feeding `stdin`.
pub fn run_atio(dir: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut command = atio();
    command.args(args).current_dir(dir);
    output_with_stdin(command, stdin)
}

/// Runs atio in `dir` with stdin closed and these environment variables set.
pub fn run_atio_env(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = atio();
    command.args(args).current_dir(dir).stdin(Stdio::null());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// Runs `command` to completion, feeding it `stdin`; its output.
pub fn output_with_stdin(mut command: Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn atio");
    // A child that fails early stops reading: that is its answer, not the test's failure.
    match child.stdin.take().unwrap().write_all(stdin) {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    child.wait_with_output().unwrap()
}

/// Text of stderr, for assertions.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Text of stdout, for assertions.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every atio staging file or directory under `dir` (recursively).
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if is_staging_name(&entry.file_name()) {
            found.push(path.clone());
        }
        if entry.file_type().unwrap().is_dir() {
            found.extend(leftovers(&path));
        }
    }
    found
}

/// Staging files and directories; not the permanent `.<name>.atio-lock` files.
fn is_staging_name(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') && name.contains(".atio-") && !name.ends_with(".atio-lock")
}

/// Asserts nothing atio staged is left under `dir`.
#[track_caller]
pub fn assert_no_leftovers(dir: &Path) {
    let found = leftovers(dir);
    assert!(found.is_empty(), "staging leftovers: {found:?}");
}

/// Parses `<path>._SUCCESS`.
pub fn marker(path: &Path) -> serde_json::Value {
    let mut name = path.file_name().unwrap().to_os_string();
    name.push("._SUCCESS");
    let text = std::fs::read(path.with_file_name(name)).expect("marker exists");
    serde_json::from_slice(&text).expect("marker is JSON")
}

/// xxh3-128 of bytes, computed independently of atio's hasher wrapper.
pub fn xxh3(bytes: &[u8]) -> String {
    format!("xxh3-128:{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// Whether this process runs as root (then permission tests drop privileges in a child).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Runs atio with `args` in `dir` as `nobody` when we are root (root ignores directory
/// permissions), else as ourselves; stdin is empty.
pub fn atio_unprivileged(args: &[&str], dir: &Path) -> Output {
    let mut command = if is_root() {
        let mut command = Command::new("setpriv");
        command.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_atio"),
        ]);
        command
    } else {
        atio()
    };
    command
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// Re-executes this test binary to run only the test `entry` as a worker process, with
/// `key=value` in its environment (the entry point does its work only when `key` is set).
pub fn spawn_entry(
    entry: &str,
    key: &str,
    value: impl AsRef<std::ffi::OsStr>,
) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", entry, "--test-threads=1", "-q"])
        .env(key, value)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// A test server on 127.0.0.1, started through a small Python wrapper that stops it when this
/// test binary exits (the wrapper's stdin, held by us, closes).
pub struct LocalServer {
    pub port: u16,
    _keeper: std::process::Child,
}

impl LocalServer {
    /// Runs `command` (with `{port}` replaced by a free port) with `envs`, and waits until the
    /// port accepts connections; `install` says how to get the program when it does not start.
    pub fn start(command: &[&str], envs: &[(&str, &str)], install: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let command: Vec<String> = command
            .iter()
            .map(|arg| arg.replace("{port}", &port.to_string()))
            .collect();
        let keeper = Command::new("python3")
            .args([
                "-c",
                "import subprocess, sys\n\
                 server = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL,\n\
                                           stderr=subprocess.DEVNULL)\n\
                 sys.stdin.read()\n\
                 server.terminate()\n",
            ])
            .args(&command)
            .envs(envs.iter().copied())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "`{}` did not start on port {port}: {install}",
                command[0]
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Self {
            port,
            _keeper: keeper,
        }
    }
}

/// The cargo running these tests, with the settings meant for this build removed.
pub fn cargo(dir: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(dir).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME")
            || matches!(&*key, "RUSTFLAGS" | "RUSTC_WRAPPER" | "ATIO_SDK_DIR")
        {
            command.env_remove(&*key);
        }
    }
    command
}

pub fn host_triple() -> String {
    let output = Command::new("rustc").arg("-vV").output().unwrap();
    stdout(&output)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_owned()
}

/// The target directory host/build.rs builds the guest workspace in (`target/guest-formats`).
pub fn guest_target_dir() -> PathBuf {
    Path::new(env!("ATIO_GUEST_WASM_DIR"))
        .ancestors()
        .nth(2)
        .expect("ATIO_GUEST_WASM_DIR is <target>/wasm32-wasip2/release")
        .to_path_buf()
}
