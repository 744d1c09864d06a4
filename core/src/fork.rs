//! Which fork of the original process this is.
//!
//! `fork()` copies the calling thread's memory and nothing else: the child inherits the
//! runtime, the engines and the random generator's state, but none of the background threads.
//! A `pthread_atfork` child handler (atomics only, as async-signal safety demands) bumps a
//! generation counter; whatever is per-process compares the generation it was built in with
//! [`generation`] and rebuilds itself in the child ([`PerGeneration`] for the process-wide
//! runtime and message-id maker; `engine.rs` for each client's own state).

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
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

/// A process-wide value built on first use in each fork generation. The child of a fork builds
/// its own and leaks its parent's, which it must not even drop (a runtime's drop joins threads
/// the child does not have). Values are never freed, so a reference to one lives as long as
/// the process.
pub struct PerGeneration<T: 'static> {
    current: AtomicPtr<Built<T>>,
}

struct Built<T> {
    generation: u64,
    value: T,
}

impl<T: Send + Sync + 'static> Default for PerGeneration<T> {
    fn default() -> PerGeneration<T> {
        PerGeneration::new()
    }
}

impl<T: Send + Sync + 'static> PerGeneration<T> {
    pub const fn new() -> PerGeneration<T> {
        PerGeneration {
            current: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// This generation's value, built with `build` if it has none yet. Threads racing to build
    /// it all get the one installed first; the others' values go to `discard`.
    pub fn get(&self, build: impl FnOnce() -> T, discard: impl FnOnce(T)) -> &'static T {
        let generation = generation();
        let current = self.current.load(Ordering::Acquire);
        // SAFETY: a non-null pointer here came from `Box::into_raw` below and is never freed.
        if let Some(built) = unsafe { current.as_ref() } {
            if built.generation == generation {
                return &built.value;
            }
        }
        let fresh = Box::into_raw(Box::new(Built {
            generation,
            value: build(),
        }));
        match self
            .current
            .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            // The previous value (another generation's, or none) is leaked on purpose.
            // SAFETY: just installed, and never freed.
            Ok(_) => unsafe { &(*fresh).value },
            Err(winner) => {
                // SAFETY: `fresh` was never shared; `winner` was installed and is never freed.
                discard(unsafe { Box::from_raw(fresh) }.value);
                unsafe { &(*winner).value }
            }
        }
    }
}

/// Called by bindings' own at-fork hooks (Python's `os.register_at_fork`) as a second line of
/// defence: any bump makes per-process state stale, so counting one fork twice is harmless.
pub fn note_fork_in_child() {
    after_fork_in_child();
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[test]
    fn racing_threads_share_the_value_installed_first_and_discard_theirs() {
        static VALUE: PerGeneration<usize> = PerGeneration::new();
        static BUILT: AtomicUsize = AtomicUsize::new(0);
        static DISCARDED: AtomicUsize = AtomicUsize::new(0);
        let barrier = std::sync::Barrier::new(8);
        let seen: Vec<usize> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..8)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        let value = VALUE.get(
                            || BUILT.fetch_add(1, Ordering::SeqCst),
                            |_| {
                                DISCARDED.fetch_add(1, Ordering::SeqCst);
                            },
                        );
                        value as *const usize as usize
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert!(seen.iter().all(|&address| address == seen[0]), "one value");
        let built = BUILT.load(Ordering::SeqCst);
        assert_eq!(
            DISCARDED.load(Ordering::SeqCst),
            built - 1,
            "all but the installed one"
        );
        // Later calls build nothing.
        let later = VALUE.get(|| unreachable!(), |_| unreachable!());
        assert_eq!(later as *const usize as usize, seen[0]);
        assert!(*later < built);
    }
}
