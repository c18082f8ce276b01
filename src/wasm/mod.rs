//! The JS boundary: the only module that knows about wasm-bindgen. It converts the options
//! object and the request view in, and the decision out; every decision is the engine's.
//!
//! Errors cross as real `Error`s named `EdgeGateError` with the engine's stable `code`; the
//! shim turns them into its `EdgeGateError` class. The fast path's text forms are specified
//! once, in [`wire`]; [`read`] takes requests handed over as objects; [`host`] says how a
//! host checks a signature with its own crypto.

mod host;
mod read;
mod wire;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::{Clock, Error, Fetched, FixedClock, Gate, Options, Pending, Round, Step, Stored};
pub use host::host_params_json;
use host::HostParams;
use read::{read_request, type_error};
use wire::{fetch_json, store_json, to_json, to_wire};

/// The host's clock (wasm32-unknown-unknown has no system clock): the instant the shim
/// passed with the request being decided, else `Date.now()`. Every reading during a
/// decision would otherwise be a call out to JS.
#[derive(Default)]
struct HostClock {
    /// Milliseconds since the epoch as `f64` bits while a decision runs; 0 otherwise.
    given: AtomicU64,
}

impl Clock for HostClock {
    fn now(&self) -> f64 {
        match f64::from_bits(self.given.load(Ordering::Relaxed)) {
            ms if ms > 0.0 => ms / 1000.0,
            _ => js_sys::Date::now() / 1000.0,
        }
    }
}

impl HostClock {
    /// Runs `f` with the clock reading `ms` (a finite time after the epoch; anything else
    /// leaves it on `Date.now()`).
    fn at<T>(&self, ms: f64, f: impl FnOnce() -> T) -> T {
        let ms = if ms.is_finite() && ms > 0.0 { ms } else { 0.0 };
        self.given.store(ms.to_bits(), Ordering::Relaxed);
        let out = f();
        self.given.store(0, Ordering::Relaxed);
        out
    }
}

/// The round a host names: ticket ids are whole numbers below 2^53, exact as JS numbers.
fn round_of(fetches: u8, after: Option<f64>) -> Round {
    Round {
        fetches,
        after: after.map(|id| id as u64),
    }
}

fn js_error(e: &Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("EdgeGateError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

/// Pending signature checks a host may leave unresolved (an exception between `decide` and
/// `resume`); beyond this the oldest are dropped, so memory stays bounded.
const MAX_PENDING: usize = 4096;

/// The gate as JS sees it: `new Gate(options)`, `gate.decide(request)`, and for signatures
/// checked with the host's WebCrypto, `gate.resume(id, valid)`.
#[wasm_bindgen(js_name = Gate)]
pub struct JsGate {
    inner: Gate,
    /// The host's clock, unless the options fixed one.
    clock: Option<Arc<HostClock>>,
    /// Oldest first. A list: a handful are pending at a time, and a map of them linked its
    /// own B-tree code (~2 KB gzipped).
    pending: RefCell<Vec<(u32, Pending)>>,
    next_id: RefCell<u32>,
    /// Memory shared with the shim (`decideInput`): it encodes the request straight into
    /// `input`, and reads every text answer out of `output`. One copy each way, no
    /// allocation per call, and no JS loop copying strings character by character.
    input: RefCell<Vec<u8>>,
    output: RefCell<Vec<u8>>,
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
        let host = now.is_none().then(|| Arc::new(HostClock::default()));
        let clock: Arc<dyn Clock> = match (&host, now) {
            (Some(host), _) => host.clone(),
            (None, t) => Arc::new(FixedClock(t.unwrap_or_default())),
        };
        let build = || -> crate::error::Result<JsGate> {
            Ok(JsGate {
                inner: Gate::with_clock(options, clock)?,
                clock: host,
                pending: RefCell::new(Vec::new()),
                // At random, as fetch tickets are: ids of an instance a trap replaced must
                // not be the new one's.
                next_id: RefCell::new(crate::random::random_u64()? as u32),
                input: RefCell::new(Vec::new()),
                output: RefCell::new(Vec::new()),
            })
        };
        build().map_err(|e| js_error(&e))
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
    /// then decide again with `round + 1` and `after` the ticket's `id`.
    ///
    /// When a coordinated refresh needs the host's store first: `{ action: "store", id, op,
    /// key, value, ttlMs, waitMs, timeoutMs }` (`src/wasm/wire.rs`); perform it once per
    /// `id`, report with `stored`, then decide again with `round + 1` and `after` its `id`.
    ///
    /// When the decision needs the request's body (a back-channel logout): `{ action:
    /// "body", maxBytes }`. Read at most `maxBytes + 1` bytes of it as UTF-8 and decide
    /// again, in the same round, with it as `body` (every later round too).
    pub fn decide(
        &self,
        request: JsValue,
        round: Option<u8>,
        after: Option<f64>,
        body: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let request = read_request(&request)?;
        let round = round_of(round.unwrap_or(0), after);
        let step = self.inner.begin_body(&request, round, body.as_deref());
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

    /// `decide` for the shim's fast path: the request is in the input buffer (see
    /// `inputBuffer`) in the wire form, `parts` fields long; the answer goes to the output
    /// buffer (see `outputPtr`) in the wire form, and its length in bytes is returned, or 0
    /// when the fields do not number `parts`: decide the request as an object instead. The
    /// forms are specified in `src/wasm/wire.rs`. `now` is `Date.now()` as the shim read it
    /// (a gate built with a fixed `now` keeps that). `round`, `after` and `body` as for
    /// `decide`.
    #[wasm_bindgen(js_name = decideInput)]
    pub fn decide_input(
        &self,
        length: usize,
        parts: usize,
        round: u8,
        now: f64,
        after: Option<f64>,
        body: Option<String>,
    ) -> Result<usize, JsValue> {
        let round = round_of(round, after);
        let body = body.as_deref();
        match &self.clock {
            Some(clock) => clock.at(now, || self.decide_wire(length, parts, round, body)),
            None => self.decide_wire(length, parts, round, body),
        }
    }

    fn decide_wire(
        &self,
        length: usize,
        parts: usize,
        round: Round,
        body: Option<&str>,
    ) -> Result<usize, JsValue> {
        let input = self.input.borrow();
        let text = input
            .get(..length)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .ok_or_else(|| type_error("decideInput: the input is not UTF-8 of that length"))?;
        let Some(request) = wire::read_request(text, parts) else {
            return Ok(0);
        };
        let answer = self.answer(self.inner.begin_body(&request, round, body), Form::Wire);
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
        let decision = |d: &crate::Decision| match form {
            Form::Object => to_json(d),
            Form::Wire => to_wire(d),
        };
        let pending = match step {
            Step::Decided(d) => return Answer::text(decision(&d)),
            Step::NeedsFetch(fetch) => return Answer::text(fetch_json(&fetch)),
            Step::NeedsStore(op) => return Answer::text(store_json(&op)),
            Step::NeedsBody(max) => {
                return Answer::text(format!(r#"{{"action":"body","maxBytes":{max}}}"#))
            }
            Step::NeedsSignature(pending) => pending,
        };
        let u = &pending.unverified;
        let params = pending
            .web_crypto()
            .then(|| HostParams::of(u.alg))
            .flatten();
        let Some(params) = params else {
            let valid = u.check_here();
            return self.answer(self.inner.resume_step(pending, valid), form);
        };
        let id = {
            let mut next = self.next_id.borrow_mut();
            *next = next.wrapping_add(1);
            *next
        };
        let text = wire::verify(id, u, &params, matches!(form, Form::Wire));
        let bytes = (u.signing_input.as_bytes().to_vec(), u.signature.clone());
        let mut table = self.pending.borrow_mut();
        if table.len() >= MAX_PENDING {
            table.remove(0);
        }
        table.push((id, pending));
        Answer {
            text,
            bytes: Some(bytes),
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

    /// Reports a failed fetch: `reason` is one of [`Fetched::FAILURES`]: "timeout",
    /// "too_large" or "network".
    #[wasm_bindgen(js_name = fetchFailed)]
    pub fn fetch_failed(&self, id: f64, reason: &str, message: String) {
        self.inner
            .complete(id as u64, Fetched::failure(reason, message));
    }

    /// Reports store operation `id` (an answer `{ action: "store", … }`): `ok` false when
    /// the store failed or timed out; else `value` is what a claim found already there
    /// (`undefined`: the claim is this instance's) or what a read found (`undefined`:
    /// absent). Then decide again with `round + 1`.
    pub fn stored(&self, id: f64, ok: bool, value: Option<String>) {
        let stored = match ok {
            true => Stored::Answered(value),
            false => Stored::Failed,
        };
        self.inner.stored(id as u64, stored);
    }

    /// `Set-Cookie` values storing `{ accessToken, refreshToken?, expiresAt? }` for a
    /// response to a request at `url` carrying the `Cookie` header `cookie`; throws
    /// `EdgeGateError` (`ERR_SESSION_INVALID`, `ERR_TOO_LARGE`).
    #[wasm_bindgen(js_name = sessionCookies)]
    pub fn session_cookies(
        &self,
        url: &str,
        session: JsValue,
        cookie: Option<String>,
    ) -> Result<Array, JsValue> {
        let get = |name: &str| Reflect::get(&session, &name.into()).unwrap_or(JsValue::UNDEFINED);
        let access_token = get("accessToken")
            .as_string()
            .ok_or_else(|| js_error(&Error::SessionInvalid("accessToken must be a string")))?;
        let session = crate::Session {
            access_token,
            refresh_token: get("refreshToken").as_string(),
            expires_at: get("expiresAt").as_f64(),
        };
        self.inner
            .session_cookies(url, cookie.as_deref(), &session)
            .map(|list| list.iter().map(|c| JsValue::from(c.as_str())).collect())
            .map_err(|e| js_error(&e))
    }

    /// `Set-Cookie` values removing the session for a response to a request at `url`
    /// carrying the `Cookie` header `cookie`.
    #[wasm_bindgen(js_name = clearSessionCookies)]
    pub fn clear_session_cookies(&self, url: &str, cookie: Option<String>) -> Array {
        self.inner
            .clear_session_cookies(url, cookie.as_deref())
            .iter()
            .map(|c| JsValue::from(c.as_str()))
            .collect()
    }

    /// The trace of how `request` would be decided: `{ steps: [{ step, ok, detail, code? }],
    /// code }`, `code` being the decision's (`null` when a fetch or refresh comes first).
    /// Side-effect free; meant for debugging, never for responses.
    pub fn explain(&self, request: JsValue) -> Result<JsValue, JsValue> {
        let trace = self.inner.explain(&read_request(&request)?);
        js_sys::JSON::parse(&wire::trace_json(&trace))
    }

    /// Finishes a `verify` answer with the host's verdict. The answer goes to the output
    /// buffer as `decideInput` writes it; returns its length. It is a decision, except after
    /// a hosted-login callback's check, which may need another check or a fetch (then
    /// decide again with the next round, as after any fetch).
    pub fn resume(&self, id: u32, valid: bool) -> Result<usize, JsValue> {
        let pending = self.take(id)?;
        let step = self.inner.resume_step(pending, valid);
        Ok(self.emit(self.answer(step, Form::Wire)))
    }

    /// Finishes a `verify` answer by checking the signature in the engine (a host that cannot
    /// import the key, e.g. no Ed25519 in its WebCrypto); like `resume` otherwise. Without
    /// the `rust-crypto` feature the engine checks only HMAC: any other signature is then
    /// invalid (fail closed).
    #[wasm_bindgen(js_name = resumeHere)]
    pub fn resume_here(&self, id: u32) -> Result<usize, JsValue> {
        let pending = self.take(id)?;
        let valid = pending.unverified.check_here();
        let step = self.inner.resume_step(pending, valid);
        Ok(self.emit(self.answer(step, Form::Wire)))
    }

    /// The public JWK of candidate `handle` of pending check `id`, for `importKey("jwk")`.
    #[wasm_bindgen(js_name = candidateKey)]
    pub fn candidate_key(&self, id: u32, handle: usize) -> Result<JsValue, JsValue> {
        let table = self.pending.borrow();
        let key = table
            .iter()
            .find(|(i, _)| *i == id)
            .and_then(|(_, p)| p.unverified.candidates.iter().find(|k| k.handle == handle))
            .and_then(|k| k.material.public_jwk())
            .ok_or_else(|| type_error("candidateKey: no such pending key"))?;
        json_object(&key)
    }

    fn take(&self, id: u32) -> Result<Pending, JsValue> {
        let mut table = self.pending.borrow_mut();
        // The newest are resumed first: search from the end.
        let at = table
            .iter()
            .rposition(|(i, _)| *i == id)
            .ok_or_else(|| type_error("resume: no pending decision with this id"))?;
        Ok(table.remove(at).1)
    }
}

/// A value as a JS object, through JSON text and the host's native `JSON.parse`.
fn json_object(value: &serde_json::Value) -> Result<JsValue, JsValue> {
    let text =
        serde_json::to_string(value).map_err(|_| type_error("value could not be converted"))?;
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
