//! The command-line grammar.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// atio: write data files all-or-nothing.
///
/// Every write is staged next to its target, fsynced, atomically renamed, and described by a
/// `<name>._SUCCESS` manifest. On any failure the previous content stays intact.
#[derive(Debug, Parser)]
#[command(name = "atio", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print step timings and debug logs (to stderr).
    #[arg(long, short, global = true)]
    pub verbose: bool,
    /// Print a machine-readable JSON report on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Show a progress bar on stderr (when it is a terminal).
    #[arg(long, global = true)]
    pub progress: bool,
    /// fsync policy: `full` (default) or `none` (scratch data: atomic, not power-cut safe).
    #[arg(long, global = true, value_enum, default_value_t = atio::Durability::Full)]
    pub durability: atio::Durability,
    /// Do not write the `<name>._SUCCESS` manifest.
    #[arg(long, global = true)]
    pub no_marker: bool,
    /// Create-only: fail (exit 8, conflict) if the target exists.
    #[arg(long, global = true)]
    pub no_clobber: bool,
    /// If the target is a symlink, replace the link itself instead of the file it points to.
    #[arg(long, global = true)]
    pub no_follow: bool,
    /// Hold the target's lock (`.<name>.atio-lock`) for the whole write: one writer at a time.
    #[arg(long, global = true)]
    pub lock: bool,
    /// How long to wait for the target's lock (with --lock or update) before failing (exit 8)
    /// with a message naming the holder.
    #[arg(long, global = true, default_value = "60s", value_parser = humantime::parse_duration)]
    pub lock_timeout: std::time::Duration,
    /// Compare-and-swap: commit only if the target's current content hash is HASH
    /// (`xxh3-128:<hex>`, as printed by put/write/verify) — for object-store targets, its ETag
    /// (printed after each write); otherwise fail with exit 8.
    #[arg(long, global = true, value_name = "HASH|ETAG")]
    pub if_match: Option<String>,
    /// Keep the content a commit replaces as a version (`atio versions`, `atio rollback`), in
    /// the hidden `.<name>.atio-versions/` beside the target (a file's old inode by hard link,
    /// a directory's or partition's old tree moved there: no data copied). Untagged versions
    /// beyond the newest N are pruned after the commit. On object storage: the sibling prefix
    /// `.<name>.atio-versions/`, kept by server-side copies, the commit then compare-and-swapped
    /// on the ETag it kept.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep_versions: Option<u32>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// How to reach object storage (`s3://`, `gs://`, `az://` targets). Credentials and region come
/// from the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, …).
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Object-store endpoint, e.g. `http://127.0.0.1:9000` for an S3-compatible server.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL", value_name = "URL")]
    pub endpoint: Option<String>,
    /// Address buckets path-style (`ENDPOINT/BUCKET/KEY`), as most S3-compatible servers expect.
    #[arg(long, global = true)]
    pub path_style: bool,
    /// Multipart part size in MiB (at least 5); smaller outputs are sent with one PUT.
    #[arg(long, global = true, default_value_t = 8, value_name = "MIB")]
    pub part_size: usize,
    /// Parts uploaded at once (memory ≈ part size × (this + 1)).
    #[arg(long, global = true, default_value_t = 4)]
    pub upload_concurrency: usize,
    /// Stop retrying a failing object-store request after this long.
    #[arg(long, global = true, default_value = "30s", value_parser = humantime::parse_duration)]
    pub retry_timeout: std::time::Duration,
}

impl GlobalArgs {
    pub fn options(&self) -> atio::Options {
        atio::Options {
            durability: self.durability,
            marker: !self.no_marker,
            no_clobber: self.no_clobber,
            symlinks: if self.no_follow {
                atio::Symlinks::Replace
            } else {
                atio::Symlinks::Follow
            },
            lock: self.lock.then_some(self.lock_timeout),
            if_match: self.if_match.clone(),
            if_changed: false,
            store: atio::StoreOptions {
                endpoint: self.store.endpoint.clone(),
                path_style: self.store.path_style,
                part_size: self.store.part_size.max(5) << 20,
                upload_concurrency: self.store.upload_concurrency.max(1),
                retry_timeout: self.store.retry_timeout,
            },
            keep_versions: self.keep_versions,
            stop_waiting: None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy standard input to PATH atomically.
    Put {
        /// The file to write, or an object URL (`s3://bucket/key`).
        path: PathBuf,
    },
    /// Locked read-modify-write: run CMD with PATH's current content on stdin (empty if missing)
    /// and commit its stdout as PATH's new content, only if CMD exits 0.
    Update {
        /// The file to update.
        path: PathBuf,
        /// The command and its arguments (after `--`).
        #[arg(required = true, last = true)]
        command: Vec<String>,
    },
    /// Complete or roll back an interrupted fallback directory swap; also puts back a directory
    /// left missing with its previous tree moved aside (unreadable or no journal).
    Recover {
        /// Directory targets.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Check files (against `<name>._SUCCESS`) or directories (against `<dir>/_SUCCESS`: every
    /// listed file intact, no unlisted data file); exit 1 on any mismatch. Object URLs work the
    /// same way; a URL ending in `/` is a directory prefix.
    Verify {
        /// Files, directories or object URLs to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Remove staging files left by writers that died (recovering interrupted directory swaps
    /// first), including half-made entries of version stores (`.<name>.atio-versions/`, swept
    /// even without -r; complete versions are never touched); on an object prefix, the parts of
    /// crashed partition runs that no `_SUCCESS` manifest lists.
    Clean {
        /// Directory to sweep, or an object prefix (`s3://bucket/table/`).
        dir: PathBuf,
        /// Also remove staging files older than this even if their writer may be alive
        /// (e.g. `30m`, `2h`, `7d`); on an object prefix, the grace period: unlisted parts
        /// younger than this may belong to a run still writing and are kept.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        older_than: std::time::Duration,
        /// Say what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Sweep subdirectories too.
        #[arg(long, short)]
        recursive: bool,
    },
    /// Encode INPUT (CSV, JSON lines, Parquet, Arrow IPC) into OUTPUT with a sandboxed encoder,
    /// atomically.
    Write(WriteArgs),
    /// List the versions kept for a file, directory, object or prefix (--keep-versions):
    /// number, when it was written, size, rows, hash, run id, tags, and which one is current.
    Versions {
        /// The file or directory, or an object-store URL (a prefix ends with `/`).
        path: PathBuf,
        /// Also check every stored version against its record (size and hash); exit 1 on a
        /// mismatch.
        #[arg(long)]
        verify: bool,
    },
    /// Make a stored version current again (default: the newest, i.e. undo the last versioned
    /// write). A normal atomic commit: the version is hard-linked (no copy; on object storage,
    /// re-uploaded, or a prefix's parts copied back), checked against its record, published
    /// with its own `_SUCCESS` manifest; the content it replaces is kept as a new version, so a
    /// rollback can be rolled back.
    Rollback {
        /// The file or directory, or an object-store URL (a prefix ends with `/`).
        path: PathBuf,
        /// The version number to restore (see `atio versions`).
        #[arg(long, value_name = "N", conflicts_with = "tag")]
        to: Option<u64>,
        /// Restore the version with this tag.
        #[arg(long, value_name = "NAME")]
        tag: Option<String>,
    },
    /// Tag a version (default: the current content, kept as a version if it is not one yet).
    /// Tagged versions are never pruned.
    #[command(disable_version_flag = true)]
    Tag {
        /// The file or directory, or an object-store URL (a prefix ends with `/`).
        path: PathBuf,
        /// The tag: letters, digits, `.`, `_`, `-`.
        name: String,
        /// Tag this stored version instead of the current content.
        #[arg(long = "version", value_name = "N", conflicts_with = "delete")]
        version: Option<u64>,
        /// Move the tag if another version has it.
        #[arg(long)]
        force: bool,
        /// Remove the tag instead.
        #[arg(long)]
        delete: bool,
    },
    /// Remove untagged versions beyond the newest N (tagged versions always stay).
    Prune {
        /// The file or directory, or an object-store URL (a prefix ends with `/`).
        path: PathBuf,
        /// How many of the newest versions to keep (0: remove every untagged version).
        #[arg(long, value_name = "N")]
        keep: u32,
    },
    /// Manage encoder plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Write a sample dataset atomically in every built-in format, verify it, print the reports.
    Demo {
        /// Where to write it.
        #[arg(default_value = "atio-demo")]
        dir: PathBuf,
    },
}

/// `atio write` arguments.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Input data: CSV, JSON lines, Parquet or Arrow IPC (by extension or --input-format); `-`
    /// for stdin.
    pub input: PathBuf,
    /// The file to write, or an object URL (`s3://bucket/key.parquet`; a directory prefix when
    /// it ends in `/`); its extension picks the format unless --format or --plugin is given.
    pub output: PathBuf,
    /// Output format (a built-in or installed plugin name; see `atio plugins list`).
    #[arg(long, short = 'f', conflicts_with = "plugin")]
    pub format: Option<String>,
    /// Encode with this plugin component (.wasm) instead of a named format.
    #[arg(long)]
    pub plugin: Option<PathBuf>,
    /// Encoder option `key=value` (repeatable; see `atio plugins inspect FORMAT`).
    #[arg(short = 'o', long = "option", value_parser = parse_key_value)]
    pub options: Vec<(String, String)>,
    /// Input format when the input's name does not tell.
    #[arg(long, value_enum)]
    pub input_format: Option<atio::input::InputFormat>,
    /// Rows of a CSV or JSON-lines input its schema is inferred from: a number or `all` (a JSON
    /// key first seen after them is an error, never dropped).
    #[arg(long, value_name = "N|all", default_value = "1000")]
    pub infer_rows: atio::input::InferRows,
    /// Write a hive-partitioned directory (`OUTPUT/col=value/part-00000.<ext>`); each top-level
    /// partition is replaced as one unit. Implies a directory OUTPUT.
    #[arg(long, value_delimiter = ',', value_name = "COL[,COL...]")]
    pub partition_by: Vec<String>,
    /// Directory outputs: start a new part file after this many rows.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows_per_file: u64,
    /// Directory outputs: most part files open (encoding) at once (each is a plugin session;
    /// at most 1000 live in one process).
    #[arg(long, default_value_t = 32, value_parser = max_open_files)]
    pub max_open_files: usize,
    /// Directory outputs: skip the swap when the new files equal the current ones.
    #[arg(long)]
    pub if_changed: bool,
    /// Most encoder instances encoding one file at once, each in its own sandbox (formats that
    /// encode in parts: parquet, csv, jsonl), and threads parsing a CSV or JSON-lines input
    /// file. Default: the cores available. The file is the same bytes for any N.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Sandbox limits for encoder plugins.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Longest one plugin call (open, one batch, finish) may run, e.g. `30s`.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub plugin_timeout: std::time::Duration,
    /// Most memory a plugin instance may use, in MiB.
    #[arg(long, default_value_t = 2048)]
    pub plugin_memory: usize,
    /// Most bytes a plugin may write for one output (default: no limit).
    #[arg(long)]
    pub plugin_output_quota: Option<u64>,
}

impl LimitArgs {
    pub fn limits(&self) -> atio::plugin::PluginLimits {
        atio::plugin::PluginLimits {
            timeout: self.plugin_timeout,
            memory: self.plugin_memory << 20,
            output_quota: self.plugin_output_quota,
        }
    }
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected key=value, got `{text}`"))
}

/// `--max-open-files`: 1 to [`atio::plugin::MAX_LIVE_SESSIONS`].
fn max_open_files(text: &str) -> Result<usize, String> {
    let max = atio::plugin::MAX_LIVE_SESSIONS as usize;
    match text.parse::<usize>() {
        Ok(count) if (1..=max).contains(&count) => Ok(count),
        _ => Err(format!("expected a number from 1 to {max}, got `{text}`")),
    }
}

/// `atio plugins` subcommands.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List built-in and installed formats.
    List,
    /// Validate a plugin component and install it under its format name.
    Add {
        /// The plugin's .wasm component.
        file: PathBuf,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Show a format's or a plugin file's info, contract version, imports, sha256 and options.
    Inspect {
        /// A format name or a .wasm file.
        plugin: String,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Uninstall a plugin.
    Remove {
        /// Its format name.
        name: String,
    },
    /// Create a Rust encoder plugin crate from a template (`cargo build --release` builds it).
    New {
        /// Format and crate name: lower-case letters, digits and `-`, e.g. `my-format`.
        name: String,
        /// Where to create it (default `./NAME`); must be missing or empty. The SDK dependency
        /// points at `$ATIO_SDK_DIR` or the atio checkout this binary was built from.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Precompile every built-in and installed plugin into the compile cache.
    Warm {
        #[command(flatten)]
        limits: LimitArgs,
    },
}
