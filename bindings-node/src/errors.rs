//! Maps tracklane errors onto JS `Error` objects.
//!
//! Every error thrown into JS carries the core's stable `code` (`client.closed`,
//! `webanalyzer.payload.too_many_keys`, `config.client.destinations`) and, when the core
//! names them, `destination` and `field`. Wrong argument types are `TypeError`s with a code
//! (`ERR_INVALID_ARG_TYPE`, `value.not_finite`, ...). The JS object is built and thrown here;
//! the Rust side then returns a `PendingException` error so napi-rs does not throw twice.

use napi::{sys, Env, Status};
use tracklane_core::{ConfigError, Error, ValidationError};

/// A wrong argument type or value, caught while converting JS values (programmer error).
#[derive(Debug)]
pub struct ArgError {
    pub code: &'static str,
    pub field: String,
    pub message: String,
}

impl ArgError {
    pub fn new(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> ArgError {
        ArgError {
            code,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What conversion of a call can fail with: a wrong type, or one of the core's value rules
/// (`value.not_finite`, `value.too_deep`, `message.context.*`).
#[derive(Debug)]
pub enum ConvertError {
    Arg(ArgError),
    Rule(ValidationError),
}

impl From<ArgError> for ConvertError {
    fn from(e: ArgError) -> ConvertError {
        ConvertError::Arg(e)
    }
}

impl From<ValidationError> for ConvertError {
    fn from(e: ValidationError) -> ConvertError {
        ConvertError::Rule(e)
    }
}

/// Throws `error` as a `TypeError` (conversion errors are always the caller's types or values).
pub fn throw_convert(env: &Env, error: ConvertError) -> napi::Error {
    match error {
        ConvertError::Arg(e) => throw(
            env,
            true,
            e.code,
            None,
            Some(&e.field),
            &format!("{}: {}", e.field, e.message),
        ),
        ConvertError::Rule(e) => throw(
            env,
            true,
            &e.code,
            None,
            Some(&e.field),
            &format!("{}: {}", e.field, e.message),
        ),
    }
}

pub fn throw_core(env: &Env, error: &Error) -> napi::Error {
    match error {
        Error::Validation(e) => throw_validation(env, e),
        Error::Config(e) => throw_config(env, e),
        Error::Closed => throw(env, false, error.code(), None, None, &error.to_string()),
    }
}

pub fn throw_validation(env: &Env, e: &ValidationError) -> napi::Error {
    throw(
        env,
        false,
        &e.code,
        Some(&e.destination),
        Some(&e.field),
        &e.to_string(),
    )
}

pub fn throw_config(env: &Env, e: &ConfigError) -> napi::Error {
    throw(
        env,
        false,
        &e.code,
        Some(&e.destination),
        Some(&e.field),
        &e.to_string(),
    )
}

fn throw(
    env: &Env,
    type_error: bool,
    code: &str,
    destination: Option<&str>,
    field: Option<&str>,
    message: &str,
) -> napi::Error {
    let raw = env.raw();
    // SAFETY: called on the JS thread with the env of the current call.
    unsafe {
        let code_value = js_string(raw, code);
        let message_value = js_string(raw, message);
        let mut error = std::ptr::null_mut();
        let status = if type_error {
            sys::napi_create_type_error(raw, code_value, message_value, &mut error)
        } else {
            sys::napi_create_error(raw, code_value, message_value, &mut error)
        };
        if status != sys::Status::napi_ok {
            return napi::Error::new(Status::GenericFailure, message.to_string());
        }
        if let Some(d) = destination {
            sys::napi_set_named_property(raw, error, c"destination".as_ptr(), js_string(raw, d));
        }
        if let Some(f) = field {
            sys::napi_set_named_property(raw, error, c"field".as_ptr(), js_string(raw, f));
        }
        sys::napi_throw(raw, error);
    }
    napi::Error::new(Status::PendingException, message.to_string())
}

/// A JS string (null on failure, which napi treats as an invalid argument downstream). ASCII
/// text (message ids, codes, destination names) is created as Latin-1, which V8 copies
/// without decoding.
///
/// # Safety
/// `env` must be the current call's env, on the JS thread.
pub unsafe fn js_string(env: sys::napi_env, text: &str) -> sys::napi_value {
    let mut value = std::ptr::null_mut();
    let (ptr, len) = (text.as_ptr().cast(), text.len() as isize);
    if text.is_ascii() {
        sys::napi_create_string_latin1(env, ptr, len, &mut value);
    } else {
        sys::napi_create_string_utf8(env, ptr, len, &mut value);
    }
    value
}
