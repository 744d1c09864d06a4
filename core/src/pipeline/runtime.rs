//! The process's tokio runtime, and what happens to it across `fork()`.
//!
//! One small multi-thread runtime per process, built on first use. `fork()` copies only the
//! calling thread: the child inherits the runtime's memory but none of its worker threads,
//! and any lock a worker held stays locked forever. So the child must never touch it — not
//! even to drop it, since dropping joins threads that do not exist. A `pthread_atfork` child
//! handler bumps [`crate::fork::generation`]; the next call in the child sees a stale generation,
//! builds a fresh runtime and leaks the old one.
//! Clients do the same with everything else they own (see `engine.rs`).

use tokio::runtime::{Builder, Handle, Runtime};

use crate::fork::PerGeneration;

/// Worker threads. One: delivery is I/O-bound, and its CPU (gzip, 0.6 ms for a 480 KB batch)
/// then never takes more than one core from the application. With two, on a 2-core machine
/// the Node bench's calling thread waited for a core 0.11-0.35 µs a call (two workers and the
/// collector runnable at once); with one, 0.01-0.17, at the same throughput and peak RSS.
const WORKER_THREADS: usize = 1;

static RUNTIME: PerGeneration<Runtime> = PerGeneration::new();

/// A handle to this process's runtime, building it (again, after a fork) when needed.
pub fn handle() -> Handle {
    RUNTIME
        .get(
            || {
                Builder::new_multi_thread()
                    .worker_threads(WORKER_THREADS)
                    .thread_name("tracklane")
                    .enable_all()
                    .build()
                    .expect("tracklane: cannot start its runtime threads")
            },
            // Built by a thread that lost the race and never used: it belongs to this
            // process, so its threads exist; shut down quietly.
            Runtime::shutdown_background,
        )
        .handle()
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_is_built_once_per_process() {
        // A real fork is exercised in tests/pipeline_fork.rs; bumping the generation here
        // would make every other test's client discard its queue.
        let a = handle();
        let b = handle();
        assert_eq!(a.id(), b.id());
    }
}
