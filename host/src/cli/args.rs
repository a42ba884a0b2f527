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
}

impl GlobalArgs {
    pub fn options(&self) -> atio::Options {
        atio::Options {
            durability: self.durability,
            marker: !self.no_marker,
            no_clobber: self.no_clobber,
            symlinks: if self.no_follow { atio::Symlinks::Replace } else { atio::Symlinks::Follow },
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy standard input to PATH atomically.
    Put {
        /// The file to write.
        path: PathBuf,
    },
    /// Check files against their `_SUCCESS` manifests (exit 1 on any mismatch).
    Verify {
        /// Files to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Remove staging files left by writers that died.
    Clean {
        /// Directory to sweep.
        dir: PathBuf,
        /// Also remove staging files older than this even if their writer may be alive
        /// (e.g. `30m`, `2h`, `7d`).
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        older_than: std::time::Duration,
        /// Say what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Sweep subdirectories too.
        #[arg(long, short)]
        recursive: bool,
    },
    /// Write a sample dataset atomically and print the report.
    Demo {
        /// Where to write it.
        #[arg(default_value = "atio-demo")]
        dir: PathBuf,
    },
}
