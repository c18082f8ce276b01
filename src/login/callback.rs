//! `GET <prefix>/callback`: every check of the provider's answer, the code exchange, the ID
//! token and the access token, then the session.

use super::*;

impl Login {
    /// `GET <prefix>/callback`: every check of the provider's answer, then the session.
    /// `answer`: the request's query, or with `form_post` its body.
    pub(crate) fn callback(
        &self,
        request: &Request,
        answer: Option<&str>,
        session: &SessionCookies,
        verify_access: Verify<'_>,
        verdict: Option<(&str, bool)>,
        now: f64,
    ) -> std::result::Result<Progress<Decision>, HostCheck> {
        // The provider's answer: in the query of its redirect, or with form_post in the form
        // it has the browser post (never the other: a mode the login did not ask for).
        let (method, answer) = match self.form_post {
            // Over the limit (the host read one byte more): no answer, not its first 16 KB.
            true => (
                "POST",
                answer.filter(|a| is_form(request) && a.len() <= MAX_FORM),
            ),
            false => ("GET", answer),
        };
        if request.method != method {
            let why = match self.form_post {
                true => "the callback takes POST (form_post)",
                false => "the callback takes GET",
            };
            return Ok(done(refused(LoginError::Method, why, method_not_allowed())));
        }
        let secure = request.secure();
        let params = match transaction::query_params(answer, &["state", "code", "iss", "error"]) {
            Ok(p) => p,
            Err(e) => return Ok(done(self.failure(e, None))),
        };
        let [state, code, iss, error] = [0, 1, 2, 3].map(|i| params[i].as_deref());
        // The state names the transaction cookie; only that cookie can answer for it.
        let Some(state) = state.filter(|s| transaction::valid_state(s)) else {
            return Ok(done(self.failure(
                Error::Login(LoginError::State, "no valid state".into()),
                None,
            )));
        };
        let name = transaction::cookie_name(secure, state);
        let clear = self.tx_cookie(&name, "", secure, 0);
        let cookies = request.cookies().unwrap_or_default();
        let mut values = crate::extract::cookie_pairs(&cookies)
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v);
        let tx = match (values.next(), values.next()) {
            (Some(v), None) => Transaction::open(&self.sealer, &name, v),
            _ => None,
        };
        let Some(tx) = tx.filter(|tx| bool::from(tx.state.as_bytes().ct_eq(state.as_bytes())))
        else {
            return Ok(done(self.failure(
                Error::Login(
                    LoginError::State,
                    "no transaction of this browser has this state".into(),
                ),
                Some(clear),
            )));
        };
        if !(0.0..=transaction::LIFETIME).contains(&(now - tx.created)) {
            return Ok(done(self.failure(
                Error::Login(
                    LoginError::Expired,
                    "the login took more than 10 minutes".into(),
                ),
                Some(clear),
            )));
        }
        let metadata = match self.metadata(now) {
            Ok(Progress::Done(m)) => m,
            Ok(Progress::NeedsFetch(f)) => return Ok(Progress::NeedsFetch(f)),
            Err(e) => return Ok(done(self.failure(e, Some(clear)))),
        };
        // RFC 9207: a mix-up attack answers with another issuer's `iss`, or none.
        match iss {
            Some(iss) if iss != self.issuer => {
                return Ok(done(self.failure(
                    Error::Login(LoginError::Iss, "iss is another issuer".into()),
                    Some(clear),
                )))
            }
            None if metadata.iss_parameter_supported => {
                return Ok(done(self.failure(
                    Error::Login(
                        LoginError::Iss,
                        "the provider sends iss, and it is missing".into(),
                    ),
                    Some(clear),
                )))
            }
            _ => {}
        }
        if let Some(error) = error {
            return Ok(done(self.failure(
                Error::Login(LoginError::Provider, provider_error(error)),
                Some(clear),
            )));
        }
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            return Ok(done(self.failure(
                Error::Login(LoginError::Exchange, "no code".into()),
                Some(clear),
            )));
        };
        // Single-flight per code and verifier: the request's later rounds (key fetches) find
        // the outcome again instead of spending the code twice.
        let exchange = calls::key(&["code", code, &tx.verifier]);
        let call = self.exchanges.call(exchange, now);
        let exchanged = calls::progress(
            call,
            || Err("too many logins in flight".into()),
            |id| {
                self.client.post(
                    id,
                    &metadata.token_endpoint,
                    now,
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", code),
                        ("redirect_uri", &tx.redirect_uri),
                        ("code_verifier", &tx.verifier),
                    ],
                )
            },
        );
        let tokens = match exchanged {
            Progress::NeedsFetch(f) => return Ok(Progress::NeedsFetch(f)),
            Progress::Done(Ok(tokens)) => tokens,
            Progress::Done(Err(why)) => {
                return Ok(done(
                    self.failure(Error::Login(LoginError::Exchange, why), Some(clear)),
                ))
            }
        };
        match self.check_id_token(tokens.id_token.as_deref(), &tx, verdict, now)? {
            Progress::NeedsFetch(f) => return Ok(Progress::NeedsFetch(f)),
            Progress::Done(Ok(())) => {}
            Progress::Done(Err(e)) => return Ok(done(self.failure(e, Some(clear)))),
        }
        match verify_access(&tokens.access_token)? {
            Progress::NeedsFetch(f) => return Ok(Progress::NeedsFetch(f)),
            Progress::Done(Ok(_)) => {}
            Progress::Done(Err(e)) => return Ok(done(self.failure(e, Some(clear)))),
        }
        let stored = Session {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_at: tokens.expires_in.map(|s| now + s),
        };
        // The ID token is kept for logout's hint, the profile and back-channel logout; for
        // one a browser would drop (over 4 KB: Entra with many groups) only who logged in
        // (`sub`, `sid`, `iat`), and logout sends client_id alone.
        let id_cookie = tokens
            .id_token
            .as_deref()
            .map(|t| self.id_cookie(t, secure, session.lifetime()))
            .transpose();
        let present = request.cookies();
        let cookies = session
            .set(&request.url, present.as_deref(), &stored, now)
            .and_then(|mut c| {
                // Without a new one, an older session's ID token (another account's) goes too.
                c.push(id_cookie?.unwrap_or_else(|| clear_id_cookie(secure)));
                // A login replaces the whole session: without a refresh token of its own, the
                // one before it (another login's, perhaps another account's) must not stay and
                // later refresh this browser into that session.
                if stored.refresh_token.is_none() {
                    c.extend(session.clear_refresh(&request.url));
                }
                Ok(c)
            });
        match cookies {
            Ok(mut set) => {
                // The code's tokens went to one session: a replay of this callback gets none.
                self.exchanges
                    .spend(exchange, Err("the code was already used".into()));
                set.push(clear);
                let mut d = Decision::passed(
                    Passed::LoggedIn,
                    redirect(303, tx.return_to.clone()),
                    Under::NONE,
                    None,
                );
                d.set_cookies = set;
                Ok(Progress::Done(d))
            }
            Err(e) => Ok(done(self.failure(e, Some(clear)))),
        }
    }

    /// OIDC Core 3.1.3.7 for the ID token of a code exchange: its signature against the
    /// provider's keys, `iss`, `aud` containing the client, `azp` when there are several
    /// audiences (or at all), `exp`, `iat`, and the transaction's `nonce`.
    /// `verdict`: the host's on a signature it was asked to check (see [`HostCheck`]).
    fn check_id_token(
        &self,
        token: Option<&str>,
        tx: &Transaction,
        verdict: Option<(&str, bool)>,
        now: f64,
    ) -> std::result::Result<Progress<Result<()>>, HostCheck> {
        let fail = |why: String| Ok(Progress::Done(Err(Error::Login(LoginError::IdToken, why))));
        let Some(token) = token else {
            return fail("the token response has no id_token".into());
        };
        let progress = self.id_tokens.verify_progress(token, now, verdict);
        let progress = progress.map_err(|unverified| HostCheck {
            unverified,
            checker: Checker::IdToken,
        })?;
        let verified = match progress {
            Progress::NeedsFetch(f) => return Ok(Progress::NeedsFetch(f)),
            Progress::Done(Ok(v)) => v,
            // The provider's keys, not the token, failed: 503, as for any token.
            Progress::Done(Err(e)) if e.is_keys_unavailable() => {
                return Ok(Progress::Done(Err(Error::Login(
                    LoginError::Unavailable,
                    e.to_string(),
                ))))
            }
            Progress::Done(Err(e)) => return fail(format!("{} ({})", e, e.code())),
        };
        let claims = &verified.claims;
        let audiences = match claims.get("aud") {
            Some(Value::Array(a)) => a.len(),
            _ => 1,
        };
        match claims.get("azp") {
            Some(Value::String(azp)) if *azp != self.client.id => {
                return fail("azp is another client".into())
            }
            Some(Value::String(_)) => {}
            None if audiences > 1 => return fail("several audiences and no azp".into()),
            None => {}
            Some(_) => return fail("azp is not a string".into()),
        }
        let nonce = claims
            .get("nonce")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !bool::from(nonce.as_bytes().ct_eq(tx.nonce.as_bytes())) {
            return fail("nonce does not match the transaction".into());
        }
        Ok(Progress::Done(Ok(())))
    }

    /// The sealed ID-token cookie: the token, or where that would pass a cookie's 4096 bytes
    /// its identity as a JSON object.
    fn id_cookie(&self, token: &str, secure: bool, lifetime: i64) -> Result<String> {
        let name = id_cookie_name(secure);
        let whole = cookie(
            &name,
            &self.sealer.seal(&name, token.as_bytes())?,
            secure,
            lifetime,
        );
        if whole.len() <= MAX_COOKIE_BYTES {
            return Ok(whole);
        }
        let claims = crate::verify::jws::parse(token)
            .ok()
            .and_then(|j| j.claims());
        // Inserted one by one: collecting into the (B-tree) map would link a slice sort.
        let mut identity = Map::new();
        for name in ["sub", "sid", "iat"] {
            if let Some(v) = claims.as_ref().and_then(|c| c.get(name)) {
                identity.insert(name.into(), v.clone());
            }
        }
        let text = serde_json::to_string(&Value::Object(identity)).unwrap_or_default();
        Ok(cookie(
            &name,
            &self.sealer.seal(&name, text.as_bytes())?,
            secure,
            lifetime,
        ))
    }
}
