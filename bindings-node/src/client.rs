//! The native client class behind the JS `Client`.
//!
//! `track` and friends convert the call and enqueue it on the JS thread: the core never does
//! I/O there, so this is microseconds. `flush` and `close` block until delivery settles, so
//! they run as `AsyncTask`s on the libuv pool and resolve a Promise with the report; a
//! pending Promise keeps the process alive until it settles, which is what `await close()`
//! needs.

use std::ptr::null_mut;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{AsyncTask, Function, ToNapiValue, TypeName, Unknown, ValueType};
use napi::{sys, Env, JsValue, Task};
use napi_derive::napi;
use serde_json::Value;
use tracklane_core::{Client, DeliveryReport, Kind, Message};

use crate::config::client_config;
use crate::convert::{outcome, report, Reader};
use crate::errors::{throw_config, throw_convert, throw_core};
use crate::hooks::NodeHooks;

#[napi]
pub struct NativeClient {
    inner: Arc<Client>,
    /// The destinations' names, fixed for the client's life: an outcome queued for all of
    /// them crosses to JS as its message id alone (see `convert::outcome`).
    destinations: Vec<String>,
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
            destinations: client.destination_names(),
            inner: Arc::new(client),
        })
    }

    #[napi(
        ts_return_type = "string | [status: string, messageId: string, destinations: string[], errors?: string[]]"
    )]
    pub fn track<'env>(&self, env: &'env Env, call: Unknown) -> napi::Result<Unknown<'env>> {
        self.enqueue(env, Kind::Track, call)
    }

    #[napi(
        ts_return_type = "string | [status: string, messageId: string, destinations: string[], errors?: string[]]"
    )]
    pub fn identify<'env>(&self, env: &'env Env, call: Unknown) -> napi::Result<Unknown<'env>> {
        self.enqueue(env, Kind::Identify, call)
    }

    #[napi(
        ts_return_type = "string | [status: string, messageId: string, destinations: string[], errors?: string[]]"
    )]
    pub fn alias<'env>(&self, env: &'env Env, call: Unknown) -> napi::Result<Unknown<'env>> {
        self.enqueue(env, Kind::Alias, call)
    }

    #[napi(
        ts_return_type = "string | [status: string, messageId: string, destinations: string[], errors?: string[]]"
    )]
    pub fn page<'env>(&self, env: &'env Env, call: Unknown) -> napi::Result<Unknown<'env>> {
        self.enqueue(env, Kind::Page, call)
    }

    #[napi(
        ts_return_type = "string | [status: string, messageId: string, destinations: string[], errors?: string[]]"
    )]
    pub fn group<'env>(&self, env: &'env Env, call: Unknown) -> napi::Result<Unknown<'env>> {
        self.enqueue(env, Kind::Group, call)
    }

    /// The JS layer's fast path for every call: a plain N-API function (see [`send`]) bound
    /// to this client.
    #[napi(
        ts_return_type = "(header: number, ...fields: unknown[]) => string | unknown[] | undefined"
    )]
    pub fn sender<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>> {
        let sender = Box::into_raw(Box::new(Sender {
            client: self.inner.clone(),
            destinations: self.destinations.clone(),
        }));
        // SAFETY: on the JS thread with this call's env. `sender` lives until the function
        // is collected: the finalizer is what frees it, and the function is the only user.
        unsafe {
            let raw = env.raw();
            let mut function = null_mut();
            let status = sys::napi_create_function(
                raw,
                c"send".as_ptr(),
                4,
                Some(send),
                sender.cast(),
                &mut function,
            );
            if status != sys::Status::napi_ok {
                drop(Box::from_raw(sender));
                return Err(napi::Error::from_reason("cannot create the send function"));
            }
            sys::napi_add_finalizer(
                raw,
                function,
                sender.cast(),
                Some(drop_sender),
                null_mut(),
                null_mut(),
            );
            Ok(Unknown::from_raw_unchecked(raw, function))
        }
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
            let value = outcome(env.raw(), &result, &self.destinations);
            Ok(Unknown::from_raw_unchecked(env.raw(), value))
        }
    }
}

/// What the `send` function of a client holds.
struct Sender {
    client: Arc<Client>,
    destinations: Vec<String>,
}

/// Arguments `send` reads without allocating: what the JS layer passes for an ordinary call
/// (the header, 11 fields and its `ENTRY_ARGS`, 16 map slots). N-API fills every slot asked
/// for past the arguments given with `undefined`, so asking for more costs every call; a
/// call with more (a map spread from an array) reads them into a vector.
const ARGS_ON_STACK: usize = 1 + 11 + 16;

/// `send(header, ...fields, ...entries)`: a call from the JS layer's fast path. `header` is
/// the kind (0 track, 1 identify, 2 alias, 3 page, 4 group) plus the present fields' bits
/// shifted left by 3; the rest is as [`Reader::fields`] reads it. Returns the outcome as
/// [`outcome`] makes it, throws what the core refuses (`client.closed`, strict-mode rules),
/// and returns `undefined`, having queued nothing, when a value does not convert: the JS
/// layer then makes the call through the object path, which throws the error.
///
/// A raw N-API callback rather than a `#[napi]` method: napi-rs' glue for a method (unwrap,
/// borrow tracking of `this`, argument conversion) cost about a tenth of a call.
unsafe extern "C" fn send(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut stack = [null_mut(); ARGS_ON_STACK];
    let mut argc = ARGS_ON_STACK;
    let mut data = null_mut();
    sys::napi_get_cb_info(
        env,
        info,
        &mut argc,
        stack.as_mut_ptr(),
        null_mut(),
        &mut data,
    );
    let heap;
    let args: &[sys::napi_value] = if argc <= ARGS_ON_STACK {
        &stack[..argc]
    } else {
        heap = {
            let mut all = vec![null_mut(); argc];
            sys::napi_get_cb_info(
                env,
                info,
                &mut argc,
                all.as_mut_ptr(),
                null_mut(),
                null_mut(),
            );
            all
        };
        &heap
    };
    let sender = &*(data as *const Sender);
    let Some((&header, fields)) = args.split_first() else {
        return undefined(env);
    };
    let mut header_value = 0u32;
    sys::napi_get_value_uint32(env, header, &mut header_value);
    let kind = match header_value & 0b111 {
        0 => Kind::Track,
        1 => Kind::Identify,
        2 => Kind::Alias,
        3 => Kind::Page,
        _ => Kind::Group,
    };
    let mut reader = Reader::new(env);
    let mut message = Message::new(kind);
    if reader
        .fields(&mut message, header_value >> 3, fields)
        .is_err()
    {
        return undefined(env);
    }
    match sender.client.enqueue(message) {
        Ok(result) => outcome(env, &result, &sender.destinations),
        Err(e) => {
            throw_core(&Env::from_raw(env), &e);
            null_mut()
        }
    }
}

unsafe extern "C" fn drop_sender(
    _env: sys::napi_env,
    data: *mut std::ffi::c_void,
    _hint: *mut std::ffi::c_void,
) {
    drop(Box::from_raw(data as *mut Sender));
}

unsafe fn undefined(env: sys::napi_env) -> sys::napi_value {
    let mut value = null_mut();
    sys::napi_get_undefined(env, &mut value);
    value
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
