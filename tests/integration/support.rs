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

/// Staging files and directories; not the permanent `.<name>.atio-lock` files, nor version
/// stores `.<name>.atio-versions/` (whose half-made entries are staging names, found inside).
fn is_staging_name(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.')
        && name.contains(".atio-")
        && !name.ends_with(".atio-lock")
        && !name.ends_with(".atio-versions")
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

/// The Python the tests run: `ATIO_TEST_PYTHON` (tests/run points it at its venv, where it
/// installed NumPy, the Azure SDK, moto, pyarrow, …), else that venv (`target/venv`) if a
/// previous `tests/run` made it, else `python3` from PATH.
pub fn python() -> Command {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin/python");
    Command::new(
        std::env::var_os("ATIO_TEST_PYTHON")
            .filter(|python| !python.is_empty())
            .map(PathBuf::from)
            .or_else(|| venv.exists().then_some(venv))
            .unwrap_or_else(|| "python3".into()),
    )
}

/// Whether every optional tool must be present: `ATIO_REQUIRE_ALL_TOOLS=1` (set by .ci/run) or
/// `CI` set. Then a missing tool fails its tests instead of skipping them, so CI proves them.
pub fn all_tools_required() -> bool {
    std::env::var_os("ATIO_REQUIRE_ALL_TOOLS").is_some_and(|value| value == "1")
        || std::env::var_os("CI").is_some_and(|value| !value.is_empty())
}

/// Whether the optional tool `tool` is available, probed once per test process (`probe` says
/// why not). When it is not: a failure if [`all_tools_required`], else one `SKIPPED` line on
/// the terminal and `false`, for the calling test to return at once.
pub fn tool_available(tool: &str, how: &str, probe: fn() -> Result<(), String>) -> bool {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Probed = Arc<OnceLock<Result<(), String>>>;
    static PROBED: OnceLock<Mutex<HashMap<String, Probed>>> = OnceLock::new();
    // One slot per tool, probed outside the map's lock: a slow probe (building the polyglot
    // plugins) holds up only the tests that need that tool.
    let slot = PROBED
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .entry(tool.to_owned())
        .or_default()
        .clone();
    let Err(why) = slot.get_or_init(probe) else {
        return true;
    };
    assert!(
        !all_tools_required(),
        "{tool} is not available ({why}) and ATIO_REQUIRE_ALL_TOOLS=1 or CI is set, so its tests must run: {how}"
    );
    let current = std::thread::current();
    let test = current
        .name()
        .filter(|name| *name != "main")
        .unwrap_or("a test");
    // Straight to the terminal: libtest captures print macros, and hides a passing test's output.
    use std::io::Write;
    let line =
        format!("SKIPPED {test}: {tool} is not available ({why}); {how} (tests/run installs it)\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    false
}

/// `Ok` when `program args` runs and exits 0, else why not.
pub fn probe_command(program: &mut Command) -> Result<(), String> {
    let name = program.get_program().to_string_lossy().into_owned();
    match program
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
    {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!(
            "`{name}` exits with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        )),
        Err(error) => Err(format!("`{name}`: {error}")),
    }
}

/// `Ok` when an executable `name` is on PATH.
pub fn probe_on_path(name: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .any(|file| {
            file.metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
        .then_some(())
        .ok_or_else(|| format!("`{name}` is not on PATH"))
}

/// `Ok` when the test Python imports `module`.
pub fn probe_python_module(module: &str) -> Result<(), String> {
    probe_command(python().args(["-c", &format!("import {module}")]))
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
        let mut keeper = python()
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
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            // A server that cannot start ends its wrapper: say so now, not after the deadline.
            if let Ok(Some(status)) = keeper.try_wait() {
                let mut error = String::new();
                if let Some(mut stderr) = keeper.stderr.take() {
                    use std::io::Read;
                    let _ = stderr.read_to_string(&mut error);
                }
                panic!(
                    "`{}` did not start ({status}): {install}\n{error}",
                    command[0]
                );
            }
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
