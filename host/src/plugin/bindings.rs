//! Host bindings for `wit/encoder.wit` and the store state every plugin call runs with.

use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{ResourceLimiter, StoreLimits};
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

impl self::atio::encoder::types::Host for State {}
impl self::atio::encoder::sink::Host for State {}

impl self::atio::encoder::sink::HostOutput for State {
    fn write(&mut self, _output: Resource<Output>, bytes: Vec<u8>) -> Result<(), String> {
        if let Some(refusal) = &self.refusal {
            return Err(refusal.clone());
        }
        let after = self.written + bytes.len() as u64;
        if let Some(quota) = self.quota.filter(|quota| after > *quota) {
            let refusal = format!("output quota of {quota} bytes exceeded");
            self.refusal = Some(refusal.clone());
            return Err(refusal);
        }
        let Some(output) = self.output.as_mut() else {
            return Err("the output is closed".into());
        };
        output.send(bytes)?;
        self.written = after;
        Ok(())
    }

    fn drop(&mut self, output: Resource<Output>) -> wasmtime::Result<()> {
        self.table.delete(output)?;
        Ok(())
    }
}

/// Links WASI (the allowlist check has already refused filesystem, sockets and http importers;
/// the context has no preopens and denies every socket) and the sink.
/// Built once per process: defining every WASI function costs milliseconds per plugin load.
pub(crate) fn linker(engine: &'static wasmtime::Engine) -> Result<&'static Linker<State>, String> {
    static LINKER: std::sync::OnceLock<Result<Linker<State>, String>> = std::sync::OnceLock::new();
    let build = || -> wasmtime::Result<Linker<State>> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
        EncoderPlugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)?;
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
