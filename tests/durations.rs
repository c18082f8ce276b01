//! Every duration option is written once, in `config::durations`: the parts read their
//! default and bound from there, and `js/index.d.ts` must say the same of each (`Default
//! "10m"`, `at most "1d"`), so the docs cannot drift from what the engine does.

use std::fs;
use std::path::Path;

use edgegate::config::{durations, Bound, Duration};

/// Seconds as the docs write them: `"10m"`, `"1h"`, `"30s"`, or `0`.
fn written(seconds: f64) -> String {
    let s = seconds as u64;
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s >= n && s % n == 0 {
            return format!("\"{}{unit}\"", s / n);
        }
    }
    match s {
        0 => "0".into(),
        s => format!("\"{s}s\""),
    }
}

/// The interface of index.d.ts an option path's field is in.
fn interface(option: &str) -> &'static str {
    let parent = &option[..option.rfind('.').unwrap()];
    match parent {
        "verify.remote" => "RemoteOptions",
        "verify" => "VerifyOptions",
        "token" => "TokenOptions",
        "refresh" => "RefreshOptions",
        "refresh.coordination" => "CoordinationOptions",
        "login" => "LoginOptions",
        "login.backchannelLogout" => "BackchannelLogoutOptions",
        other => panic!("no interface known for {other}"),
    }
}

/// The doc comment of `field` in `interface` of `dts`.
fn doc<'a>(dts: &'a str, interface: &str, field: &str) -> &'a str {
    let at = dts
        .find(&format!("export interface {interface} "))
        .unwrap_or_else(|| panic!("interface {interface}"));
    let block = &dts[at..at + dts[at..].find("\n}").unwrap()];
    let lines: Vec<&str> = block.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&format!("{field}?: Duration")))
        .unwrap_or_else(|| panic!("{interface}.{field}"));
    lines[i - 1].trim()
}

#[test]
fn index_d_ts_says_what_the_engine_does() {
    let dts =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("js/index.d.ts")).unwrap();
    let mut wrong = Vec::new();
    for Bound {
        option,
        default,
        max,
    } in durations::ALL
    {
        let field = &option[option.rfind('.').unwrap() + 1..];
        let doc = doc(&dts, interface(option), field);
        let mut want = Vec::new();
        if default.is_finite() {
            want.push(format!("Default `{}`", written(default)));
        }
        if max.is_finite() {
            want.push(format!("at most `{}`", written(max)));
        }
        for phrase in want {
            if !doc.contains(&phrase) {
                wrong.push(format!("{option}: its doc lacks {phrase:?}: {doc}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn each_bound_holds_its_default_and_refuses_past_it() {
    for bound in durations::ALL {
        assert!(bound.default <= bound.max, "{bound:?}");
        assert_eq!(Duration::within(None, &bound).unwrap(), bound.default);
        if bound.max.is_finite() {
            let past = Duration::Seconds(bound.max + 1.0);
            let e = Duration::within(Some(&past), &bound).unwrap_err();
            assert!(e.to_string().contains(bound.option), "{e}");
            let at = Duration::Seconds(bound.max);
            assert_eq!(Duration::within(Some(&at), &bound).unwrap(), bound.max);
        }
    }
    assert_eq!(written(600.0), "\"10m\"");
    assert_eq!(written(0.0), "0");
}
