//! Host bindings for `wit/encoder.wit` and the store state every plugin call runs with.

use wasmtime::component::{Linker, Resource, ResourceTable, ResourceType, WasmList};
use wasmtime::{AsContext, ResourceLimiter, StoreContextMut, StoreLimits};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::CONTRACT_VERSION;
use super::destination::MAX_HEADER_SIZE;
use super::stderr::StderrCapture;
use super::writer::WriterThread;

// The superset world: every plugin exports `encoder`; `parts` is looked up on its own, since
// plugins built before 0.1.2 (or in other languages) may not export it.
wasmtime::component::bindgen!({
    path: "../wit",
    world: "parallel-encoder-plugin",
    with: { "atio:encoder/sink.output": Output },
});

pub(crate) use self::atio::encoder::types::{EncodeError, FormatInfo, Summary};
pub(crate) use exports::atio::encoder::encoder::{
    Guest as EncoderExports, GuestIndices as EncoderIndices,
};
pub(crate) use exports::atio::encoder::parts::{
    EncodedPart, Guest as PartsExports, GuestIndices as PartsIndices, PartPlan, PlacedPart,
};

/// The host object behind the guest's `output` handle (the state lives in `State`).
#[derive(Debug)]
pub struct Output;

/// Everything one plugin instance may touch: WASI (no files, env, network), its output, limits.
pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limits: MemoryCap,
    pub stderr: StderrCapture,
    /// The destination, on its writer thread; its first I/O error is the real cause behind a
    /// `sink-rejected`.
    pub output: Option<WriterThread>,
    /// Bytes accepted from the guest.
    pub written: u64,
    /// Refuse output beyond this many bytes.
    pub quota: Option<u64>,
    /// Why the sink refused bytes, when it was not an I/O error; final.
    pub refusal: Option<Refusal>,
    /// The header size the guest reserved (`output.reserve-header`).
    pub header: Option<u32>,
    /// When the running call started: part instances check their deadline against it.
    pub call_started: std::time::Instant,
}

/// Why the sink refused the guest, other than an I/O error.
#[derive(Debug, Clone)]
pub(crate) enum Refusal {
    /// `--plugin-output-quota` reached.
    Quota(String),
    /// The guest broke the `output` contract (e.g. a header rewrite it did not reserve).
    Misuse(String),
}

impl Refusal {
    /// What the guest is told.
    pub fn message(&self) -> &str {
        match self {
            Self::Quota(message) | Self::Misuse(message) => message,
        }
    }
}

impl State {
    pub fn new(memory_limit: usize, quota: Option<u64>) -> Self {
        let stderr = StderrCapture::default();
        let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
        wasi.stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
        Self {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limits: MemoryCap::new(memory_limit),
            stderr,
            output: None,
            written: 0,
            quota,
            refusal: None,
            header: None,
            call_started: std::time::Instant::now(),
        }
    }

    /// The guest's stderr so far, trimmed, for error messages.
    pub fn stderr_text(&self) -> String {
        self.stderr.text()
    }

    /// Records a final refusal; the message for the guest.
    fn refuse(&mut self, refusal: Refusal) -> String {
        let message = refusal.message().to_owned();
        self.refusal = Some(refusal);
        message
    }

    pub fn new_output(&mut self) -> wasmtime::Result<Resource<Output>> {
        Ok(self.table.push(Output)?)
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `output.write`: copies the guest's bytes straight from its memory into a buffer recycled by
/// the writer thread (no allocation, no fresh pages per chunk) and queues them there. Defined by
/// hand rather than through `bindgen!`, whose binding lifts every chunk into a new `Vec`.
fn write_output(
    mut store: StoreContextMut<'_, State>,
    (_output, bytes): (Resource<Output>, WasmList<u8>),
) -> wasmtime::Result<(Result<(), String>,)> {
    let state = store.data_mut();
    if let Some(refusal) = &state.refusal {
        return Ok((Err(refusal.message().to_owned()),));
    }
    let after = state.written + bytes.len() as u64;
    if let Some(quota) = state.quota.filter(|quota| after > *quota) {
        return Ok((Err(state.refuse(Refusal::Quota(format!(
            "output quota of {quota} bytes exceeded"
        )))),));
    }
    let Some(output) = state.output.as_mut() else {
        return Ok((Err("the output is closed".into()),));
    };
    let mut chunk = output.empty_chunk();
    chunk.extend_from_slice(bytes.as_le_slice(store.as_context()));
    let state = store.data_mut();
    let sent = match state.output.as_mut() {
        Some(output) => output.send(chunk),
        None => Err("the output is closed".into()),
    };
    if sent.is_ok() {
        state.written = after;
    }
    Ok((sent,))
}

/// `output.reserve-header`: accepted when the destination can rewrite and nothing has been
/// written yet. A refusal is not final: the guest buffers instead.
fn reserve_header(
    mut store: StoreContextMut<'_, State>,
    (_output, size): (Resource<Output>, u32),
) -> wasmtime::Result<(Result<(), String>,)> {
    let state = store.data_mut();
    let reserved = match &state.output {
        None => Err("the output is closed".to_owned()),
        Some(output) if !output.rewritable() => Err(
            "this output cannot rewrite a header (an object-store upload sends its first part \
             away early); write the header first"
                .to_owned(),
        ),
        Some(_) if state.written > 0 || state.header.is_some() => {
            Err("reserve-header comes once, before the first write".to_owned())
        }
        Some(_) if size > MAX_HEADER_SIZE => Err(format!(
            "a header of {size} bytes is over the {MAX_HEADER_SIZE}-byte limit"
        )),
        Some(_) => Ok(()),
    };
    let reserved = reserved.and_then(|()| match state.output.as_mut() {
        Some(output) => output.header_reserved(size as usize),
        None => Err("the output is closed".into()),
    });
    if reserved.is_ok() {
        state.header = Some(size);
    }
    Ok((reserved,))
}

/// `output.rewrite-header`: checked against the reservation and the bytes written, then queued
/// after every chunk before it. A refusal is final.
fn rewrite_header(
    mut store: StoreContextMut<'_, State>,
    (_output, header): (Resource<Output>, Vec<u8>),
) -> wasmtime::Result<(Result<(), String>,)> {
    let state = store.data_mut();
    if let Some(refusal) = &state.refusal {
        return Ok((Err(refusal.message().to_owned()),));
    }
    let len = header.len() as u64;
    let misuse = match state.header {
        None => Some("rewrite-header without reserve-header".to_owned()),
        Some(reserved) if len > u64::from(reserved) => Some(format!(
            "rewrite-header of {len} bytes, but {reserved} were reserved"
        )),
        Some(_) if len > state.written => Some(format!(
            "rewrite-header of {len} bytes, but only {} were written",
            state.written
        )),
        Some(_) => None,
    };
    if let Some(misuse) = misuse {
        return Ok((Err(state.refuse(Refusal::Misuse(misuse))),));
    }
    let rewritten = match state.output.as_mut() {
        Some(output) => output.rewrite_header(header),
        None => Err("the output is closed".into()),
    };
    Ok((rewritten,))
}

/// Links WASI (the allowlist check has already refused filesystem, sockets and http importers;
/// the context has no preopens and denies every socket) and the sink.
/// Built once per process: defining every WASI function costs milliseconds per plugin load.
pub(crate) fn linker(engine: &'static wasmtime::Engine) -> Result<&'static Linker<State>, String> {
    static LINKER: std::sync::OnceLock<Result<Linker<State>, String>> = std::sync::OnceLock::new();
    let build = || -> wasmtime::Result<Linker<State>> {
        let mut linker = Linker::<State>::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let mut sink = linker.instance(&format!("atio:encoder/sink@{CONTRACT_VERSION}"))?;
        sink.resource(
            "output",
            ResourceType::host::<Output>(),
            |mut store, handle| {
                store
                    .data_mut()
                    .table
                    .delete(Resource::<Output>::new_own(handle))?;
                Ok(())
            },
        )?;
        sink.func_wrap("[method]output.write", write_output)?;
        sink.func_wrap("[method]output.reserve-header", reserve_header)?;
        sink.func_wrap("[method]output.rewrite-header", rewrite_header)?;
        Ok(linker)
    };
    LINKER
        .get_or_init(|| build().map_err(|error| format!("{error:#}")))
        .as_ref()
        .map_err(Clone::clone)
}

/// A memory cap that remembers it refused, so the error can say "memory limit" precisely.
#[derive(Debug)]
pub(crate) struct MemoryCap {
    inner: StoreLimits,
    limit: usize,
    pub refused: Option<usize>,
}

impl MemoryCap {
    fn new(limit: usize) -> Self {
        let inner = wasmtime::StoreLimitsBuilder::new()
            .memory_size(limit)
            .trap_on_grow_failure(true)
            .build();
        Self {
            inner,
            limit,
            refused: None,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.refused = Some(desired);
        }
        self.inner.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }
}
