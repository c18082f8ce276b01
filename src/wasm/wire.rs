//! The wire between this engine and the shim (`js/wire.js` mirrors it): one written spec.
//!
//! **Requests** (`decideInput`): UTF-8 in the engine's input buffer,
//! `method NUL url NUL name NUL value …`, with the number of fields passed beside it. A
//! count that does not match (a header holding a NUL) answers 0: the shim then passes the
//! request as an object.
//!
//! **Answers** are text in the output buffer; the first character says which form. A
//! decision is positional, its fields NUL-separated (an absent field is empty):
//! - [`Tag::Pass`] (`\x04`): `code NUL rule NUL kind NUL tokenSource NUL message`. The
//!   request goes on as it came; the host answers with its bare pass-through.
//! - [`Tag::Continue`] (`\x02`):
//!   `code NUL rule NUL kind NUL tokenSource NUL message NUL destination NUL rewrite NUL n`,
//!   then `NUL name` for each of the `n` header names removed, then `NUL name NUL value`
//!   per header added: only the changes cross; the host applies them to the request's own.
//! - [`Tag::Redirect`] (`\x05`):
//!   `code NUL rule NUL kind NUL tokenSource NUL message NUL location`.
//! - [`Tag::Respond`] (`\x06`):
//!   `code NUL rule NUL kind NUL tokenSource NUL message NUL status NUL n`, then
//!   `NUL name NUL value` for each of the `n` response headers, then `NUL` and the body,
//!   the rest of the text.
//!
//! [`Tag::Verify`] (`\x03`) asks the host to check a signature:
//! `id NUL alg NUL dataLength NUL signatureLength NUL handle,handle…`, followed past the
//! answer's length by the signed data and the signature; `hostParams(alg)` says how.
//!
//! A decision that sets cookies, or whose fields hold a NUL, goes as the JSON of `decide`
//! (`{`), as do fetch tickets (`action: "fetch"`) and store operations (`action: "store"`,
//! see [`store_json`]). (Escaping a kilobyte-long token into JSON and parsing it back was
//! a fifth of a cache hit; `JSON.parse` of a redirect, a tenth of one in Next's sandbox.)
//!
//! `decide` (the object API) answers the same JSON, and a `verify` answer as JSON too.

use std::borrow::Cow;

use super::host::HostParams;
use crate::{Action, Alg, Decision, Fetch, Request, Route, StoreOp, Trace, Unverified};

/// The first character of a positional answer.
#[derive(Debug, Clone, Copy)]
pub(super) enum Tag {
    /// A decision that continues, with its header changes.
    Continue = 2,
    /// A signature for the host to check.
    Verify = 3,
    /// A decision that lets the request go on exactly as it came.
    Pass = 4,
    /// A redirect.
    Redirect = 5,
    /// An answer of the gate's own.
    Respond = 6,
}

impl Tag {
    fn char(self) -> char {
        char::from(self as u8)
    }
}

/// A request in the wire form, `fields` fields long, read in place; `None` when the
/// fields do not number `fields`.
pub(super) fn read_request(text: &str, fields: usize) -> Option<Request<'_>> {
    let mut parts = text.split('\0');
    let (method, url) = (parts.next()?, parts.next()?);
    let mut headers = Vec::with_capacity(fields.saturating_sub(2) / 2);
    while let Some(name) = parts.next() {
        headers.push((Cow::Borrowed(name), Cow::Borrowed(parts.next()?)));
    }
    (2 + 2 * headers.len() == fields).then_some(Request {
        method: Cow::Borrowed(method),
        url: Cow::Borrowed(url),
        headers,
    })
}

/// A signature check for the host: positional, or as JSON with its host parameters.
pub(super) fn verify(id: u32, u: &Unverified, params: &HostParams, positional: bool) -> String {
    let handles: Vec<String> = u.candidates.iter().map(|k| k.handle.to_string()).collect();
    if positional {
        // The host parameters are static per algorithm: the shim asks `hostParams` once.
        return format!(
            "{}{id}\0{}\0{}\0{}\0{}",
            Tag::Verify.char(),
            u.alg.name(),
            u.signing_input.len(),
            u.signature.len(),
            handles.join(",")
        );
    }
    format!(
        r#"{{"action":"verify","id":{id},{},"keys":[{}]}}"#,
        params.members(),
        handles.join(",")
    )
}

/// A JSON object written member by member: the answers' few shapes by hand, as derived
/// `Serialize` structs linked a serializer instance per field type (the strings' escaping
/// is serde_json's, `quoted`). Ends open: [`Object::close`].
struct Object(String);

/// `text` as a JSON string, escaped.
fn quoted(text: &str) -> String {
    // Serializing a string cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

impl Object {
    fn new() -> Object {
        Object(String::from("{"))
    }

    /// `"name":` and `raw` (JSON already).
    fn raw(&mut self, name: &str, raw: &str) -> &mut Object {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        self.0.push('"');
        self.0.push_str(name);
        self.0.push_str("\":");
        self.0.push_str(raw);
        self
    }

    fn text(&mut self, name: &str, text: &str) -> &mut Object {
        self.raw(name, &quoted(text))
    }

    fn number(&mut self, name: &str, n: impl std::fmt::Display) -> &mut Object {
        self.raw(name, &n.to_string())
    }

    fn flag(&mut self, name: &str, yes: bool) -> &mut Object {
        self.raw(name, if yes { "true" } else { "false" })
    }

    /// `[[name, value], …]`, or with `as_map` `{ name: value, … }` (names unique).
    fn pairs(&mut self, name: &str, pairs: &[(String, String)], as_map: bool) -> &mut Object {
        let (open, close) = if as_map { ('{', '}') } else { ('[', ']') };
        let mut out = String::from(open);
        for (i, (n, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if as_map {
                out.push_str(&format!("{}:{}", quoted(n), quoted(v)));
            } else {
                out.push_str(&format!("[{},{}]", quoted(n), quoted(v)));
            }
        }
        out.push(close);
        self.raw(name, &out)
    }

    fn texts(&mut self, name: &str, texts: &[String]) -> &mut Object {
        let list: Vec<String> = texts.iter().map(|t| quoted(t)).collect();
        self.raw(name, &format!("[{}]", list.join(",")))
    }

    fn close(&mut self) -> String {
        self.0.push('}');
        std::mem::take(&mut self.0)
    }
}

/// A fetch request as JSON: `{ action: "fetch", id, method, url, headers, body?,
/// timeoutMs, maxBytes, mayUseStored, assertion? }`. `assertion` (`private_key_jwt`):
/// `{ signingInput, jwk, alg, webCrypto: { import, verify } }`: the host signs the input
/// with the JWK by those parameters (`verify`'s are `sign`'s) and appends `signingInput`,
/// `.` and the base64url signature to the body, which ends with `client_assertion=`.
pub(super) fn fetch_json(f: &Fetch) -> String {
    let mut out = Object::new();
    out.text("action", "fetch")
        .number("id", f.id)
        .text("method", f.method)
        .text("url", &f.url)
        .pairs("headers", &f.headers, true);
    if let Some(body) = &f.body {
        out.text("body", body);
    }
    out.number("timeoutMs", f.timeout_ms)
        .number("maxBytes", f.max_bytes)
        .flag("mayUseStored", f.may_use_stored);
    // Asymmetric algorithms all have host parameters; the JWK is JSON already, the signing
    // input base64url: nothing to escape.
    if let Some((a, params)) = f
        .assertion
        .as_ref()
        .and_then(|a| Some((a, HostParams::of(Alg::from_name(a.alg)?)?)))
    {
        out.raw(
            "assertion",
            &format!(
                r#"{{"signingInput":"{}","jwk":{},{}}}"#,
                a.signing_input,
                a.jwk,
                params.members()
            ),
        );
    }
    out.close()
}

/// A store operation as JSON: `{ action: "store", id, op, key, value, ttlMs, waitMs,
/// timeoutMs }`, `op` being `claim`, `publish`, `read` or `release`. Written by hand: every
/// string is a constant or base64url (the key's hash, a sealed outcome), nothing to escape.
pub(super) fn store_json(o: &StoreOp) -> String {
    format!(
        r#"{{"action":"store","id":{},"op":"{}","key":"{}","value":"{}","ttlMs":{},"waitMs":{},"timeoutMs":{}}}"#,
        o.id,
        o.action.as_str(),
        o.key,
        o.value,
        o.ttl_ms,
        o.wait_ms,
        o.timeout_ms
    )
}

/// The decision as JSON text, as JS receives it: one string across the boundary and a
/// native `JSON.parse`, instead of an object built property by property. `{ action,
/// status?, code, rule?, kind?, tokenSource?, passThrough?, requestHeaders?,
/// headerChanges?: { removed, added }, destination?, rewrite?, location?, headers?, body?,
/// message?, setCookies? }`; header lists are `[name, value][]`, which `new Headers()`
/// accepts as is. `passThrough`: the request goes on as it came (no header, route or
/// cookie changes); `message` is for logs only, never for the client.
pub(super) fn to_json(d: &Decision) -> String {
    let mut out = Object::new();
    let action = match &d.action {
        Action::Continue { .. } => "continue",
        Action::Redirect { .. } => "redirect",
        Action::Respond { .. } => "respond",
    };
    out.text("action", action);
    match &d.action {
        Action::Redirect { .. } => {
            out.number("status", 307);
        }
        Action::Respond { status, .. } => {
            out.number("status", status);
        }
        Action::Continue { .. } => {}
    }
    out.text("code", d.code);
    if let Some(rule) = d.rule {
        out.number("rule", rule);
    }
    if let Some(kind) = d.kind {
        out.text("kind", kind.as_str());
    }
    if let Some(source) = d.token_source {
        out.text("tokenSource", source.as_str());
    }
    if d.passes_through() {
        out.flag("passThrough", true);
    }
    match &d.action {
        Action::Continue {
            headers,
            changes,
            route,
        } => {
            out.pairs("requestHeaders", headers, false);
            let mut delta = Object::new();
            delta
                .texts("removed", &changes.removed)
                .pairs("added", &changes.added, false);
            out.raw("headerChanges", &delta.close());
            match route {
                Some(Route::Upstream(url)) => out.text("destination", url),
                Some(Route::Rewrite(path)) => out.text("rewrite", path),
                None => &mut out,
            };
        }
        Action::Redirect { location } => {
            out.text("location", location);
        }
        Action::Respond { headers, body, .. } => {
            out.pairs("headers", headers, false).text("body", body);
        }
    }
    if let Some(e) = &d.error {
        out.text("message", &e.to_string());
    }
    if !d.set_cookies.is_empty() {
        out.texts("setCookies", &d.set_cookies);
    }
    out.close()
}

/// A trace as JSON: `{ steps: [{ step, ok, detail, code? }], code }`, `code` `null` when a
/// fetch or refresh would come first.
pub(super) fn trace_json(trace: &Trace) -> String {
    let steps: Vec<String> = trace
        .steps
        .iter()
        .map(|s| {
            let mut step = Object::new();
            step.text("step", s.step)
                .flag("ok", s.ok)
                .text("detail", &s.detail);
            if let Some(code) = s.code {
                step.text("code", code);
            }
            step.close()
        })
        .collect();
    let mut out = Object::new();
    out.raw("steps", &format!("[{}]", steps.join(",")));
    match trace.code {
        Some(code) => out.text("code", code),
        None => out.raw("code", "null"),
    };
    out.close()
}

/// A decision in the wire form (see the module comment): positional unless it sets
/// cookies (rare: a refresh, a cleared session) or a field holds a NUL, else its JSON.
pub(super) fn to_wire(d: &Decision) -> String {
    if !d.set_cookies.is_empty() {
        return to_json(d);
    }
    positional(d).unwrap_or_else(|| to_json(d))
}

fn positional(d: &Decision) -> Option<String> {
    let message = d.error.as_ref().map(|e| e.to_string());
    let tag = match &d.action {
        _ if d.passes_through() => Tag::Pass,
        Action::Continue { .. } => Tag::Continue,
        Action::Redirect { .. } => Tag::Redirect,
        Action::Respond { .. } => Tag::Respond,
    };
    let mut w = Writer(String::with_capacity(256));
    w.0.push(tag.char());
    w.0.push_str(d.code);
    w.0.push('\0');
    if let Some(rule) = d.rule {
        w.0.push_str(&rule.to_string());
    }
    w.field(d.kind.map_or("", |k| k.as_str()))?;
    w.field(d.token_source.map_or("", |s| s.as_str()))?;
    w.field(message.as_deref().unwrap_or_default())?;
    match &d.action {
        _ if matches!(tag, Tag::Pass) => {}
        Action::Continue { changes, route, .. } => {
            let (destination, rewrite) = match route {
                Some(Route::Upstream(url)) => (url.as_str(), ""),
                Some(Route::Rewrite(path)) => ("", path.as_str()),
                None => ("", ""),
            };
            w.field(destination)?;
            w.field(rewrite)?;
            w.field(&changes.removed.len().to_string())?;
            for name in &changes.removed {
                w.field(name)?;
            }
            for (name, value) in &changes.added {
                w.field(name)?;
                w.field(value)?;
            }
        }
        Action::Redirect { location } => w.field(location)?,
        Action::Respond {
            status,
            headers,
            body,
        } => {
            w.field(&status.to_string())?;
            w.field(&headers.len().to_string())?;
            for (name, value) in headers {
                w.field(name)?;
                w.field(value)?;
            }
            // Last, and the rest of the text: a body may hold anything.
            w.0.push('\0');
            w.0.push_str(body);
        }
    }
    Some(w.0)
}

/// Positional fields, each after a NUL; `None` for one that holds a NUL itself (then the
/// answer goes as JSON).
struct Writer(String);

impl Writer {
    fn field(&mut self, value: &str) -> Option<()> {
        if value.contains('\0') {
            return None;
        }
        self.0.push('\0');
        self.0.push_str(value);
        Some(())
    }
}
