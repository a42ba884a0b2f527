//! The process-wide wasmtime engine, its instance pool and its epoch ticker.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};

/// How often the epoch advances; plugin deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Most plugin sessions (instances) alive at once in one process: the size of the instance
/// pool (`--max-open-files` is capped at it). Each slot reserves address space only (4 GiB of
/// linear memory plus guard pages, no RAM) until a session uses it.
pub const MAX_LIVE_SESSIONS: u32 = 1000;

/// Linear memory a finished session leaves resident in its pool slot (reset to its initial
/// contents) for the next session of the same plugin. A fresh instance otherwise takes a page
/// fault on every page it touches; measured here, a warm slot cuts the npy encoder's time in
/// the sandbox ~3x and Parquet's ~10% for every session after the first (partitioned writes,
/// services). The price: each slot that has been used keeps up to this much RAM.
const KEEP_RESIDENT: usize = 64 << 20;

/// One engine per process: compiled plugins and `InstancePre`s are tied to it.
pub(crate) fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = base_config();
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool()));
        let engine = Engine::new(&config).unwrap_or_else(|error| {
            // Linux before 6.7 has no PAGEMAP_SCAN, and reserving the pool's address space fails
            // where virtual memory is capped (`ulimit -v`); plugins then get fresh memory per
            // session, which is only slower.
            tracing::debug!("plugin instance pool unavailable ({error}); allocating per session");
            Engine::new(&base_config()).expect("atio's fixed wasmtime configuration is valid")
        });
        start_ticker(&engine);
        engine
    })
}

/// Everything but the allocation strategy; compiled code does not depend on the strategy, so
/// both engines share the compile cache.
fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.cranelift_opt_level(OptLevel::Speed);
    config.parallel_compilation(true);
    // `ATIO_WASM_PROFILE=perfmap`: name JIT-compiled plugin functions for `perf record`
    // (writes /tmp/perf-<pid>.map), so plugin authors can see where encoding time goes.
    if std::env::var_os("ATIO_WASM_PROFILE").is_some_and(|value| value == "perfmap") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// The instance pool. Per-component limits are wasmtime's "unlimited" defaults except where a
/// real plugin needs more: a component is several core instances (the encoder, WASI adapter
/// shims; a Python or JavaScript runtime brings more), each with its own table.
fn pool() -> PoolingAllocationConfig {
    const CORE_INSTANCES_PER_SESSION: u32 = 16;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(MAX_LIVE_SESSIONS)
        .total_memories(MAX_LIVE_SESSIONS)
        .total_core_instances(MAX_LIVE_SESSIONS * CORE_INSTANCES_PER_SESSION)
        .total_tables(MAX_LIVE_SESSIONS * CORE_INSTANCES_PER_SESSION)
        // Stacks are pooled for async calls only; atio calls plugins synchronously.
        .total_stacks(0)
        // wasm32's whole address space; `--plugin-memory` is enforced per store below it.
        .max_memory_size(4 << 30)
        .linear_memory_keep_resident(KEEP_RESIDENT)
        // Reset only the pages a session dirtied (Linux >= 6.7). Without it every reset zeroes
        // the first KEEP_RESIDENT bytes, touching pages nobody used: measured here, +1.5 ms on
        // each plugin load, which costs more than the warm slots save a one-shot write.
        .pagemap_scan(Enabled::Yes);
    pool
}

fn start_ticker(engine: &Engine) {
    let ticker = engine.weak();
    std::thread::Builder::new()
        .name("atio-epoch".into())
        .spawn(move || {
            while let Some(engine) = ticker.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch ticker thread");
}

/// A deadline in epoch ticks (at least one).
pub(crate) fn ticks(timeout: Duration) -> u64 {
    (timeout.as_nanos() / EPOCH_TICK.as_nanos()).max(1) as u64 + 1
}
