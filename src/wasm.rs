//! The JS boundary: the only module that knows about wasm-bindgen. It converts the options
//! object and the request view in, and the decision out; every decision is the engine's.
//!
//! Errors cross as real `Error`s named `EdgeGateError` with the engine's stable `code`; the
//! shim turns them into its `EdgeGateError` class.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use js_sys::{Array, Object, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::decide::{Action, Decision, Gate, Pending, Request, Route, Step};
use crate::error::Error;
use crate::verify::{Alg, Clock, Fetch, Fetched, FixedClock};
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

/// Pending signature checks a host may leave unresolved (an exception between `decide` and
/// `resume`); beyond this the oldest are dropped, so memory stays bounded.
const MAX_PENDING: usize = 4096;

/// The gate as JS sees it: `new Gate(options)`, `gate.decide(request)`, and for signatures
/// checked with the host's WebCrypto, `gate.resume(id, valid)`.
#[wasm_bindgen(js_name = Gate)]
pub struct JsGate {
    inner: Gate,
    pending: RefCell<BTreeMap<u32, Pending>>,
    next_id: RefCell<u32>,
    /// Memory shared with the shim (`decideInput`): it encodes the request straight into
    /// `input`, and reads every text answer out of `output`. One copy each way, no
    /// allocation per call, and no JS loop copying strings character by character.
    input: RefCell<Vec<u8>>,
    output: RefCell<Vec<u8>>,
}

/// How a host checks `alg`, as JSON members of a `verify` answer: WebCrypto's `importKey`
/// and `verify` parameters, and node:crypto's `verify(algorithm, data, { key, ...options },
/// signature)`. `None` (HMAC): the engine checks, faster than a crossing. Ed25519 goes to
/// the host too: in workerd its WebCrypto takes half the engine's time (bench/README.md).
/// RFC 7518 §3.5: the PSS salt is as long as the hash; padding 6 is RSA_PKCS1_PSS_PADDING.
fn host_params(alg: Alg) -> Option<&'static str> {
    Some(match alg {
        Alg::Hs256 | Alg::Hs384 | Alg::Hs512 => return None,
        Alg::Rs256 => concat!(
            r#""alg":"RS256","#,
            r#""webCrypto":{"import":{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-256"},"#,
            r#""verify":{"name":"RSASSA-PKCS1-v1_5"}},"#,
            r#""node":{"algorithm":"sha256","options":{}}"#
        ),
        Alg::Rs384 => concat!(
            r#""alg":"RS384","#,
            r#""webCrypto":{"import":{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-384"},"#,
            r#""verify":{"name":"RSASSA-PKCS1-v1_5"}},"#,
            r#""node":{"algorithm":"sha384","options":{}}"#
        ),
        Alg::Rs512 => concat!(
            r#""alg":"RS512","#,
            r#""webCrypto":{"import":{"name":"RSASSA-PKCS1-v1_5","hash":"SHA-512"},"#,
            r#""verify":{"name":"RSASSA-PKCS1-v1_5"}},"#,
            r#""node":{"algorithm":"sha512","options":{}}"#
        ),
        Alg::Ps256 => concat!(
            r#""alg":"PS256","#,
            r#""webCrypto":{"import":{"name":"RSA-PSS","hash":"SHA-256"},"#,
            r#""verify":{"name":"RSA-PSS","saltLength":32}},"#,
            r#""node":{"algorithm":"sha256","options":{"padding":6,"saltLength":32}}"#
        ),
        Alg::Ps384 => concat!(
            r#""alg":"PS384","#,
            r#""webCrypto":{"import":{"name":"RSA-PSS","hash":"SHA-384"},"#,
            r#""verify":{"name":"RSA-PSS","saltLength":48}},"#,
            r#""node":{"algorithm":"sha384","options":{"padding":6,"saltLength":48}}"#
        ),
        Alg::Ps512 => concat!(
            r#""alg":"PS512","#,
            r#""webCrypto":{"import":{"name":"RSA-PSS","hash":"SHA-512"},"#,
            r#""verify":{"name":"RSA-PSS","saltLength":64}},"#,
            r#""node":{"algorithm":"sha512","options":{"padding":6,"saltLength":64}}"#
        ),
        Alg::Es256 => concat!(
            r#""alg":"ES256","#,
            r#""webCrypto":{"import":{"name":"ECDSA","namedCurve":"P-256"},"#,
            r#""verify":{"name":"ECDSA","hash":"SHA-256"}},"#,
            r#""node":{"algorithm":"sha256","options":{"dsaEncoding":"ieee-p1363"}}"#
        ),
        Alg::EdDsa => concat!(
            r#""alg":"EdDSA","#,
            r#""webCrypto":{"import":{"name":"Ed25519"},"verify":{"name":"Ed25519"}},"#,
            r#""node":{"algorithm":null,"options":{}}"#
        ),
    })
}

/// `{ webCrypto, node }`, how a host checks `alg` (see [`host_params`]), as JSON; `undefined`
/// where the engine checks it. The same for every gate, so the shim asks once per algorithm.
#[wasm_bindgen(js_name = hostParams)]
pub fn host_params_json(alg: &str) -> Option<String> {
    Alg::from_name(alg)
        .and_then(host_params)
        .map(|params| format!("{{{params}}}"))
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
            .map(|inner| JsGate {
                inner,
                pending: RefCell::new(BTreeMap::new()),
                next_id: RefCell::new(0),
                input: RefCell::new(Vec::new()),
                output: RefCell::new(Vec::new()),
            })
            .map_err(|e| js_error(&e))
    }

    /// Decides `{ method, url, headers }` (headers: `Headers`, `Map`, pairs or a plain
    /// object) and returns the answer as an object: a decision, or one of the two requests
    /// below.
    ///
    /// When the signature is better checked by the host: `{ action: "verify", id, alg,
    /// webCrypto: { import, verify } | null, node: { algorithm, options } | null, keys,
    /// data, signature }`. Verify `signature` over `data` with any of the keys (see
    /// `candidateKey`) and call `resume(id, valid)`, or `resumeHere(id)` to let the engine
    /// check it.
    ///
    /// When the provider's keys must be fetched first: `{ action: "fetch", id, url,
    /// timeoutMs, maxBytes, headers, mayUseStored }`. Fetch it (once per `id`: concurrent
    /// requests get the same id), report with `fetched`, `fetchedStored` or `fetchFailed`,
    /// then decide again with `round + 1`.
    pub fn decide(&self, request: JsValue, round: Option<u8>) -> Result<JsValue, JsValue> {
        let request = read_request(&request)?;
        let step = self.inner.begin_round(&request, round.unwrap_or(0));
        let answer = self.answer(step, Form::Object);
        let object = js_sys::JSON::parse(&answer.text)?;
        if let Some((data, signature)) = answer.bytes {
            // Setting properties on a fresh parsed object cannot fail.
            let _ = Reflect::set(&object, &"data".into(), &Uint8Array::from(&data[..]));
            let _ = Reflect::set(
                &object,
                &"signature".into(),
                &Uint8Array::from(&signature[..]),
            );
        }
        Ok(object)
    }

    /// `decide` for the shim's fast path. The request is in the input buffer (see
    /// `inputBuffer`) as UTF-8 `method NUL url NUL name NUL value NUL …`, `parts` fields
    /// long; the answer is written to the output buffer (see `outputPtr`) and its length in
    /// bytes returned, or 0 when the fields do not number `parts` (a header holding a NUL,
    /// which no HTTP header can: decide the request as an object instead).
    ///
    /// The answer is text, positional where it is hot:
    /// - a decision that continues: `\x02code NUL rule NUL kind NUL tokenSource NUL destination NUL rewrite`, then
    ///   `NUL name NUL value` per forwarded header (parsing JSON back and escaping a
    ///   kilobyte-long token into it was a fifth of a cache hit);
    /// - a signature for the host to check: `\x03id NUL alg NUL dataLength NUL
    ///   signatureLength NUL handle,handle…`, followed past the returned length by the signed
    ///   data and the signature; `hostParams(alg)` says how to check it;
    /// - anything else: the JSON of `decide`.
    #[wasm_bindgen(js_name = decideInput)]
    pub fn decide_input(&self, length: usize, parts: usize, round: u8) -> Result<usize, JsValue> {
        let input = self.input.borrow();
        let text = input
            .get(..length)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .ok_or_else(|| type_error("decideInput: the input is not UTF-8 of that length"))?;
        let mut fields = text.split('\0');
        let (Some(method), Some(url)) = (fields.next(), fields.next()) else {
            return Ok(0);
        };
        let mut headers = Vec::with_capacity(parts.saturating_sub(2) / 2);
        while let Some(name) = fields.next() {
            let Some(value) = fields.next() else {
                return Ok(0);
            };
            headers.push((Cow::Borrowed(name), Cow::Borrowed(value)));
        }
        if 2 + 2 * headers.len() != parts {
            return Ok(0);
        }
        let request = Request {
            method: Cow::Borrowed(method),
            url: Cow::Borrowed(url),
            headers,
        };
        let answer = self.answer(self.inner.begin_round(&request, round), Form::Wire);
        Ok(self.emit(answer))
    }

    /// Makes the input buffer at least `capacity` bytes long and returns where it starts in
    /// the wasm memory. The shim encodes each request there (`TextEncoder.encodeInto`).
    #[wasm_bindgen(js_name = inputBuffer)]
    pub fn input_buffer(&self, capacity: usize) -> usize {
        let mut input = self.input.borrow_mut();
        if input.len() < capacity {
            input.resize(capacity, 0);
        }
        input.as_ptr() as usize
    }

    /// Where the last answer of `decideInput`, `resume` or `resumeHere` starts in the wasm
    /// memory.
    #[wasm_bindgen(js_name = outputPtr)]
    pub fn output_ptr(&self) -> usize {
        self.output.borrow().as_ptr() as usize
    }

    /// Writes an answer to the output buffer; returns the length of its text.
    fn emit(&self, answer: Answer) -> usize {
        let mut output = self.output.borrow_mut();
        output.clear();
        output.extend_from_slice(answer.text.as_bytes());
        if let Some((data, signature)) = answer.bytes {
            output.extend_from_slice(&data);
            output.extend_from_slice(&signature);
        }
        answer.text.len()
    }

    /// Decisions, checks and fetches as text in `form`, with the bytes of a check beside it.
    fn answer(&self, step: Step, form: Form) -> Answer {
        let decision = |d: &Decision| match form {
            Form::Object => to_json(d),
            Form::Wire => to_wire(d),
        };
        let pending = match step {
            Step::Decided(d) => return Answer::text(decision(&d)),
            Step::NeedsFetch(fetch) => return Answer::text(fetch_json(&fetch)),
            Step::NeedsSignature(pending) => pending,
        };
        let u = &pending.unverified;
        let params = pending.web_crypto().then(|| host_params(u.alg)).flatten();
        let Some(params) = params else {
            let valid = u.check_here();
            return Answer::text(decision(&self.inner.resume(pending, valid)));
        };
        let id = {
            let mut next = self.next_id.borrow_mut();
            *next = next.wrapping_add(1);
            *next
        };
        let handles: Vec<String> = u.candidates.iter().map(|k| k.handle.to_string()).collect();
        let data = u.signing_input.as_bytes().to_vec();
        let signature = u.signature.clone();
        let text = match form {
            Form::Object => format!(
                r#"{{"action":"verify","id":{id},{params},"keys":[{}]}}"#,
                handles.join(",")
            ),
            // The host parameters are static per algorithm: the shim asks `hostParams` once.
            Form::Wire => format!(
                "\x03{id}\0{}\0{}\0{}\0{}",
                u.alg.name(),
                data.len(),
                signature.len(),
                handles.join(",")
            ),
        };
        let mut table = self.pending.borrow_mut();
        if table.len() >= MAX_PENDING {
            table.pop_first();
        }
        table.insert(id, pending);
        Answer {
            text,
            bytes: Some((data, signature)),
        }
    }

    /// Reports the HTTP answer to fetch `id`. Returns the engine's time of the fetch when it
    /// installed new keys (a host with a store persists `{ fetchedAt, body }`), else
    /// `undefined`.
    pub fn fetched(&self, id: f64, status: u16, body: String) -> Option<f64> {
        self.inner
            .complete(id as u64, Fetched::Response { status, body })
            .then(|| self.inner.now())
    }

    /// Offers a copy persisted by the host (fetched at `fetchedAt`) for a fetch with
    /// `mayUseStored`. Returns true when it was used; otherwise fetch from the network.
    #[wasm_bindgen(js_name = fetchedStored)]
    pub fn fetched_stored(&self, id: f64, body: String, fetched_at: f64) -> bool {
        self.inner
            .complete(id as u64, Fetched::Stored { body, fetched_at })
    }

    /// Reports a failed fetch: `reason` is "timeout", "too_large" or "network".
    #[wasm_bindgen(js_name = fetchFailed)]
    pub fn fetch_failed(&self, id: f64, reason: &str, message: String) {
        let outcome = match reason {
            "timeout" => Fetched::Timeout,
            "too_large" => Fetched::TooLarge,
            _ => Fetched::Network(message),
        };
        self.inner.complete(id as u64, outcome);
    }

    /// `Set-Cookie` values storing `{ accessToken, refreshToken?, expiresAt? }` for a
    /// response to a request at `url`; throws `EdgeGateError` (`ERR_SESSION_INVALID`).
    #[wasm_bindgen(js_name = sessionCookies)]
    pub fn session_cookies(&self, url: &str, session: JsValue) -> Result<Array, JsValue> {
        let get = |name: &str| Reflect::get(&session, &name.into()).unwrap_or(JsValue::UNDEFINED);
        let access_token = get("accessToken")
            .as_string()
            .ok_or_else(|| js_error(&Error::SessionInvalid("accessToken must be a string")))?;
        let session = crate::session::Session {
            access_token,
            refresh_token: get("refreshToken").as_string(),
            expires_at: get("expiresAt").as_f64(),
        };
        self.inner
            .session_cookies(url, &session)
            .map(|list| list.iter().map(|c| JsValue::from(c.as_str())).collect())
            .map_err(|e| js_error(&e))
    }

    /// `Set-Cookie` values removing the session for a response to a request at `url`.
    #[wasm_bindgen(js_name = clearSessionCookies)]
    pub fn clear_session_cookies(&self, url: &str) -> Array {
        self.inner
            .clear_session_cookies(url)
            .iter()
            .map(|c| JsValue::from(c.as_str()))
            .collect()
    }

    /// The trace of how `request` would be decided: `{ steps: [{ step, ok, detail }] }`.
    /// Side-effect free; meant for debugging, never for responses.
    pub fn explain(&self, request: JsValue) -> Result<JsValue, JsValue> {
        #[derive(Serialize)]
        struct Step<'a> {
            step: &'a str,
            ok: bool,
            detail: &'a str,
        }
        #[derive(Serialize)]
        struct Out<'a> {
            steps: Vec<Step<'a>>,
        }
        let trace = self.inner.explain(&read_request(&request)?);
        let out = Out {
            steps: trace
                .steps
                .iter()
                .map(|s| Step {
                    step: s.step,
                    ok: s.ok,
                    detail: &s.detail,
                })
                .collect(),
        };
        json_object(&out)
    }

    /// Finishes a `verify` answer with the host's verdict. The decision goes to the output
    /// buffer as `decideInput` writes it; returns its length.
    pub fn resume(&self, id: u32, valid: bool) -> Result<usize, JsValue> {
        let pending = self.take(id)?;
        let decision = self.inner.resume(pending, valid);
        Ok(self.emit(Answer::text(to_wire(&decision))))
    }

    /// Finishes a `verify` answer by checking the signature in the engine (a host that cannot
    /// import the key, e.g. no Ed25519 in its WebCrypto); like `resume` otherwise.
    #[wasm_bindgen(js_name = resumeHere)]
    pub fn resume_here(&self, id: u32) -> Result<usize, JsValue> {
        let pending = self.take(id)?;
        let valid = pending.unverified.check_here();
        let decision = self.inner.resume(pending, valid);
        Ok(self.emit(Answer::text(to_wire(&decision))))
    }

    /// The public JWK of candidate `handle` of pending check `id`, for `importKey("jwk")`.
    #[wasm_bindgen(js_name = candidateKey)]
    pub fn candidate_key(&self, id: u32, handle: usize) -> Result<JsValue, JsValue> {
        let table = self.pending.borrow();
        let key = table
            .get(&id)
            .and_then(|p| p.unverified.candidates.iter().find(|k| k.handle == handle))
            .and_then(|k| k.material.public_jwk())
            .ok_or_else(|| type_error("candidateKey: no such pending key"))?;
        json_object(&key)
    }

    fn take(&self, id: u32) -> Result<Pending, JsValue> {
        self.pending
            .borrow_mut()
            .remove(&id)
            .ok_or_else(|| type_error("resume: no pending decision with this id"))
    }
}

/// A value as a JS object, through JSON text and the host's native `JSON.parse`.
fn json_object(value: &impl Serialize) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value)
        .map_err(|e| type_error(&format!("value could not be converted: {e}")))?;
    js_sys::JSON::parse(&text)
}

/// How answers are written: as JSON for `decide`, which parses them into objects, or in the
/// shim's wire form for `decideInput` (see there).
#[derive(Clone, Copy)]
enum Form {
    Object,
    Wire,
}

/// What [`JsGate::answer`] hands the host: text, and for a `verify` answer the signed data
/// and the signature.
struct Answer {
    text: String,
    bytes: Option<(Vec<u8>, Vec<u8>)>,
}

impl Answer {
    fn text(text: String) -> Answer {
        Answer { text, bytes: None }
    }
}

/// A fetch request as JSON: `{ action: "fetch", id, method, url, headers, body?,
/// timeoutMs, maxBytes, mayUseStored }`.
fn fetch_json(f: &Fetch) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out<'a> {
        action: &'static str,
        id: u64,
        method: &'static str,
        url: &'a str,
        headers: BTreeMap<&'a str, &'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<&'a str>,
        timeout_ms: u64,
        max_bytes: usize,
        may_use_stored: bool,
    }
    let out = Out {
        action: "fetch",
        id: f.id,
        method: f.method,
        url: &f.url,
        headers: f
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect(),
        body: f.body.as_deref(),
        timeout_ms: f.timeout_ms,
        max_bytes: f.max_bytes,
        may_use_stored: f.may_use_stored,
    };
    // Serializing strings, numbers and booleans to JSON cannot fail.
    serde_json::to_string(&out).unwrap_or_default()
}

fn read_request(value: &JsValue) -> Result<Request<'static>, JsValue> {
    if !value.is_object() {
        return Err(type_error("decide(request): request must be an object"));
    }
    let get = |name: &str| Reflect::get(value, &name.into()).unwrap_or(JsValue::UNDEFINED);
    let url = get("url")
        .as_string()
        .ok_or_else(|| type_error("decide(request): request.url must be a string"))?;
    let method = get("method").as_string().unwrap_or_else(|| "GET".into());
    Ok(Request {
        method: method.into(),
        url: url.into(),
        headers: read_headers(&get("headers"))?,
    })
}

/// Headers read out of JS objects, copied.
type OwnedHeaders = Vec<(Cow<'static, str>, Cow<'static, str>)>;

fn read_headers(headers: &JsValue) -> Result<OwnedHeaders, JsValue> {
    let mut out = Vec::new();
    if headers.is_undefined() || headers.is_null() {
        return Ok(out);
    }
    // As `new Headers()` does, refuse a NUL: no HTTP header can hold one, and the shim's
    // wire form separates fields with it.
    let text = |v: JsValue| -> Result<Cow<'static, str>, JsValue> {
        let v = v.as_string().unwrap_or_default();
        if v.contains('\0') {
            return Err(type_error(
                "request.headers: a header holds a NUL character",
            ));
        }
        Ok(v.into())
    };
    let mut push = |name: JsValue, value: JsValue| -> Result<(), JsValue> {
        if !name.is_string() {
            return Err(type_error("header names must be strings"));
        }
        let name = text(name)?;
        if let Some(list) = value.dyn_ref::<Array>() {
            // Node's IncomingHttpHeaders: repeated headers as arrays.
            for v in list.iter() {
                out.push((name.clone(), text(v)?));
            }
        } else {
            out.push((name, text(value)?));
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
    /// continue: the rule's upstream URL for this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    destination: Option<&'a str>,
    /// continue: the in-app path to rewrite to (an exception's judged path).
    #[serde(skip_serializing_if = "Option::is_none")]
    rewrite: Option<&'a str>,
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
    /// `Set-Cookie` values for the response: a refreshed or a cleared session.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    set_cookies: &'a [String],
}

fn js_decision(d: &Decision) -> JsDecision<'_> {
    let mut out = JsDecision {
        action: "continue",
        status: None,
        code: d.code,
        rule: d.rule,
        kind: d.kind.map(|k| k.as_str()),
        token_source: d.token_source.map(|s| s.as_str()),
        request_headers: None,
        destination: None,
        rewrite: None,
        location: None,
        headers: None,
        body: None,
        message: d.error.as_ref().map(|e| e.to_string()),
        set_cookies: &d.set_cookies,
    };
    match &d.action {
        Action::Continue { headers, route } => {
            out.request_headers = Some(headers);
            match route {
                Some(Route::Upstream(url)) => out.destination = Some(url),
                Some(Route::Rewrite(path)) => out.rewrite = Some(path),
                None => {}
            }
        }
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
    out
}

/// The decision as JSON text: one string across the boundary and a native `JSON.parse`,
/// instead of an object built property by property.
fn to_json(d: &Decision) -> String {
    // Serializing plain strings and numbers to JSON cannot fail.
    serde_json::to_string(&js_decision(d)).unwrap_or_default()
}

/// The shim's wire form of a decision. A decision that continues, the hot path, is
/// `\x02code NUL rule NUL kind NUL tokenSource NUL destination NUL rewrite`, then `NUL name NUL value` per forwarded
/// header, which the shim reads with one `split`: the headers are most of a decision (the
/// token alone is ~1 KB with RS256), and escaping them into JSON and parsing them back was a
/// fifth of a cache hit. Anything else, or a continuing decision that also carries a
/// message or cookies, goes as the JSON of [`to_json`].
fn to_wire(d: &Decision) -> String {
    let Action::Continue { headers, route } = &d.action else {
        return to_json(d);
    };
    // No forwarded header holds a NUL: request headers arrive NUL-separated or are refused
    // with one (`read_headers`), the bearer is a verified compact JWS, and claim headers are
    // printable ASCII (`header_value`).
    if d.error.is_some() || !d.set_cookies.is_empty() {
        return to_json(d);
    }
    let size: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
    let mut text = String::with_capacity(64 + size);
    text.push('\x02');
    text.push_str(d.code);
    text.push('\0');
    if let Some(rule) = d.rule {
        text.push_str(&rule.to_string());
    }
    text.push('\0');
    text.push_str(d.kind.map_or("", |k| k.as_str()));
    text.push('\0');
    text.push_str(d.token_source.map_or("", |s| s.as_str()));
    let (destination, rewrite) = match route {
        Some(Route::Upstream(url)) => (url.as_str(), ""),
        Some(Route::Rewrite(path)) => ("", path.as_str()),
        None => ("", ""),
    };
    text.push('\0');
    text.push_str(destination);
    text.push('\0');
    text.push_str(rewrite);
    for (name, value) in headers {
        text.push('\0');
        text.push_str(name);
        text.push('\0');
        text.push_str(value);
    }
    text
}
