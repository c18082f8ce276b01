//! Requests handed over as JS objects: `{ method, url, headers }`, with headers as
//! `Headers`, a `Map`, `[name, value]` pairs or a plain object (Node's
//! `IncomingHttpHeaders`, arrays for repeated names). Copied; the fast path reads the wire
//! form in place instead (see `wire`).

use std::borrow::Cow;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::Request;

pub(super) fn read_request(value: &JsValue) -> Result<Request<'static>, JsValue> {
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

/// A `TypeError` for a host value of the wrong shape.
pub(super) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}
