//! Differential test of the matcher against the real path-to-regexp 6.3.0 (the version Next
//! compiles matchers with), run in node: thousands of generated pattern × path pairs must
//! get the same verdict, alone and wrapped as Next wraps middleware matchers. Skips with a
//! notice when node or the npm package is absent (`npm ci` in tests/differential).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use edgegate::rules::{compile_regex, path_to_regexp, Matcher, Reading, Site};
use serde_json::{json, Value};

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const PIECES: [&str; 36] = [
    "dashboard",
    "api",
    "Admin",
    "a",
    "x.y",
    "v1",
    "_next",
    "café",
    "settings",
    ":id",
    ":path*",
    ":path+",
    ":slug?",
    ":id(\\d+)",
    ":rest(.*)",
    ":lang(en|fr)",
    ":file.:ext",
    "{/:a}?",
    "{-:b}*",
    "{.:ext}?",
    "{v:n}",
    "(\\d+)",
    "(.*)",
    "((?!api|_next/static|favicon.ico).*)",
    "([a-z]+)",
    "(en|fr)?",
    "\\.",
    "\\(x\\)",
    "\\:",
    "*",
    "+",
    "?",
    // invalid on purpose
    "(",
    "{",
    ":",
    "(?x)",
];
const SEGMENTS: [&str; 22] = [
    "dashboard",
    "DASHBOARD",
    "Dashboard",
    "api",
    "admin",
    "123",
    "a",
    "x.y",
    "en",
    "fr",
    "_next",
    "static",
    "data",
    "abc",
    "café",
    "CAFÉ",
    "-",
    "v1",
    "index",
    "x.json",
    "page.rsc",
    "favicon.ico",
];

fn pattern(rng: &mut Rng) -> String {
    let mut p = String::from("/");
    let n = 1 + rng.next() % 4;
    for i in 0..n {
        if i > 0 {
            p.push_str(if rng.chance(85) {
                "/"
            } else {
                rng.pick(&["-", ".", ""])
            });
        }
        let invalid = &PIECES[PIECES.len() - 4..];
        let piece = rng.pick(&PIECES);
        // Keep invalid pieces rare so most patterns compile.
        if invalid.contains(&piece) && !rng.chance(20) {
            p.push('x');
        } else {
            p.push_str(piece);
        }
    }
    p
}

fn path(rng: &mut Rng, pattern: &str) -> String {
    if rng.chance(40) {
        // An instance of the pattern: parameters replaced by plausible values.
        let mut out = String::new();
        for part in pattern.split('/').skip(1) {
            out.push('/');
            if part.starts_with(':') || part.starts_with('(') || part.starts_with('{') {
                out.push_str(rng.pick(&SEGMENTS));
            } else {
                out.push_str(&part.replace('\\', ""));
            }
        }
        return out;
    }
    let mut p = String::new();
    for _ in 0..(rng.next() % 5) {
        p.push('/');
        p.push_str(rng.pick(&SEGMENTS));
    }
    if p.is_empty() || rng.chance(10) {
        p.push('/');
    }
    if rng.chance(15) {
        p.push_str(rng.pick(&[".json", ".rsc", ".segments/_tree.segment.rsc", "#x", "?q"]));
    }
    if rng.chance(10) {
        p = format!("/_next/data/build{}", p);
    }
    p
}

#[test]
fn matcher_agrees_with_path_to_regexp() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/differential");
    if !dir
        .join("node_modules/path-to-regexp/package.json")
        .exists()
    {
        println!("SKIPPED: path-to-regexp is not installed (run `npm ci` in tests/differential)");
        return;
    }
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let cases: Vec<(String, Vec<String>)> = (0..800)
        .map(|_| {
            let p = pattern(&mut rng);
            let paths = (0..12).map(|_| path(&mut rng, &p)).collect();
            (p, paths)
        })
        .collect();
    let input = json!({
        "cases": cases.iter().map(|(p, paths)| json!({"pattern": p, "paths": paths})).collect::<Vec<_>>()
    });
    let child = Command::new("node")
        .arg("ptr.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        println!("SKIPPED: node is not installed");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node failed");
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();

    let (mut pairs, mut matched, mut invalid) = (0, 0, 0);
    for ((p, paths), result) in cases.iter().zip(results["results"].as_array().unwrap()) {
        // path-to-regexp alone
        let raw = &result["raw"];
        let ours = path_to_regexp(p).and_then(|src| compile_regex(&src, true));
        assert_eq!(
            ours.is_err(),
            !raw["error"].is_null(),
            "compile verdict for {p:?}: {:?} vs {}",
            ours.as_ref().err(),
            raw["error"]
        );
        let Ok(re) = ours else {
            invalid += 1;
            continue;
        };
        for (path, theirs) in paths.iter().zip(raw["matches"].as_array().unwrap()) {
            let mine = re.is_match(path).unwrap();
            assert_eq!(
                mine,
                theirs.as_bool().unwrap(),
                "pattern {p:?} path {path:?}"
            );
            pairs += 1;
            matched += usize::from(mine);
        }
        // wrapped as a Next middleware matcher
        let next = &result["next"];
        let ours = Matcher::new(p, &Site::default(), Reading::Wide);
        assert_eq!(
            ours.is_err(),
            !next["error"].is_null(),
            "Next compile verdict for {p:?}"
        );
        let Ok(m) = ours else { continue };
        for (path, theirs) in paths.iter().zip(next["matches"].as_array().unwrap()) {
            let mine = m.is_match(path).unwrap();
            assert_eq!(
                mine,
                theirs.as_bool().unwrap(),
                "Next-wrapped {p:?} path {path:?}"
            );
            pairs += 1;
            matched += usize::from(mine);
        }
    }
    println!(
        "differential: {} patterns ({invalid} invalid, refused by both), {pairs} pattern × path pairs, {matched} matches, 0 disagreements",
        cases.len()
    );
    assert!(pairs > 2000, "too few pairs compared: {pairs}");
}
