//! The CSRF guard. A cookie turned into a bearer makes the API forgeable again: a browser
//! attaches the cookie to a cross-site form POST. Unsafe methods carrying a session cookie
//! must come from this origin: `Sec-Fetch-Site: same-origin` (or `none`, a user-typed
//! navigation), else an `Origin` equal to the request's own or an allowed one.

use crate::config::CsrfOptions;
use crate::error::{Error, Result};
use crate::http::{origin_of, Request};

/// The guard, as `csrf` configures it.
#[derive(Debug, Clone)]
pub(crate) struct Csrf {
    enabled: bool,
    /// Serialized origins (`https://admin.example`).
    allowed_origins: Vec<String>,
}

impl Csrf {
    /// The guard of the `csrf` options; each allowed origin must be written as browsers
    /// send it (`https://host[:port]`, lowercase, no path).
    pub(crate) fn new(options: &CsrfOptions) -> Result<Csrf> {
        let mut allowed_origins = Vec::new();
        for origin in &options.allowed_origins {
            match origin_of(origin) {
                Some(o) if o == origin.to_ascii_lowercase() => allowed_origins.push(o),
                _ => {
                    return Err(Error::ConfigUrl(format!(
                    "csrf.allowedOrigins: {origin:?} is not an origin like \"https://app.example\""
                )))
                }
            }
        }
        Ok(Csrf {
            enabled: options.enabled,
            allowed_origins,
        })
    }

    /// Refuses a cross-site request with an unsafe method.
    pub(crate) fn check(&self, request: &Request) -> Result<()> {
        if !self.enabled
            || matches!(
                request.method.as_ref(),
                "GET" | "HEAD" | "OPTIONS" | "TRACE"
            )
        {
            return Ok(());
        }
        self.same_origin(request)
    }

    /// Did `request` come from this origin? `Sec-Fetch-Site` same-origin or none, else a
    /// single `Origin` equal to the request's own or an allowed one. The one rule for every
    /// question of where a request came from: this guard's, and hosted login's logout
    /// (which asks it whatever `csrf.enabled` says).
    pub(crate) fn same_origin(&self, request: &Request) -> Result<()> {
        if request
            .single("sec-fetch-site")
            .is_some_and(|site| matches!(site.trim(), "same-origin" | "none"))
        {
            return Ok(());
        }
        let Some(origin) = request.single("origin") else {
            return Err(Error::Csrf(
                "no same-origin Sec-Fetch-Site and no single Origin",
            ));
        };
        let origin = origin.trim().to_ascii_lowercase();
        // The request's own origin, from its URL or from its Host header (what the browser
        // connected to; Next rewrites 127.0.0.1 to localhost in the URL it hands over).
        if origin_of(&request.url).is_some_and(|own| own == origin)
            || request.host_origin().is_some_and(|own| own == origin)
            || self.allowed_origins.contains(&origin)
        {
            Ok(())
        } else {
            Err(Error::Csrf("Origin is not this site's"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csrf(allowed: &[&str]) -> Result<Csrf> {
        Csrf::new(&CsrfOptions {
            enabled: true,
            allowed_origins: allowed.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn post(url: &str, headers: &[(&str, &str)]) -> Request<'static> {
        Request::of("POST", url, headers)
    }

    #[test]
    fn allowed_origins_are_serialized_origins() {
        assert!(csrf(&["https://admin.example", "http://localhost:3000"]).is_ok());
        for bad in [
            "https://admin.example/",
            "https://admin.example:443",
            "admin.example",
            "*",
        ] {
            assert_eq!(csrf(&[bad]).unwrap_err().code(), "ERR_CONFIG_URL", "{bad}");
        }
    }

    #[test]
    fn unsafe_methods_must_be_same_origin() {
        let guard = csrf(&["https://admin.example"]).unwrap();
        let url = "https://app.example/api/x";
        for ok in [
            post(url, &[("sec-fetch-site", "same-origin")]),
            post(url, &[("origin", "https://app.example")]),
            post(url, &[("origin", "https://admin.example")]),
            post(
                "http://localhost:3000/api/x",
                &[
                    ("origin", "http://127.0.0.1:3000"),
                    ("host", "127.0.0.1:3000"),
                ],
            ),
        ] {
            assert!(guard.check(&ok).is_ok(), "{ok:?}");
        }
        for bad in [
            post(url, &[]),
            post(url, &[("sec-fetch-site", "cross-site")]),
            post(url, &[("origin", "https://evil.example")]),
            post(
                url,
                &[
                    ("origin", "https://app.example"),
                    ("origin", "https://evil.example"),
                ],
            ),
            post(
                url,
                &[
                    ("sec-fetch-site", "same-origin"),
                    ("sec-fetch-site", "same-origin"),
                ],
            ),
            post(url, &[("origin", "null")]),
        ] {
            assert_eq!(guard.check(&bad).unwrap_err().code(), "ERR_CSRF", "{bad:?}");
        }
    }
}
