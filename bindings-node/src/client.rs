//! The native client class behind the JS `Client`.
//!
//! `track` and friends convert the call and enqueue it on the JS thread: the core never does
//! I/O there, so this is microseconds. `flush` and `close` block until delivery settles, so
//! they run as `AsyncTask`s on the libuv pool and resolve a Promise with the report; a
//! pending Promise keeps the process alive until it settles, which is what `await close()`
//! needs.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{AsyncTask, Function, ToNapiValue, TypeName, Unknown, ValueType};
use napi::{Env, JsValue, Task};
use napi_derive::napi;
use serde_json::Value;
use tracklane_core::{Client, DeliveryReport, Kind};

use crate::config::client_config;
use crate::convert::{outcome, report, Reader};
use crate::errors::{throw_config, throw_convert, throw_core};
use crate::hooks::NodeHooks;

#[napi]
pub struct NativeClient {
    inner: Arc<Client>,
}

#[napi]
impl NativeClient {
    #[napi(constructor)]
    pub fn new(
        env: Env,
        options: Unknown,
        on_error: Option<Function<Value, ()>>,
        on_delivery: Option<Function<Value, ()>>,
    ) -> napi::Result<NativeClient> {
        let hooks = NodeHooks::new(on_error, on_delivery)?;
        let config = client_config(&env, options.raw(), hooks)?;
        let client = Client::new(config).map_err(|e| throw_config(&env, &e))?;
        Ok(NativeClient {
            inner: Arc::new(client),
        })
    }

    #[napi(
        ts_return_type = "[status: string, messageId: string, destinations: string[], errors?: string[]]"
    )]
    pub fn track<'env>(&self, env: &'env Env, call: Unknown) -> napi::Result<Unknown<'env>> {
        self.enqueue(env, Kind::Track, call)
    }

    #[napi(
        ts_return_type = "[status: string, messageId: string, destinations: string[], errors?: string[]]"
    )]
    pub fn identify<'env>(&self, env: &'env Env, call: Unknown) -> napi::Result<Unknown<'env>> {
        self.enqueue(env, Kind::Identify, call)
    }

    #[napi(
        ts_return_type = "[status: string, messageId: string, destinations: string[], errors?: string[]]"
    )]
    pub fn alias<'env>(&self, env: &'env Env, call: Unknown) -> napi::Result<Unknown<'env>> {
        self.enqueue(env, Kind::Alias, call)
    }

    #[napi(
        ts_return_type = "[status: string, messageId: string, destinations: string[], errors?: string[]]"
    )]
    pub fn page<'env>(&self, env: &'env Env, call: Unknown) -> napi::Result<Unknown<'env>> {
        self.enqueue(env, Kind::Page, call)
    }

    #[napi(
        ts_return_type = "[status: string, messageId: string, destinations: string[], errors?: string[]]"
    )]
    pub fn group<'env>(&self, env: &'env Env, call: Unknown) -> napi::Result<Unknown<'env>> {
        self.enqueue(env, Kind::Group, call)
    }

    /// Resolves with the delivery report once everything queued before it settled or
    /// `timeout_ms` passed.
    #[napi(ts_return_type = "Promise<object>")]
    pub fn flush(&self, timeout_ms: f64) -> AsyncTask<Settle> {
        AsyncTask::new(Settle {
            client: self.inner.clone(),
            timeout: millis(timeout_ms),
            close: false,
        })
    }

    #[napi(ts_return_type = "Promise<object>")]
    pub fn close(&self, timeout_ms: f64) -> AsyncTask<Settle> {
        AsyncTask::new(Settle {
            client: self.inner.clone(),
            timeout: millis(timeout_ms),
            close: true,
        })
    }

    #[napi(ts_return_type = "object")]
    pub fn stats(&self) -> Value {
        report(&self.inner.stats())
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    #[napi]
    pub fn destination_names(&self) -> Vec<String> {
        self.inner.destination_names()
    }
}

impl NativeClient {
    fn enqueue<'env>(
        &self,
        env: &'env Env,
        kind: Kind,
        call: Unknown,
    ) -> napi::Result<Unknown<'env>> {
        // SAFETY: on the JS thread, with the env of this call.
        let mut reader = unsafe { Reader::new(env.raw()) };
        let message = reader
            .message(kind, call.raw())
            .map_err(|e| throw_convert(env, e))?;
        let result = self
            .inner
            .enqueue(message)
            .map_err(|e| throw_core(env, &e))?;
        // SAFETY: as above.
        unsafe {
            let value = outcome(env.raw(), &result);
            Ok(Unknown::from_raw_unchecked(env.raw(), value))
        }
    }
}

fn millis(ms: f64) -> Duration {
    if ms.is_finite() && ms > 0.0 {
        Duration::from_millis(ms as u64)
    } else {
        Duration::ZERO
    }
}

/// `flush()` / `close()` on a libuv pool thread.
pub struct Settle {
    client: Arc<Client>,
    timeout: Duration,
    close: bool,
}

impl Task for Settle {
    type Output = DeliveryReport;
    type JsValue = JsReport;

    fn compute(&mut self) -> napi::Result<DeliveryReport> {
        Ok(if self.close {
            self.client.close(self.timeout)
        } else {
            self.client.flush(self.timeout)
        })
    }

    fn resolve(&mut self, _env: Env, output: DeliveryReport) -> napi::Result<JsReport> {
        Ok(JsReport(report(&output)))
    }
}

/// A report as a plain JS object (napi's `Task` wants a named JS type).
pub struct JsReport(Value);

impl TypeName for JsReport {
    fn type_name() -> &'static str {
        "DeliveryReport"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for JsReport {
    unsafe fn to_napi_value(
        env: napi::sys::napi_env,
        value: Self,
    ) -> napi::Result<napi::sys::napi_value> {
        Value::to_napi_value(env, value.0)
    }
}
