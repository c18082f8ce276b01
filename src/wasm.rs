//! The JS boundary: the only module that knows about wasm-bindgen. It converts the options
//! object and the request view in, and the decision out; every decision is the engine's.
//!
//! Errors cross as real `Error`s named `EdgeGateError` with the engine's stable `code`; the
//! shim turns them into its `EdgeGateError` class.

use std::sync::Arc;

use js_sys::{Array, Object, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::decide::{Action, Decision, Gate, Request};
use crate::error::Error;
use crate::verify::{Clock, FixedClock};
use crate::Options;

/// The host's clock: `Date.now()` (wasm32-unknown-unknown has no system clock).
struct DateClock;

impl Clock for DateClock {
    fn now(&self) -> f64 {
        js_sys::Date::now() / 1000.0
    }
}

fn js_error(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("EdgeGateError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// The gate as JS sees it: `new Gate(options)`, `gate.decide(request)`.
#[wasm_bindgen(js_name = Gate)]
pub struct JsGate {
    inner: Gate,
}

#[wasm_bindgen(js_class = Gate)]
impl JsGate {
    /// Builds a gate; throws `EdgeGateError` with an `ERR_CONFIG_*` code on bad options.
    /// `now` (seconds since the epoch) fixes the clock, for tests.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue, now: Option<f64>) -> Result<JsGate, JsValue> {
        // Through JSON, not serde-wasm-bindgen: its struct deserializer looks up only the
        // known field names, so a misspelt option (`audiance`) would be silently ignored.
        // JSON also drops `undefined` members, as jose treats them: "not set".
        let json = js_sys::JSON::stringify(&options)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| {
                js_error(&Error::ConfigInvalid(
                    "options must be a JSON-compatible object".into(),
                ))
            })?;
        let options = Options::from_json(&json).map_err(|e| js_error(&e))?;
        let clock: Arc<dyn Clock> = match now {
            Some(t) => Arc::new(FixedClock(t)),
            None => Arc::new(DateClock),
        };
        Gate::with_clock(options, clock)
            .map(|inner| JsGate { inner })
            .map_err(|e| js_error(&e))
    }

    /// Decides `{ method, url, headers }` (headers: `Headers`, `Map`, pairs or a plain
    /// object) and returns the decision as a plain object.
    pub fn decide(&self, request: JsValue) -> Result<JsValue, JsValue> {
        let request = read_request(&request)?;
        let decision = self.inner.decide(&request);
        to_js(&decision)
    }
}

fn read_request(value: &JsValue) -> Result<Request, JsValue> {
    if !value.is_object() {
        return Err(type_error("decide(request): request must be an object"));
    }
    let get = |name: &str| Reflect::get(value, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let url = get("url")
        .as_string()
        .ok_or_else(|| type_error("decide(request): request.url must be a string"))?;
    let method = get("method").as_string().unwrap_or_else(|| "GET".into());
    Ok(Request {
        method,
        url,
        headers: read_headers(&get("headers"))?,
    })
}

fn read_headers(headers: &JsValue) -> Result<Vec<(String, String)>, JsValue> {
    let mut out = Vec::new();
    if headers.is_undefined() || headers.is_null() {
        return Ok(out);
    }
    let mut push = |name: JsValue, value: JsValue| -> Result<(), JsValue> {
        let name = name
            .as_string()
            .ok_or_else(|| type_error("header names must be strings"))?;
        if let Some(list) = value.dyn_ref::<Array>() {
            // Node's IncomingHttpHeaders: repeated headers as arrays.
            for v in list.iter() {
                out.push((name.clone(), v.as_string().unwrap_or_default()));
            }
        } else {
            out.push((name, value.as_string().unwrap_or_default()));
        }
        Ok(())
    };
    // Headers, Map and arrays of pairs iterate as [name, value]; anything else is an object.
    if let Ok(Some(iter)) = js_sys::try_iter(headers) {
        for entry in iter {
            let pair: Array = entry?
                .dyn_into()
                .map_err(|_| type_error("header entries must be [name, value]"))?;
            push(pair.get(0), pair.get(1))?;
        }
    } else {
        let object: &Object = headers
            .dyn_ref()
            .ok_or_else(|| type_error("request.headers must be Headers, pairs or an object"))?;
        for entry in Object::entries(object).iter() {
            let pair: Array = entry.unchecked_into();
            push(pair.get(0), pair.get(1))?;
        }
    }
    Ok(out)
}

/// The decision as JS receives it. Header lists are `[name, value][]`, which `new Headers()`
/// accepts as is.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsDecision<'a> {
    /// "continue", "redirect" or "respond".
    action: &'static str,
    /// The response status (307 for redirect); absent for continue.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_source: Option<&'static str>,
    /// continue: the headers to forward upstream.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_headers: Option<&'a [(String, String)]>,
    /// redirect: the Location (a same-origin path).
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
    /// respond: headers and body of the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<&'a [(String, String)]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    /// Why, for logs only; never meant for the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

fn to_js(d: &Decision) -> Result<JsValue, JsValue> {
    let mut out = JsDecision {
        action: "continue",
        status: None,
        code: d.code,
        rule: d.rule,
        kind: d.kind.map(|k| k.as_str()),
        token_source: d.token_source.map(|s| s.as_str()),
        request_headers: None,
        location: None,
        headers: None,
        body: None,
        message: d.error.as_ref().map(|e| e.to_string()),
    };
    match &d.action {
        Action::Continue { headers } => out.request_headers = Some(headers),
        Action::Redirect { location } => {
            out.action = "redirect";
            out.status = Some(307);
            out.location = Some(location);
        }
        Action::Respond {
            status,
            headers,
            body,
        } => {
            out.action = "respond";
            out.status = Some(*status);
            out.headers = Some(headers);
            out.body = Some(body);
        }
    }
    out.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| type_error(&format!("decision could not be converted: {e}")))
}
