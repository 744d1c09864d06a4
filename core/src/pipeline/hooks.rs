//! Hooks from the host language: error and delivery callbacks.
//!
//! Bindings implement [`Hooks`] (Python calls a function under the GIL, Node a threadsafe
//! function). Calls never happen on the caller's thread nor on a runtime worker: a dedicated
//! dispatcher thread receives them through a channel, so a slow or panicking callback can
//! only delay other callbacks, never delivery. A panic in a hook is caught and logged.

use std::sync::mpsc::{channel, Sender};
use std::sync::Arc;

use super::report::{Delivery, FailedEvent};

/// Callbacks a client calls as batches settle. Both default to doing nothing.
pub trait Hooks: Send + Sync {
    /// Events that will not be delivered: rejected by a collector, out of retries, or
    /// abandoned at close. Also what a dead-letter store would receive.
    fn on_error(&self, _failures: &[FailedEvent]) {}
    /// A batch the collector stored (with the profile id it assigned, for Tracardi).
    fn on_delivery(&self, _delivery: &Delivery) {}
    /// Whether `on_delivery` does anything: if not, lanes skip building the delivery (a copy
    /// of every delivered message id).
    fn wants_deliveries(&self) -> bool {
        true
    }
}

enum Call {
    Error(Vec<FailedEvent>),
    Delivery(Delivery),
    /// Answered once every call queued before it has run (flush waits on it).
    Marker(std::sync::mpsc::Sender<()>),
}

/// The sending side of the dispatcher thread. Dropping every clone ends the thread.
#[derive(Clone)]
pub struct Dispatcher {
    tx: Sender<Call>,
    wants_deliveries: bool,
}

impl Dispatcher {
    pub fn start(hooks: Arc<dyn Hooks>) -> Dispatcher {
        let wants_deliveries = hooks.wants_deliveries();
        let (tx, rx) = channel::<Call>();
        let spawned = std::thread::Builder::new()
            .name("tracklane-hooks".into())
            .spawn(move || {
                for call in rx {
                    if let Call::Marker(done) = call {
                        let _ = done.send(());
                        continue;
                    }
                    let hooks = hooks.clone();
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &call {
                        Call::Error(failures) => hooks.on_error(failures),
                        Call::Delivery(delivery) => hooks.on_delivery(delivery),
                        Call::Marker(_) => {}
                    }));
                    if result.is_err() {
                        log::error!(target: "tracklane", "a tracklane hook panicked; delivery goes on");
                    }
                }
            });
        if let Err(e) = spawned {
            log::error!(target: "tracklane", "cannot start the hooks thread: {e}");
        }
        Dispatcher {
            tx,
            wants_deliveries,
        }
    }

    pub fn wants_deliveries(&self) -> bool {
        self.wants_deliveries
    }

    pub fn error(&self, failures: Vec<FailedEvent>) {
        let _ = self.tx.send(Call::Error(failures));
    }

    pub fn delivery(&self, delivery: Delivery) {
        let _ = self.tx.send(Call::Delivery(delivery));
    }

    /// Waits (up to `timeout`) until every hook call queued so far has run.
    pub fn drain(&self, timeout: std::time::Duration) -> bool {
        let (done, wait) = std::sync::mpsc::channel();
        self.tx.send(Call::Marker(done)).is_ok() && wait.recv_timeout(timeout).is_ok()
    }
}
