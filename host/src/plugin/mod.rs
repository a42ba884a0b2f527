//! Sandboxed encoder plugins: WebAssembly components implementing `wit/encoder.wit`.
//!
//! A plugin gets no path, no file, no environment, no network: only an `output` whose bytes go
//! where the host decides (a staging file the commit engine owns). Every call runs under a
//! deadline (epoch interruption), a memory cap and an optional output quota; after a trap the
//! instance is discarded. One `InstancePre` per plugin per process, one `Store` per output file.

mod background;
mod bindings;
pub mod cache;
mod destination;
mod engine;
mod imports;
pub(crate) mod parts;
mod stderr;
mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::ipc::writer::StreamWriter;
use serde::Serialize;
use sha2::Digest;
use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::error::{Error, ErrorKind, Result, Step};
pub use background::{BackgroundSession, Gate};
use bindings::{EncodeError, EncoderExports, EncoderIndices, PartsIndices, Refusal, State};
pub use cache::{LoadSource, cache_dir};
pub use destination::{Destination, MAX_HEADER_SIZE};
pub use engine::MAX_LIVE_SESSIONS;
use writer::WriterThread;

/// The `atio:encoder` contract version this host implements.
pub const CONTRACT_VERSION: &str = "0.1.2";

/// Resource limits applied to every plugin call.
#[derive(Clone, Debug, Serialize)]
pub struct PluginLimits {
    /// Longest a single call (open, one batch, finish) may run.
    pub timeout: Duration,
    /// Most linear memory a plugin instance may grow to, in bytes.
    pub memory: usize,
    /// Most output bytes one session may write; `None` for no limit.
    pub output_quota: Option<u64>,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            memory: 2 << 30,
            output_quota: None,
        }
    }
}

/// An option an encoder accepts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OptionInfo {
    /// `-o NAME=VALUE`.
    pub name: String,
    /// One line.
    pub description: String,
    /// Used when not given.
    pub default: Option<String>,
}

/// What an encoder says about itself (`encoder.info`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FormatInfo {
    /// `--format` name.
    pub name: String,
    /// The encoder's version.
    pub version: String,
    /// Output media type.
    pub media_type: String,
    /// File extensions, preferred first.
    pub extensions: Vec<String>,
    /// Accepted options.
    pub options: Vec<OptionInfo>,
}

impl From<bindings::FormatInfo> for FormatInfo {
    fn from(info: bindings::FormatInfo) -> Self {
        Self {
            name: info.name,
            version: info.version,
            media_type: info.media_type,
            extensions: info.extensions,
            options: info
                .options
                .into_iter()
                .map(|option| OptionInfo {
                    name: option.name,
                    description: option.description,
                    default: option.default_value,
                })
                .collect(),
        }
    }
}

/// A component's identity: the sha256 of its bytes (hex), as recorded in manifests and used to
/// key the compile cache.
pub fn component_sha256(wasm: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(wasm))
}

/// Plugins loaded by this process, by sha256: one `InstancePre` per plugin per process.
static LOADED: Mutex<Option<HashMap<String, Arc<Plugin>>>> = Mutex::new(None);

/// Whether loading may use the on-disk compile cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheMode {
    /// Use a verified cache entry if there is one; compile and cache otherwise.
    Use,
    /// Compile anew and overwrite the cache entry.
    Recompile,
}

/// A loaded, checked, ready-to-instantiate encoder plugin.
#[derive(Clone)]
pub struct Plugin {
    /// Where it came from (`builtin:parquet` or a file path), for messages.
    pub origin: PathBuf,
    /// What it says about itself.
    pub info: FormatInfo,
    /// sha256 of the component bytes (hex).
    pub sha256: String,
    /// The `atio:encoder` version it was built against.
    pub contract_version: String,
    /// Everything it imports.
    pub imports: Vec<String>,
    /// Whether it came from the compile cache.
    pub load_source: LoadSource,
    /// How long loading took (compile or deserialise, link, `info`).
    pub load_time: Duration,
    pre: wasmtime::component::InstancePre<State>,
    encoder: EncoderIndices,
    /// The optional `parts` export (contract 0.1.2): one file encoded on several instances.
    parts: Option<PartsIndices>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("origin", &self.origin)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Loads a component: from this process's table, else the compile cache, else by compiling.
    /// Refuses components that import anything beyond the sink and basic WASI, or that were built
    /// against an incompatible contract.
    pub fn load(
        origin: impl Into<PathBuf>,
        wasm: &[u8],
        limits: &PluginLimits,
    ) -> Result<Arc<Self>> {
        Self::load_hashed(origin, wasm, &component_sha256(wasm), limits)
    }

    /// [`Plugin::load`] for bytes whose sha256 (hex) is already known, e.g. computed at build time
    /// for the built-in encoders.
    pub fn load_hashed(
        origin: impl Into<PathBuf>,
        wasm: &[u8],
        sha256: &str,
        limits: &PluginLimits,
    ) -> Result<Arc<Self>> {
        if let Some(plugin) = LOADED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(HashMap::new)
            .get(sha256)
        {
            return Ok(plugin.clone());
        }
        let plugin = Self::load_uncached(
            origin.into(),
            wasm,
            sha256.to_owned(),
            limits,
            CacheMode::Use,
        )?;
        LOADED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_or_insert_with(HashMap::new)
            .insert(sha256.to_owned(), plugin.clone());
        Ok(plugin)
    }

    /// Loads a component whose sha256 is `sha256` (see [`component_sha256`]) without consulting
    /// this process's table of loaded plugins; `mode` says whether the on-disk compile cache may
    /// be used or must be refreshed.
    pub fn load_with(
        origin: impl Into<PathBuf>,
        wasm: &[u8],
        sha256: &str,
        limits: &PluginLimits,
        mode: CacheMode,
    ) -> Result<Arc<Self>> {
        Self::load_uncached(origin.into(), wasm, sha256.to_owned(), limits, mode)
    }

    fn load_uncached(
        origin: PathBuf,
        wasm: &[u8],
        sha256: String,
        limits: &PluginLimits,
        mode: CacheMode,
    ) -> Result<Arc<Self>> {
        let started = Instant::now();
        let _span = tracing::debug_span!("load_plugin", origin = %origin.display()).entered();
        let fail =
            |message: String| Error::new(ErrorKind::Plugin, Step::LoadPlugin, &origin, message);
        let engine = engine::engine();
        let cached = match mode {
            CacheMode::Use => cache::cached(engine, &sha256),
            CacheMode::Recompile => None,
        };
        let (component, load_source) = match cached {
            Some(component) => (component, LoadSource::Cache),
            None => {
                // A sha256 taken on trust (built in, or recorded at install) is checked before
                // anything is compiled and cached under it.
                let actual = component_sha256(wasm);
                if actual != sha256 {
                    return Err(fail(format!(
                        "its sha256 is {actual}, not the {sha256} it was recorded with"
                    )));
                }
                let component = cache::compile(engine, wasm, &sha256).map_err(|error| {
                    fail(format!("not a valid WebAssembly component: {error:#}"))
                })?;
                (component, LoadSource::Compiled)
            }
        };
        let imports = imports::imports(engine, &component);
        let forbidden = imports::forbidden(&imports);
        if !forbidden.is_empty() {
            return Err(fail(format!(
                "refused: plugins may import only atio:encoder/sink and wasi cli/io/random/clocks, but this one imports {}",
                forbidden.join(", ")
            )));
        }
        let exports = component
            .component_type()
            .exports(engine)
            .map(|(name, _)| name.to_owned())
            .collect::<Vec<_>>();
        let contract_version =
            imports::contract_version(exports.iter().cloned().chain(imports.iter().cloned()))
                .ok_or_else(|| {
                    fail(format!(
                        "not an atio encoder: it exports {} but not atio:encoder/encoder",
                        exports.join(", ")
                    ))
                })?;
        check_contract(&contract_version).map_err(fail)?;
        let linker = bindings::linker(engine).map_err(|error| fail(format!("linking: {error}")))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|error| fail(format!("cannot be linked: {error:#}")))?;
        let encoder = EncoderIndices::new(&pre)
            .map_err(|error| fail(format!("cannot be linked: {error:#}")))?;
        let parts = PartsIndices::new(&pre).ok();
        let mut plugin = Self {
            origin: origin.clone(),
            info: FormatInfo {
                name: String::new(),
                version: String::new(),
                media_type: String::new(),
                extensions: Vec::new(),
                options: Vec::new(),
            },
            sha256: sha256.clone(),
            contract_version,
            imports,
            load_source,
            load_time: Duration::ZERO,
            pre,
            encoder,
            parts,
        };
        let mut instance = plugin.instantiate(limits, &origin)?;
        let info = Instance::exports(&instance.plugin).call_info(&mut instance.store);
        plugin.info = info
            .map_err(|error| instance.trap(error, Step::LoadPlugin, &origin))?
            .into();
        plugin.load_time = started.elapsed();
        Ok(Arc::new(plugin))
    }

    /// The encoder name, version and component hash, as recorded in manifests.
    pub fn encoder_info(&self) -> crate::EncoderInfo {
        crate::EncoderInfo {
            name: self.info.name.clone(),
            version: self.info.version.clone(),
            sha256: self.sha256.clone(),
        }
    }

    fn instantiate(&self, limits: &PluginLimits, path: &Path) -> Result<Instance> {
        let mut store = Store::new(
            engine::engine(),
            State::new(limits.memory, limits.output_quota),
        );
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(engine::ticks(limits.timeout));
        store.epoch_deadline_trap();
        let mut instance = Instance {
            store,
            plugin: None,
            loaded: None,
            timeout: limits.timeout,
            name: self.origin.display().to_string(),
        };
        let loaded = self
            .pre
            .instantiate(&mut instance.store)
            .and_then(|loaded| {
                let encoder = self.encoder.load(&mut instance.store, &loaded)?;
                Ok((loaded, encoder))
            });
        match loaded {
            Ok((loaded, encoder)) => {
                instance.plugin = Some(encoder);
                instance.loaded = Some(loaded);
                Ok(instance)
            }
            Err(error) => Err(instance.trap(error, Step::LoadPlugin, path)),
        }
    }

    /// Starts encoding one output: `destination` receives every byte the plugin writes, and is
    /// handed back by [`Session::finish`].
    pub fn open<W: Destination>(
        self: &Arc<Self>,
        schema: &SchemaRef,
        options: &[(String, String)],
        destination: W,
        limits: &PluginLimits,
        path: &Path,
    ) -> Result<Session> {
        let mut instance = self.instantiate(limits, path)?;
        instance.name = format!("{} encoder", self.info.name);
        instance.store.data_mut().output = Some(
            WriterThread::spawn(Box::new(destination))
                .map_err(|error| Error::io(Step::Write, path, error))?,
        );
        let ipc_error = |error: arrow::error::ArrowError| {
            Error::new(
                ErrorKind::InvalidInput,
                Step::Encode,
                path,
                format!("cannot serialise the schema as Arrow IPC: {error}"),
            )
        };
        let mut ipc = StreamWriter::try_new(Vec::new(), schema).map_err(ipc_error)?;
        let schema_message = std::mem::take(ipc.get_mut());
        let output = instance
            .store
            .data_mut()
            .new_output()
            .map_err(|error| instance.trap(error, Step::Encode, path))?;
        let started = Instant::now();
        let opened = Instance::exports(&instance.plugin).session().call_open(
            &mut instance.store,
            &schema_message,
            options,
            output,
        );
        let handle = match opened {
            Ok(Ok(handle)) => handle,
            Ok(Err(error)) => return Err(instance.refusal(error, Step::Encode, path)),
            Err(error) => return Err(instance.trap(error, Step::Encode, path)),
        };
        Ok(Session {
            instance,
            handle: Some(handle),
            ipc,
            path: path.to_path_buf(),
            timeout: limits.timeout,
            guest_time: started.elapsed(),
            rows: 0,
        })
    }
}

/// `batch` as the next messages of the Arrow IPC stream `ipc` (whose buffer is handed out).
fn ipc_message(
    ipc: &mut StreamWriter<Vec<u8>>,
    batch: &RecordBatch,
    path: &Path,
) -> Result<Vec<u8>> {
    ipc.write(batch).map_err(|error| {
        Error::new(
            ErrorKind::InvalidInput,
            Step::Encode,
            path,
            format!("cannot serialise a batch as Arrow IPC: {error}"),
        )
    })?;
    Ok(std::mem::take(ipc.get_mut()))
}

fn check_contract(version: &str) -> std::result::Result<(), String> {
    let ours = semver_prefix(CONTRACT_VERSION);
    if semver_prefix(version) == ours {
        Ok(())
    } else {
        Err(format!(
            "incompatible plugin: built against atio:encoder@{version}, but this atio implements atio:encoder@{CONTRACT_VERSION} (compatible: {}.x)",
            ours
        ))
    }
}

/// The semver compatibility class: `0.1` for 0.1.x, `1` for 1.x.y.
fn semver_prefix(version: &str) -> String {
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}"),
        (Some(major), _) => major.to_owned(),
        _ => version.to_owned(),
    }
}

/// A store with its instance, and the error mapping for calls into it.
struct Instance {
    store: Store<State>,
    /// The `encoder` export; `None` once the instance trapped.
    plugin: Option<EncoderExports>,
    loaded: Option<wasmtime::component::Instance>,
    timeout: Duration,
    name: String,
}

impl Instance {
    fn exports(plugin: &Option<EncoderExports>) -> &EncoderExports {
        plugin.as_ref().expect("instantiated")
    }

    /// A trap (or host error) inside the plugin: timeout, memory, panic, anything else.
    fn trap(&mut self, error: wasmtime::Error, step: Step, path: &Path) -> Error {
        let state = self.store.data();
        let mut message = if let Some(desired) = state.limits.refused {
            format!(
                "{}: exceeded the plugin memory limit of {} MiB (tried to grow to {} MiB; see --plugin-memory)",
                self.name,
                state.limits.limit() >> 20,
                desired >> 20
            )
        } else if error
            .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
            .is_some()
        {
            format!(
                "{}: too many plugin sessions open at once in this process (at most \
                 {MAX_LIVE_SESSIONS}; see --max-open-files): {error}",
                self.name
            )
        } else if error.downcast_ref::<parts::Cancelled>().is_some() {
            format!("{}: {}", self.name, parts::Cancelled)
        } else if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
            format!(
                "{}: timed out: one call ran longer than {:?} (see --plugin-timeout)",
                self.name, self.timeout
            )
        } else {
            format!("{}: crashed: {error:#}", self.name)
        };
        let stderr = state.stderr_text();
        if !stderr.is_empty() {
            message.push_str(&format!("; plugin stderr: {stderr}"));
        }
        self.plugin = None;
        Error::new(ErrorKind::Plugin, step, path, message)
    }

    /// The sink refused the plugin (quota, contract misuse), whatever the plugin said.
    fn refused(&self, refusal: Refusal, step: Step, path: &Path) -> Error {
        let message = match refusal {
            Refusal::Quota(message) => {
                format!("{}: {message} (see --plugin-output-quota)", self.name)
            }
            Refusal::Misuse(message) => format!("{}: misused its output: {message}", self.name),
        };
        Error::new(ErrorKind::Plugin, step, path, message)
    }

    /// The plugin returned an `encode-error`.
    fn refusal(&mut self, error: EncodeError, step: Step, path: &Path) -> Error {
        let state = self.store.data_mut();
        if let Some(io_error) = state.output.as_mut().and_then(WriterThread::take_error) {
            return Error::io(Step::Write, path, io_error);
        }
        if let Some(refusal) = state.refusal.clone() {
            return self.refused(refusal, step, path);
        }
        let (kind, what, message) = match error {
            EncodeError::InvalidOptions(message) => {
                (ErrorKind::InvalidInput, "invalid option", message)
            }
            EncodeError::InvalidInput(message) => {
                (ErrorKind::InvalidInput, "invalid input", message)
            }
            EncodeError::Unsupported(message) => {
                (ErrorKind::UnsupportedFormat, "unsupported", message)
            }
            EncodeError::SinkRejected(message) => (ErrorKind::Plugin, "output rejected", message),
            EncodeError::Internal(message) => (ErrorKind::Plugin, "failed", message),
        };
        Error::new(
            kind,
            step,
            path,
            format!("{}: {what}: {message}", self.name),
        )
    }
}

/// One output being encoded by a plugin instance.
pub struct Session {
    instance: Instance,
    handle: Option<ResourceAny>,
    ipc: StreamWriter<Vec<u8>>,
    path: PathBuf,
    timeout: Duration,
    guest_time: Duration,
    rows: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// What a finished session hands back.
#[derive(Debug)]
pub struct Finished<W> {
    /// The destination, with every byte the plugin wrote.
    pub destination: W,
    /// Rows the plugin reports encoding.
    pub rows: u64,
    /// Bytes the plugin wrote.
    pub bytes: u64,
    /// Facts the plugin wants recorded.
    pub metadata: Vec<(String, String)>,
    /// Time inside the plugin (all calls).
    pub guest_time: Duration,
}

impl Session {
    /// Encodes one batch.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let Some(handle) = self.handle else {
            return Err(Error::new(
                ErrorKind::Plugin,
                Step::Encode,
                &self.path,
                "the encoder session is closed",
            ));
        };
        let mut message = ipc_message(&mut self.ipc, batch, &self.path)?;
        self.call(|instance| {
            Instance::exports(&instance.plugin)
                .session()
                .call_write_batch(&mut instance.store, handle, &message)
        })?;
        // Reuse the buffer: a fresh one per batch costs a page fault per 4 KiB.
        message.clear();
        *self.ipc.get_mut() = message;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Finishes the output and hands the destination back.
    pub fn finish<W: Destination>(mut self) -> Result<Finished<W>> {
        let Some(handle) = self.handle else {
            return Err(Error::new(
                ErrorKind::Plugin,
                Step::Encode,
                &self.path,
                "the encoder session is closed",
            ));
        };
        let summary = self.call(|instance| {
            Instance::exports(&instance.plugin)
                .session()
                .call_finish(&mut instance.store, handle)
        })?;
        self.handle = None;
        let _ = handle.resource_drop(&mut self.instance.store);
        // A plugin that ignored a refusal and finished anyway does not get its output committed.
        if let Some(refusal) = self.instance.store.data().refusal.clone() {
            return Err(self.instance.refused(refusal, Step::Encode, &self.path));
        }
        let state = self.instance.store.data_mut();
        let destination = state
            .output
            .take()
            .expect("the destination stays until finish")
            .finish()
            .map_err(|error| Error::io(Step::Write, &self.path, error))?;
        let destination = *destination
            .into_any()
            .downcast::<W>()
            .expect("finish asks for the type open was given");
        if summary.rows != self.rows {
            tracing::warn!(path = %self.path.display(), "encoder reported {} rows, {} were sent", summary.rows, self.rows);
        }
        Ok(Finished {
            destination,
            rows: self.rows,
            bytes: state.written,
            metadata: summary.metadata,
            guest_time: self.guest_time,
        })
    }

    /// Time spent inside the plugin so far.
    pub fn guest_time(&self) -> Duration {
        self.guest_time
    }

    /// Bytes the plugin has written so far.
    pub fn bytes_written(&self) -> u64 {
        self.instance.store.data().written
    }

    fn call<T>(
        &mut self,
        call: impl FnOnce(&mut Instance) -> wasmtime::Result<std::result::Result<T, EncodeError>>,
    ) -> Result<T> {
        if self.instance.plugin.is_none() {
            return Err(Error::new(
                ErrorKind::Plugin,
                Step::Encode,
                &self.path,
                "the plugin instance was discarded after a trap",
            ));
        }
        self.instance
            .store
            .set_epoch_deadline(engine::ticks(self.timeout));
        let started = Instant::now();
        let outcome = call(&mut self.instance);
        self.guest_time += started.elapsed();
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                self.handle = None;
                Err(self.instance.refusal(error, Step::Encode, &self.path))
            }
            Err(error) => {
                self.handle = None;
                Err(self.instance.trap(error, Step::Encode, &self.path))
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Not finished: tell a healthy plugin to abort. Its output (the destination) is dropped
        // with the store (after its writer thread stops), which removes a staging file.
        if let (Some(handle), Some(plugin)) = (self.handle.take(), self.instance.plugin.as_ref()) {
            self.instance
                .store
                .set_epoch_deadline(engine::ticks(Duration::from_secs(1)));
            let _ = plugin
                .session()
                .call_abort(&mut self.instance.store, handle);
        }
    }
}
