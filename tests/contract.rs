//! The JS contract: what the shim and its types say about the engine is what the engine is.
//! js/index.d.ts, js/wire.js, js/fetch.js and the READMEs mirror the Rust side by hand; each
//! test here derives the Rust side from the engine itself (or, where only the source knows,
//! from the source, read strictly: a reader that finds nothing fails) and compares:
//!
//! - options: every field of every option struct of `config.rs`, nested ones included,
//!   against the TypeScript interface that types it (names both ways, required or optional,
//!   enum values), found by walking the options reader itself;
//! - codes: every `ERR_*` and `OK_*` the engine can produce, against `ErrorCode` and
//!   `OkCode` in index.d.ts and the README's list;
//! - trace steps: the names `o.step`/`o.fail`/`o.error` are called with across `src/`,
//!   against `TraceStepName` in index.d.ts and `TraceStep::step`'s documentation;
//! - the wire: the positional answers' tags (`Tag` in src/wasm/wire.rs and js/wire.js) and
//!   the layouts both specs write for them;
//! - fetch failures: the reasons js/fetch.js reports against `Fetched::FAILURES`;
//! - algorithms: `Algorithm` in index.d.ts against `Alg::ALL`.
//!
//! Each test lists every disagreement it finds, then fails.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Fails with every problem found, one per line.
fn report(what: &str, problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{what}: the JS side and the engine disagree:\n  - {}\n",
        problems.join("\n  - ")
    );
}

/// `a` and `b` as two sets, each difference a problem.
fn compare(
    problems: &mut Vec<String>,
    a_name: &str,
    a: &BTreeSet<String>,
    b_name: &str,
    b: &BTreeSet<String>,
) {
    for x in a.difference(b) {
        problems.push(format!("{x:?} is in {a_name} but not in {b_name}"));
    }
    for x in b.difference(a) {
        problems.push(format!("{x:?} is in {b_name} but not in {a_name}"));
    }
}

fn set<I: IntoIterator<Item = S>, S: ToString>(items: I) -> BTreeSet<String> {
    items.into_iter().map(|s| s.to_string()).collect()
}

/// The double-quoted string literals in `text` (no escapes: none of ours have any).
fn quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let tail = &rest[start + 1..];
        let end = tail
            .find('"')
            .unwrap_or_else(|| panic!("unterminated string in {text:?}"));
        out.push(tail[..end].to_string());
        rest = &tail[end + 1..];
    }
    out
}

/// The text between `open` at `at` and its matching `close` (exclusive), nesting counted.
fn balanced(text: &str, at: usize, open: char, close: char) -> &str {
    assert!(text[at..].starts_with(open), "expected {open:?} at {at}");
    let mut depth = 0;
    for (i, c) in text[at..].char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return &text[at + 1..at + i];
            }
        }
    }
    panic!("no {close:?} closes the {open:?} at {at}");
}

// ---------------------------------------------------------------------------------------
// Reading js/index.d.ts
// ---------------------------------------------------------------------------------------

mod ts {
    use std::collections::{BTreeMap, BTreeSet};

    /// One property of an interface.
    #[derive(Debug)]
    pub struct Member {
        pub optional: bool,
        /// The type as written (comments removed).
        pub ty: String,
    }

    /// The interfaces and type aliases of a declaration file.
    #[derive(Debug, Default)]
    pub struct Declarations {
        pub interfaces: BTreeMap<String, BTreeMap<String, Member>>,
        pub aliases: BTreeMap<String, String>,
    }

    /// `text` without `//` and `/* */` comments; strings are kept as they are.
    pub fn strip_comments(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' | '\'' | '`' => {
                    out.push(c);
                    while let Some(d) = chars.next() {
                        out.push(d);
                        if d == '\\' {
                            out.extend(chars.next());
                        } else if d == c {
                            break;
                        }
                    }
                }
                '/' if chars.peek() == Some(&'/') => {
                    for d in chars.by_ref() {
                        if d == '\n' {
                            out.push('\n');
                            break;
                        }
                    }
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    let mut last = ' ';
                    for d in chars.by_ref() {
                        if last == '*' && d == '/' {
                            break;
                        }
                        last = d;
                    }
                    out.push(' ');
                }
                _ => out.push(c),
            }
        }
        out
    }

    /// Splits `text` at `sep` where no bracket (`{ ( [ <`) or string is open. `=>` is an
    /// arrow, not a closing `>`.
    pub fn split_top(text: &str, sep: char) -> Vec<&str> {
        let (mut parts, mut depth, mut start, mut quote) = (Vec::new(), 0i32, 0, None);
        let bytes = text.as_bytes();
        for (i, c) in text.char_indices() {
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '"' | '\'' | '`' => quote = Some(c),
                '{' | '(' | '[' | '<' => depth += 1,
                '>' if i > 0 && bytes[i - 1] == b'=' => {}
                '}' | ')' | ']' | '>' => depth -= 1,
                c if c == sep && depth == 0 => {
                    parts.push(&text[start..i]);
                    start = i + c.len_utf8();
                }
                _ => {}
            }
            assert!(depth >= 0, "unbalanced brackets in {text:?}");
        }
        parts.push(&text[start..]);
        parts
    }

    fn ident(s: &str) -> &str {
        let end = s
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(s.len());
        &s[..end]
    }

    /// The bodies of the object literals in a type's text (`A & { issuer: string }`).
    pub fn inline_objects(ty: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(i) = ty[from..].find('{') {
            let body = super::balanced(ty, from + i, '{', '}');
            out.push(body);
            from += i + body.len() + 2;
        }
        out
    }

    /// Every identifier in a type's text (outside string literals).
    pub fn identifiers(ty: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let mut in_string = None;
        let mut word = String::new();
        for c in ty.chars().chain([' ']) {
            if let Some(q) = in_string {
                if c == q {
                    in_string = None;
                }
                continue;
            }
            if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
                word.push(c);
                continue;
            }
            if !word.is_empty() && !word.starts_with(|c: char| c.is_ascii_digit()) {
                out.insert(std::mem::take(&mut word));
            }
            word.clear();
            if c == '"' || c == '\'' || c == '`' {
                in_string = Some(c);
            }
        }
        out
    }

    /// The interfaces and type aliases declared in `source`.
    pub fn parse(source: &str) -> Declarations {
        let text = strip_comments(source);
        let mut out = Declarations::default();
        let mut rest = &text[..];
        while !rest.is_empty() {
            let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
            let line = rest[..line_end].trim_start();
            let decl = line.strip_prefix("export ").unwrap_or(line);
            let decl = decl.strip_prefix("declare ").unwrap_or(decl);
            let offset = rest.len() - rest.trim_start().len() + (line.len() - decl.len());
            if let Some(after) = decl.strip_prefix("interface ") {
                let iface = ident(after).to_string();
                let open = rest[offset..].find('{').expect("interface body") + offset;
                let body = super::balanced(rest, open, '{', '}');
                let mut members = BTreeMap::new();
                for raw in split_top(body, ';') {
                    let raw = raw.trim();
                    if raw.is_empty() || raw.starts_with('[') {
                        continue; // index signatures say nothing about named options
                    }
                    let raw = raw.strip_prefix("readonly ").unwrap_or(raw);
                    let name = ident(raw);
                    assert!(
                        !name.is_empty(),
                        "index.d.ts: cannot read the member {raw:?} of interface {iface}"
                    );
                    let after = raw[name.len()..].trim_start();
                    let (optional, after) = match after.strip_prefix('?') {
                        Some(a) => (true, a.trim_start()),
                        None => (false, after),
                    };
                    if after.starts_with('(') || after.starts_with('<') {
                        continue; // a method
                    }
                    let ty = after.strip_prefix(':').unwrap_or_else(|| {
                        panic!("index.d.ts: cannot read the member {raw:?} of interface {iface}")
                    });
                    members.insert(
                        name.to_string(),
                        Member {
                            optional,
                            ty: ty.split_whitespace().collect::<Vec<_>>().join(" "),
                        },
                    );
                }
                out.interfaces.insert(iface, members);
                rest = &rest[open + body.len() + 2..];
                rest = rest.trim_start().strip_prefix(';').unwrap_or(rest);
                continue;
            }
            if let Some(after) = decl.strip_prefix("type ") {
                let name = ident(after).to_string();
                let eq = rest[offset..].find('=').expect("type alias") + offset;
                let value = split_top(&rest[eq + 1..], ';')[0];
                out.aliases
                    .insert(name, value.split_whitespace().collect::<Vec<_>>().join(" "));
                rest = &rest[eq + 1 + value.len()..];
                rest = rest.trim_start().strip_prefix(';').unwrap_or(rest);
                continue;
            }
            rest = &rest[line_end..];
        }
        assert!(
            out.interfaces.len() > 5 && out.aliases.len() > 3,
            "index.d.ts: read too little to be the declarations ({out:?})"
        );
        out
    }

    impl Declarations {
        /// The string literals a type allows, through the aliases it names.
        pub fn literals(&self, ty: &str) -> BTreeSet<String> {
            let mut out: BTreeSet<String> = super::quoted(ty).into_iter().collect();
            for name in identifiers(ty) {
                if let Some(alias) = self.aliases.get(&name) {
                    out.extend(self.literals(alias));
                }
            }
            out
        }

        /// The literals of the alias `name`; fails when there is none or it has none.
        pub fn union(&self, name: &str) -> BTreeSet<String> {
            let alias = self
                .aliases
                .get(name)
                .unwrap_or_else(|| panic!("index.d.ts declares no type {name}"));
            let out = self.literals(alias);
            assert!(!out.is_empty(), "index.d.ts: type {name} lists no strings");
            out
        }
    }
}

fn declarations() -> ts::Declarations {
    ts::parse(&read("js/index.d.ts"))
}

// ---------------------------------------------------------------------------------------
// The option shapes, read from the serde derive of config.rs
// ---------------------------------------------------------------------------------------

/// A deserializer that answers every question serde's derive asks with a plausible value,
/// and writes down what it was asked: each struct's name and fields (serde's own `FIELDS`,
/// after `rename_all` and `rename`) and each enum's variants, by option path. Options,
/// lists and maps are transparent: a field's path leads to what they hold.
/// What the engine's options reader reads: its structs, required fields and enums,
/// recorded by walking the reader itself over a probe (src/config/read.rs).
fn shapes() -> edgegate::config::shape::Shapes {
    edgegate::config::shape::record(|| {
        if let Err(e) = edgegate::Options::from_json("{}") {
            panic!("the probe cannot walk the options: {e}");
        }
    })
}

/// Walks the option structs from `path` (typed by the interface `iface`) down.
fn check_struct(
    path: &str,
    iface: &str,
    shapes: &edgegate::config::shape::Shapes,
    required: &BTreeSet<String>,
    d: &ts::Declarations,
    problems: &mut Vec<String>,
) {
    let (rust_name, fields) = &shapes.structs[path];
    let Some(members) = d.interfaces.get(iface) else {
        problems.push(format!(
            "index.d.ts declares no interface {iface} ({rust_name})"
        ));
        return;
    };
    let at = |f: &str| match path {
        "" => f.to_string(),
        _ => format!("{path}.{f}"),
    };
    let rust: BTreeSet<String> = set(fields.iter());
    let js: BTreeSet<String> = members.keys().cloned().collect();
    for f in rust.difference(&js) {
        problems.push(format!(
            "option {} (config.rs {rust_name}) is missing from interface {iface}",
            at(f)
        ));
    }
    for f in js.difference(&rust) {
        problems.push(format!(
            "interface {iface} has {f}, which config.rs {rust_name} does not take (at {})",
            at(f)
        ));
    }
    for f in rust.intersection(&js) {
        let (member, path) = (&members[f], at(f));
        if required.contains(&path) == member.optional {
            problems.push(format!(
                "option {path}: config.rs {rust_name} has it {}, interface {iface} {}",
                if required.contains(&path) {
                    "required"
                } else {
                    "optional"
                },
                if member.optional {
                    "optional (`?`)"
                } else {
                    "required"
                },
            ));
        }
        let named: Vec<String> = ts::identifiers(&member.ty)
            .into_iter()
            .filter(|n| d.interfaces.contains_key(n))
            .collect();
        match (shapes.structs.get(&path), &named[..]) {
            (Some(_), [one]) => {
                check_struct(&path, one, shapes, required, d, problems);
                // Members an intersection adds (`VerifyOptions & { issuer: string }`).
                let (rust_inner, inner) = &shapes.structs[&path];
                for object in ts::inline_objects(&member.ty) {
                    for m in ts::split_top(object, ';') {
                        let name = m.split([':', '?']).next().unwrap_or("").trim();
                        if !name.is_empty() && !inner.iter().any(|f| f == name) {
                            problems.push(format!(
                                "option {path}: index.d.ts adds {name}, which config.rs \
                                 {rust_inner} does not take"
                            ));
                        }
                    }
                }
            }
            (Some((inner, _)), _) => problems.push(format!(
                "option {path} is config.rs {inner}, typed in interface {iface} as `{}`: \
                 expected exactly one interface there",
                member.ty
            )),
            (None, [one, ..]) => problems.push(format!(
                "option {path}: interface {iface} types it as interface {one}, config.rs has \
                 no struct there"
            )),
            (None, []) => {}
        }
        if let Some((enum_name, variants)) = shapes.enums.get(&path) {
            let js = d.literals(&member.ty);
            compare(
                problems,
                &format!("config.rs {enum_name} (option {path})"),
                &set(variants.iter()),
                &format!("interface {iface}'s `{f}: {}`", member.ty),
                &js,
            );
        }
    }
}

#[test]
fn options_are_typed_as_config_rs_reads_them() {
    let shapes = shapes();
    let required = &shapes.required;
    // The probe must have seen the whole tree, or this test would check nothing.
    for path in [
        "",
        "rules",
        "token",
        "verify",
        "verify.remote",
        "providers",
        "upstream",
        "csrf",
        "refresh",
        "refresh.coordination",
        "login",
        "session",
    ] {
        assert!(
            shapes.structs.contains_key(path),
            "the probe did not reach option struct {path:?}: {:?}",
            shapes.structs.keys()
        );
    }
    assert!(shapes.enums.contains_key("rules.kind"));
    assert!(required.contains("rules.match") && required.contains("verify.algorithms"));

    let d = declarations();
    let mut problems = Vec::new();
    check_struct("", "Options", &shapes, required, &d, &mut problems);
    report("options (config.rs vs js/index.d.ts)", problems);
}

// ---------------------------------------------------------------------------------------
// Codes
// ---------------------------------------------------------------------------------------

/// Every code `Error::code` and `Passed::code` return, read from src/error.rs: each `fn
/// code` is a `match` whose arms are string literals (or a nested `match` of them). An arm
/// of another form fails here rather than go unread.
fn engine_codes() -> BTreeSet<String> {
    let source = read("src/error.rs");
    let mut codes = BTreeSet::new();
    let mut functions = 0;
    for (at, _) in source.match_indices("fn code(") {
        functions += 1;
        let open = at + source[at..].find('{').expect("fn code has a body");
        let body = balanced(&source, open, '{', '}');
        for (arrow, _) in body.match_indices("=>") {
            let rhs = body[arrow + 2..].trim_start();
            assert!(
                rhs.starts_with('"') || rhs.starts_with("match "),
                "src/error.rs: an arm of `fn code` returns `{}`, not a literal code: \
                 tests/contract.rs cannot read it",
                rhs.lines().next().unwrap_or("")
            );
        }
        for code in quoted(body) {
            assert!(
                (code.starts_with("ERR_") || code.starts_with("OK_"))
                    && code[3..]
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'),
                "src/error.rs: `fn code` returns {code:?}, not an ERR_/OK_ code"
            );
            assert!(codes.insert(code.clone()), "{code} is returned twice");
        }
    }
    assert_eq!(
        functions, 2,
        "src/error.rs: expected Passed::code and Error::code"
    );
    codes
}

/// Every `Passed`, in order; the exhaustive match fails to compile until a new variant is
/// listed.
const PASSED: [edgegate::Passed; 9] = {
    use edgegate::Passed::*;
    [
        Public,
        Authenticated,
        Refreshed,
        Guest,
        GuestHasSession,
        LoginStarted,
        LoggedIn,
        LoggedOut,
        LogoutRecorded,
    ]
};

fn passed_index(p: edgegate::Passed) -> usize {
    use edgegate::Passed::*;
    match p {
        Public => 0,
        Authenticated => 1,
        Refreshed => 2,
        Guest => 3,
        GuestHasSession => 4,
        LoginStarted => 5,
        LoggedIn => 6,
        LoggedOut => 7,
        LogoutRecorded => 8,
    }
}

/// Every `LoginError`, in order, held by the same kind of match.
const LOGIN_ERRORS: [edgegate::LoginError; 11] = {
    use edgegate::LoginError::*;
    [
        State,
        Expired,
        Iss,
        Provider,
        Exchange,
        IdToken,
        Unavailable,
        Navigation,
        Method,
        LogoutToken,
        LogoutReplayed,
    ]
};

fn login_error_index(e: edgegate::LoginError) -> usize {
    use edgegate::LoginError::*;
    match e {
        State => 0,
        Expired => 1,
        Iss => 2,
        Provider => 3,
        Exchange => 4,
        IdToken => 5,
        Unavailable => 6,
        Navigation => 7,
        Method => 8,
        LogoutToken => 9,
        LogoutReplayed => 10,
    }
}

#[test]
fn codes_are_the_engines() {
    use edgegate::Error;
    let codes = engine_codes();

    // The reading above is the engine's: the codes of values the engine builds are in it,
    // every `OK_*` is a `Passed`, and every `ERR_LOGIN_*` and `ERR_LOGOUT_*` a `LoginError`.
    for (i, p) in PASSED.iter().enumerate() {
        assert_eq!(passed_index(*p), i, "PASSED is out of order");
    }
    for (i, e) in LOGIN_ERRORS.iter().enumerate() {
        assert_eq!(login_error_index(*e), i, "LOGIN_ERRORS is out of order");
    }
    let ok = set(PASSED.map(|p| p.code()));
    let login = set(LOGIN_ERRORS.map(|e| Error::Login(e, String::new()).code()));
    let read_ok = set(codes.iter().filter(|c| c.starts_with("OK_")));
    let read_login = set(codes
        .iter()
        .filter(|c| c.starts_with("ERR_LOGIN_") || c.starts_with("ERR_LOGOUT_")));
    assert_eq!(ok, read_ok, "Passed::code read from src/error.rs");
    assert_eq!(login, read_login, "ERR_LOGIN_* read from src/error.rs");
    for e in [
        Error::ConfigInvalid(String::new()),
        Error::MatcherLimit,
        Error::NoToken {
            plain_cookie: false,
        },
        Error::Expired,
        Error::JwksTimeout,
        Error::RefreshUncoordinated(""),
        Error::RandomUnavailable,
    ] {
        assert!(codes.contains(e.code()), "{} not read", e.code());
    }

    let d = declarations();
    let readme = read("README.md");
    let errors = readme
        .split("\n## Errors\n")
        .nth(1)
        .expect("README.md has a section ## Errors")
        .split("\n## ")
        .next()
        .unwrap();
    let listed: BTreeSet<String> = errors
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("ERR_") || s.starts_with("OK_"))
        .filter(|s| s.chars().all(|c| c.is_ascii_uppercase() || c == '_')) // not `OK_*`
        .map(str::to_string)
        .collect();

    let err = set(codes.iter().filter(|c| c.starts_with("ERR_")));
    let mut problems = Vec::new();
    compare(
        &mut problems,
        "src/error.rs (Error::code)",
        &err,
        "index.d.ts ErrorCode",
        &d.union("ErrorCode"),
    );
    compare(
        &mut problems,
        "src/error.rs (Passed::code)",
        &read_ok,
        "index.d.ts OkCode",
        &d.union("OkCode"),
    );
    compare(
        &mut problems,
        "src/error.rs",
        &codes,
        "README.md ## Errors",
        &listed,
    );
    report("codes", problems);
}

// ---------------------------------------------------------------------------------------
// Trace steps
// ---------------------------------------------------------------------------------------

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The step names of every `.step(`, `.fail(` and `.error(` call in `src/`: the trace's
/// vocabulary (`Observer` takes them as `&'static str`). A call whose step is not a string
/// literal fails here, except the Observer's own forwarding in src/trace.rs.
fn engine_steps() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    let mut steps = BTreeSet::new();
    for file in files {
        let name = file.strip_prefix(root()).unwrap().display().to_string();
        let source = fs::read_to_string(&file).unwrap();
        // Comments off (a doc example naming a step is not a step).
        let code: String = source
            .lines()
            .map(|l| match l.trim_start().starts_with("//") {
                true => "",
                false => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        for method in [".step(", ".fail(", ".error("] {
            for (at, _) in code.match_indices(method) {
                let receiver = code[..at].chars().next_back();
                if !receiver.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    continue;
                }
                let arg = code[at + method.len()..].trim_start();
                if let Some(lit) = arg.strip_prefix('"') {
                    steps.insert(lit[..lit.find('"').unwrap()].to_string());
                } else if name != "src/trace.rs" {
                    panic!(
                        "{name}: `{method}{}` names its step with an expression: name it \
                         with a literal, or teach tests/contract.rs to read it",
                        arg.lines().next().unwrap_or("")
                    );
                }
            }
        }
    }
    assert!(steps.len() >= 10, "found too few steps in src/: {steps:?}");
    steps
}

#[test]
fn trace_steps_are_the_engines() {
    let steps = engine_steps();

    // The reading is the engine's: the steps of a real trace are among them.
    let options = r#"{ "verify": { "algorithms": ["HS256"],
                                   "keys": "an-hmac-secret-of-at-least-32-bytes!!" } }"#;
    let clock = std::sync::Arc::new(edgegate::FixedClock(1_700_000_000.0));
    let options = edgegate::Options::from_json(options).unwrap();
    let gate = edgegate::Gate::with_clock(options, clock).unwrap();
    let trace = gate.explain(&edgegate::Request {
        method: "GET".into(),
        url: "https://app.example/api/x".into(),
        headers: vec![("cookie".into(), "token=a.b.c".into())],
    });
    assert!(trace.steps.len() >= 3, "{trace:?}");
    for s in &trace.steps {
        assert!(
            steps.contains(s.step),
            "{:?} was not read from src/",
            s.step
        );
    }

    // `TraceStep::step`'s documentation lists them too.
    let source = read("src/trace.rs");
    let doc: String = source
        .split("pub struct TraceStep {")
        .nth(1)
        .expect("src/trace.rs: struct TraceStep")
        .split("pub step:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("///"))
        .collect::<Vec<_>>()
        .join(" ");
    let documented: BTreeSet<String> = doc
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.chars().all(|c| c.is_ascii_lowercase())) // not `TraceStepName`
        .map(str::to_string)
        .collect();
    assert!(
        !documented.is_empty(),
        "src/trace.rs: TraceStep::step lists no steps"
    );

    let mut problems = Vec::new();
    compare(
        &mut problems,
        "src/ (o.step/o.fail/o.error calls)",
        &steps,
        "index.d.ts TraceStepName",
        &declarations().union("TraceStepName"),
    );
    compare(
        &mut problems,
        "src/ (o.step/o.fail/o.error calls)",
        &steps,
        "src/trace.rs TraceStep::step's doc",
        &documented,
    );
    report("trace steps", problems);
}

// ---------------------------------------------------------------------------------------
// The wire
// ---------------------------------------------------------------------------------------

/// `name = value` pairs of `body` (Rust enum discriminants or a JS object's `name: value`).
fn pairs(body: &str, sep: char) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for item in body.split([',', '\n']) {
        let item = item.trim();
        if item.is_empty() || item.starts_with("//") || item.starts_with('#') {
            continue;
        }
        let (name, value) = item
            .split_once(sep)
            .unwrap_or_else(|| panic!("cannot read the tag {item:?}"));
        let value = value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("tag {item:?}"));
        out.insert(name.trim().to_string(), value);
    }
    assert!(!out.is_empty(), "no tags in {body:?}");
    out
}

/// The header comment of a file (`//!` or `//` lines), joined.
fn header(source: &str, prefix: &str) -> String {
    source
        .lines()
        .map_while(|l| l.strip_prefix(prefix))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A layout as written, whitespace normalized: `code NUL rule NUL …`.
fn layout(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn wire_tags_and_layouts_agree() {
    let rust = read("src/wasm/wire.rs");
    let js = read("js/wire.js");

    let at = rust.find("enum Tag {").expect("src/wasm/wire.rs: enum Tag") + "enum Tag ".len();
    let rust_body: String = balanced(&rust, at, '{', '}')
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let rust_tags = pairs(&rust_body, '=');
    let at = js
        .find("Tag = Object.freeze(")
        .expect("js/wire.js: Tag = Object.freeze({ … })")
        + "Tag = Object.freeze(".len();
    let js_tags = pairs(balanced(&js, at, '{', '}'), ':');

    let mut problems = Vec::new();
    if rust_tags != js_tags {
        problems.push(format!(
            "src/wasm/wire.rs Tag is {rust_tags:?}, js/wire.js Tag is {js_tags:?}"
        ));
    }

    // The specs: wire.rs's header names each tag with its character and layout, and
    // wire.js's header writes the same layout after the same character.
    let rust_spec = header(&rust, "//!");
    let js_spec = header(&js, "//");
    for (name, value) in &rust_tags {
        let mark = format!("[`Tag::{name}`] (`\\x{value:02x}`)");
        let Some(i) = rust_spec.find(&mark) else {
            problems.push(format!("src/wasm/wire.rs's header does not spec {mark}"));
            continue;
        };
        let rust_layout = rust_spec[i + mark.len()..]
            .split('`')
            .skip(1)
            .step_by(2)
            .find(|s| s.contains(" NUL "))
            .map(layout)
            .unwrap_or_default();
        let escape = format!("\\x{value:02x}");
        let js_layout = js_spec
            .lines()
            .find_map(|l| l.split_once(&escape).map(|(_, rest)| layout(rest)))
            .unwrap_or_default();
        if rust_layout.is_empty() || rust_layout != js_layout {
            problems.push(format!(
                "Tag::{name} ({escape}): src/wasm/wire.rs specs `{rust_layout}`, \
                 js/wire.js `{js_layout}`"
            ));
        }
    }
    // And the request form.
    let request = rust_spec
        .split("**Requests**")
        .nth(1)
        .and_then(|s| {
            s.split('`')
                .skip(1)
                .step_by(2)
                .find(|s| s.contains(" NUL "))
        })
        .map(layout)
        .expect("src/wasm/wire.rs specs **Requests**");
    if !layout(&js_spec).contains(&request) {
        problems.push(format!(
            "js/wire.js's header does not write the request form `{request}`"
        ));
    }
    report("wire (src/wasm/wire.rs vs js/wire.js)", problems);
}

// ---------------------------------------------------------------------------------------
// Fetch failures
// ---------------------------------------------------------------------------------------

/// Which failure a `Fetched` is; exhaustive, so a new outcome must be placed here.
fn failure_kind(f: &edgegate::Fetched) -> Option<&'static str> {
    use edgegate::Fetched;
    match f {
        Fetched::Response { .. } | Fetched::Stored { .. } => None,
        Fetched::Timeout => Some("Timeout"),
        Fetched::TooLarge => Some("TooLarge"),
        Fetched::Network(_) => Some("Network"),
    }
}

#[test]
fn fetch_failures_are_the_engines() {
    use edgegate::Fetched;
    // Each reason the engine names is a distinct failure, and together they are all of them.
    let kinds: BTreeSet<&str> = Fetched::FAILURES
        .iter()
        .map(|r| {
            failure_kind(&Fetched::failure(r, "m".into()))
                .unwrap_or_else(|| panic!("{r:?} is no failure"))
        })
        .collect();
    assert_eq!(
        kinds.len(),
        Fetched::FAILURES.len(),
        "two reasons, one failure"
    );
    assert_eq!(
        kinds,
        ["Network", "Timeout", "TooLarge"].into(),
        "a failure no reason names"
    );
    assert_eq!(
        Fetched::failure("network", "m".into()),
        Fetched::Network("m".into())
    );

    // What js/fetch.js reports: the literals of its `reason`, passed to `fetchFailed`.
    let js = ts::strip_comments(&read("js/fetch.js"));
    assert!(
        js.contains("fetchFailed(ticket.id, reason,"),
        "js/fetch.js no longer reports `fetchFailed(ticket.id, reason, …)`: teach \
         tests/contract.rs where its reasons are"
    );
    let expr = js
        .split("const reason =")
        .nth(1)
        .expect("js/fetch.js: const reason = …")
        .split(';')
        .next()
        .unwrap();
    // The ternary's results: literals after `?` or `:` (not the names it compares with).
    let shim: BTreeSet<String> = expr
        .split('"')
        .collect::<Vec<_>>()
        .chunks(2)
        .filter(|pair| pair.len() == 2 && pair[0].trim_end().ends_with(['?', ':']))
        .map(|pair| pair[1].to_string())
        .collect();
    assert!(!shim.is_empty(), "js/fetch.js: no reasons in {expr:?}");

    // And what the boundary's documentation of `fetchFailed` says.
    let wasm = read("src/wasm/mod.rs");
    let doc: String = wasm
        .split("#[wasm_bindgen(js_name = fetchFailed)]")
        .next()
        .unwrap()
        .trim_end()
        .lines()
        .rev()
        .take_while(|l| l.trim_start().starts_with("///"))
        .collect::<Vec<_>>()
        .join(" ");
    let documented = set(quoted(&doc));

    let mut problems = Vec::new();
    let engine = set(Fetched::FAILURES);
    compare(
        &mut problems,
        "Fetched::FAILURES",
        &engine,
        "js/fetch.js",
        &shim,
    );
    compare(
        &mut problems,
        "Fetched::FAILURES",
        &engine,
        "src/wasm/mod.rs fetchFailed's doc",
        &documented,
    );
    report("fetch failures", problems);
}

// ---------------------------------------------------------------------------------------
// Algorithms
// ---------------------------------------------------------------------------------------

#[test]
fn algorithms_are_the_engines() {
    let engine = set(edgegate::Alg::ALL.map(|a| a.name()));
    let mut problems = Vec::new();
    compare(
        &mut problems,
        "Alg::ALL",
        &engine,
        "index.d.ts Algorithm",
        &declarations().union("Algorithm"),
    );
    report("algorithms", problems);
}

// ---------------------------------------------------------------------------------------
// The readers themselves
// ---------------------------------------------------------------------------------------

#[test]
fn the_declaration_reader_reads_what_is_written() {
    let d = ts::parse(
        r#"
        /** `a // b` */
        export type Kind = "x" | "y"; // "z"
        export type Both = Kind | "w";
        export interface Opts {
          /** Doc; with a semicolon. */
          a: string;
          b?: Kind;
          c?: Array<Inner & { issuer: string }>;
          f?: (entry: Inner) => void;
          m(x: number): void;
          [key: string]: unknown;
        }
        interface Inner { x?: { y: 1; z: 2 } }
        export type A = 1; export type B = 2; export type C = 3;
        export interface I1 {} export interface I2 {} export interface I3 {}
        export interface I4 {}
        "#,
    );
    let opts = &d.interfaces["Opts"];
    assert_eq!(
        opts.keys().collect::<Vec<_>>(),
        ["a", "b", "c", "f"],
        "{opts:?}"
    );
    assert!(!opts["a"].optional && opts["b"].optional);
    assert_eq!(opts["c"].ty, "Array<Inner & { issuer: string }>");
    assert_eq!(d.literals(&opts["b"].ty), set(["x", "y"]));
    assert_eq!(d.union("Both"), set(["x", "y", "w"]));
    assert_eq!(d.interfaces["Inner"].keys().collect::<Vec<_>>(), ["x"]);
}
