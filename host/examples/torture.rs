//! Torture harness: SIGKILLs `atio` writers at random points, thousands of times, and checks after
//! every kill that nothing is torn, lost or left behind.
//!
//! ```sh
//! cargo run --release --example torture -- --iterations 2000 [--seed S] [--dir D] [--atio PATH]
//! ```
//!
//! Six scenarios take turns: `atio put` (raw bytes from stdin), `atio write` through an encoder
//! (CSV in, Parquet or CSV out), `atio write --partition-by` (JSON lines in, hive partitions of
//! Parquet out, 2 versions kept; a third of the attempts roll one partition back instead),
//! `atio update -- sh -c …` (a locked increment), a directory committed through
//! the journal fallback swap (the path used where RENAME_EXCHANGE is refused; a worker process
//! running the library, since the CLI always tries the exchange), and versioned writes
//! (`put --keep-versions 3`) mixed with `rollback`s of the same file. Each attempt's payload size is
//! drawn from size classes spanning bytes to megabytes; each class's run time is measured by
//! writers that are never killed, and the kill delay is drawn over that time (half of the kills
//! over its last quarter, where the commit happens), so kills land in every phase: start-up,
//! writing, encoding, fsync, the rename, the marker, and after it.
//!
//! After each kill the harness runs `atio::recover` and `atio::clean` (what an operator would) and
//! checks the invariants:
//! - the target holds exactly the old content or the new one (xxh3-128 against what each attempt
//!   wrote; for encoders, against a reference run of the same input), never a mix, and is never
//!   lost;
//! - a `_SUCCESS` marker that exists matches the bytes beside it (`atio::verify`);
//! - every partition matches its `_SUCCESS` (`atio::verify_dir`) and holds the old or the new set
//!   of files, never a mix;
//! - no staging file or directory remains;
//! - versions: every listed version verifies against its record, the replaced content is never
//!   lost (current or stored), and recover + clean remove no complete version.
//!
//! It prints a table of outcomes and exits non-zero on any violation.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;

/// Command-line arguments of the example binary.
#[derive(Debug, Parser)]
#[command(about = "SIGKILL atio writers at random points and check nothing is torn or lost")]
pub struct Args {
    /// Writer processes to start (each is killed at a random point or finishes).
    #[arg(long, default_value_t = 200)]
    pub iterations: u64,
    /// Seed for sizes, contents and kill delays (default: from the clock; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Work directory (default: a fresh temporary directory, removed unless a check fails).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The `atio` binary (default: `atio` next to this example's directory, i.e. target/<profile>/).
    #[arg(long)]
    pub atio: Option<PathBuf>,
    /// Only the small size classes (for a run of a few seconds in the test suite).
    #[arg(long)]
    pub quick: bool,
}

/// What one harness run is asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    /// Writer processes to start.
    pub iterations: u64,
    /// Seed for every random choice.
    pub seed: u64,
    /// Work directory; `None` for a temporary one.
    pub dir: Option<PathBuf>,
    /// The `atio` binary.
    pub atio: PathBuf,
    /// Small size classes only.
    pub quick: bool,
    /// Print progress lines.
    pub verbose: bool,
    /// How to start a journal-swap worker: a program and its leading arguments; the job goes in
    /// [`JOURNAL_WORKER_ENV`] and the program must call [`journal_swap_worker`] with it.
    pub journal_worker: (PathBuf, Vec<String>),
}

/// The kinds of writer the harness kills.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scenario {
    /// `atio put data.bin < payload`.
    Put,
    /// `atio write in.csv data.{parquet,csv}`.
    Encode,
    /// `atio write in.jsonl part/ --partition-by dt`.
    Partition,
    /// `atio update counter.txt -- sh -c 'read n; echo $((n+1)); head -c PAD /dev/zero'`.
    Update,
    /// A directory committed through the journal fallback (library, in a worker process).
    JournalSwap,
    /// `atio put --keep-versions 3 ver/data.bin < payload`, or `atio rollback --keep-versions 3
    /// ver/data.bin` (a third of the time, when a stored version differs from the current).
    Versions,
}

impl Scenario {
    const ALL: [Self; 6] = [
        Self::Put,
        Self::Encode,
        Self::Partition,
        Self::Update,
        Self::JournalSwap,
        Self::Versions,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Put => "put (raw)",
            Self::Encode => "write (encoder)",
            Self::Partition => "partitions",
            Self::Update => "update (locked)",
            Self::JournalSwap => "journal swap",
            Self::Versions => "versions",
        }
    }
}

/// Where a killed file write was caught, as seen on disk afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// The writer exited (successfully) before the kill.
    Completed,
    /// Old content, old marker (or none before either): killed before the commit.
    Old,
    /// Old content, old marker already removed: killed between the marker removal and the rename.
    OldMarkerRemoved,
    /// New content, no marker yet: killed between the rename and the new marker.
    NewMarkerPending,
    /// New content with its marker: killed after the commit, before exiting.
    New,
    /// Old and new content are the same bytes (cannot tell which).
    Same,
    /// A partition swap caught before its rename (old set of files, or still absent).
    PartitionOld,
    /// A partition swap caught after its rename (new set of files).
    PartitionNew,
    /// A partition whose old and new content are the same files (cannot tell).
    PartitionSame,
}

impl Outcome {
    const COLUMNS: [(Self, &'static str); 9] = [
        (Self::Completed, "finished"),
        (Self::Old, "old"),
        (Self::OldMarkerRemoved, "old,no-mrk"),
        (Self::NewMarkerPending, "new,no-mrk"),
        (Self::New, "new"),
        (Self::Same, "same"),
        (Self::PartitionOld, "part-old"),
        (Self::PartitionNew, "part-new"),
        (Self::PartitionSame, "part-same"),
    ];
}

/// Counts per scenario, and every violated invariant.
#[derive(Debug, Default)]
pub struct Summary {
    /// Writers started per scenario.
    pub runs: BTreeMap<Scenario, u64>,
    /// Writers killed (SIGKILL delivered before they exited) per scenario.
    pub kills: BTreeMap<Scenario, u64>,
    /// Outcomes per scenario (partitions count one outcome per partition of the attempt).
    pub outcomes: BTreeMap<(Scenario, Outcome), u64>,
    /// Staging files or directories that `clean` removed after kills, per scenario.
    pub cleaned: BTreeMap<Scenario, u64>,
    /// Interrupted directory swaps that `recover` completed or rolled back.
    pub recovered: u64,
    /// Versions scenario: rollbacks started, and how many of them were killed.
    pub rollbacks: (u64, u64),
    /// Partitions scenario: partition rollbacks started, and how many of them were killed.
    pub partition_rollbacks: (u64, u64),
    /// Versions scenario: stored versions checked against their records after each attempt.
    pub versions_verified: u64,
    /// Targets whose content was neither the old nor the new (or a marker that did not match).
    pub torn: u64,
    /// Targets (or partitions) that existed before an attempt and were gone after it.
    pub lost: u64,
    /// Every violation, with the iteration and what was seen.
    pub violations: Vec<String>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// The seed used.
    pub seed: u64,
}

impl Summary {
    /// Writers killed, all scenarios.
    pub fn total_kills(&self) -> u64 {
        self.kills.values().sum()
    }

    /// The outcome table, one row per scenario.
    pub fn table(&self) -> String {
        let mut text = format!(
            "{:<16} {:>6} {:>6} {:>6}",
            "scenario", "runs", "kills", "clean"
        );
        for (_, title) in Outcome::COLUMNS {
            let _ = write!(text, " {title:>10}");
        }
        let _ = writeln!(text, " {:>5} {:>5}", "torn", "lost");
        for scenario in Scenario::ALL {
            let count = |map: &BTreeMap<Scenario, u64>| map.get(&scenario).copied().unwrap_or(0);
            let _ = write!(
                text,
                "{:<16} {:>6} {:>6} {:>6}",
                scenario.name(),
                count(&self.runs),
                count(&self.kills),
                count(&self.cleaned)
            );
            for (outcome, _) in Outcome::COLUMNS {
                let value = self.outcomes.get(&(scenario, outcome)).copied();
                let _ = write!(text, " {:>10}", value.map_or("-".into(), |v| v.to_string()));
            }
            text.push('\n');
        }
        let _ = writeln!(
            text,
            "total: {} writers, {} killed with SIGKILL, {} staging names cleaned, {} swaps recovered; torn {}, lost {}, violations {} ({:.1} s, seed {})",
            self.runs.values().sum::<u64>(),
            self.total_kills(),
            self.cleaned.values().sum::<u64>(),
            self.recovered,
            self.torn,
            self.lost,
            self.violations.len(),
            self.elapsed.as_secs_f64(),
            self.seed
        );
        let _ = writeln!(
            text,
            "versions: {} rollbacks ({} killed) among the versioned writers, {} partition rollbacks ({} killed) among the partition writers; {} stored versions verified against their records after the attempts",
            self.rollbacks.0,
            self.rollbacks.1,
            self.partition_rollbacks.0,
            self.partition_rollbacks.1,
            self.versions_verified
        );
        text
    }
}

/// A file target's state between attempts: its content hash (None: absent) and whether a marker
/// is beside it.
#[derive(Clone, Debug, Default)]
struct FileState {
    hash: Option<String>,
    marker: bool,
}

/// A partition's identity: its files, as (relative path, content hash), from its `_SUCCESS`.
type PartitionFiles = Vec<(String, String)>;

/// Payload size classes: the kill delay is learnt per class, so kills spread over each class's
/// whole run time.
fn put_sizes(quick: bool) -> &'static [usize] {
    if quick {
        &[0, 100, 64 << 10]
    } else {
        &[0, 100, 64 << 10, 1 << 20, 8 << 20, 32 << 20]
    }
}

/// Rows of the CSV inputs of the encoder scenario (one input per class).
fn encode_rows(quick: bool) -> &'static [usize] {
    if quick {
        &[1, 500]
    } else {
        &[1, 2_000, 50_000, 250_000]
    }
}

/// Rows per partition of the JSON-lines inputs of the partition scenario.
fn partition_rows(quick: bool) -> &'static [usize] {
    if quick {
        &[3, 300]
    } else {
        &[3, 3_000, 60_000]
    }
}

/// Zero bytes the update command appends after the counter line.
fn update_pads(quick: bool) -> &'static [usize] {
    if quick {
        &[0, 16 << 10]
    } else {
        &[0, 64 << 10, 4 << 20, 16 << 20]
    }
}

/// Inputs per size class (same size, different content), so a writer can always be given
/// content that differs from what the target holds.
const VARIANTS: usize = 2;

/// Output formats of the encoder scenario (one target file per format).
const ENCODE_FORMATS: [&str; 2] = ["parquet", "csv"];

/// How long each size class takes to finish, from calibration writers that are never killed:
/// the first of each class and every `CALIBRATE_EVERY`-th after it. (Learning from the writers
/// that happened to finish before their kill would favour the fast ones, and the estimate would
/// drift down until no kill reached the commit.)
#[derive(Debug, Default)]
struct Durations {
    estimates: BTreeMap<(Scenario, usize), Duration>,
    attempts: BTreeMap<(Scenario, usize), u64>,
}

/// One writer in this many per size class runs to the end to re-measure the class.
const CALIBRATE_EVERY: u64 = 8;

/// Longest a writer may run before the harness gives up on it (a hang is a violation too).
const HANG_LIMIT: Duration = Duration::from_secs(300);

impl Durations {
    /// The expected run time of the next writer of this class; `None` makes it a calibration
    /// writer (not killed).
    fn next(&mut self, key: (Scenario, usize)) -> Option<Duration> {
        let attempt = self.attempts.entry(key).or_default();
        *attempt += 1;
        if *attempt % CALIBRATE_EVERY == 1 {
            return None;
        }
        self.estimates.get(&key).copied()
    }

    fn calibrated(&mut self, key: (Scenario, usize), took: Duration) {
        let entry = self.estimates.entry(key).or_insert(took);
        // Moving average: fsync times vary a lot from run to run.
        *entry = (*entry * 3 + took) / 4;
    }
}

/// How a writer process ended.
#[derive(Debug)]
enum Ended {
    /// Exited on its own after `took`, with this status and stderr.
    Exited {
        took: Duration,
        success: bool,
        stderr: String,
    },
    /// Killed with SIGKILL (with its whole process group).
    Killed,
}

/// Runs `command` and SIGKILLs its process group after `delay` unless it exits first; `stdin`
/// is fed from a thread (a killed writer's closed pipe is expected).
fn run_and_kill(mut command: Command, stdin: Option<Vec<u8>>, delay: Duration) -> Ended {
    command
        .process_group(0)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().expect("spawning atio");
    let feeder = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let deadline = started + delay;
    let ended = loop {
        if let Some(status) = child.try_wait().expect("waiting for atio") {
            break Ended::Exited {
                took: started.elapsed(),
                success: status.success(),
                stderr: read_stderr(&mut child),
            };
        }
        let now = Instant::now();
        if now >= deadline {
            kill_group(&child);
            let status = child.wait().expect("reaping atio");
            // It may have exited between the last poll and the kill.
            break if status.code().is_some() {
                Ended::Exited {
                    took: started.elapsed(),
                    success: status.success(),
                    stderr: read_stderr(&mut child),
                }
            } else {
                Ended::Killed
            };
        }
        std::thread::sleep((deadline - now).min(Duration::from_micros(500)));
    };
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    ended
}

fn kill_group(child: &Child) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("child pids are positive");
    // ESRCH: the group is already gone (it exited right now); `wait` tells which.
    let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
}

fn read_stderr(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut text);
    }
    text
}

fn xxh3(bytes: &[u8]) -> String {
    format!("xxh3-128:{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// The content hash of a file, `None` when it does not exist.
fn file_hash(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(xxh3(&bytes))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("reading {}: {error}", path.display())),
    }
}

fn marker_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().expect("targets have names").to_owned();
    name.push("._SUCCESS");
    target.with_file_name(name)
}

/// A violated invariant: torn (content or marker wrong), or lost (previous content gone).
#[derive(Debug, PartialEq, Eq)]
pub enum Violation {
    /// Content neither old nor new, or a marker that does not match its data.
    Torn(String),
    /// The target existed before the attempt and does not after it.
    Lost(String),
}

/// What a file target holds after an attempt.
#[derive(Debug)]
pub struct FileCheck {
    /// Which phase the content and marker show the writer reached.
    pub outcome: Outcome,
    /// The content hash now (`None`: absent).
    pub hash: Option<String>,
    /// Whether a marker is present (it matched the data, or this would be a violation).
    pub marker: bool,
}

/// Checks a file target after an attempt that wrote `new` over `before` (content hash, and
/// whether a marker was beside it): old or new content, never lost, and a present marker must
/// match its data.
pub fn check_file(
    target: &Path,
    before: &Option<String>,
    before_marker: bool,
    new: &str,
) -> Result<FileCheck, Violation> {
    let hash = file_hash(target).map_err(Violation::Torn)?;
    let marker = marker_path(target).exists();
    if marker {
        atio::verify(target).map_err(|error| {
            Violation::Torn(format!("the marker does not match its data: {error}"))
        })?;
    }
    let is_new = hash.as_deref() == Some(new);
    let is_old = hash == *before;
    let outcome = match (is_old, is_new) {
        (true, true) => Outcome::Same,
        (false, true) if marker => Outcome::New,
        (false, true) => Outcome::NewMarkerPending,
        (true, false) if before_marker && !marker => Outcome::OldMarkerRemoved,
        (true, false) => Outcome::Old,
        (false, false) if hash.is_none() => {
            return Err(Violation::Lost(format!(
                "the target (was {}) is gone",
                before.as_deref().unwrap_or_default()
            )));
        }
        (false, false) => {
            return Err(Violation::Torn(format!(
                "content {} is neither the old {} nor the new {new}",
                hash.as_deref().unwrap_or_default(),
                before.as_deref().unwrap_or("(absent)")
            )));
        }
    };
    Ok(FileCheck {
        outcome,
        hash,
        marker,
    })
}

/// Every atio staging file or directory under `dir` (not the permanent `.atio-lock` files, nor
/// version stores, whose half-made entries are staging names inside them).
pub fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            && name.contains(".atio-")
            && !name.ends_with(".atio-lock")
            && !name.ends_with(".atio-versions")
        {
            found.push(entry.path());
        }
        if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            found.extend(leftovers(&entry.path()));
        }
    }
    found
}

/// The harness state: work directory, inputs, references, and what each target holds now.
#[derive(Debug)]
struct Harness {
    config: Config,
    work: PathBuf,
    rng: fastrand::Rng,
    durations: Durations,
    summary: Summary,
    put: FileState,
    /// Per output format.
    encoded: BTreeMap<&'static str, FileState>,
    /// Reference hash of each (input class, format) from a writer that was not killed.
    encode_references: BTreeMap<(usize, &'static str), String>,
    /// Per `dt=` directory.
    partitions: BTreeMap<String, PartitionFiles>,
    /// Reference partitions of each input class from a writer that was not killed.
    partition_references: BTreeMap<usize, BTreeMap<String, PartitionFiles>>,
    /// The counter's committed value (`None`: no file yet).
    counter: Option<u64>,
    /// The counter file's content hash and marker.
    counter_state: FileState,
    /// The files of the journal-swapped directory (`None`: absent).
    journal: Option<PartitionFiles>,
    /// The versioned file's content hash and marker.
    versioned: FileState,
    /// Every content the versioned file was ever given (a stored version must be one of them).
    versioned_contents: std::collections::BTreeSet<String>,
}

impl Harness {
    fn atio(&self) -> Command {
        let mut command = Command::new(&self.config.atio);
        command.current_dir(&self.work);
        command
    }

    fn violation(&mut self, iteration: u64, scenario: Scenario, violation: Violation) {
        let text = match violation {
            Violation::Torn(text) => {
                self.summary.torn += 1;
                format!("TORN: {text}")
            }
            Violation::Lost(text) => {
                self.summary.lost += 1;
                format!("LOST: {text}")
            }
        };
        self.other_violation(iteration, scenario, text);
    }

    fn other_violation(&mut self, iteration: u64, scenario: Scenario, text: String) {
        let line = format!("iteration {iteration} ({}): {text}", scenario.name());
        eprintln!("torture: {line}");
        self.summary.violations.push(line);
    }

    fn count(&mut self, scenario: Scenario, outcome: Outcome) {
        *self
            .summary
            .outcomes
            .entry((scenario, outcome))
            .or_default() += 1;
    }

    /// Writes the inputs of every size class.
    fn prepare_inputs(&self) -> Result<(), String> {
        let input = self.work.join("in");
        std::fs::create_dir_all(&input).map_err(|error| error.to_string())?;
        let encode_classes = encode_rows(self.config.quick).len() * VARIANTS;
        for class in 0..encode_classes {
            let rows = encode_rows(self.config.quick)[class / VARIANTS];
            let mut csv = String::from("id,name,value,flag\n");
            for row in 0..rows {
                let _ = writeln!(
                    csv,
                    "{row},name-{class}-{row},{},{}",
                    row as f64 / 7.0 + class as f64,
                    row % 3 == 0
                );
            }
            std::fs::write(input.join(format!("encode-{class}.csv")), csv)
                .map_err(|error| error.to_string())?;
        }
        let partition_classes = partition_rows(self.config.quick).len() * VARIANTS;
        for class in 0..partition_classes {
            let rows = partition_rows(self.config.quick)[class / VARIANTS];
            // Each class covers three of five days, overlapping the others, so a run replaces
            // some partitions, creates others and leaves the rest alone.
            let mut jsonl = String::new();
            for row in 0..rows * 3 {
                let day = (class + row % 3) % 5 + 1;
                let _ = writeln!(
                    jsonl,
                    r#"{{"dt":"2025-01-0{day}","id":{row},"v":"class-{class}-row-{row}"}}"#
                );
            }
            std::fs::write(input.join(format!("partition-{class}.jsonl")), jsonl)
                .map_err(|error| error.to_string())?;
        }
        Ok(())
    }

    /// A writer that is not killed, for reference outputs; fails the run if it fails.
    fn run_reference(&self, args: &[&str]) -> Result<(), String> {
        let output = self
            .atio()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|error| format!("running {}: {error}", self.config.atio.display()))?;
        if !output.status.success() {
            return Err(format!(
                "reference run `atio {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(())
    }

    fn encode_reference(&mut self, class: usize, format: &'static str) -> Result<String, String> {
        if let Some(hash) = self.encode_references.get(&(class, format)) {
            return Ok(hash.clone());
        }
        let dir = format!("ref/encode-{class}-{format}");
        let target = format!("{dir}/data.{format}");
        let input = format!("in/encode-{class}.csv");
        self.run_reference(&["write", &input, &target])?;
        let first = file_hash(&self.work.join(&target))?.ok_or("no reference output")?;
        // The check is only sound if encoding is deterministic: encode once more and compare.
        std::fs::remove_dir_all(self.work.join(&dir)).map_err(|error| error.to_string())?;
        self.run_reference(&["write", &input, &target])?;
        let second = file_hash(&self.work.join(&target))?.ok_or("no reference output")?;
        if first != second {
            return Err(format!(
                "the {format} encoder is not deterministic ({first} then {second}): hashes cannot tell old from new"
            ));
        }
        self.encode_references
            .insert((class, format), first.clone());
        Ok(first)
    }

    fn partition_reference(
        &mut self,
        class: usize,
    ) -> Result<BTreeMap<String, PartitionFiles>, String> {
        if let Some(reference) = self.partition_references.get(&class) {
            return Ok(reference.clone());
        }
        let root = format!("ref/partition-{class}/");
        let input = format!("in/partition-{class}.jsonl");
        let args = [
            "write",
            &input,
            &root,
            "--partition-by",
            "dt",
            "--format",
            "parquet",
        ];
        self.run_reference(&args)?;
        let first = read_partitions(&self.work.join(&root))?;
        std::fs::remove_dir_all(self.work.join(&root)).map_err(|error| error.to_string())?;
        self.run_reference(&args)?;
        let second = read_partitions(&self.work.join(&root))?;
        if first != second {
            return Err("the parquet encoder is not deterministic across partition runs".into());
        }
        self.partition_references.insert(class, first.clone());
        Ok(first)
    }

    /// A random input class whose output differs from what the target holds now (classes with a
    /// reference not yet known qualify), so that a kill's outcome tells old from new.
    fn class_unlike(&mut self, classes: usize, differs: impl Fn(&Self, usize) -> bool) -> usize {
        let candidates: Vec<usize> = (0..classes).filter(|&class| differs(self, class)).collect();
        if candidates.is_empty() {
            self.rng.usize(..classes)
        } else {
            candidates[self.rng.usize(..candidates.len())]
        }
    }

    /// Kill delay for a size class. Half the kills are spread uniformly over the expected run
    /// time and a quarter beyond; the other half over its last quarter, where the commit (fsync,
    /// rename, marker) happens, so that short phase gets its share of kills.
    fn delay(&mut self, key: (Scenario, usize)) -> Duration {
        let Some(estimate) = self.durations.next(key) else {
            return HANG_LIMIT;
        };
        let fraction = if self.rng.bool() {
            self.rng.f64() * 1.25
        } else {
            0.75 + self.rng.f64() * 0.3
        };
        estimate.mul_f64(fraction)
    }

    /// Starts one writer and kills it (or sees it finish). Returns whether the target must now
    /// hold the new content (`false`: killed or failed, so old or new).
    fn attempt(
        &mut self,
        iteration: u64,
        scenario: Scenario,
        class: usize,
        command: Command,
        stdin: Option<Vec<u8>>,
    ) -> bool {
        *self.summary.runs.entry(scenario).or_default() += 1;
        let delay = self.delay((scenario, class));
        match run_and_kill(command, stdin, delay) {
            Ended::Killed if delay == HANG_LIMIT => {
                self.other_violation(
                    iteration,
                    scenario,
                    format!("the writer hung for {HANG_LIMIT:?}"),
                );
                false
            }
            Ended::Killed => {
                *self.summary.kills.entry(scenario).or_default() += 1;
                false
            }
            Ended::Exited {
                took,
                success: true,
                ..
            } => {
                if delay == HANG_LIMIT {
                    self.durations.calibrated((scenario, class), took);
                }
                self.count(scenario, Outcome::Completed);
                true
            }
            Ended::Exited {
                success: false,
                stderr,
                ..
            } => {
                self.other_violation(
                    iteration,
                    scenario,
                    format!("the writer failed without being killed: {stderr}"),
                );
                false
            }
        }
    }

    /// `recover` the `swapped` directories (interrupted journal swaps), then `clean` `dir`;
    /// after that no staging name may remain.
    fn recover_and_clean(
        &mut self,
        iteration: u64,
        scenario: Scenario,
        dir: &Path,
        swapped: &[PathBuf],
    ) -> Result<(), String> {
        if !dir.exists() {
            // Killed before it created the directory: nothing can be left in it.
            return Ok(());
        }
        let options = atio::Options::default();
        for partition in swapped {
            match atio::recover(partition, &options) {
                Ok(atio::Recovery::Nothing) => {}
                Ok(_) => self.summary.recovered += 1,
                Err(error) => return Err(format!("recover {}: {error}", partition.display())),
            }
        }
        let report = atio::clean(
            dir,
            &atio::CleanOptions {
                recursive: true,
                ..atio::CleanOptions::default()
            },
        )
        .map_err(|error| format!("clean: {error}"))?;
        *self.summary.cleaned.entry(scenario).or_default() += report.removed.len() as u64;
        if !report.kept.is_empty() {
            self.other_violation(
                iteration,
                scenario,
                format!(
                    "clean kept staging names of dead writers: {:?}",
                    report.kept
                ),
            );
        }
        let left = leftovers(dir);
        if !left.is_empty() {
            self.other_violation(
                iteration,
                scenario,
                format!("staging names remain after recover + clean: {left:?}"),
            );
        }
        Ok(())
    }

    /// Random bytes of about `size` (jittered, so no two attempts write the same bytes).
    fn payload(&mut self, size: usize) -> Vec<u8> {
        let jitter = if size > 0 { self.rng.usize(..64) } else { 0 };
        let mut payload = vec![0u8; size + jitter];
        self.rng.fill(&mut payload);
        payload
    }

    fn put(&mut self, iteration: u64) -> Result<(), String> {
        let sizes = put_sizes(self.config.quick);
        let class = self.rng.usize(..sizes.len());
        let payload = self.payload(sizes[class]);
        let new = xxh3(&payload);
        let target = self.work.join("put/data.bin");
        let mut command = self.atio();
        command.args(["put", "put/data.bin"]);
        let finished = self.attempt(iteration, Scenario::Put, class, command, Some(payload));
        let before = self.put.clone();
        self.after_file_attempt(iteration, Scenario::Put, &target, &before, &new, finished)
            .map(|state| self.put = state)
    }

    fn encode(&mut self, iteration: u64) -> Result<(), String> {
        let classes = encode_rows(self.config.quick).len() * VARIANTS;
        let format = ENCODE_FORMATS[self.rng.usize(..ENCODE_FORMATS.len())];
        let class = self.class_unlike(classes, |harness, class| {
            let current = harness
                .encoded
                .get(format)
                .and_then(|state| state.hash.as_ref());
            harness.encode_references.get(&(class, format)) != current
        });
        let new = self.encode_reference(class, format)?;
        let target = self.work.join(format!("enc/data.{format}"));
        let mut command = self.atio();
        command.args([
            "write",
            &format!("in/encode-{class}.csv"),
            &format!("enc/data.{format}"),
        ]);
        let finished = self.attempt(iteration, Scenario::Encode, class, command, None);
        let before = self.encoded.get(format).cloned().unwrap_or_default();
        let state = self.after_file_attempt(
            iteration,
            Scenario::Encode,
            &target,
            &before,
            &new,
            finished,
        )?;
        self.encoded.insert(format, state);
        Ok(())
    }

    fn update(&mut self, iteration: u64) -> Result<(), String> {
        let pads = update_pads(self.config.quick);
        let class = self.rng.usize(..pads.len());
        let pad = pads[class];
        let old = self.counter;
        let mut new_bytes = format!("{}\n", old.unwrap_or(0) + 1).into_bytes();
        new_bytes.resize(new_bytes.len() + pad, 0);
        let new = xxh3(&new_bytes);
        let target = self.work.join("upd/counter.txt");
        let mut command = self.atio();
        command.args([
            "update",
            "upd/counter.txt",
            "--",
            "sh",
            "-c",
            &format!("read -r n; echo $((${{n:-0}}+1)); head -c {pad} /dev/zero"),
        ]);
        let finished = self.attempt(iteration, Scenario::Update, class, command, None);
        let before = self.counter_state.clone();
        let state = self.after_file_attempt(
            iteration,
            Scenario::Update,
            &target,
            &before,
            &new,
            finished,
        )?;
        if state.hash.as_deref() == Some(new.as_str()) {
            self.counter = Some(old.unwrap_or(0) + 1);
        }
        self.counter_state = state;
        Ok(())
    }

    /// Checks a file target after an attempt; returns its state now.
    fn after_file_attempt(
        &mut self,
        iteration: u64,
        scenario: Scenario,
        target: &Path,
        before: &FileState,
        new: &str,
        finished: bool,
    ) -> Result<FileState, String> {
        let dir = target.parent().expect("targets are in a directory");
        self.recover_and_clean(iteration, scenario, dir, &[])?;
        match check_file(target, &before.hash, before.marker, new) {
            Ok(check) => {
                if !finished {
                    self.count(scenario, check.outcome);
                } else if check.hash.as_deref() != Some(new) || !check.marker {
                    // A writer that reported success must have committed data and marker.
                    self.violation(
                        iteration,
                        scenario,
                        Violation::Torn(format!(
                            "the writer exited 0 but the target is {:?}",
                            check.outcome
                        )),
                    );
                }
                Ok(FileState {
                    hash: check.hash,
                    marker: check.marker,
                })
            }
            Err(violation) => {
                self.violation(iteration, scenario, violation);
                // Go on from what is there, so one violation is not reported again and again.
                Ok(FileState {
                    hash: file_hash(target)?,
                    marker: marker_path(target).exists(),
                })
            }
        }
    }

    fn partition(&mut self, iteration: u64) -> Result<(), String> {
        let classes = partition_rows(self.config.quick).len() * VARIANTS;
        let root = self.work.join("part");
        let mut command = self.atio();
        command.args(["--keep-versions", "2"]);
        // A third of the time, one partition is rolled back to its newest stored version (when
        // that is not its current tree); every other partition must stay as it is.
        let rollback = match self.rng.usize(..3) {
            0 => self.partition_to_roll_back(&root)?,
            _ => None,
        };
        let (class, new) = match rollback {
            Some((name, files)) => {
                command.args(["rollback", &format!("part/{name}")]);
                let mut new = self.partitions.clone();
                new.insert(name, files);
                (classes, new)
            }
            None => {
                let class = self.class_unlike(classes, |harness, class| {
                    harness
                        .partition_references
                        .get(&class)
                        .is_none_or(|reference| {
                            reference
                                .iter()
                                .all(|(day, files)| harness.partitions.get(day) != Some(files))
                        })
                });
                command.args([
                    "write",
                    &format!("in/partition-{class}.jsonl"),
                    "part/",
                    "--partition-by",
                    "dt",
                    "--format",
                    "parquet",
                ]);
                (class, self.partition_reference(class)?)
            }
        };
        let kills = self.summary.total_kills();
        let finished = self.attempt(iteration, Scenario::Partition, class, command, None);
        if class == classes {
            self.summary.partition_rollbacks.0 += 1;
            self.summary.partition_rollbacks.1 += self.summary.total_kills() - kills;
        }
        let days: Vec<PathBuf> = (1..=5)
            .map(|day| root.join(format!("dt=2025-01-0{day}")))
            .collect();
        let versions_before = days
            .iter()
            .map(|day| stored_versions(day))
            .collect::<Result<Vec<_>, _>>()?;
        self.recover_and_clean(iteration, Scenario::Partition, &root, &days)?;
        for (day, before) in days.iter().zip(versions_before) {
            self.check_dir_versions(iteration, Scenario::Partition, day, &before);
        }
        let before = std::mem::take(&mut self.partitions);
        let mut names: Vec<String> = before.keys().cloned().collect();
        if let Ok(entries) = std::fs::read_dir(&root) {
            names.extend(
                entries
                    .flatten()
                    .map(|entry| entry.file_name().to_string_lossy().into_owned())
                    .filter(|name| !name.starts_with('.')),
            );
        }
        names.sort();
        names.dedup();
        for name in names {
            let check = PartitionAttempt {
                iteration,
                scenario: Scenario::Partition,
                old: before.get(&name),
                new: new.get(&name),
                finished,
            };
            if let Some(files) = self.check_partition(&root.join(&name), check) {
                self.partitions.insert(name, files);
            }
        }
        Ok(())
    }

    /// A partition whose newest stored version is not its current tree: its name and that
    /// version's files, picked at random among them.
    fn partition_to_roll_back(
        &mut self,
        root: &Path,
    ) -> Result<Option<(String, PartitionFiles)>, String> {
        let mut candidates = Vec::new();
        for (name, files) in &self.partitions {
            let listed = match atio::versions::list(root.join(name), &atio::Options::default()) {
                Ok(listed) => listed,
                Err(error) if error.kind() == atio::ErrorKind::NotFound => continue,
                Err(error) => return Err(format!("listing versions of {name}: {error}")),
            };
            if let Some(manifest) = listed
                .versions
                .last()
                .and_then(|version| version.record.dir_manifest.as_ref())
                && partition_files(manifest) != *files
            {
                candidates.push((name.clone(), partition_files(manifest)));
            }
        }
        Ok(match candidates.len() {
            0 => None,
            count => Some(candidates.swap_remove(self.rng.usize(..count))),
        })
    }

    /// A versioned write (`put --keep-versions 3`) or a rollback of the same file. Beyond the
    /// file checks: every listed version verifies against its record, the content replaced is
    /// never lost (it is current or stored), every stored version is content the file was given,
    /// and recover + clean removed no complete version (only half-made entries).
    fn versions(&mut self, iteration: u64) -> Result<(), String> {
        let target = self.work.join("ver/data.bin");
        let stored = stored_versions(&target)?;
        let rollback_to = stored
            .last()
            .filter(|(_, hash)| self.versioned.hash.as_ref() != Some(hash))
            .cloned();
        let all_sizes = put_sizes(self.config.quick);
        let sizes = &all_sizes[..all_sizes.len().min(5)];
        let mut command = self.atio();
        command.args(["--keep-versions", "3"]);
        let rollback = rollback_to.is_some() && self.rng.usize(..3) == 0;
        let (class, new, stdin) = match rollback_to {
            Some((_, hash)) if rollback => {
                command.args(["rollback", "ver/data.bin"]);
                (sizes.len(), hash, None)
            }
            _ => {
                let class = self.rng.usize(..sizes.len());
                let payload = self.payload(sizes[class]);
                command.args(["put", "ver/data.bin"]);
                (class, xxh3(&payload), Some(payload))
            }
        };
        self.versioned_contents.insert(new.clone());
        let kills = self.summary.total_kills();
        let finished = self.attempt(iteration, Scenario::Versions, class, command, stdin);
        if rollback {
            self.summary.rollbacks.0 += 1;
            self.summary.rollbacks.1 += self.summary.total_kills() - kills;
        }
        let before = self.versioned.clone();
        let listed_before_clean = stored_versions(&target)?;
        let state = self.after_file_attempt(
            iteration,
            Scenario::Versions,
            &target,
            &before,
            &new,
            finished,
        )?;
        let fail = |harness: &mut Self, text: String| {
            harness.violation(iteration, Scenario::Versions, Violation::Torn(text));
        };
        let listed = match target.parent().is_some_and(Path::exists) {
            true => match atio::versions::verify(&target, &atio::Options::default()) {
                Ok(listed) => listed
                    .versions
                    .into_iter()
                    .map(|version| (version.number, version.record.hash))
                    .collect(),
                Err(error) if error.kind() == atio::ErrorKind::NotFound => Vec::new(),
                Err(error) => {
                    fail(self, format!("a stored version does not verify: {error}"));
                    stored_versions(&target)?
                }
            },
            false => Vec::new(),
        };
        self.summary.versions_verified += listed.len() as u64;
        if listed != listed_before_clean {
            fail(
                self,
                format!(
                    "recover + clean changed the listed versions: {listed_before_clean:?} -> {listed:?}"
                ),
            );
        }
        if let Some(old) = &before.hash
            && state.hash.as_ref() != Some(old)
            && !listed.iter().any(|(_, hash)| hash == old)
        {
            self.violation(
                iteration,
                Scenario::Versions,
                Violation::Lost(format!(
                    "the replaced content {old} is neither current nor stored"
                )),
            );
        }
        if let Some((number, hash)) = listed
            .iter()
            .find(|(_, hash)| !self.versioned_contents.contains(hash))
        {
            fail(
                self,
                format!("version {number} holds content never written: {hash}"),
            );
        }
        if finished && listed.len() > 3 {
            fail(
                self,
                format!("a finished write left {} versions (keep 3)", listed.len()),
            );
        }
        self.versioned = state;
        Ok(())
    }

    /// A writer that swaps one directory with the journal fallback (two renames and an intent
    /// file instead of RENAME_EXCHANGE), so kills land in the window that `recover` closes.
    fn journal_swap(&mut self, iteration: u64) -> Result<(), String> {
        let sizes = journal_sizes(self.config.quick);
        let classes = sizes.len() * VARIANTS;
        let class = self.class_unlike(classes, |harness, class| {
            harness.journal.as_ref() != Some(&journal_reference(class, sizes[class / VARIANTS]))
        });
        let size = sizes[class / VARIANTS];
        let new = journal_reference(class, size);
        let root = self.work.join("jrnl");
        let target = root.join("dt=1");
        let (program, args) = &self.config.journal_worker;
        let mut command = Command::new(program);
        command.args(args).current_dir(&self.work).env(
            JOURNAL_WORKER_ENV,
            format!("{}\n{class}\n{size}", target.display()),
        );
        let finished = self.attempt(iteration, Scenario::JournalSwap, class, command, None);
        let versions_before = stored_versions(&target)?;
        self.recover_and_clean(
            iteration,
            Scenario::JournalSwap,
            &root,
            std::slice::from_ref(&target),
        )?;
        self.check_dir_versions(iteration, Scenario::JournalSwap, &target, &versions_before);
        let before = self.journal.take();
        let check = PartitionAttempt {
            iteration,
            scenario: Scenario::JournalSwap,
            old: before.as_ref(),
            new: Some(&new),
            finished,
        };
        self.journal = self.check_partition(&target, check);
        Ok(())
    }

    /// Directory targets keep 2 versions: each listed one verifies (its tree against its
    /// `_SUCCESS`), and recover + clean changed none of them (`before`: listed after the kill).
    fn check_dir_versions(
        &mut self,
        iteration: u64,
        scenario: Scenario,
        dir: &Path,
        before: &[(u64, String)],
    ) {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        let listed = match atio::versions::verify(dir, &atio::Options::default()) {
            Ok(listed) => listed
                .versions
                .into_iter()
                .map(|version| (version.number, version.record.hash))
                .collect(),
            Err(error) if error.kind() == atio::ErrorKind::NotFound => Vec::new(),
            Err(error) => {
                self.violation(
                    iteration,
                    scenario,
                    Violation::Torn(format!(
                        "a stored version of {name} does not verify: {error}"
                    )),
                );
                return;
            }
        };
        self.summary.versions_verified += listed.len() as u64;
        if listed != before {
            self.violation(
                iteration,
                scenario,
                Violation::Torn(format!(
                    "recover + clean changed the versions of {name}: {before:?} -> {listed:?}"
                )),
            );
        }
    }

    /// Checks one directory after an attempt: it matches its `_SUCCESS`, and holds its old or its
    /// new set of files (or is still absent if it was). Returns what it holds now.
    fn check_partition(
        &mut self,
        path: &Path,
        attempt: PartitionAttempt,
    ) -> Option<PartitionFiles> {
        let PartitionAttempt {
            iteration,
            scenario,
            old,
            new,
            finished,
        } = attempt;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if !path.exists() {
            if old.is_some() {
                self.violation(
                    iteration,
                    scenario,
                    Violation::Lost(format!("partition {name} is gone")),
                );
            } else if new.is_some() && finished {
                self.violation(
                    iteration,
                    scenario,
                    Violation::Lost(format!(
                        "the writer exited 0 but its partition {name} does not exist"
                    )),
                );
            } else if new.is_some() {
                self.count(scenario, Outcome::PartitionOld);
            }
            return None;
        }
        let files = match atio::verify_dir(path) {
            Ok(verified) => partition_files(&verified.manifest),
            Err(error) => {
                self.violation(
                    iteration,
                    scenario,
                    Violation::Torn(format!("partition {name}: {error}")),
                );
                return None;
            }
        };
        let is_old = old == Some(&files);
        let is_new = new == Some(&files);
        let outcome = match (is_old, is_new) {
            (true, true) => Outcome::PartitionSame,
            (true, false) => Outcome::PartitionOld,
            (false, true) => Outcome::PartitionNew,
            (false, false) => {
                self.violation(
                    iteration,
                    scenario,
                    Violation::Torn(format!(
                        "partition {name} holds neither its old nor its new set of files: {files:?}"
                    )),
                );
                return Some(files);
            }
        };
        if finished && new.is_some() && !is_new {
            self.violation(
                iteration,
                scenario,
                Violation::Torn(format!(
                    "the writer exited 0 but partition {name} is not the new one"
                )),
            );
        }
        // Partitions the attempt did not write are not outcomes of this kill.
        if !finished && new.is_some() {
            self.count(scenario, outcome);
        }
        Some(files)
    }
}

/// One directory's expectations after an attempt, for [`Harness::check_partition`].
#[derive(Debug)]
struct PartitionAttempt<'a> {
    iteration: u64,
    scenario: Scenario,
    old: Option<&'a PartitionFiles>,
    new: Option<&'a PartitionFiles>,
    finished: bool,
}

/// Environment variable that makes a process a journal-swap worker (see [`journal_swap_worker`]):
/// `<directory>\n<class>\n<bytes per file>`.
pub const JOURNAL_WORKER_ENV: &str = "ATIO_TORTURE_JOURNAL_WORKER";

/// Files per journal-swapped directory.
const JOURNAL_FILES: usize = 3;

/// Bytes per file of the journal-swap scenario.
fn journal_sizes(quick: bool) -> &'static [usize] {
    if quick {
        &[100, 16 << 10]
    } else {
        &[100, 64 << 10, 2 << 20, 8 << 20]
    }
}

/// The files a journal-swap worker writes for `class`: deterministic, so the harness knows them.
fn journal_content(class: usize, size: usize) -> Vec<(String, Vec<u8>)> {
    (0..JOURNAL_FILES)
        .map(|file| {
            let mut bytes = vec![0u8; size];
            fastrand::Rng::with_seed((class * JOURNAL_FILES + file) as u64).fill(&mut bytes);
            (format!("part-{file:05}.bin"), bytes)
        })
        .collect()
}

fn journal_reference(class: usize, size: usize) -> PartitionFiles {
    journal_content(class, size)
        .into_iter()
        .map(|(path, bytes)| (path, xxh3(&bytes)))
        .collect()
}

/// The worker side of the journal-swap scenario: stages the directory named in `job` and
/// commits it through the journal fallback (`StagedDir::set_exchange(false)`).
pub fn journal_swap_worker(job: &str) -> Result<(), String> {
    let mut fields = job.split('\n');
    let (Some(path), Some(class), Some(size)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(format!(
            "{JOURNAL_WORKER_ENV} is not `dir\\nclass\\nsize`: {job:?}"
        ));
    };
    let parse = |field: &str| {
        field
            .parse::<usize>()
            .map_err(|error| format!("{field}: {error}"))
    };
    let (class, size) = (parse(class)?, parse(size)?);
    let options = atio::Options {
        keep_versions: Some(2),
        ..atio::Options::default()
    };
    let mut staged = atio::StagedDir::create(path, &options).map_err(|error| error.to_string())?;
    staged.set_exchange(false);
    for (name, bytes) in journal_content(class, size) {
        staged
            .add_bytes(&name, &bytes)
            .map_err(|error| error.to_string())?;
    }
    staged.commit().map_err(|error| error.to_string())?;
    Ok(())
}

fn partition_files(manifest: &atio::manifest::DirManifest) -> PartitionFiles {
    manifest
        .files
        .iter()
        .map(|file| (file.path.clone(), file.hash.clone()))
        .collect()
}

/// (number, hash) of every version stored for `target`, oldest first (none when there is no
/// store, file or directory yet).
fn stored_versions(target: &Path) -> Result<Vec<(u64, String)>, String> {
    if !target.parent().is_some_and(Path::exists) {
        return Ok(Vec::new());
    }
    match atio::versions::list(target, &atio::Options::default()) {
        Ok(listed) => Ok(listed
            .versions
            .into_iter()
            .map(|version| (version.number, version.record.hash))
            .collect()),
        Err(error) if error.kind() == atio::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(format!("listing versions: {error}")),
    }
}

/// Every committed partition under `root`, checked against its manifest.
fn read_partitions(root: &Path) -> Result<BTreeMap<String, PartitionFiles>, String> {
    let mut partitions = BTreeMap::new();
    for entry in std::fs::read_dir(root).map_err(|error| error.to_string())? {
        let entry = entry.map_err(|error| error.to_string())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let verified = atio::verify_dir(entry.path()).map_err(|error| error.to_string())?;
        partitions.insert(name, partition_files(&verified.manifest));
    }
    Ok(partitions)
}

/// Runs the harness: `config.iterations` writers, scenarios in turn. `Err` only when the harness
/// itself cannot run (a reference write failed, the work directory is unusable); violations of
/// atio's guarantees are in the summary.
pub fn run(config: &Config) -> Result<Summary, String> {
    let started = Instant::now();
    let temporary = match &config.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|error| error.to_string())?;
            None
        }
        None => Some(
            tempfile::Builder::new()
                .prefix("atio-torture-")
                .tempdir()
                .map_err(|error| error.to_string())?,
        ),
    };
    let work = match &temporary {
        Some(temporary) => temporary.path().to_path_buf(),
        None => config.dir.clone().expect("a directory was given"),
    };
    let mut harness = Harness {
        config: config.clone(),
        work: work.clone(),
        rng: fastrand::Rng::with_seed(config.seed),
        durations: Durations::default(),
        summary: Summary {
            seed: config.seed,
            ..Summary::default()
        },
        put: FileState::default(),
        encoded: BTreeMap::new(),
        encode_references: BTreeMap::new(),
        partitions: BTreeMap::new(),
        partition_references: BTreeMap::new(),
        counter: None,
        counter_state: FileState::default(),
        journal: None,
        versioned: FileState::default(),
        versioned_contents: std::collections::BTreeSet::new(),
    };
    harness.prepare_inputs()?;
    for iteration in 0..config.iterations {
        let scenario = Scenario::ALL[(iteration % Scenario::ALL.len() as u64) as usize];
        match scenario {
            Scenario::Put => harness.put(iteration)?,
            Scenario::Encode => harness.encode(iteration)?,
            Scenario::Partition => harness.partition(iteration)?,
            Scenario::Update => harness.update(iteration)?,
            Scenario::JournalSwap => harness.journal_swap(iteration)?,
            Scenario::Versions => harness.versions(iteration)?,
        }
        if config.verbose && (iteration + 1) % 100 == 0 {
            eprintln!(
                "torture: {} / {} writers, {} killed, {} violations ({:.0} s)",
                iteration + 1,
                config.iterations,
                harness.summary.total_kills(),
                harness.summary.violations.len(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    harness.summary.elapsed = started.elapsed();
    if let Some(temporary) = temporary
        && !harness.summary.violations.is_empty()
    {
        // Keep the evidence.
        eprintln!(
            "torture: work directory kept at {}",
            temporary.keep().display()
        );
    }
    Ok(harness.summary)
}

/// The `atio` binary next to this example (`target/<profile>/examples/torture` →
/// `target/<profile>/atio`).
fn default_atio() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|error| error.to_string())?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("cannot locate target/<profile>/")?;
    let atio = profile_dir.join("atio");
    if atio.is_file() {
        Ok(atio)
    } else {
        Err(format!(
            "no atio binary at {} (build it with `cargo build --release`, or pass --atio PATH)",
            atio.display()
        ))
    }
}

fn main() -> ExitCode {
    if let Ok(job) = std::env::var(JOURNAL_WORKER_ENV) {
        return match journal_swap_worker(&job) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("torture worker: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let args = Args::parse();
    let atio = match args.atio.map_or_else(default_atio, Ok) {
        Ok(atio) => atio,
        Err(error) => {
            eprintln!("torture: {error}");
            return ExitCode::from(2);
        }
    };
    let seed = args.seed.unwrap_or_else(|| fastrand::u64(..));
    let Ok(worker) = std::env::current_exe() else {
        eprintln!("torture: cannot find its own executable (the journal-swap worker)");
        return ExitCode::from(2);
    };
    let config = Config {
        iterations: args.iterations,
        seed,
        dir: args.dir,
        atio,
        quick: args.quick,
        verbose: true,
        journal_worker: (worker, Vec::new()),
    };
    eprintln!(
        "torture: {} writers, seed {seed}, atio {}",
        config.iterations,
        config.atio.display()
    );
    match run(&config) {
        Ok(summary) => {
            print!("{}", summary.table());
            if summary.violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                for violation in &summary.violations {
                    println!("VIOLATION {violation}");
                }
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("torture: cannot run: {error}");
            ExitCode::from(2)
        }
    }
}
