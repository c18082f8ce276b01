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

use serde::Serialize;

use super::host::HostParams;
use crate::{Action, Alg, Decision, Fetch, Request, Route, StoreOp, Unverified};

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

/// A ticket's headers as a JSON object, in the engine's order (each name once): written
/// straight from the list, as collecting them into a map would link a sort.
struct Headers<'a>(&'a [(String, String)]);

impl Serialize for Headers<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(name, value)| (name, value)))
    }
}

/// A fetch request as JSON: `{ action: "fetch", id, method, url, headers, body?,
/// timeoutMs, maxBytes, mayUseStored, assertion? }`. `assertion` (`private_key_jwt`):
/// `{ signingInput, jwk, alg, webCrypto: { import, verify } }`: the host signs the input
/// with the JWK by those parameters (`verify`'s are `sign`'s) and appends `signingInput`,
/// `.` and the base64url signature to the body, which ends with `client_assertion=`.
pub(super) fn fetch_json(f: &Fetch) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Out<'a> {
        action: &'static str,
        id: u64,
        method: &'static str,
        url: &'a str,
        headers: Headers<'a>,
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
        headers: Headers(&f.headers),
        body: f.body.as_deref(),
        timeout_ms: f.timeout_ms,
        max_bytes: f.max_bytes,
        may_use_stored: f.may_use_stored,
    };
    // Serializing strings, numbers and booleans to JSON cannot fail.
    let mut json = serde_json::to_string(&out).unwrap_or_default();
    // Asymmetric algorithms all have host parameters; the JWK is JSON already, the signing
    // input base64url: nothing to escape.
    if let Some((a, params)) = f
        .assertion
        .as_ref()
        .and_then(|a| Some((a, HostParams::of(Alg::from_name(a.alg)?)?)))
    {
        json.pop();
        json.push_str(&format!(
            r#","assertion":{{"signingInput":"{}","jwk":{},{}}}}}"#,
            a.signing_input,
            a.jwk,
            params.members()
        ));
    }
    json
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
    /// continue: the request goes on as it came (no header, route or cookie changes).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pass_through: bool,
    /// continue: the headers to forward upstream.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_headers: Option<&'a [(String, String)]>,
    /// continue: how they differ from the request's.
    #[serde(skip_serializing_if = "Option::is_none")]
    header_changes: Option<JsChanges<'a>>,
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

/// [`crate::HeaderChanges`] as JS receives them.
#[derive(Serialize)]
struct JsChanges<'a> {
    removed: &'a [String],
    added: &'a [(String, String)],
}

fn js_decision(d: &Decision) -> JsDecision<'_> {
    let mut out = JsDecision {
        action: "continue",
        status: None,
        code: d.code,
        rule: d.rule,
        kind: d.kind.map(|k| k.as_str()),
        token_source: d.token_source.map(|s| s.as_str()),
        pass_through: d.passes_through(),
        request_headers: None,
        header_changes: None,
        destination: None,
        rewrite: None,
        location: None,
        headers: None,
        body: None,
        message: d.error.as_ref().map(|e| e.to_string()),
        set_cookies: &d.set_cookies,
    };
    match &d.action {
        Action::Continue {
            headers,
            changes,
            route,
        } => {
            out.request_headers = Some(headers);
            out.header_changes = Some(JsChanges {
                removed: &changes.removed,
                added: &changes.added,
            });
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
pub(super) fn to_json(d: &Decision) -> String {
    // Serializing plain strings and numbers to JSON cannot fail.
    serde_json::to_string(&js_decision(d)).unwrap_or_default()
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
