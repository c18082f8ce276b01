//! Every answer the gate gives itself (RFC 6750 for APIs, a login redirect for pages,
//! 400/403/502/503), each built in one place from the options that shape it.

use crate::config::{Options, RuleKind};
use crate::decision::{Action, PRIVATE};
use crate::error::{Error, Result};
use crate::http::{encode_uri_component, is_local_path};
use crate::normalize::NormalizedPath;

/// The gate's own answers, as the options shape them.
#[derive(Debug, Clone)]
pub(crate) struct Answers {
    login_url: String,
    pub(crate) return_to_param: String,
    after_login_url: String,
    /// 503 (the gate is unavailable) or 401 (an invalid token) when keys cannot be had.
    keys_unavailable_status: u16,
}

impl Answers {
    /// The answers of `loginUrl`, `returnToParam`, `afterLoginUrl` and
    /// `keysUnavailableStatus`, checked.
    /// With hosted login, pages send visitors to its route (`login_url`) instead.
    pub(crate) fn new(options: &Options, login_url: Option<String>) -> Result<Answers> {
        if !matches!(options.keys_unavailable_status, 401 | 503) {
            return Err(Error::ConfigInvalid(format!(
                "keysUnavailableStatus must be 401 or 503, got {}",
                options.keys_unavailable_status
            )));
        }
        for (name, url) in [
            ("loginUrl", &options.login_url),
            ("afterLoginUrl", &options.after_login_url),
        ] {
            if !is_local_path(url) {
                return Err(Error::ConfigUrl(format!(
                    "{name} must be a same-origin path starting with a single \"/\", got {url:?}"
                )));
            }
        }
        let param = &options.return_to_param;
        if param.is_empty()
            || !param
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        {
            return Err(Error::ConfigInvalid(format!(
                "returnToParam must be letters, digits, '_', '-' or '.', got {param:?}"
            )));
        }
        Ok(Answers {
            login_url: login_url.unwrap_or_else(|| options.login_url.clone()),
            return_to_param: options.return_to_param.clone(),
            after_login_url: options.after_login_url.clone(),
            keys_unavailable_status: options.keys_unavailable_status,
        })
    }

    /// A visitor with a session on a guest page (login, register) goes on to the app.
    pub(crate) fn after_login(&self) -> Action {
        Action::Redirect {
            location: self.after_login_url.clone(),
        }
    }

    /// The answer for a request a rule of `kind` refuses with `e`.
    pub(crate) fn denial(
        &self,
        kind: RuleKind,
        e: &Error,
        scopes: &[String],
        path: &NormalizedPath,
    ) -> Action {
        let api = kind != RuleKind::Page;
        let unavailable = e.is_provider_unavailable()
            && self.keys_unavailable_status == 503
            && matches!(kind, RuleKind::Page | RuleKind::Api);
        match e {
            _ if unavailable && api => json(503, None, r#"{"error":"temporarily_unavailable"}"#),
            _ if unavailable => text(503, "Service Unavailable", true),
            // Public and guest rules never get here; were one to, it fails closed as an API.
            _ if api => api_denial(e, scopes),
            Error::InsufficientScope => text(403, "Forbidden", false),
            _ => Action::Redirect {
                location: self.login_redirect(path),
            },
        }
    }

    /// `loginUrl` with the judged target as `returnTo`.
    fn login_redirect(&self, path: &NormalizedPath) -> String {
        // The judged path as a URL holds it (percent-encoded), so a page with spaces or
        // non-ASCII characters in its path is one a login can return to.
        let target = path.target();
        let sep = if self.login_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{sep}{}={}",
            self.login_url,
            self.return_to_param,
            encode_uri_component(&target)
        )
    }
}

/// 400 for a request target or matcher the gate refuses to read.
pub(crate) fn bad_request() -> Action {
    json(400, None, r#"{"error":"invalid_request"}"#)
}

/// 403 for a refused cross-site request: JSON for APIs, text for pages.
pub(crate) fn forbidden(kind: RuleKind) -> Action {
    match kind {
        RuleKind::Api => json(403, None, r#"{"error":"forbidden"}"#),
        _ => text(403, "Forbidden", false),
    }
}

/// 502 when the provider's new tokens cannot be stored (nor, then, used).
pub(crate) fn bad_gateway() -> Action {
    text(502, "Bad Gateway", false)
}

/// RFC 6750 §3: no error attribute when no token was sent; `invalid_token` when one failed;
/// `insufficient_scope` (403) when it lacks scopes. Bodies repeat only those fields.
fn api_denial(e: &Error, scopes: &[String]) -> Action {
    match e {
        // A session past its token is no token: the library that wrote it refreshes it.
        Error::NoToken { .. } | Error::SessionTokenExpired | Error::SessionNoToken(_) => {
            json(401, Some("Bearer".into()), "{}")
        }
        Error::InsufficientScope => {
            let scope = scopes.join(" ");
            Action::Respond {
                status: 403,
                headers: json_headers(Some(format!(
                    r#"Bearer error="insufficient_scope", scope="{scope}""#
                ))),
                body: serde_json::to_string(
                    &serde_json::json!({ "error": "insufficient_scope", "scope": scope }),
                )
                .unwrap_or_default(),
            }
        }
        Error::Expired => json(
            401,
            Some(
                r#"Bearer error="invalid_token", error_description="The access token expired""#
                    .into(),
            ),
            r#"{"error":"invalid_token","error_description":"The access token expired"}"#,
        ),
        _ => json(
            401,
            Some(r#"Bearer error="invalid_token""#.into()),
            r#"{"error":"invalid_token"}"#,
        ),
    }
}

/// A JSON answer of the gate's own routes (hosted login's): about one user's session, so
/// private.
pub(crate) fn private_json(status: u16, body: &str) -> Action {
    Action::Respond {
        status,
        headers: vec![
            ("cache-control".into(), PRIVATE.into()),
            ("content-type".into(), "application/json".into()),
        ],
        body: body.into(),
    }
}

/// A redirect of the gate's own routes (hosted login's 303 and 307), as a response: private.
pub(crate) fn private_redirect(status: u16, location: String) -> Action {
    Action::Respond {
        status,
        headers: vec![
            ("cache-control".into(), PRIVATE.into()),
            ("location".into(), location),
        ],
        body: String::new(),
    }
}

fn json(status: u16, www_authenticate: Option<String>, body: &str) -> Action {
    Action::Respond {
        status,
        headers: json_headers(www_authenticate),
        body: body.into(),
    }
}

fn json_headers(www_authenticate: Option<String>) -> Vec<(String, String)> {
    let mut headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        ("cache-control".to_string(), "no-store".to_string()),
    ];
    if let Some(w) = www_authenticate {
        headers.push(("www-authenticate".into(), w));
    }
    headers
}

fn text(status: u16, body: &str, no_store: bool) -> Action {
    let mut headers = vec![("content-type".into(), "text/plain; charset=utf-8".into())];
    if no_store {
        headers.push(("cache-control".into(), "no-store".into()));
    }
    Action::Respond {
        status,
        headers,
        body: body.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;

    fn answers(json: serde_json::Value) -> Result<Answers> {
        Answers::new(&Options::from_json(&json.to_string()).unwrap(), None)
    }

    #[test]
    fn options_are_checked() {
        use serde_json::json;
        assert!(answers(json!({})).is_ok());
        for (bad, code) in [
            (
                json!({ "keysUnavailableStatus": 500 }),
                "ERR_CONFIG_INVALID",
            ),
            (json!({ "loginUrl": "//evil.example" }), "ERR_CONFIG_URL"),
            (
                json!({ "loginUrl": "https://evil.example" }),
                "ERR_CONFIG_URL",
            ),
            (
                json!({ "afterLoginUrl": "/\\evil.example" }),
                "ERR_CONFIG_URL",
            ),
            (json!({ "returnToParam": "a b" }), "ERR_CONFIG_INVALID"),
            (json!({ "returnToParam": "" }), "ERR_CONFIG_INVALID"),
        ] {
            assert_eq!(answers(bad.clone()).unwrap_err().code(), code, "{bad}");
        }
    }

    #[test]
    fn pages_go_to_login_with_the_judged_target() {
        let a = answers(serde_json::json!({ "loginUrl": "/login?x=1", "returnToParam": "next" }))
            .unwrap();
        let path = normalize("/dash/./board?tab=a&b=%2F").unwrap();
        assert_eq!(
            a.denial(
                RuleKind::Page,
                &Error::NoToken {
                    plain_cookie: false
                },
                &[],
                &path
            ),
            Action::Redirect {
                location: "/login?x=1&next=%2Fdash%2Fboard%3Ftab%3Da%26b%3D%252F".into()
            }
        );
        let Action::Respond { status, .. } =
            a.denial(RuleKind::Api, &Error::JwksTimeout, &[], &path)
        else {
            panic!("an API gets a response");
        };
        assert_eq!(status, 503);
    }
}
