//! Plugins written in other languages, the Rust plugin template, and contract versioning.
//!
//! The Python (componentize-py) and JavaScript (ComponentizeJS) example plugins in
//! `examples/plugins/` are built by `.ci/build-polyglot-plugins.sh`, which needs python3 (pip)
//! and npm. These tests use the components in `ATIO_POLYGLOT_DIR` when it is set (tests/run
//! builds them first); otherwise they run the script once themselves into `target/polyglot`.
//! When they cannot be had, the tests that need them skip with one line saying why — or fail,
//! with the script's output, when every tool is required (`ATIO_REQUIRE_ALL_TOOLS=1`, CI).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::support::{
    assert_no_leftovers, cargo, guest_target_dir, host_triple, marker, run_atio_env, stderr, stdout,
};

/// Three rows with a null in each data column and a string that Markdown and HTML must escape.
const INPUT_CSV: &[u8] = b"id,name,score\n1,alpha,1.5\n2,\"b|c <x> & \"\"q\"\"\",\n3,,-2.25\n";

const EXPECTED_MARKDOWN: &str = "\
| id | name | score |
| --- | --- | --- |
| 1 | alpha | 1.5 |
| 2 | b\\|c \\<x\\> \\& \"q\" |  |
| 3 |  | -2.25 |
";

const EXPECTED_HTML: &str = "\
<!DOCTYPE html>
<html>
<head>
<meta charset=\"utf-8\">
<title>Table</title>
</head>
<body>
<table>
<thead>
<tr><th>id</th><th>name</th><th>score</th></tr>
</thead>
<tbody>
<tr><td>1</td><td>alpha</td><td>1.5</td></tr>
<tr><td>2</td><td>b|c &lt;x&gt; &amp; &quot;q&quot;</td><td></td></tr>
<tr><td>3</td><td></td><td>-2.25</td></tr>
</tbody>
</table>
</body>
</html>
";

/// The directory holding `markdown.wasm` (Python) and `html.wasm` (JavaScript), or why there
/// is none.
fn polyglot_dir() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(dir) = std::env::var_os("ATIO_POLYGLOT_DIR").filter(|dir| !dir.is_empty()) {
                let dir = PathBuf::from(dir);
                return match ["markdown.wasm", "html.wasm"]
                    .iter()
                    .find(|file| !dir.join(file).is_file())
                {
                    Some(missing) => Err(format!(
                        "ATIO_POLYGLOT_DIR={} has no {missing}",
                        dir.display()
                    )),
                    None => Ok(dir),
                };
            }
            // Without npm the build cannot succeed: say so at once instead of trying.
            crate::support::probe_on_path("npm")?;
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
            let dir = root.join("target").join("polyglot");
            let output = Command::new(root.join(".ci/build-polyglot-plugins.sh"))
                .arg(&dir)
                .output()
                .map_err(|error| format!("running .ci/build-polyglot-plugins.sh: {error}"))?;
            if !output.status.success() {
                return Err(format!(
                    "building them failed:\n{}\n{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            Ok(dir)
        })
        .clone()
}

/// A polyglot component, compiled into the shared compile cache once before any test uses it
/// (the first compile of these ~17 MB components takes many seconds; tests run in parallel).
/// `None` (the test returns) when they cannot be built here and not every tool is required.
fn polyglot_plugin(file: &str) -> Option<PathBuf> {
    static WARM: [OnceLock<()>; 2] = [OnceLock::new(), OnceLock::new()];
    let available = crate::support::tool_available(
        "the Python and JavaScript example plugins",
        "`.ci/build-polyglot-plugins.sh target/polyglot` builds them (python3 with pip, and npm)",
        || polyglot_dir().map(drop),
    );
    let path = polyglot_dir().ok().filter(|_| available)?.join(file);
    let slot = usize::from(file != "markdown.wasm");
    WARM[slot].get_or_init(|| {
        let output = run(
            Path::new("."),
            &["plugins", "inspect", path.to_str().unwrap()],
        );
        assert!(output.status.success(), "{}", stderr(&output));
    });
    Some(path)
}

fn run(dir: &Path, args: &[&str]) -> Output {
    run_atio_env(dir, args, &[])
}

/// A temp dir with `in.csv`.
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), INPUT_CSV).unwrap();
    dir
}

#[track_caller]
fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
}

#[test]
fn python_plugin_writes_the_exact_markdown_table() {
    let Some(plugin) = polyglot_plugin("markdown.wasm") else {
        return;
    };
    let dir = workdir();
    let output = run(
        dir.path(),
        &[
            "write",
            "in.csv",
            "out.md",
            "--plugin",
            plugin.to_str().unwrap(),
        ],
    );
    assert_ok(&output);
    let written = std::fs::read_to_string(dir.path().join("out.md")).unwrap();
    assert_eq!(written, EXPECTED_MARKDOWN);
    let manifest = marker(&dir.path().join("out.md"));
    assert_eq!(manifest["rows"], 3, "{manifest}");
    assert_eq!(manifest["format"], "markdown", "{manifest}");
    assert_no_leftovers(dir.path());
}

#[test]
fn python_plugin_options_and_refusals() {
    let Some(plugin) = polyglot_plugin("markdown.wasm") else {
        return;
    };
    let plugin = plugin.to_str().unwrap();
    let dir = workdir();
    let output = run(
        dir.path(),
        &[
            "write",
            "in.csv",
            "out.md",
            "--plugin",
            plugin,
            "-o",
            "align=auto",
            "-o",
            "null=_null_",
        ],
    );
    assert_ok(&output);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.md")).unwrap(),
        "| id | name | score |\n| ---: | :--- | ---: |\n| 1 | alpha | 1.5 |\n\
         | 2 | b\\|c \\<x\\> \\& \"q\" | _null_ |\n| 3 | _null_ | -2.25 |\n"
    );

    let bad = run(
        dir.path(),
        &[
            "write", "in.csv", "out.md", "--plugin", plugin, "-o", "align=up",
        ],
    );
    assert_eq!(bad.status.code(), Some(10), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains(
            "markdown encoder: invalid option: option `align`: expected one of none, left, center, right, auto, got `up`"
        ),
        "{}",
        stderr(&bad)
    );

    // A date column: the pure-Python Arrow reader names the column and type it cannot handle.
    std::fs::write(dir.path().join("dates.csv"), b"id,day\n1,2024-01-02\n").unwrap();
    let unsupported = run(
        dir.path(),
        &["write", "dates.csv", "out.md", "--plugin", plugin],
    );
    assert_eq!(
        unsupported.status.code(),
        Some(9),
        "{}",
        stderr(&unsupported)
    );
    assert!(
        stderr(&unsupported).contains("unsupported: column `day`: type Date32 is not supported"),
        "{}",
        stderr(&unsupported)
    );
    // Both failures left the first output as it was.
    assert!(
        std::fs::read_to_string(dir.path().join("out.md"))
            .unwrap()
            .contains("_null_")
    );
    assert_no_leftovers(dir.path());
}

#[test]
fn javascript_plugin_writes_the_exact_html_table() {
    let Some(plugin) = polyglot_plugin("html.wasm") else {
        return;
    };
    let plugin = plugin.to_str().unwrap();
    let dir = workdir();
    let output = run(
        dir.path(),
        &["write", "in.csv", "out.html", "--plugin", plugin],
    );
    assert_ok(&output);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.html")).unwrap(),
        EXPECTED_HTML
    );
    assert_eq!(marker(&dir.path().join("out.html"))["rows"], 3);

    let fragment = run(
        dir.path(),
        &[
            "write",
            "in.csv",
            "part.html",
            "--plugin",
            plugin,
            "-o",
            "fragment=true",
            "-o",
            "caption=Scores & <ranks>",
            "-o",
            "null=n/a",
        ],
    );
    assert_ok(&fragment);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("part.html")).unwrap(),
        "<table>\n<caption>Scores &amp; &lt;ranks&gt;</caption>\n<thead>\n\
         <tr><th>id</th><th>name</th><th>score</th></tr>\n</thead>\n<tbody>\n\
         <tr><td>1</td><td>alpha</td><td>1.5</td></tr>\n\
         <tr><td>2</td><td>b|c &lt;x&gt; &amp; &quot;q&quot;</td><td>n/a</td></tr>\n\
         <tr><td>3</td><td>n/a</td><td>-2.25</td></tr>\n</tbody>\n</table>\n"
    );

    let bad = run(
        dir.path(),
        &[
            "write",
            "in.csv",
            "out.html",
            "--plugin",
            plugin,
            "-o",
            "colour=red",
        ],
    );
    assert_eq!(bad.status.code(), Some(10), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains(
            "html encoder: invalid option: unknown option `colour`; known options: caption, null, fragment"
        ),
        "{}",
        stderr(&bad)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.html")).unwrap(),
        EXPECTED_HTML
    );
    assert_no_leftovers(dir.path());
}

#[test]
fn installed_polyglot_plugins_are_found_by_format_and_extension() {
    let Some(markdown) = polyglot_plugin("markdown.wasm") else {
        return;
    };
    let Some(html) = polyglot_plugin("html.wasm") else {
        return;
    };
    let dir = workdir();
    let plugins = dir.path().join("plugins");
    let env = [("ATIO_PLUGIN_DIR", plugins.as_path())];
    for plugin in [&markdown, &html] {
        let added = run_atio_env(
            dir.path(),
            &["plugins", "add", plugin.to_str().unwrap()],
            &env,
        );
        assert_ok(&added);
    }
    let list = run_atio_env(dir.path(), &["plugins", "list"], &env);
    assert_ok(&list);
    let listed = stdout(&list);
    assert!(
        listed.contains("markdown") && listed.contains("html") && listed.contains("installed"),
        "{listed}"
    );

    let by_format = run_atio_env(
        dir.path(),
        &["write", "in.csv", "table.txt", "--format", "markdown"],
        &env,
    );
    assert_ok(&by_format);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("table.txt")).unwrap(),
        EXPECTED_MARKDOWN
    );
    let by_extension = run_atio_env(dir.path(), &["write", "in.csv", "table.html"], &env);
    assert_ok(&by_extension);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("table.html")).unwrap(),
        EXPECTED_HTML
    );
    let by_extension = run_atio_env(dir.path(), &["write", "in.csv", "table.md"], &env);
    assert_ok(&by_extension);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("table.md")).unwrap(),
        EXPECTED_MARKDOWN
    );
    assert_no_leftovers(dir.path());
}

/// What `atio plugins inspect --json` reports a component imports.
fn imports(plugin: &Path) -> Vec<String> {
    let output = run(
        Path::new("."),
        &["plugins", "inspect", "--json", plugin.to_str().unwrap()],
    );
    assert_ok(&output);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["contract_version"], "0.1.2", "{report}");
    // Built against world `encoder-plugin`: no `parts`, so one session per file.
    assert_eq!(report["exports_parts"], false, "{report}");
    report["imports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| name.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn polyglot_components_import_nothing_beyond_the_allowlist() {
    // componentize-py's `--stub-wasi` leaves only the contract.
    let (Some(markdown), Some(html)) = (
        polyglot_plugin("markdown.wasm"),
        polyglot_plugin("html.wasm"),
    ) else {
        return;
    };
    assert_eq!(
        imports(&markdown),
        ["atio:encoder/sink@0.1.2", "atio:encoder/types@0.1.2"]
    );
    // ComponentizeJS with `-d stdio -d http -d fetch-event`: basic WASI only.
    let js = imports(&html);
    let allowed = [
        "atio:encoder/",
        "wasi:cli/",
        "wasi:io/",
        "wasi:random/",
        "wasi:clocks/",
    ];
    for name in &js {
        assert!(
            allowed.iter().any(|prefix| name.starts_with(prefix)),
            "{name} in {js:?}"
        );
    }
    assert!(js.iter().any(|name| name.starts_with("atio:encoder/sink@")));
}

#[test]
fn polyglot_plugins_pass_the_hosts_output_refusal_on() {
    let dir = workdir();
    let mut csv = b"id,name,score\n".to_vec();
    for row in 0..5000 {
        csv.extend_from_slice(format!("{row},name {row},{row}.5\n").as_bytes());
    }
    std::fs::write(dir.path().join("big.csv"), csv).unwrap();
    for (plugin, target) in [("markdown.wasm", "out.md"), ("html.wasm", "out.html")] {
        let Some(plugin) = polyglot_plugin(plugin) else {
            return;
        };
        std::fs::write(dir.path().join(target), b"previous").unwrap();
        let output = run(
            dir.path(),
            &[
                "write",
                "big.csv",
                target,
                "--plugin",
                plugin.to_str().unwrap(),
                "--plugin-output-quota",
                "1000",
            ],
        );
        assert_eq!(output.status.code(), Some(11), "{}", stderr(&output));
        assert!(
            stderr(&output).contains("output quota of 1000 bytes exceeded"),
            "{}",
            stderr(&output)
        );
        assert_eq!(std::fs::read(dir.path().join(target)).unwrap(), b"previous");
    }
    assert_no_leftovers(dir.path());
}

#[test]
fn the_rust_template_builds_into_a_working_plugin_and_its_test_passes() {
    let dir = workdir();
    let created = run(
        dir.path(),
        &[
            "plugins",
            "new",
            "col-profile",
            "--dir",
            "plugins/col-profile",
        ],
    );
    assert_ok(&created);
    let crate_dir = dir.path().join("plugins/col-profile");
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        ".cargo/config.toml",
        "rust-toolchain.toml",
        "README.md",
    ] {
        assert!(crate_dir.join(file).is_file(), "{file} missing");
    }
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../guest-formats/sdk")
        .canonicalize()
        .unwrap();
    assert!(
        manifest.contains(&format!(
            "atio-encoder-sdk = {{ path = {:?} }}",
            sdk.display().to_string()
        )),
        "{manifest}"
    );
    // Creating it again refuses to touch the existing crate.
    let again = run(
        dir.path(),
        &[
            "plugins",
            "new",
            "col-profile",
            "--dir",
            "plugins/col-profile",
        ],
    );
    assert_eq!(again.status.code(), Some(8), "{}", stderr(&again));
    let bad_name = run(dir.path(), &["plugins", "new", "Bad_Name"]);
    assert_eq!(bad_name.status.code(), Some(10), "{}", stderr(&bad_name));

    // Build it the documented way, in the guest encoders' target directory: the SDK's
    // dependencies (same lock file, same profile) are already compiled there by host/build.rs.
    let guest_target = guest_target_dir();
    let build = cargo(&crate_dir)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &guest_target)
        .output()
        .unwrap();
    assert_ok(&build);
    let wasm = guest_target.join("wasm32-wasip2/release/col_profile.wasm");
    let output = run(
        dir.path(),
        &[
            "write",
            "in.csv",
            "profile.tsv",
            "--plugin",
            wasm.to_str().unwrap(),
        ],
    );
    assert_ok(&output);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("profile.tsv")).unwrap(),
        "column\ttype\tnulls\nid\tInt64\t0\nname\tUtf8\t1\nscore\tFloat64\t1\n"
    );
    assert_eq!(
        marker(&dir.path().join("profile.tsv"))["format"],
        "col-profile"
    );

    // The generated unit tests pass natively, as its README says.
    let test = cargo(&crate_dir)
        .args(["test", "--target", &host_triple()])
        .env("CARGO_TARGET_DIR", &guest_target)
        .output()
        .unwrap();
    assert_ok(&test);
    assert!(stdout(&test).contains("2 passed"), "{}", stdout(&test));
    assert_no_leftovers(dir.path());
}

#[test]
fn a_plugin_built_against_an_incompatible_contract_is_refused_naming_both_versions() {
    let plugin = crate::encoders::guest_wasm("atio_test_wrong_version");
    let message = "incompatible plugin: built against atio:encoder@0.2.0, but this atio \
                   implements atio:encoder@0.1.2 (compatible: 0.1.x)";
    let dir = workdir();
    let plugins = dir.path().join("plugins");
    let env = [("ATIO_PLUGIN_DIR", plugins.as_path())];
    let inspect = run(
        dir.path(),
        &["plugins", "inspect", plugin.to_str().unwrap()],
    );
    assert_eq!(inspect.status.code(), Some(11), "{}", stderr(&inspect));
    assert!(stderr(&inspect).contains(message), "{}", stderr(&inspect));

    let add = run_atio_env(
        dir.path(),
        &["plugins", "add", plugin.to_str().unwrap()],
        &env,
    );
    assert_eq!(add.status.code(), Some(11), "{}", stderr(&add));
    assert!(stderr(&add).contains(message), "{}", stderr(&add));
    assert!(
        !plugins.exists() || std::fs::read_dir(&plugins).unwrap().next().is_none(),
        "nothing installed"
    );

    std::fs::write(dir.path().join("out.txt"), b"previous").unwrap();
    let write = run(
        dir.path(),
        &[
            "write",
            "in.csv",
            "out.txt",
            "--plugin",
            plugin.to_str().unwrap(),
        ],
    );
    assert_eq!(write.status.code(), Some(11), "{}", stderr(&write));
    assert!(stderr(&write).contains(message), "{}", stderr(&write));
    assert_eq!(
        std::fs::read(dir.path().join("out.txt")).unwrap(),
        b"previous"
    );
    assert_no_leftovers(dir.path());
}
