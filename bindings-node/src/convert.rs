//! JS values to the core's JSON and messages, and core results back to JS.
//!
//! Values are read through N-API one by one (never through `JSON.stringify`), so a bad value
//! is reported with its path (`properties.items[2].price`) and the rules match the Python
//! binding: objects (own enumerable string keys), arrays, strings, numbers, booleans, null,
//! `Date` (ISO 8601 UTC), `BigInt` (a decimal string: JSON numbers lose precision past 2^53),
//! `undefined` (skipped in objects, `null` in arrays, as `JSON.stringify` does). Functions,
//! symbols, binary data, circular structures, NaN and Infinity are refused; nesting deeper
//! than `MAX_DEPTH` is `value.too_deep`.
//!
//! A call arrives two ways. The fast path ([`Reader::fields`]) gets the call's fields, and the
//! top-level entries of its maps, from the JS layer as arguments of one call: listing an
//! object's keys through N-API (`napi_get_all_property_names`) costs more than all the rest
//! of a conversion, where `Object.keys` in JS is cheap. The object path ([`Reader::message`])
//! reads a call object itself; it takes snake_case and unknown keys, and it is the one that
//! raises conversion errors (the JS layer retries a call the fast path could not convert
//! through it). Both convert values with the same [`Reader::value`].
//!
//! This is the hot path of `track()`: raw `napi_*` calls, a stack buffer for short strings,
//! and paths rendered only when an error is raised.

use std::ptr::null_mut;

use napi::sys;
use serde_json::{Map, Number, Value};
use tracklane_core::value::{finite_number, too_deep, MAX_DEPTH};
use tracklane_core::{Context, Kind, Message, Outcome, Timestamp, ValidationError};

use crate::errors::{js_string, ArgError, ConvertError};

type Raw = sys::napi_value;
type Env = sys::napi_env;

// The `napi_typeof` answers.
const UNDEFINED: i32 = sys::ValueType::napi_undefined;
const NULL: i32 = sys::ValueType::napi_null;
const BOOLEAN: i32 = sys::ValueType::napi_boolean;
const NUMBER: i32 = sys::ValueType::napi_number;
const STRING: i32 = sys::ValueType::napi_string;
const SYMBOL: i32 = sys::ValueType::napi_symbol;
const OBJECT: i32 = sys::ValueType::napi_object;
const FUNCTION: i32 = sys::ValueType::napi_function;
const BIGINT: i32 = sys::ValueType::napi_bigint;

/// The `napi_is_*` object kinds the reader tells apart.
#[derive(Clone, Copy)]
enum Check {
    Array,
    Date,
    Buffer,
    TypedArray,
    ArrayBuffer,
}

/// Where a value sits, as a chain of stack frames; rendered only for error messages.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, u32),
}

impl Path<'_> {
    pub fn render(&self) -> String {
        match self {
            Path::Root(name) => (*name).to_string(),
            Path::Key(parent, key) => format!("{}.{}", parent.render(), key),
            Path::Index(parent, i) => format!("{}[{}]", parent.render(), i),
        }
    }
}

/// Largest integer a JS number holds exactly; integral numbers up to it become JSON integers
/// (`3`, not `3.0`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Reads JS values of one call. `ancestors` holds the containers being read, to catch cycles.
pub struct Reader {
    env: Env,
    ancestors: Vec<Raw>,
}

/// The stack buffer a string is read into, in UTF-16 code units: strings of up to 126 units
/// (N-API keeps one for a NUL) are read once through it.
const SHORT_UNITS: usize = 128;

/// UTF-16 as UTF-8, lone surrogates replaced (as N-API's UTF-8 reading replaces them). ASCII,
/// what ids, event names and keys nearly always are, is narrowed in a loop the compiler
/// vectorizes. V8 copies a one-byte string out as UTF-16 with a widening copy; that and the
/// narrowing took about 4% of a Node bench call's samples where V8's UTF-8 writer took 5-6%.
fn from_utf16(units: &[u16]) -> String {
    if units.iter().fold(0, |all, &unit| all | unit) < 0x80 {
        let bytes: Vec<u8> = units.iter().map(|&unit| unit as u8).collect();
        // SAFETY: every unit is below 0x80, so every byte is ASCII.
        return unsafe { String::from_utf8_unchecked(bytes) };
    }
    char::decode_utf16(units.iter().copied())
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

impl Reader {
    /// # Safety
    /// `env` must be the env of the current call, used on the JS thread only.
    pub unsafe fn new(env: Env) -> Reader {
        Reader {
            env,
            ancestors: Vec::new(),
        }
    }

    pub fn type_of(&self, value: Raw) -> i32 {
        let mut t = 0;
        unsafe { sys::napi_typeof(self.env, value, &mut t) };
        t
    }

    /// A value known to be a string (a key from the JS layer, or one `type_of` said is).
    pub fn string(&self, value: Raw) -> String {
        self.try_string(value).unwrap_or_default()
    }

    /// `value` as a Rust string, or `None` if it is not a JS string: reading is what tells,
    /// so a string field costs one N-API call rather than a `napi_typeof` and then the read.
    fn try_string(&self, value: Raw) -> Option<String> {
        // Not zeroed: N-API writes the `len` units read below and nothing is read past them
        // (zeroing 256 bytes for each of a call's strings was a visible part of a call). A
        // longer string (the copy stopped short) is read again below, as UTF-8.
        let mut buf = std::mem::MaybeUninit::<[u16; SHORT_UNITS]>::uninit();
        let mut len = 0usize;
        let status = unsafe {
            sys::napi_get_value_string_utf16(
                self.env,
                value,
                buf.as_mut_ptr().cast(),
                SHORT_UNITS,
                &mut len,
            )
        };
        if status != sys::Status::napi_ok {
            return None;
        }
        if len < SHORT_UNITS - 1 {
            // SAFETY: N-API wrote `len` code units (and a terminating NUL) into `buf`.
            let units = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u16>(), len) };
            return Some(from_utf16(units));
        }
        unsafe { sys::napi_get_value_string_utf8(self.env, value, null_mut(), 0, &mut len) };
        let mut long = vec![0u8; len + 1];
        unsafe {
            sys::napi_get_value_string_utf8(
                self.env,
                value,
                long.as_mut_ptr().cast(),
                long.len(),
                &mut len,
            )
        };
        long.truncate(len);
        Some(
            String::from_utf8(long)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }

    fn number(&self, value: Raw) -> f64 {
        let mut n = 0.0;
        unsafe { sys::napi_get_value_double(self.env, value, &mut n) };
        n
    }

    fn is(&self, check: Check, value: Raw) -> bool {
        let mut result = false;
        // SAFETY: the `napi_is_*` predicates only read `value` in the current env.
        unsafe {
            match check {
                Check::Array => sys::napi_is_array(self.env, value, &mut result),
                Check::Date => sys::napi_is_date(self.env, value, &mut result),
                Check::Buffer => sys::napi_is_buffer(self.env, value, &mut result),
                Check::TypedArray => sys::napi_is_typedarray(self.env, value, &mut result),
                Check::ArrayBuffer => sys::napi_is_arraybuffer(self.env, value, &mut result),
            }
        };
        result
    }

    /// Own enumerable string keys with their values, in property order.
    pub fn entries(&self, object: Raw) -> Vec<(String, Raw)> {
        let mut keys = null_mut();
        let mut count = 0u32;
        unsafe {
            sys::napi_get_all_property_names(
                self.env,
                object,
                sys::KeyCollectionMode::own_only,
                sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
                sys::KeyConversion::numbers_to_strings,
                &mut keys,
            );
            sys::napi_get_array_length(self.env, keys, &mut count);
        }
        let mut out = Vec::with_capacity(count as usize);
        for i in 0..count {
            let mut key = null_mut();
            let mut value = null_mut();
            unsafe {
                sys::napi_get_element(self.env, keys, i, &mut key);
                sys::napi_get_property(self.env, object, key, &mut value);
            }
            out.push((self.string(key), value));
        }
        out
    }

    /// A JS value as JSON; `None` for `undefined`. `depth` is the nesting level of `value`.
    pub fn value(
        &mut self,
        value: Raw,
        path: &Path,
        depth: usize,
    ) -> Result<Option<Value>, ConvertError> {
        if let Some(text) = self.try_string(value) {
            return Ok(Some(Value::String(text)));
        }
        Ok(Some(match self.type_of(value) {
            UNDEFINED => return Ok(None),
            NULL => Value::Null,
            BOOLEAN => {
                let mut b = false;
                unsafe { sys::napi_get_value_bool(self.env, value, &mut b) };
                Value::Bool(b)
            }
            NUMBER => number_value(self.number(value), path)?,
            BIGINT => Value::String(self.bigint(value)),
            OBJECT => return self.container(value, path, depth).map(Some),
            FUNCTION => return Err(unsupported(path, "a function")),
            SYMBOL => return Err(unsupported(path, "a symbol")),
            _ => return Err(unsupported(path, "an external value")),
        }))
    }

    fn container(&mut self, value: Raw, path: &Path, depth: usize) -> Result<Value, ConvertError> {
        if self.is(Check::Date, value) {
            return Ok(Value::String(self.date(value, path)?.to_string()));
        }
        if depth > MAX_DEPTH {
            return Err(too_deep(&path.render()).into());
        }
        if self.is(Check::Buffer, value)
            || self.is(Check::TypedArray, value)
            || self.is(Check::ArrayBuffer, value)
        {
            return Err(unsupported(
                path,
                "binary data (encode it as a string first)",
            ));
        }
        for &ancestor in &self.ancestors {
            let mut same = false;
            unsafe { sys::napi_strict_equals(self.env, ancestor, value, &mut same) };
            if same {
                return Err(ArgError::new(
                    "value.circular",
                    path.render(),
                    "is a circular reference; only trees of plain values can be sent",
                )
                .into());
            }
        }
        self.ancestors.push(value);
        let result = if self.is(Check::Array, value) {
            self.array(value, path, depth)
        } else {
            self.object(value, path, depth).map(Value::Object)
        };
        self.ancestors.pop();
        result
    }

    fn array(&mut self, array: Raw, path: &Path, depth: usize) -> Result<Value, ConvertError> {
        let mut len = 0u32;
        unsafe { sys::napi_get_array_length(self.env, array, &mut len) };
        let mut out = Vec::with_capacity(len as usize);
        for i in 0..len {
            let mut item = null_mut();
            unsafe { sys::napi_get_element(self.env, array, i, &mut item) };
            let item_path = Path::Index(path, i);
            out.push(
                self.value(item, &item_path, depth + 1)?
                    .unwrap_or(Value::Null),
            );
        }
        Ok(Value::Array(out))
    }

    /// An object's entries as a JSON map; `depth` is the object's own level.
    pub fn object(
        &mut self,
        object: Raw,
        path: &Path,
        depth: usize,
    ) -> Result<Map<String, Value>, ConvertError> {
        let mut out = Map::new();
        for (key, item) in self.entries(object) {
            let item_path = Path::Key(path, &key);
            if let Some(v) = self.value(item, &item_path, depth + 1)? {
                out.insert(key, v);
            }
        }
        Ok(out)
    }

    /// A top-level object argument (`properties`, `traits`, `context`, options).
    pub fn map(
        &mut self,
        value: Raw,
        path: &Path,
    ) -> Result<Option<Map<String, Value>>, ConvertError> {
        match self.type_of(value) {
            UNDEFINED | NULL => Ok(None),
            OBJECT if !self.is(Check::Array, value) && !self.is(Check::Date, value) => {
                self.ancestors.push(value);
                let map = self.object(value, path, 0);
                self.ancestors.pop();
                map.map(Some)
            }
            _ => Err(ArgError::new(
                "ERR_INVALID_ARG_TYPE",
                path.render(),
                format!("must be a plain object, got {}", self.describe(value)),
            )
            .into()),
        }
    }

    fn date(&self, value: Raw, path: &Path) -> Result<Timestamp, ConvertError> {
        let mut millis = 0.0;
        unsafe { sys::napi_get_date_value(self.env, value, &mut millis) };
        if !millis.is_finite() {
            return Err(ArgError::new(
                "ERR_INVALID_ARG_VALUE",
                path.render(),
                "is an invalid Date",
            )
            .into());
        }
        Timestamp::from_millis(millis as i64).ok_or_else(|| {
            ArgError::new("ERR_INVALID_ARG_VALUE", path.render(), "is out of range").into()
        })
    }

    /// A BigInt as its decimal digits (any size).
    fn bigint(&self, value: Raw) -> String {
        let mut sign = 0;
        let mut count = 0usize;
        // Both pointers null asks only for the word count (N-API rejects a sign pointer alone).
        unsafe {
            sys::napi_get_value_bigint_words(self.env, value, null_mut(), &mut count, null_mut())
        };
        let mut words = vec![0u64; count.max(1)];
        unsafe {
            sys::napi_get_value_bigint_words(
                self.env,
                value,
                &mut sign,
                &mut count,
                words.as_mut_ptr(),
            )
        };
        words.truncate(count);
        let digits = decimal(words);
        if sign != 0 && digits != "0" {
            format!("-{digits}")
        } else {
            digits
        }
    }

    fn describe(&self, value: Raw) -> &'static str {
        match self.type_of(value) {
            UNDEFINED => "undefined",
            NULL => "null",
            BOOLEAN => "a boolean",
            NUMBER => "a number",
            STRING => "a string",
            SYMBOL => "a symbol",
            FUNCTION => "a function",
            BIGINT => "a bigint",
            OBJECT if self.is(Check::Array, value) => "an array",
            OBJECT if self.is(Check::Date, value) => "a Date",
            OBJECT => "an object",
            _ => "an external value",
        }
    }

    /// An optional string field (`userId`, `event`...): `undefined`/`null` mean absent.
    fn optional_string(&self, value: Raw, field: &str) -> Result<Option<String>, ConvertError> {
        if let Some(text) = self.try_string(value) {
            return Ok(Some(text));
        }
        match self.type_of(value) {
            UNDEFINED | NULL => Ok(None),
            _ => Err(ArgError::new(
                "ERR_INVALID_ARG_TYPE",
                field,
                format!("must be a string, got {}", self.describe(value)),
            )
            .into()),
        }
    }

    /// `timestamp`: a Date, an ISO 8601 string or epoch milliseconds.
    fn timestamp(&self, value: Raw) -> Result<Option<Timestamp>, ConvertError> {
        let path = Path::Root("timestamp");
        let bad = |why: &str| ArgError::new("ERR_INVALID_ARG_VALUE", "timestamp", why.to_string());
        match self.type_of(value) {
            UNDEFINED | NULL => Ok(None),
            STRING => Timestamp::parse(&self.string(value))
                .map(Some)
                .ok_or_else(|| {
                    bad("is not an ISO 8601 date-time (e.g. 2024-01-15T10:30:00.000Z)").into()
                }),
            NUMBER => {
                let millis = self.number(value);
                if !millis.is_finite() {
                    return Err(bad("must be a finite number of epoch milliseconds").into());
                }
                Timestamp::from_millis(millis as i64)
                    .map(Some)
                    .ok_or_else(|| bad("is out of range").into())
            }
            OBJECT if self.is(Check::Date, value) => self.date(value, &path).map(Some),
            _ => Err(ArgError::new(
                "ERR_INVALID_ARG_TYPE",
                "timestamp",
                format!(
                    "must be a Date, an ISO 8601 string or epoch milliseconds, got {}",
                    self.describe(value)
                ),
            )
            .into()),
        }
    }

    /// One `track`/`identify`/`alias`/`page`/`group` call object as a neutral message: its
    /// own keys in order, so the first bad field is the one reported.
    pub fn message(&mut self, kind: Kind, call: Raw) -> Result<Message, ConvertError> {
        if self.type_of(call) != OBJECT || self.is(Check::Array, call) {
            return Err(ArgError::new(
                "ERR_INVALID_ARG_TYPE",
                "call",
                format!(
                    "{}() takes one object argument, got {}",
                    kind.as_str(),
                    self.describe(call)
                ),
            )
            .into());
        }
        let mut message = Message::new(kind);
        for (key, value) in self.entries(call) {
            let Some(field) = Field::from_key(&key) else {
                return Err(ArgError::new(
                    "ERR_INVALID_ARG_VALUE",
                    key.as_str(),
                    format!("is not a field of {}() (known: event, properties, traits, userId, anonymousId, previousId, groupId, sessionId, context, messageId, timestamp)", kind.as_str()),
                )
                .into());
            };
            self.set(&mut message, field, &key, value)?;
        }
        Ok(message)
    }

    /// A call whose fields the JS layer read from the call object (the fast path of
    /// `js/index.js`: `Object.keys` in JS costs a fraction of listing keys through N-API).
    /// `present` has bit `i` set for each field of [`Field::POSITIONAL`] the call has;
    /// `args` holds the fields' values in that order, then the entries (key, value, key,
    /// value...) of the maps the JS layer spread out: a map field given as a number `n` is
    /// the next `n` entries, any other value is converted as it is.
    ///
    /// It converts with the same rules as [`Reader::message`]. On an error the JS layer
    /// makes the call again through `message` with the call object, whose errors and paths
    /// stay the reference (a cycle through a spread-out map, for one, is caught a level
    /// later here, as a cycle all the same).
    ///
    /// The fields are written into `message` (a new one, see [`Message::new`]) where it lies:
    /// a message is 656 bytes, and returning one in a `Result` copied it twice more.
    pub fn fields(
        &mut self,
        message: &mut Message,
        present: u32,
        args: &[Raw],
    ) -> Result<(), ConvertError> {
        let (values, mut entries) = args.split_at(Field::POSITIONAL.len().min(args.len()));
        for (i, (&field, &value)) in Field::POSITIONAL.iter().zip(values).enumerate() {
            if present & (1 << i) == 0 {
                continue;
            }
            if field.is_map() && self.type_of(value) == NUMBER {
                let count = (self.number(value) as usize).min(entries.len() / 2);
                let (these, rest) = entries.split_at(count * 2);
                entries = rest;
                let map = self.spread_map(these, &Path::Root(field.name()))?;
                self.put_map(message, field, Some(map))?;
            } else {
                self.set(message, field, field.name(), value)?;
            }
        }
        Ok(())
    }

    /// A map from the `[key, value, key, value...]` the JS layer read from an object.
    fn spread_map(
        &mut self,
        entries: &[Raw],
        path: &Path,
    ) -> Result<Map<String, Value>, ConvertError> {
        let mut out = Map::with_capacity(entries.len() / 2);
        for pair in entries.chunks_exact(2) {
            let key = self.string(pair[0]);
            let item_path = Path::Key(path, &key);
            if let Some(v) = self.value(pair[1], &item_path, 1)? {
                out.insert(key, v);
            }
        }
        Ok(out)
    }

    /// Converts one field's value into `message`; `key` is how the caller spelled it (errors
    /// name it).
    fn set(
        &mut self,
        message: &mut Message,
        field: Field,
        key: &str,
        value: Raw,
    ) -> Result<(), ConvertError> {
        match field {
            Field::Event => message.event = self.optional_string(value, key)?,
            Field::UserId => message.user_id = self.optional_string(value, "userId")?,
            Field::AnonymousId => {
                message.anonymous_id = self.optional_string(value, "anonymousId")?
            }
            Field::PreviousId => message.previous_id = self.optional_string(value, "previousId")?,
            Field::GroupId => message.group_id = self.optional_string(value, "groupId")?,
            Field::SessionId => message.session_id = self.optional_string(value, "sessionId")?,
            Field::MessageId => {
                if let Some(id) = self.optional_string(value, "messageId")? {
                    message.message_id = id;
                }
            }
            Field::Timestamp => {
                if let Some(t) = self.timestamp(value)? {
                    message.timestamp = t;
                }
            }
            Field::Properties | Field::Traits | Field::Context => {
                let map = self.map(value, &Path::Root(field.name()))?;
                self.put_map(message, field, map)?;
            }
        }
        Ok(())
    }

    /// Puts a converted `properties`, `traits` or `context` into `message`.
    fn put_map(
        &self,
        message: &mut Message,
        field: Field,
        map: Option<Map<String, Value>>,
    ) -> Result<(), ConvertError> {
        match field {
            Field::Properties => message.properties = map.unwrap_or_default(),
            Field::Traits => message.traits = map.unwrap_or_default(),
            Field::Context => {
                if let Some(map) = map {
                    message.context = Context::from_json(map)?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The fields of a call object.
#[derive(Clone, Copy)]
enum Field {
    Event,
    Properties,
    Traits,
    UserId,
    AnonymousId,
    PreviousId,
    GroupId,
    SessionId,
    Context,
    MessageId,
    Timestamp,
}

impl Field {
    /// The order of [`Reader::fields`]' values and presence bits (and of the JS layer's).
    const POSITIONAL: [Field; 11] = [
        Field::Event,
        Field::Properties,
        Field::Traits,
        Field::UserId,
        Field::AnonymousId,
        Field::PreviousId,
        Field::GroupId,
        Field::SessionId,
        Field::Context,
        Field::MessageId,
        Field::Timestamp,
    ];

    /// A call object's key, camelCase or snake_case (`name` is page's spelling of `event`).
    fn from_key(key: &str) -> Option<Field> {
        Some(match key {
            "event" | "name" => Field::Event,
            "properties" => Field::Properties,
            "traits" => Field::Traits,
            "userId" | "user_id" => Field::UserId,
            "anonymousId" | "anonymous_id" => Field::AnonymousId,
            "previousId" | "previous_id" => Field::PreviousId,
            "groupId" | "group_id" => Field::GroupId,
            "sessionId" | "session_id" => Field::SessionId,
            "context" => Field::Context,
            "messageId" | "message_id" => Field::MessageId,
            "timestamp" => Field::Timestamp,
            _ => return None,
        })
    }

    fn is_map(self) -> bool {
        matches!(self, Field::Properties | Field::Traits | Field::Context)
    }

    fn name(self) -> &'static str {
        match self {
            Field::Event => "event",
            Field::Properties => "properties",
            Field::Traits => "traits",
            Field::UserId => "userId",
            Field::AnonymousId => "anonymousId",
            Field::PreviousId => "previousId",
            Field::GroupId => "groupId",
            Field::SessionId => "sessionId",
            Field::Context => "context",
            Field::MessageId => "messageId",
            Field::Timestamp => "timestamp",
        }
    }
}

fn number_value(n: f64, path: &Path) -> Result<Value, ValidationError> {
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        return Ok(Value::Number(Number::from(n as i64)));
    }
    if !n.is_finite() {
        return finite_number(n, &path.render());
    }
    finite_number(n, "")
}

fn unsupported(path: &Path, what: &str) -> ConvertError {
    ArgError::new(
        "ERR_INVALID_ARG_TYPE",
        path.render(),
        format!("is {what}, which cannot be sent as JSON"),
    )
    .into()
}

/// Little-endian 64-bit words to decimal digits (schoolbook division by 10^19).
fn decimal(mut words: Vec<u64>) -> String {
    const CHUNK: u64 = 10_000_000_000_000_000_000;
    let mut chunks = Vec::new();
    while words.iter().any(|w| *w != 0) {
        let mut rem: u128 = 0;
        for w in words.iter_mut().rev() {
            let cur = (rem << 64) | *w as u128;
            *w = (cur / CHUNK as u128) as u64;
            rem = cur % CHUNK as u128;
        }
        chunks.push(rem as u64);
    }
    match chunks.split_last() {
        None => "0".to_string(),
        Some((top, rest)) => {
            let mut s = top.to_string();
            for c in rest.iter().rev() {
                s.push_str(&format!("{c:019}"));
            }
            s
        }
    }
}

/// The outcome of a call for the JS layer, which turns it into `{status, messageId,
/// destinations, errors}`. The common case, queued for every destination of the client with
/// no rule broken, is the message id alone (a string): the JS layer fills in the rest from the
/// destination names it keeps, so one string crosses the boundary. Anything else is
/// `[status, messageId, destinations, errors?]`. An object literal built in JS gets a stable
/// hidden class at once, where named properties set through N-API cost a key internalization
/// and a map transition each.
///
/// # Safety
/// `env` must be the current call's env, on the JS thread.
pub unsafe fn outcome(env: Env, outcome: &Outcome, all_destinations: &[String]) -> Raw {
    if let Outcome::Queued {
        message_id,
        destinations,
        rejected,
    } = outcome
    {
        if rejected.is_empty() && &destinations[..] == all_destinations {
            return js_string(env, message_id);
        }
    }
    let names: &[String] = match outcome {
        Outcome::Queued { destinations, .. } => destinations,
        _ => &[],
    };
    let errors = outcome.errors();
    let mut result = null_mut();
    sys::napi_create_array_with_length(env, if errors.is_empty() { 3 } else { 4 }, &mut result);
    sys::napi_set_element(env, result, 0, js_string(env, outcome.status()));
    sys::napi_set_element(env, result, 1, js_string(env, outcome.message_id()));
    let mut list = null_mut();
    sys::napi_create_array_with_length(env, names.len(), &mut list);
    for (i, name) in names.iter().enumerate() {
        sys::napi_set_element(env, list, i as u32, js_string(env, name));
    }
    sys::napi_set_element(env, result, 2, list);
    if !errors.is_empty() {
        // Flat [code, destination, field, message, code, ...]: rare, so kept simple.
        let mut flat = null_mut();
        sys::napi_create_array_with_length(env, errors.len() * 4, &mut flat);
        for (i, e) in errors.iter().enumerate() {
            for (j, text) in [&e.code, &e.destination, &e.field, &e.message]
                .into_iter()
                .enumerate()
            {
                sys::napi_set_element(env, flat, (i * 4 + j) as u32, js_string(env, text));
            }
        }
        sys::napi_set_element(env, result, 3, flat);
    }
    result
}

/// A serialized core report with its snake_case keys turned into JS camelCase.
pub fn camel_case_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (camel_case(&k), camel_case_keys(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_case_keys).collect()),
        other => other,
    }
}

fn camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Serializes a core report for JS.
pub fn report<T: serde::Serialize>(report: &T) -> Value {
    camel_case_keys(serde_json::to_value(report).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigints_of_any_size_become_decimal_digits() {
        assert_eq!(decimal(vec![]), "0");
        assert_eq!(decimal(vec![12345]), "12345");
        assert_eq!(decimal(vec![u64::MAX]), "18446744073709551615");
        assert_eq!(decimal(vec![0, 1]), "18446744073709551616");
    }

    #[test]
    fn report_keys_become_camel_case() {
        assert_eq!(camel_case("timed_out"), "timedOut");
        assert_eq!(camel_case("message_ids"), "messageIds");
        assert_eq!(camel_case("delivered"), "delivered");
    }
}
