//! Which fork of the original process this is.
//!
//! `fork()` copies the calling thread's memory and nothing else: the child inherits the
//! runtime, the engines and the random generator's state, but none of the background threads.
//! A `pthread_atfork` child handler (atomics only, as async-signal safety demands) bumps a
//! generation counter; whatever is per-process compares the generation it was built in with
//! [`generation`] and rebuilds itself in the child (see `pipeline/runtime.rs`, `engine.rs`
//! and the message ids in `message.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);
static HANDLER: Once = Once::new();

extern "C" fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// Counts the forks this process descends from (0 in the original process).
pub fn generation() -> u64 {
    HANDLER.call_once(|| {
        // SAFETY: registers a plain extern "C" fn that only touches an atomic.
        unsafe {
            libc::pthread_atfork(None, None, Some(after_fork_in_child));
        }
    });
    GENERATION.load(Ordering::Acquire)
}

/// Called by bindings' own at-fork hooks (Python's `os.register_at_fork`) as a second line of
/// defence: any bump makes per-process state stale, so counting one fork twice is harmless.
pub fn note_fork_in_child() {
    after_fork_in_child();
}
