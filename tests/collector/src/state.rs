//! Everything a collector instance remembers, behind one lock.
//!
//! One mutex keeps handling, recording and `/_stats` consistent with each
//! other; every critical section is short and synchronous (no `.await` while
//! holding it), so contention is not an issue at test-suite rates.

use std::sync::{Mutex, MutexGuard};

use crate::config::CollectorConfig;
use crate::faults::FaultSet;
use crate::record::Recorder;
use crate::tracardi::TracardiState;
use crate::webanalyzer::WaState;

#[derive(Debug)]
pub(crate) struct State {
    /// The configuration the collector started with; `reset` returns to it.
    initial: CollectorConfig,
    /// The configuration in force (`/_config` changes it at run time).
    pub config: CollectorConfig,
    pub wa: WaState,
    pub tracardi: TracardiState,
    pub faults: FaultSet,
    pub recorder: Recorder,
}

impl State {
    fn new(config: CollectorConfig) -> Self {
        State {
            initial: config.clone(),
            config,
            wa: WaState::default(),
            tracardi: TracardiState::default(),
            faults: FaultSet::default(),
            recorder: Recorder::default(),
        }
    }

    /// Changes Web Analyzer App's rate limit and/or window; the current
    /// windows start over so the new values apply at once.
    pub(crate) fn set_wa_rate_limit(&mut self, limit: Option<u32>, window_ms: Option<u64>) {
        if let Some(limit) = limit {
            self.config.wa_rate_limit = limit;
        }
        if let Some(window_ms) = window_ms {
            self.config.wa_rate_window_ms = window_ms;
        }
        self.wa.clear_rate_windows();
    }

    /// Forgets everything received, injected and changed at run time.
    pub(crate) fn reset(&mut self) {
        *self = State::new(self.initial.clone());
    }
}

/// The state shared by the server tasks and the [`crate::RunningCollector`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(config: CollectorConfig) -> Self {
        Shared {
            state: Mutex::new(State::new(config)),
        }
    }

    /// The state; a panic elsewhere while holding the lock does not make the
    /// collector unusable for the rest of a test run.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
