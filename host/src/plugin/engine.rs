//! The process-wide wasmtime engine and its epoch ticker.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::{Config, Engine, OptLevel};

/// How often the epoch advances; plugin deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// One engine per process: compiled plugins and `InstancePre`s are tied to it.
pub(crate) fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
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
        let engine = Engine::new(&config).expect("atio's fixed wasmtime configuration is valid");
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
        engine
    })
}

/// A deadline in epoch ticks (at least one).
pub(crate) fn ticks(timeout: Duration) -> u64 {
    (timeout.as_nanos() / EPOCH_TICK.as_nanos()).max(1) as u64 + 1
}
