//! What the hosted-login tests share (tests/login.rs, tests/review_login.rs): the scripted
//! OpenID provider and the gate before it (`Env`), the provider's names, its token signer,
//! form and query codecs, and readers of decisions.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::HashMap;

use edgegate::{Clock as _, Decision, Fetch, Fetched, Gate, Options, Request};
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};

use super::common::{
    b64, get, header, rsa2_key, rsa_key, sign_raw, status, ManualClock, SignKey, NOW,
};

pub const ISSUER: &str = "https://id.example";
pub const APP: &str = "https://app.example";
pub const CLIENT: &str = "edgegate-app";
pub const API: &str = "https://api.example";
pub const SEAL: &str = "a-login-secret-of-at-least-32-bytes!!!";
pub const TOKEN_ENDPOINT: &str = "https://id.example/token";
pub const PAR_ENDPOINT: &str = "https://id.example/par";
/// An API whose access tokens another issuer signs (`Provider::access_iss`).
pub const API_ISSUER: &str = "https://api-id.example";

/// How the provider names the refresh tokens it hands out, and whom a refresh answers for.
pub enum RefreshTokens {
    /// `rt-<n>`, `n` the calls it has had; a refresh answers for `user-1`, and the token
    /// response names its `scope` (which the gate does not read). tests/login.rs.
    Numbered,
    /// `rt-<sub>`; a refresh answers for `owner-of-<refresh token>`. tests/review_login.rs.
    Owned,
}

/// The provider: what it serves, what it was asked, and knobs for a hostile or lax one.
/// Its `Default` is the honest provider.
pub struct Provider {
    pub calls: RefCell<Vec<Fetch>>,
    /// The nonce of each code the authorization endpoint handed out.
    pub nonces: RefCell<HashMap<String, String>>,
    /// The codes redeemed so far.
    pub spent: RefCell<Vec<String>>,
    /// Discovery's `authorization_response_iss_parameter_supported` (RFC 9207).
    pub iss_supported: bool,
    pub refresh_tokens: RefreshTokens,
    /// Claims merged into the next ID tokens (null removes one).
    pub id_claims: RefCell<Value>,
    /// Signs ID tokens with another key than the published one.
    pub id_key_other: RefCell<bool>,
    /// The token endpoint refuses every code (it always refuses one it has seen, unless
    /// `reuse_codes`).
    pub refuse: RefCell<bool>,
    /// A lax provider: a code may be redeemed more than once.
    pub reuse_codes: RefCell<bool>,
    /// The JWKS endpoint answers 500.
    pub jwks_down: RefCell<bool>,
    /// Token responses carry no refresh token.
    pub no_refresh: RefCell<bool>,
    /// The access tokens' issuer: the login's, or `API_ISSUER` (with keys of its own).
    pub access_iss: RefCell<String>,
    /// RFC 9126: discovery names a PAR endpoint; the provider requires pushes.
    pub par_endpoint: bool,
    pub par_required: bool,
    /// Pushed requests' parameters by `request_uri`, until used.
    pub pushed: RefCell<HashMap<String, HashMap<String, String>>>,
    /// The PAR endpoint answers this error.
    pub refuse_push: RefCell<Option<&'static str>>,
    /// Every code signs in this user (else each its own).
    pub user: RefCell<Option<String>>,
}

impl Default for Provider {
    fn default() -> Provider {
        Provider {
            calls: RefCell::new(Vec::new()),
            nonces: RefCell::new(HashMap::new()),
            spent: RefCell::new(Vec::new()),
            iss_supported: true,
            refresh_tokens: RefreshTokens::Numbered,
            id_claims: RefCell::new(json!({})),
            id_key_other: RefCell::new(false),
            refuse: RefCell::new(false),
            reuse_codes: RefCell::new(false),
            jwks_down: RefCell::new(false),
            no_refresh: RefCell::new(false),
            access_iss: RefCell::new(ISSUER.into()),
            par_endpoint: true,
            par_required: false,
            pushed: RefCell::new(HashMap::new()),
            refuse_push: RefCell::new(None),
            user: RefCell::new(None),
        }
    }
}

impl Provider {
    /// How many calls went to `url`.
    pub fn count(&self, url: &str) -> usize {
        self.calls.borrow().iter().filter(|f| f.url == url).count()
    }

    pub fn serve(&self, f: &Fetch, now: f64) -> Fetched {
        self.calls.borrow_mut().push(f.clone());
        let ok = |body: Value| Fetched::Response {
            status: 200,
            body: body.to_string(),
        };
        match f.url.as_str() {
            "https://id.example/.well-known/openid-configuration" => {
                let mut doc = json!({
                    "issuer": ISSUER,
                    "authorization_endpoint": "https://id.example/authorize",
                    "token_endpoint": TOKEN_ENDPOINT,
                    "jwks_uri": "https://id.example/jwks",
                    "revocation_endpoint": "https://id.example/revoke",
                    "end_session_endpoint": "https://id.example/logout",
                    "code_challenge_methods_supported": ["S256"],
                    "authorization_response_iss_parameter_supported": self.iss_supported,
                    "require_pushed_authorization_requests": self.par_required,
                });
                if self.par_endpoint {
                    doc["pushed_authorization_request_endpoint"] = json!(PAR_ENDPOINT);
                }
                ok(doc)
            }
            PAR_ENDPOINT => {
                if let Some(error) = *self.refuse_push.borrow() {
                    return Fetched::Response {
                        status: 400,
                        body: json!({ "error": error }).to_string(),
                    };
                }
                let uri = format!(
                    "urn:ietf:params:oauth:request_uri:{}",
                    self.pushed.borrow().len()
                );
                let params = form(f.body.as_deref().unwrap_or_default());
                self.pushed.borrow_mut().insert(uri.clone(), params);
                Fetched::Response {
                    status: 201,
                    body: json!({ "request_uri": uri, "expires_in": 60 }).to_string(),
                }
            }
            "https://api-id.example/.well-known/openid-configuration" => ok(json!({
                "issuer": API_ISSUER,
                "jwks_uri": "https://api-id.example/jwks",
            })),
            "https://id.example/jwks" if *self.jwks_down.borrow() => Fetched::Response {
                status: 500,
                body: String::new(),
            },
            "https://id.example/jwks" | "https://api-id.example/jwks" => {
                let SignKey::Rsa(k) = rsa_key() else {
                    unreachable!()
                };
                ok(
                    json!({ "keys": [{ "kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                    "n": b64(k.n().to_bytes_be()), "e": b64(k.e().to_bytes_be()) }] }),
                )
            }
            "https://id.example/revoke" => ok(json!({})),
            TOKEN_ENDPOINT => self.token(f, now),
            other => Fetched::Network(format!("unknown {other}")),
        }
    }

    pub fn token(&self, f: &Fetch, now: f64) -> Fetched {
        let form = form(f.body.as_deref().unwrap_or_default());
        let refused = Fetched::Response {
            status: 400,
            body: r#"{"error":"invalid_grant"}"#.into(),
        };
        let (sub, nonce) = match form["grant_type"].as_str() {
            "authorization_code" => {
                let code = &form["code"];
                if *self.refuse.borrow()
                    || (!*self.reuse_codes.borrow() && self.spent.borrow().contains(code))
                {
                    return refused;
                }
                self.spent.borrow_mut().push(code.clone());
                let Some(nonce) = self.nonces.borrow().get(code).cloned() else {
                    return refused;
                };
                let user = self.user.borrow().clone();
                let sub = user.unwrap_or_else(|| code.trim_start_matches("code-").to_owned());
                (sub, Some(nonce))
            }
            "refresh_token" => match self.refresh_tokens {
                _ if self.user.borrow().is_some() => (self.user.borrow().clone().unwrap(), None),
                RefreshTokens::Numbered => ("user-1".to_owned(), None),
                RefreshTokens::Owned => (format!("owner-of-{}", form["refresh_token"]), None),
            },
            _ => return refused,
        };
        let mut id = json!({ "iss": ISSUER, "aud": CLIENT, "sub": sub, "iat": now, "exp": now + 300.0,
            "email": "ada@example.com", "name": "Ada" });
        if let Some(n) = nonce {
            id["nonce"] = json!(n);
        }
        merge(&mut id, self.id_claims.borrow().clone());
        let key = if *self.id_key_other.borrow() {
            rsa2_key()
        } else {
            rsa_key()
        };
        let id_token = kid_token(&key, &id);
        let access = kid_token(
            &rsa_key(),
            &json!({ "iss": *self.access_iss.borrow(), "aud": API, "sub": sub, "iat": now,
            "exp": now + 300.0, "scope": "openid read:stocks" }),
        );
        let refresh_token = match self.refresh_tokens {
            RefreshTokens::Numbered => format!("rt-{}", self.calls.borrow().len()),
            RefreshTokens::Owned => format!("rt-{sub}"),
        };
        let mut body = json!({ "access_token": access, "token_type": "Bearer", "expires_in": 300,
            "refresh_token": refresh_token, "id_token": id_token });
        if let RefreshTokens::Numbered = self.refresh_tokens {
            body["scope"] = json!("openid offline_access");
        }
        if *self.no_refresh.borrow() {
            body.as_object_mut().unwrap().remove("refresh_token");
        }
        Fetched::Response {
            status: 200,
            body: body.to_string(),
        }
    }
}

/// The options of every login test: a page and an API rule, `verify` for the provider's
/// access tokens and `login` at it; `extra` merged in (`merge`).
pub fn login_options(extra: Value) -> Value {
    let mut o = json!({
        "rules": [
            { "match": "/dashboard/:path*", "kind": "page" },
            { "match": "/api/:path*", "kind": "api", "upstream": "https://backend.internal" },
        ],
        "verify": { "algorithms": ["RS256"], "issuer": ISSUER, "audience": API },
        "login": { "issuer": ISSUER, "clientId": CLIENT, "clientSecret": "client-secret", "secret": SEAL,
                   "sessionClaims": ["email", "name"], "appBaseUrl": APP },
    });
    merge(&mut o, extra);
    o
}

/// A gate under `login_options`, the provider it calls, and the clock the test moves.
pub struct Env {
    pub gate: Gate,
    pub idp: Provider,
    pub clock: std::sync::Arc<ManualClock>,
}

/// A login begun: the authorization request's parameters, the transaction cookie
/// (`name=value`) and the code the provider will hand back.
pub struct Login {
    pub params: HashMap<String, String>,
    pub tx: String,
    pub code: String,
}

impl Login {
    /// The callback's query the provider sends the browser back with.
    pub fn query(&self) -> String {
        format!(
            "code={}&state={}&iss={}",
            self.code,
            self.params["state"],
            encode(ISSUER)
        )
    }
}

impl Env {
    /// Before the default provider.
    pub fn new(extra: Value) -> Env {
        Env::with(extra, Provider::default())
    }

    pub fn with(extra: Value, idp: Provider) -> Env {
        let clock = ManualClock::at(NOW);
        let options = Options::from_json(&login_options(extra).to_string()).unwrap();
        Env {
            gate: Gate::with_clock(options, clock.clone()).unwrap(),
            idp,
            clock,
        }
    }

    pub fn decide(&self, r: &Request) -> Decision {
        self.gate
            .decide_with(r, |f| self.idp.serve(f, self.clock.now()))
    }

    /// `<base>/auth/login` as a navigation, with `jar`: the decision, and the login begun.
    /// The transaction cookie is `__Host-` on https.
    pub fn start_at(&self, base: &str, return_to: &str, jar: &str) -> (Decision, Login) {
        let url = format!("{base}/auth/login?returnTo={return_to}");
        let d = self.decide(&get(
            &url,
            &[("sec-fetch-mode", "navigate"), ("cookie", jar)],
        ));
        assert_eq!(status(&d), 307, "{d:#?}");
        let location = header(response_headers(&d), "location").unwrap().to_owned();
        let (endpoint, query) = location.split_once('?').unwrap();
        assert_eq!(endpoint, "https://id.example/authorize");
        let mut params = form(query);
        // A pushed request: the provider's copy of the parameters, used once.
        if let Some(uri) = params.get("request_uri") {
            assert_eq!(
                params.len(),
                2,
                "only client_id and request_uri: {location}"
            );
            assert_eq!(params["client_id"], CLIENT);
            params = self.idp.pushed.borrow_mut().remove(uri).expect("pushed");
        }
        let tx = d
            .set_cookies
            .last()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let prefix = if base.starts_with("https://") {
            "__Host-"
        } else {
            ""
        };
        assert!(
            tx.starts_with(&format!("{prefix}edgegate-tx-{}=", params["state"])),
            "{tx}"
        );
        // The provider hands out a code bound to the nonce it was sent.
        let code = format!("code-{}", &params["state"][..8]);
        self.idp
            .nonces
            .borrow_mut()
            .insert(code.clone(), params["nonce"].clone());
        (d, Login { params, tx, code })
    }

    /// `/auth/login` as a navigation at the app.
    pub fn start(&self, return_to: &str, jar: &str) -> (Decision, Login) {
        self.start_at(APP, return_to, jar)
    }

    pub fn callback(&self, query: &str, jar: &str) -> Decision {
        self.decide(&get(
            &format!("{APP}/auth/callback?{query}"),
            &[("cookie", jar)],
        ))
    }

    /// A whole login from `returnTo` `raw`: the callback's decision.
    pub fn log_in_to(&self, raw: &str, jar: &str) -> Decision {
        let (_, login) = self.start(raw, jar);
        let jar = [jar, &login.tx].join("; ");
        let d = self.callback(&login.query(), &jar);
        assert_eq!(d.code, "OK_LOGGED_IN", "{d:#?}");
        d
    }

    pub fn log_in(&self, jar: &str) -> Decision {
        self.log_in_to("%2F", jar)
    }

    /// Where a whole login from `returnTo` `raw` lands.
    pub fn lands(&self, raw: &str) -> String {
        location(&self.log_in_to(raw, "")).to_owned()
    }
}

/// An RS256 token under the provider's published `kid`.
pub fn kid_token(key: &SignKey, claims: &Value) -> String {
    sign_raw(
        "RS256",
        key,
        r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#,
        claims.to_string().as_bytes(),
    )
}

/// Merges `extra` into `into`, objects member by member; `null` removes a member.
pub fn merge(into: &mut Value, extra: Value) {
    if let (Value::Object(o), Value::Object(e)) = (into, extra) {
        for (k, v) in e {
            match (o.get_mut(&k), v) {
                (_, Value::Null) => {
                    o.remove(&k);
                }
                (Some(inner @ Value::Object(_)), v @ Value::Object(_)) => merge(inner, v),
                (_, v) => {
                    o.insert(k, v);
                }
            }
        }
    }
}

pub fn decode(s: &str) -> String {
    let bytes = s.replace('+', " ");
    let mut out = Vec::new();
    let b = bytes.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(u8::from_str_radix(&bytes[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

pub fn form(s: &str) -> HashMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn location(d: &Decision) -> &str {
    header(response_headers(d), "location").unwrap()
}

pub fn response_headers(d: &Decision) -> &[(String, String)] {
    match &d.action {
        edgegate::Action::Respond { headers, .. } => headers,
        other => panic!("not a response: {other:?}"),
    }
}

/// The `name=value` of every cookie a decision sets (not clears).
pub fn set(d: &Decision) -> Vec<String> {
    d.set_cookies
        .iter()
        .filter(|c| !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .collect()
}
