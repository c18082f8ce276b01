//! The path matcher's regex engine from arbitrary input: the bytes become a pattern and a
//! text. Compiling must answer Ok or Err, and matching a bool or the budget error; never a
//! panic, never a stack overflow.
#![no_main]

use edgegate::rules::Regex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (pattern, subject) = text.split_once('\u{1}').unwrap_or((&text, "/dashboard/x"));
    if let Ok(re) = Regex::new(pattern, true, 100_000) {
        let _ = re.is_match(subject);
    }
});
