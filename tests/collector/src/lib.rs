//! A local stand-in for the five analytics collectors tracklane delivers to
//! (Web Analyzer App, Koala, Silktide, Tracardi, Dreamdata) plus a generic
//! Segment-spec endpoint.
//!
//! The SDK's test suites (Rust, Python, Node) need a collector that answers
//! like the real ones, status codes and error bodies included, that they can
//! inspect afterwards, and that fails on command. This crate is that
//! collector: a real HTTP/1.1 server on 127.0.0.1, usable in-process through
//! [`RunningCollector`] or out of process through the `tracklane-collector`
//! binary and its `/_` control API.
//!
//! ```no_run
//! use tracklane_collector::{CollectorConfig, Fault, RunningCollector};
//!
//! let collector = RunningCollector::start(CollectorConfig::default()).unwrap();
//! collector.add_fault(Fault::status("segment", 503).count(1));
//! // ... point the SDK at collector.url() ...
//! assert_eq!(collector.stats()["segment"]["events"], 0);
//! ```

mod api;
mod config;
mod control;
mod faults;
mod koala;
mod record;
mod segment_spec;
mod server;
mod silktide;
mod state;
mod tracardi;
mod validate;
mod webanalyzer;
mod wire;

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

pub use api::DESTINATIONS;
pub use config::{
    CollectorConfig, DEFAULT_DREAMDATA_KEY, DEFAULT_KOALA_KEY, DEFAULT_SEGMENT_KEY,
    DEFAULT_SILKTIDE_KEY, DEFAULT_TRACARDI_SOURCE, DEFAULT_WA_FREE_KEY, DEFAULT_WA_KEY,
    DEFAULT_WA_QUOTA_KEY, DEFAULT_WA_RATE_LIMIT, DEFAULT_WA_RATE_WINDOW_MS, DEFAULT_WA_WEBSITE_ID,
};
pub use faults::{Fault, FaultMode, ANY_DESTINATION, DEFAULT_DELAY_MS, DEFAULT_FAULT_STATUS};
pub use record::RecordedRequest;
pub use segment_spec::{MAX_BATCH_BYTES, MAX_SEGMENT_MESSAGE_BYTES};
pub use webanalyzer::FIRST_EVENT_ID;

use state::Shared;

/// Runtime worker threads per collector: enough to gunzip and parse while
/// another request is being read, without crowding a 2-core CI machine.
const WORKER_THREADS: usize = 2;

/// A collector serving on its own thread and tokio runtime, so it works the
/// same from sync tests, async tests and other runtimes. Stops on
/// [`RunningCollector::shutdown`] or drop.
#[derive(Debug)]
pub struct RunningCollector {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningCollector {
    /// Binds 127.0.0.1:`config.port` (0 for a free port) and starts serving;
    /// returns once the socket is listening.
    pub fn start(config: CollectorConfig) -> io::Result<RunningCollector> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let (stop, stopped) = oneshot::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let server_shared = shared.clone();
        // The runtime is built, run and dropped on this thread only: dropping a
        // runtime inside a caller's async context would panic.
        let thread = std::thread::Builder::new()
            .name(format!("tracklane-collector-{}", addr.port()))
            .spawn(move || run(listener, server_shared, stopped, ready_tx))?;
        let ready = ready_rx
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("collector thread exited early")));
        let mut collector = RunningCollector {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        };
        match ready {
            Ok(()) => Ok(collector),
            Err(e) => {
                collector.stop_and_join();
                Err(e)
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every recorded request, in arrival order (as `GET /_requests`).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().recorder.requests(None)
    }

    /// The recorded requests of one destination (as `GET /_requests?destination=`).
    pub fn requests_for(&self, destination: &str) -> Vec<RecordedRequest> {
        self.shared.lock().recorder.requests(Some(destination))
    }

    /// Per-destination counters and `"total"` (as `GET /_stats`).
    pub fn stats(&self) -> serde_json::Value {
        self.shared.lock().recorder.stats()
    }

    /// Installs a fault (as `POST /_faults`).
    ///
    /// # Panics
    /// If the fault is invalid (unknown destination, status out of range, bad
    /// `retry_after` or `fraction`): a mistyped test setup should fail loudly.
    pub fn add_fault(&self, fault: Fault) {
        if let Err(problem) = fault.validate() {
            panic!("invalid fault {fault:?}: {problem}");
        }
        self.shared.lock().faults.add(fault);
    }

    /// Removes every fault (as `DELETE /_faults`).
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Changes Web Analyzer App's rate limit and window (as `POST /_config`);
    /// the current windows start over.
    pub fn set_wa_rate_limit(&self, limit: u32, window_ms: u64) {
        self.shared
            .lock()
            .set_wa_rate_limit(Some(limit), Some(window_ms));
    }

    /// Forgets records, faults, rate windows, Tracardi profiles and run-time
    /// config changes (as `POST /_reset`).
    pub fn reset(&self) {
        self.shared.lock().reset();
    }

    /// Stops serving and waits for the server thread; open connections close.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningCollector {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The server thread: builds the runtime, reports readiness, serves.
fn run(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    stopped: oneshot::Receiver<()>,
    ready: mpsc::Sender<io::Result<()>>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("tracklane-collector-worker")
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    runtime.block_on(async move {
        match tokio::net::TcpListener::from_std(listener) {
            Ok(listener) => {
                let _ = ready.send(Ok(()));
                server::serve(listener, shared, stopped).await;
            }
            Err(e) => {
                let _ = ready.send(Err(e));
            }
        }
    });
}
