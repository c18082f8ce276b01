//! The gate's own cookies, named and written one way: `__Host-<name>` where the request is
//! a secure context (off loopback http), and every `Set-Cookie` `Path=/; HttpOnly;
//! SameSite=Lax` (sent on the provider's top-level redirect back), `Secure` with the
//! prefix. Used by the session cookies, hosted login's transaction and ID-token cookies, and
//! the extractor that reads them back.

/// Browsers keep cookies up to 4096 bytes of name, value and attributes.
pub(crate) const MAX_COOKIE_BYTES: usize = 4096;

/// The prefix a secure context's cookies carry: set only by this host, over TLS, `Path=/`.
pub(crate) const HOST_PREFIX: &str = "__Host-";

/// `name` as a request in a secure context (`secure`) names it.
#[inline] // hot path: kept inline under the lowered threshold (.cargo/config.toml)
pub(crate) fn name(name: &str, secure: bool) -> String {
    match secure {
        true => format!("{HOST_PREFIX}{name}"),
        false => name.to_owned(),
    }
}

/// `name` without the prefix, whichever it was set under.
pub(crate) fn bare(name: &str) -> &str {
    name.strip_prefix(HOST_PREFIX).unwrap_or(name)
}

/// The `Set-Cookie` value of `name=value` (`name` already prefixed), `Max-Age` when given
/// (0 removes the cookie).
pub(crate) fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> String {
    let mut header = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        header.push_str("; Secure");
    }
    if let Some(age) = max_age {
        header.push_str(&format!("; Max-Age={age}"));
    }
    header
}

/// A cookie the browser must send on a cross-site POST (a `form_post` callback's
/// transaction): `SameSite=None`, which browsers take only with `Secure` (and keep over
/// plain http on localhost and 127.0.0.1, which they count as secure).
pub(crate) fn set_cross_site_cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=None; Secure; Max-Age={max_age}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_attributes() {
        assert_eq!(name("token", true), "__Host-token");
        assert_eq!(name("token", false), "token");
        assert_eq!(bare("__Host-token"), "token");
        assert_eq!(bare("token"), "token");
        assert_eq!(
            set_cookie("__Host-token", "v", true, Some(60)),
            "__Host-token=v; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=60"
        );
        assert_eq!(
            set_cookie("token", "", false, Some(0)),
            "token=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
        );
        assert_eq!(
            set_cookie("token", "v", false, None),
            "token=v; Path=/; HttpOnly; SameSite=Lax"
        );
    }
}
