//! `onError` / `onDelivery`: the core's [`Hooks`] as N-API threadsafe functions.
//!
//! The core calls hooks on its own dispatcher thread; a threadsafe function queues each call
//! onto the JS thread. They are built weak (`.weak::<true>()`): a client holds them for its
//! whole life, and a strong one would keep the process from ever exiting. Calls made after
//! the JS environment is gone (worker terminated, process exiting) are dropped. The JS layer
//! wraps the user's functions so a throwing callback becomes a warning, never a crash.

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use serde_json::Value;
use tracklane_core::pipeline::{Delivery, FailedEvent};
use tracklane_core::Hooks;

use crate::convert::report;

type Callback = ThreadsafeFunction<Value, (), Value, napi::Status, false, true>;

pub struct NodeHooks {
    on_error: Option<Callback>,
    on_delivery: Option<Callback>,
}

impl NodeHooks {
    pub fn new(
        on_error: Option<Function<'_, Value, ()>>,
        on_delivery: Option<Function<'_, Value, ()>>,
    ) -> napi::Result<Option<NodeHooks>> {
        if on_error.is_none() && on_delivery.is_none() {
            return Ok(None);
        }
        Ok(Some(NodeHooks {
            on_error: on_error.map(weak_callback).transpose()?,
            on_delivery: on_delivery.map(weak_callback).transpose()?,
        }))
    }
}

fn weak_callback(f: Function<'_, Value, ()>) -> napi::Result<Callback> {
    f.build_threadsafe_function::<Value>()
        .weak::<true>()
        .callee_handled::<false>()
        .build()
}

impl Hooks for NodeHooks {
    fn on_error(&self, failures: &[FailedEvent]) {
        if let Some(f) = &self.on_error {
            f.call(report(&failures), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn on_delivery(&self, delivery: &Delivery) {
        if let Some(f) = &self.on_delivery {
            f.call(report(delivery), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn wants_deliveries(&self) -> bool {
        self.on_delivery.is_some()
    }
}
