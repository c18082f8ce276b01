//! The options' JSON, read by hand: each options struct takes its fields from a [`Fields`]
//! by name, and what is left over is an unknown option. Serde's derived visitors did the
//! same in 20 KB more wasm (9 KB gzipped: bench/README.md, "Size"), and their messages
//! named a JSON line and column where a user wants the option's path (`login.clientId`,
//! `rules[2].match`), which every message here names.
//!
//! With the `_integration_test` feature, [`shape`] walks the same code with every
//! optional object present, recording each struct's fields, which of them are required and
//! each enum's variants: the contract test holds `index.d.ts` to what this code reads.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::duration::Duration;
use crate::error::{Error, Result};

/// A refusal of the option at `path`.
pub fn invalid(path: &str, why: &str) -> Error {
    let path = if path.is_empty() { "the options" } else { path };
    Error::ConfigInvalid(format!("{path} {why}"))
}

fn expected(path: &str, what: &str) -> Error {
    invalid(path, &format!("must be {what}"))
}

/// One options object being read: its path and the fields not yet taken.
pub struct Fields {
    path: String,
    map: Map<String, Value>,
}

impl Fields {
    /// The object at `path`, as the struct `name` reads it (the name is for the contract
    /// test's shapes).
    pub fn new(path: &str, value: Value, name: &'static str) -> Result<Fields> {
        #[cfg(feature = "_integration_test")]
        shape::structure(path, name);
        #[cfg(not(feature = "_integration_test"))]
        let _ = name;
        match value {
            Value::Object(map) => Ok(Fields {
                path: path.into(),
                map,
            }),
            _ => Err(expected(path, "an object")),
        }
    }

    fn at(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.into()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The field `key`, read by `read` if it is there. `null` counts as absent, which
    /// leaves every field its default: each default is the protective reading.
    fn read<T>(
        &mut self,
        key: &str,
        required: bool,
        read: impl Fn(&str, Value) -> Result<T>,
    ) -> Result<Option<T>> {
        #[cfg(feature = "_integration_test")]
        if shape::probing() {
            shape::field(&self.path, key, required);
            return shape::probe(&self.at(key), read).map(Some);
        }
        let _ = required;
        match self.take(key) {
            Some((path, value)) => read(&path, value).map(Some),
            None => Ok(None),
        }
    }

    /// The field `key` and its path, taken out. The part of reading a field that is the
    /// same for every type: one function, not one copy per field (less wasm to compile
    /// when a gate is built).
    #[inline(never)]
    fn take(&mut self, key: &str) -> Option<(String, Value)> {
        let value = self.map.remove(key).filter(|v| !v.is_null())?;
        Some((self.at(key), value))
    }

    /// An optional field, read by `read`.
    pub fn opt<T>(
        &mut self,
        key: &str,
        read: impl Fn(&str, Value) -> Result<T>,
    ) -> Result<Option<T>> {
        self.read(key, false, read)
    }

    /// A field with a default when absent.
    pub fn or<T>(
        &mut self,
        key: &str,
        default: T,
        read: impl Fn(&str, Value) -> Result<T>,
    ) -> Result<T> {
        Ok(self.opt(key, read)?.unwrap_or(default))
    }

    /// A field with a default when absent, or `None` when it is `null` (`token.cookie: null`
    /// turns cookies off).
    pub fn nullable(
        &mut self,
        key: &str,
        default: Option<String>,
        read: impl Fn(&str, Value) -> Result<String>,
    ) -> Result<Option<String>> {
        if self.map.get(key).is_some_and(Value::is_null) {
            self.map.remove(key);
            return Ok(None);
        }
        Ok(self.opt(key, read)?.or(default))
    }

    /// A field that must be given.
    pub fn required<T>(&mut self, key: &str, read: impl Fn(&str, Value) -> Result<T>) -> Result<T> {
        self.read(key, true, read)?
            .ok_or_else(|| invalid(&self.at(key), "is required"))
    }

    /// Refuses whatever was not taken: a misspelt `audiance` must not silently disable the
    /// audience check.
    pub fn finish(self) -> Result<()> {
        match self.map.keys().next() {
            Some(key) => Err(invalid(&self.at(key), "is not an option")),
            None => Ok(()),
        }
    }
}

/// One string or a list of them.
#[derive(Debug, Clone)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings, as a list.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// A string.
pub fn string(path: &str, value: Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        _ => Err(expected(path, "a string")),
    }
}

/// `true` or `false`.
pub fn boolean(path: &str, value: Value) -> Result<bool> {
    value
        .as_bool()
        .ok_or_else(|| expected(path, "true or false"))
}

/// A whole number, at least 0.
pub fn count(path: &str, value: Value) -> Result<usize> {
    value
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| expected(path, "a whole number"))
}

/// An HTTP status (any 16-bit number here; the part that uses it checks which).
pub fn status(path: &str, value: Value) -> Result<u16> {
    value
        .as_u64()
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| expected(path, "an HTTP status"))
}

/// Free JSON (`verify.keys`: its part reads it).
pub fn any(_: &str, value: Value) -> Result<Value> {
    Ok(value)
}

/// A list, each element read by `read` at `path[i]`.
pub fn list<T>(
    path: &str,
    value: Value,
    read: impl Fn(&str, Value) -> Result<T>,
) -> Result<Vec<T>> {
    #[cfg(feature = "_integration_test")]
    if shape::probing() {
        return shape::probe(path, read).map(|one| vec![one]);
    }
    match value {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| read(&format!("{path}[{i}]"), item))
            .collect(),
        _ => Err(expected(path, "a list")),
    }
}

/// A list of strings.
pub fn strings(path: &str, value: Value) -> Result<Vec<String>> {
    list(path, value, string)
}

/// An object of strings: `{ "sub": "x-auth-sub" }`.
pub fn string_map(path: &str, value: Value) -> Result<BTreeMap<String, String>> {
    match value {
        // Inserted one by one: collecting into a map would link a sort for nothing (the
        // object's keys are unique already).
        Value::Object(map) => {
            let mut out = BTreeMap::new();
            for (k, v) in map {
                let v = string(&format!("{path}.{k}"), v)?;
                out.insert(k, v);
            }
            Ok(out)
        }
        _ => Err(expected(path, "an object of strings")),
    }
}

/// One string or a list of them.
pub fn one_or_many(path: &str, value: Value) -> Result<OneOrMany> {
    match value {
        Value::String(s) => Ok(OneOrMany::One(s)),
        Value::Array(_) => strings(path, value).map(OneOrMany::Many),
        _ => Err(expected(path, "a string or a list of strings")),
    }
}

/// Seconds, or a string with a unit (checked by [`Duration::seconds`] where it is used).
pub fn duration(path: &str, value: Value) -> Result<Duration> {
    match value {
        Value::Number(n) => n
            .as_f64()
            .map(Duration::Seconds)
            .ok_or_else(|| expected(path, "seconds")),
        Value::String(s) => Ok(Duration::Text(s)),
        _ => Err(expected(path, "seconds or a duration like \"2h\"")),
    }
}

/// One of `variants` (as written), as its index; `name` is the enum's, for the shapes.
pub fn choice(
    path: &str,
    value: Value,
    name: &'static str,
    variants: &[&'static str],
) -> Result<usize> {
    #[cfg(feature = "_integration_test")]
    if shape::probing() {
        shape::choice(path, name, variants);
        return Ok(0);
    }
    let _ = name;
    let text = string(path, value)?;
    variants.iter().position(|v| *v == text).ok_or_else(|| {
        invalid(
            path,
            &format!("is {text:?}, not one of {}", variants.join(", ")),
        )
    })
}

/// The shapes the reader reads, recorded by walking it over a probe (tests only).
#[cfg(feature = "_integration_test")]
pub mod shape {
    use std::cell::RefCell;
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::{Map, Value};

    /// What the options reader reads.
    #[derive(Debug, Default)]
    pub struct Shapes {
        /// Path (`""` is the root, then `token`, `rules`, `verify.remote`, …) → struct name
        /// and fields, in the order they are read.
        pub structs: BTreeMap<String, (&'static str, Vec<String>)>,
        /// Paths of the fields that must be given.
        pub required: BTreeSet<String>,
        /// Path → enum name, variants (as written in options).
        pub enums: BTreeMap<String, (&'static str, Vec<&'static str>)>,
    }

    thread_local! {
        static PROBE: RefCell<Option<Shapes>> = const { RefCell::new(None) };
    }

    /// Reads the options the way `read` does, with every field present (objects empty, lists
    /// of one), and returns what it read.
    pub fn record(read: impl FnOnce()) -> Shapes {
        PROBE.with(|p| *p.borrow_mut() = Some(Shapes::default()));
        read();
        PROBE.with(|p| p.borrow_mut().take()).unwrap_or_default()
    }

    pub(super) fn probing() -> bool {
        PROBE.with(|p| p.borrow().is_some())
    }

    /// Lists indices are not part of a shape's path.
    fn unindexed(path: &str) -> String {
        let mut out = String::new();
        let mut skip = false;
        for c in path.chars() {
            match c {
                '[' => skip = true,
                ']' => skip = false,
                c if !skip => out.push(c),
                _ => {}
            }
        }
        out
    }

    pub(super) fn structure(path: &str, name: &'static str) {
        PROBE.with(|p| {
            if let Some(shapes) = p.borrow_mut().as_mut() {
                shapes
                    .structs
                    .entry(unindexed(path))
                    .or_insert((name, Vec::new()));
            }
        })
    }

    pub(super) fn field(path: &str, key: &str, required: bool) {
        PROBE.with(|p| {
            let mut p = p.borrow_mut();
            let Some(shapes) = p.as_mut() else { return };
            let at = unindexed(path);
            if let Some((_, fields)) = shapes.structs.get_mut(&at) {
                fields.push(key.into());
            }
            if required {
                let full = if at.is_empty() {
                    key.into()
                } else {
                    format!("{at}.{key}")
                };
                shapes.required.insert(full);
            }
        })
    }

    /// A value for the field at `path`, whatever its reader takes: an object (a struct,
    /// whose own fields are probed in turn, or free JSON), else a string, a boolean or a
    /// number.
    pub(super) fn probe<T>(
        path: &str,
        read: impl Fn(&str, Value) -> crate::error::Result<T>,
    ) -> crate::error::Result<T> {
        let others: [Value; 3] = ["1".into(), true.into(), 1.into()];
        others
            .into_iter()
            .fold(read(path, Value::Object(Map::new())), |tried, value| {
                tried.or_else(|_| read(path, value))
            })
    }

    pub(super) fn choice(path: &str, name: &'static str, variants: &[&'static str]) {
        PROBE.with(|p| {
            if let Some(shapes) = p.borrow_mut().as_mut() {
                shapes
                    .enums
                    .insert(unindexed(path), (name, variants.to_vec()));
            }
        })
    }
}
