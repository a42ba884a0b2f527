//! The host side of the optional `atio:encoder/parts` interface (contract 0.1.2): one instance
//! encoding parts of a file, under the same deadline, memory cap and quota as a session, and
//! stopped within one epoch tick when another instance of the same write fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::ipc::writer::StreamWriter;
use wasmtime::UpdateDeadline;
use wasmtime::component::ResourceAny;

use super::bindings::{EncodeError, PartsExports};
use super::{Instance, Plugin, PluginLimits};
use crate::error::{Error, ErrorKind, Result, Step};

pub(crate) use super::bindings::{EncodedPart, PartPlan, PlacedPart, Summary};

/// The trap that stops an instance because another part of the same write failed.
#[derive(Debug)]
pub(crate) struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped: another part of this write failed")
    }
}

impl std::error::Error for Cancelled {}

/// One instance's `part-encoder`.
pub(crate) struct PartInstance {
    instance: Instance,
    parts: PartsExports,
    /// `None` once a call failed: the instance is not called again.
    handle: Option<ResourceAny>,
    /// The Arrow IPC stream of the current part.
    ipc: Option<StreamWriter<Vec<u8>>>,
    path: PathBuf,
    guest_time: Duration,
}

impl std::fmt::Debug for PartInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartInstance")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Whether the component exports `atio:encoder/parts`.
    pub fn exports_parts(&self) -> bool {
        self.parts.is_some()
    }

    /// A part encoder on a new instance, or `None` when the plugin has no `parts` export or
    /// answers `unsupported` (then the file is encoded by one session). `cancel` stops the
    /// instance's running call within one epoch tick once set.
    pub(crate) fn open_parts(
        self: &Arc<Self>,
        schema: &SchemaRef,
        options: &[(String, String)],
        limits: &PluginLimits,
        path: &Path,
        cancel: Arc<AtomicBool>,
    ) -> Result<Option<PartInstance>> {
        let Some(indices) = &self.parts else {
            return Ok(None);
        };
        let mut instance = self.instantiate(limits, path)?;
        instance.name = format!("{} encoder", self.info.name);
        // The deadline is checked every tick by this callback instead of trapping once, so the
        // same check also stops the call when another instance of the write failed.
        let timeout = limits.timeout;
        instance.store.epoch_deadline_callback(move |store| {
            if cancel.load(Ordering::Relaxed) {
                return Err(Cancelled.into());
            }
            if store.data().call_started.elapsed() >= timeout {
                return Err(wasmtime::Trap::Interrupt.into());
            }
            Ok(UpdateDeadline::Continue(1))
        });
        let loaded = instance.loaded.expect("instantiated");
        let parts = match indices.load(&mut instance.store, &loaded) {
            Ok(parts) => parts,
            Err(error) => return Err(instance.trap(error, Step::Encode, path)),
        };
        let schema_message = std::mem::take(ipc_stream(schema, path)?.get_mut());
        let mut part = PartInstance {
            instance,
            parts,
            handle: None,
            ipc: None,
            path: path.to_path_buf(),
            guest_time: Duration::ZERO,
        };
        let opened = part.call_raw(|instance, parts| {
            parts
                .part_encoder()
                .call_open(&mut instance.store, &schema_message, options)
        });
        match opened {
            Ok(Ok(handle)) => {
                part.handle = Some(handle);
                Ok(Some(part))
            }
            Ok(Err(EncodeError::Unsupported(_))) => Ok(None),
            Ok(Err(error)) => Err(part.instance.refusal(error, Step::Encode, path)),
            Err(error) => Err(part.instance.trap(error, Step::Encode, path)),
        }
    }
}

fn ipc_stream(schema: &SchemaRef, path: &Path) -> Result<StreamWriter<Vec<u8>>> {
    StreamWriter::try_new(Vec::new(), schema).map_err(|error| {
        Error::new(
            ErrorKind::InvalidInput,
            Step::Encode,
            path,
            format!("cannot serialise the schema as Arrow IPC: {error}"),
        )
    })
}

impl PartInstance {
    /// How the host must cut parts.
    pub(crate) fn plan(&mut self) -> Result<PartPlan> {
        self.call(|instance, parts, handle| {
            parts
                .part_encoder()
                .call_plan(&mut instance.store, handle)
                .map(Ok)
        })
    }

    /// The bytes before the first part.
    pub(crate) fn head(&mut self) -> Result<Vec<u8>> {
        self.call(|instance, parts, handle| {
            parts.part_encoder().call_head(&mut instance.store, handle)
        })
    }

    /// Starts part `part`, whose batches will hold the file's `columns` (with `schema`).
    pub(crate) fn begin(&mut self, part: u64, columns: &[u32], schema: &SchemaRef) -> Result<()> {
        let mut ipc = ipc_stream(schema, &self.path)?;
        let schema_message = std::mem::take(ipc.get_mut());
        self.ipc = Some(ipc);
        self.call(|instance, parts, handle| {
            parts.part_encoder().call_begin(
                &mut instance.store,
                handle,
                part,
                columns,
                &schema_message,
            )
        })
    }

    /// Encodes one batch of the current part.
    pub(crate) fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let Some(ipc) = self.ipc.as_mut() else {
            return Err(Error::new(
                ErrorKind::Plugin,
                Step::Encode,
                &self.path,
                "a batch outside a part",
            ));
        };
        let message = super::ipc_message(ipc, batch, &self.path)?;
        self.call(|instance, parts, handle| {
            parts
                .part_encoder()
                .call_write_batch(&mut instance.store, handle, &message)
        })
    }

    /// Ends the current part.
    pub(crate) fn end(&mut self) -> Result<EncodedPart> {
        self.ipc = None;
        self.call(|instance, parts, handle| {
            parts.part_encoder().call_end(&mut instance.store, handle)
        })
    }

    /// The bytes after the last part, and the file's summary.
    pub(crate) fn tail(&mut self, placed: &[PlacedPart]) -> Result<(Vec<u8>, Summary)> {
        self.call(|instance, parts, handle| {
            parts
                .part_encoder()
                .call_tail(&mut instance.store, handle, placed)
        })
    }

    /// Time inside this instance so far.
    pub(crate) fn guest_time(&self) -> Duration {
        self.guest_time
    }

    /// Calls the part encoder; any error or trap ends it.
    fn call<T>(
        &mut self,
        call: impl FnOnce(
            &mut Instance,
            &PartsExports,
            ResourceAny,
        ) -> wasmtime::Result<std::result::Result<T, EncodeError>>,
    ) -> Result<T> {
        let Some(handle) = self.handle else {
            return Err(Error::new(
                ErrorKind::Plugin,
                Step::Encode,
                &self.path,
                "the part encoder is closed after an error",
            ));
        };
        match self.call_raw(|instance, parts| call(instance, parts, handle)) {
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

    /// Runs one call under the deadline, timing it.
    fn call_raw<T>(
        &mut self,
        call: impl FnOnce(&mut Instance, &PartsExports) -> wasmtime::Result<T>,
    ) -> wasmtime::Result<T> {
        if self.instance.plugin.is_none() {
            return Err(wasmtime::format_err!(
                "the plugin instance was discarded after a trap"
            ));
        }
        self.instance.store.data_mut().call_started = Instant::now();
        self.instance.store.set_epoch_deadline(1);
        let started = Instant::now();
        let outcome = call(&mut self.instance, &self.parts);
        self.guest_time += started.elapsed();
        outcome
    }
}
