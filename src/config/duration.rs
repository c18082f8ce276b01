//! Durations: seconds or jose-style strings, and every duration option's default and
//! bound, written once.

use crate::error::{Error, Result};

/// `digits` or `digits.digits`, as jose's durations write numbers. By hand: `f64`'s
/// `FromStr` (exponents, `inf`, correct rounding of any length) would add 4 KB to the .wasm
/// for an option read once.
fn decimal(text: &str) -> Option<f64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (text, ""),
    };
    let digits = |s: &str| {
        s.bytes().try_fold(0.0, |n: f64, b| {
            b.is_ascii_digit().then(|| n * 10.0 + f64::from(b - b'0'))
        })
    };
    if whole.is_empty() {
        return None;
    }
    let scale = (0..fraction.len()).fold(1.0, |scale: f64, _| scale * 10.0);
    Some(digits(whole)? + digits(fraction)? / scale)
}

/// Seconds as a number, or a jose-style string: `"60s"`, `"5 minutes"`, `"2h"`, `"1d"`.
#[derive(Debug, Clone)]
pub enum Duration {
    /// Seconds.
    Seconds(f64),
    /// A string with a unit: `"90s"`, `"10m"`, `"2h"`, `"1d"`, `"1w"`.
    Text(String),
}

/// A duration option: its path, its default and its bound, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bound {
    /// The option's path (`refresh.grace`).
    pub option: &'static str,
    /// When it is not given.
    pub default: f64,
    /// Above this it is refused (it also catches jose's milliseconds passed by habit).
    pub max: f64,
}

/// Every duration option, written once: the parts read theirs from here
/// ([`Duration::within`]); `index.d.ts` documents the same defaults and bounds. (Each
/// constant's doc is its `option`.)
#[allow(missing_docs)]
pub mod durations {
    use super::Bound;

    const fn bound(option: &'static str, default: f64, max: f64) -> Bound {
        Bound {
            option,
            default,
            max,
        }
    }
    const DAY: f64 = 86_400.0;

    // (A clock tolerance of hours would be no expiry at all.)

    pub const CLOCK_TOLERANCE: Bound = bound("verify.clockTolerance", 0.0, 3_600.0);
    pub const MAX_TOKEN_AGE: Bound = bound("verify.maxTokenAge", f64::INFINITY, f64::INFINITY);
    pub const CACHE_MAX_AGE: Bound = bound("verify.remote.cacheMaxAge", 600.0, DAY);
    pub const COOLDOWN: Bound = bound("verify.remote.cooldownDuration", 30.0, 3_600.0);
    pub const JWKS_TIMEOUT: Bound = bound("verify.remote.timeoutDuration", 5.0, 60.0);
    pub const STALE_IF_ERROR: Bound = bound("verify.remote.staleIfError", 3_600.0, 7.0 * DAY);
    pub const REFRESH_MAX_AGE: Bound = bound("token.refreshMaxAge", 30.0 * DAY, f64::INFINITY);
    pub const REFRESH_WINDOW: Bound = bound("refresh.window", 60.0, 3_600.0);
    pub const REFRESH_GRACE: Bound = bound("refresh.grace", 30.0, 600.0);
    pub const REFRESH_TIMEOUT: Bound = bound("refresh.timeoutDuration", 5.0, 60.0);
    pub const COORDINATION_WAIT: Bound = bound("refresh.coordination.waitDuration", 6.0, 30.0);
    pub const CLAIM_TTL: Bound = bound("refresh.coordination.claimTtl", 10.0, 60.0);
    pub const STORE_TIMEOUT: Bound = bound("refresh.coordination.timeoutDuration", 1.0, 10.0);
    pub const LOGIN_TIMEOUT: Bound = bound("login.timeoutDuration", 5.0, 60.0);
    pub const LOGOUT_RECHECK: Bound =
        bound("login.backchannelLogout.recheckDuration", 10.0, 3_600.0);
    pub const LOGOUT_STORE_TIMEOUT: Bound =
        bound("login.backchannelLogout.timeoutDuration", 1.0, 10.0);

    /// All of them, for the tests that hold the docs to this table.
    pub const ALL: [Bound; 16] = [
        CLOCK_TOLERANCE,
        MAX_TOKEN_AGE,
        CACHE_MAX_AGE,
        COOLDOWN,
        JWKS_TIMEOUT,
        STALE_IF_ERROR,
        REFRESH_MAX_AGE,
        REFRESH_WINDOW,
        REFRESH_GRACE,
        REFRESH_TIMEOUT,
        COORDINATION_WAIT,
        CLAIM_TTL,
        STORE_TIMEOUT,
        LOGIN_TIMEOUT,
        LOGOUT_RECHECK,
        LOGOUT_STORE_TIMEOUT,
    ];
}

impl Duration {
    /// The optional duration option `bound` names, in seconds: its default when absent,
    /// refused above its bound.
    pub fn within(d: Option<&Duration>, bound: &Bound) -> Result<f64> {
        Duration::bounded(d, bound.option, bound.default, bound.max)
    }

    /// An optional duration option in seconds: `default` when absent, refused above `max`
    /// (which also catches jose's millisecond values passed by habit).
    fn bounded(d: Option<&Duration>, option: &str, default: f64, max: f64) -> Result<f64> {
        let secs = d.map(|d| d.seconds(option)).transpose()?.unwrap_or(default);
        if secs > max {
            // Whole seconds: printing an f64 would link core's float formatting (~18 KB).
            let (secs, max) = (secs.ceil() as u64, max as u64);
            return Err(Error::ConfigInvalid(format!(
                "{option} is {secs} seconds, more than the {max} allowed \
                 (durations are seconds or strings like \"10m\", not milliseconds)"
            )));
        }
        Ok(secs)
    }

    /// The duration in seconds; `option` names it in errors.
    pub fn seconds(&self, option: &str) -> Result<f64> {
        let bad = || {
            Error::ConfigInvalid(format!(
                "{option}: expected seconds or a duration like \"2h\""
            ))
        };
        let secs = match self {
            Duration::Seconds(s) => *s,
            Duration::Text(t) => {
                let t = t.trim();
                let split = t
                    .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                    .unwrap_or(t.len());
                let value = decimal(&t[..split]).ok_or_else(bad)?;
                let unit = match t[split..].trim() {
                    "" | "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
                    "m" | "min" | "mins" | "minute" | "minutes" => 60.0,
                    "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0,
                    "d" | "day" | "days" => 86_400.0,
                    "w" | "week" | "weeks" => 604_800.0,
                    _ => return Err(bad()),
                };
                value * unit
            }
        };
        if secs.is_finite() && secs >= 0.0 {
            Ok(secs)
        } else {
            Err(bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_jose_numbers_and_nothing_else() {
        let seconds = |t: &str| Duration::Text(t.into()).seconds("d").ok();
        assert_eq!(seconds("90s"), Some(90.0));
        assert_eq!(seconds("1.5h"), Some(5400.0));
        assert_eq!(seconds("0.25 minutes"), Some(15.0));
        assert_eq!(seconds("010m"), Some(600.0));
        assert_eq!(seconds(" 2 days "), Some(172_800.0));
        for bad in [
            "", "h", ".5h", "1.h", "1.2.3s", "1e3s", "-1s", "+1s", "inf", "NaN", "1,5h",
        ] {
            assert_eq!(seconds(bad), None, "{bad:?}");
        }
    }
}
