//! Claim checks, named after jose's `jwtVerify` options, and the `typ` header check.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::trace::{failed, Observer};

/// Largest integer a JavaScript number holds exactly; later timestamps are refused.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Claim checks, named after jose's `jwtVerify` options.
#[derive(Debug, Clone, Default)]
pub struct ClaimsPolicy {
    /// Accepted `iss` values (exact match); empty accepts any.
    pub issuer: Vec<String>,
    /// The token's `aud` must contain one of these; empty skips the check.
    pub audience: Vec<String>,
    /// Seconds of leeway for `exp`, `nbf` and `iat`.
    pub clock_tolerance: f64,
    /// Greatest age in seconds, measured from `iat` (which becomes required).
    pub max_token_age: Option<f64>,
    /// Claims that must be present.
    pub required_claims: Vec<String>,
    /// Expected `typ` header (`at+jwt` also accepts `application/at+jwt`).
    pub typ: Option<String>,
    /// Refuse tokens without `exp` (default true).
    pub require_exp: bool,
}

/// Scopes from `scope` (space-separated), `scp` (array or string) and `permissions`.
pub fn scopes_of(claims: &Map<String, Value>) -> Vec<&str> {
    let mut out = Vec::new();
    for name in ["scope", "scp", "permissions"] {
        match claims.get(name) {
            Some(Value::String(s)) => out.extend(s.split_ascii_whitespace()),
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(Value::as_str)),
            _ => {}
        }
    }
    out
}

fn claim_err(claim: &'static str, reason: &'static str) -> Error {
    Error::ClaimInvalid { claim, reason }
}

/// A NumericDate (RFC 7519 §2): a finite JSON number within JavaScript's safe range.
#[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
fn numeric_date(claims: &Map<String, Value>, claim: &'static str) -> Result<Option<f64>> {
    match claims.get(claim) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(t) if t.is_finite() && t.abs() <= MAX_SAFE_INTEGER => Ok(Some(t)),
            _ => Err(claim_err(claim, "invalid")),
        },
        Some(_) => Err(claim_err(claim, "invalid")),
    }
}

impl ClaimsPolicy {
    /// The `typ` header against the expected one, if any.
    pub fn check_typ(&self, typ: Option<&str>) -> Result<()> {
        let Some(expected) = &self.typ else {
            return Ok(());
        };
        // RFC 7515 §4.1.9 / RFC 9068 §4: compare without the optional `application/` prefix,
        // case-insensitively.
        let bare = |t: &str| {
            let t = t.to_ascii_lowercase();
            t.strip_prefix("application/")
                .map(str::to_owned)
                .unwrap_or(t)
        };
        match typ {
            Some(t) if bare(t) == bare(expected) => Ok(()),
            _ => Err(claim_err("typ", "check_failed")),
        }
    }

    /// Claim checks at `now` (seconds), stopping at the first failure.
    pub fn check(&self, claims: &Map<String, Value>, now: f64) -> Result<()> {
        CLAIM_CHECKS
            .iter()
            .try_for_each(|(_, check)| check(self, claims, now))
    }

    /// [`ClaimsPolicy::check`], reported to `o`: while explaining, every check runs and
    /// reports (a trace shows all that is wrong); the first failure is the verdict either way.
    pub(crate) fn check_observed(
        &self,
        claims: &Map<String, Value>,
        now: f64,
        o: &mut Observer,
    ) -> Result<()> {
        if !o.explaining() {
            return self.check(claims, now);
        }
        let mut verdict = Ok(());
        for (name, check) in CLAIM_CHECKS {
            let result = check(self, claims, now);
            match &result {
                Ok(()) => o.step("claim", true, || {
                    format!("{name}: {}", claim_detail(claims, name))
                }),
                Err(e) => o.fail("claim", e, || format!("{name}: {}", failed(e))),
            }
            if verdict.is_ok() {
                verdict = result;
            }
        }
        verdict
    }

    fn check_required(&self, claims: &Map<String, Value>, _now: f64) -> Result<()> {
        match self
            .required_claims
            .iter()
            .find(|c| !claims.contains_key(*c))
        {
            Some(claim) => Err(Error::ClaimInvalid {
                claim: static_claim(claim),
                reason: "missing",
            }),
            None => Ok(()),
        }
    }

    /// RFC 7519: a token is expired when now >= exp.
    fn check_exp(&self, claims: &Map<String, Value>, now: f64) -> Result<()> {
        match numeric_date(claims, "exp")? {
            None if self.require_exp => Err(claim_err("exp", "missing")),
            Some(exp) if now >= exp + self.clock_tolerance => Err(Error::Expired),
            _ => Ok(()),
        }
    }

    fn check_nbf(&self, claims: &Map<String, Value>, now: f64) -> Result<()> {
        match numeric_date(claims, "nbf")? {
            Some(nbf) if now + self.clock_tolerance < nbf => Err(claim_err("nbf", "check_failed")),
            _ => Ok(()),
        }
    }

    fn check_iat(&self, claims: &Map<String, Value>, now: f64) -> Result<()> {
        let iat = numeric_date(claims, "iat")?;
        if iat.is_some_and(|iat| iat > now + self.clock_tolerance) {
            return Err(claim_err("iat", "check_failed"));
        }
        if let Some(max_age) = self.max_token_age {
            let iat = iat.ok_or(claim_err("iat", "missing"))?;
            if now - iat > max_age + self.clock_tolerance {
                return Err(claim_err("iat", "check_failed"));
            }
        }
        Ok(())
    }

    fn check_iss(&self, claims: &Map<String, Value>, _now: f64) -> Result<()> {
        if self.issuer.is_empty() {
            return Ok(());
        }
        match claims.get("iss") {
            None => Err(claim_err("iss", "missing")),
            Some(Value::String(iss)) if self.issuer.iter().any(|i| i == iss) => Ok(()),
            Some(_) => Err(claim_err("iss", "check_failed")),
        }
    }

    fn check_aud(&self, claims: &Map<String, Value>, _now: f64) -> Result<()> {
        if self.audience.is_empty() {
            return Ok(());
        }
        let accepted = |a: &Value| {
            a.as_str()
                .is_some_and(|a| self.audience.iter().any(|x| x == a))
        };
        match claims.get("aud") {
            None => Err(claim_err("aud", "missing")),
            Some(aud @ Value::String(_)) if accepted(aud) => Ok(()),
            // Every member must be a string; one of them must be ours.
            Some(Value::Array(list))
                if list.iter().all(Value::is_string) && list.iter().any(accepted) =>
            {
                Ok(())
            }
            Some(_) => Err(claim_err("aud", "check_failed")),
        }
    }
}

type ClaimCheck = fn(&ClaimsPolicy, &Map<String, Value>, f64) -> Result<()>;

/// The claim checks in the order they run (and report).
const CLAIM_CHECKS: [(&str, ClaimCheck); 6] = [
    ("requiredClaims", ClaimsPolicy::check_required),
    ("exp", ClaimsPolicy::check_exp),
    ("nbf", ClaimsPolicy::check_nbf),
    ("iat / maxTokenAge", ClaimsPolicy::check_iat),
    ("iss", ClaimsPolicy::check_iss),
    ("aud", ClaimsPolicy::check_aud),
];

/// Error codes carry `&'static str` claim names; custom required claims report as "claim".
fn static_claim(name: &str) -> &'static str {
    match name {
        "sub" => "sub",
        "jti" => "jti",
        "iss" => "iss",
        "aud" => "aud",
        "exp" => "exp",
        "nbf" => "nbf",
        "iat" => "iat",
        "scope" => "scope",
        _ => "claim",
    }
}

/// What a passing claim check saw, for a trace.
fn claim_detail(claims: &Map<String, Value>, name: &str) -> String {
    let key = match name {
        "exp" | "nbf" | "iss" | "aud" => name,
        "iat / maxTokenAge" => "iat",
        _ => return "ok".into(),
    };
    match claims.get(key) {
        // Not `{v}`: Value's Display links two more copies of the JSON serializer.
        Some(v) => format!("ok ({})", serde_json::to_string(v).unwrap_or_default()),
        None => "ok (absent)".into(),
    }
}
