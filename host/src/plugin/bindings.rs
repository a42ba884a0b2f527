//! Host bindings for `wit/encoder.wit` and the store state every plugin call runs with.

use wasmtime::component::{Linker, Resource, ResourceTable, ResourceType, WasmList};
use wasmtime::{AsContext, ResourceLimiter, StoreContextMut, StoreLimits};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::stderr::StderrCapture;
use super::writer::WriterThread;

wasmtime::component::bindgen!({
    path: "../wit",
    world: "encoder-plugin",
    with: { "atio:encoder/sink.output": Output },
});

pub(crate) use self::atio::encoder::types::{EncodeError, FormatInfo};
pub(crate) use exports::atio::encoder::encoder::Guest as EncoderExports;

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
    /// Why the sink refused bytes (quota), when it was not an I/O error.
    pub refusal: Option<String>,
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
        }
    }

    /// The guest's stderr so far, trimmed, for error messages.
    pub fn stderr_text(&self) -> String {
        self.stderr.text()
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
        return Ok((Err(refusal.clone()),));
    }
    let after = state.written + bytes.len() as u64;
    if let Some(quota) = state.quota.filter(|quota| after > *quota) {
        let refusal = format!("output quota of {quota} bytes exceeded");
        state.refusal = Some(refusal.clone());
        return Ok((Err(refusal),));
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

/// Links WASI (the allowlist check has already refused filesystem, sockets and http importers;
/// the context has no preopens and denies every socket) and the sink.
/// Built once per process: defining every WASI function costs milliseconds per plugin load.
pub(crate) fn linker(engine: &'static wasmtime::Engine) -> Result<&'static Linker<State>, String> {
    static LINKER: std::sync::OnceLock<Result<Linker<State>, String>> = std::sync::OnceLock::new();
    let build = || -> wasmtime::Result<Linker<State>> {
        let mut linker = Linker::<State>::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        let mut sink = linker.instance("atio:encoder/sink@0.1.0")?;
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
