//! Client options from JS to the core's `ClientConfig`.
//!
//! The JS object is converted with the same value rules as event properties and handed to
//! `ClientConfig::from_json`, which reads camelCase or snake_case keys, `*Ms` durations and the
//! `TRACKLANE_*` environment fallbacks. Options that only the JS layer knows (`onError`,
//! `onDelivery`, `exitTimeoutMs`) are taken out before the object reaches this file.

use std::sync::Arc;

use napi::{sys, Env};
use tracklane_core::ClientConfig;

use crate::convert::{Path, Reader};
use crate::errors::{throw_config, throw_convert};
use crate::hooks::NodeHooks;

pub fn client_config(
    env: &Env,
    options: sys::napi_value,
    hooks: Option<NodeHooks>,
) -> napi::Result<ClientConfig> {
    // SAFETY: called from a #[napi] constructor, on the JS thread with its env.
    let mut reader = unsafe { Reader::new(env.raw()) };
    let map = reader
        .map(options, &Path::Root("options"))
        .map_err(|e| throw_convert(env, e))?
        .unwrap_or_default();
    let mut config = ClientConfig::from_json(serde_json::Value::Object(map))
        .map_err(|e| throw_config(env, &e))?;
    if let Some(hooks) = hooks {
        config.hooks = Some(Arc::new(hooks));
    }
    Ok(config)
}
