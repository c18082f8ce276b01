//! `GET <prefix>/login`: a sealed transaction (state, nonce, PKCE verifier, returnTo) and
//! the redirect to the provider, for a real navigation only.

use super::*;

impl Login {
    /// `GET <prefix>/login`: a new transaction and the redirect to the provider; with
    /// pushed authorization requests, the push first, and the redirect in the run after it
    /// (`round.after`: the ticket this request waited on last).
    pub(crate) fn start(
        &self,
        request: &Request,
        path: &NormalizedPath,
        return_param: &str,
        Round { fetches, after }: Round,
        now: f64,
    ) -> Progress<Decision> {
        if !matches!(request.method.as_ref(), "GET" | "HEAD") {
            return done(refused(
                LoginError::Method,
                "login takes GET",
                method_not_allowed(),
            ));
        }
        if !is_navigation(request) {
            // A prefetch, an RSC fetch or a script: no transaction, so no cookie pile-up.
            return done(refused(
                LoginError::Navigation,
                "only a navigation starts a login",
                json(401, r#"{"error":"login_required"}"#),
            ));
        }
        // A pushed login's run after its push: the transaction and where it goes, by the
        // ticket this request waited on (before discovery, which may have expired since).
        if let Some((tx, pushed)) = after.and_then(|id| self.pushes.take(id)) {
            return match pushed {
                Ok((endpoint, uri)) => {
                    let params = [
                        ("client_id", self.client.id.as_str()),
                        ("request_uri", &uri),
                    ];
                    self.send(request, tx, with_query(&endpoint, &params))
                }
                Err(e) => done(self.failure(e, None)),
            };
        }
        let metadata = match self.metadata(now) {
            Ok(Progress::Done(m)) => m,
            Ok(Progress::NeedsFetch(f)) => return Progress::NeedsFetch(f),
            Err(e) => return done(self.failure(e, None)),
        };
        let push = if self.push || metadata.require_pushed_authorization_requests {
            // Never silently in the front channel when the options or the provider say push.
            let Some(endpoint) = &metadata.pushed_authorization_request_endpoint else {
                return done(
                    self.unavailable("the provider has no pushed_authorization_request_endpoint"),
                );
            };
            // A host that does not name the ticket it waited on would push on every round.
            if fetches > 0 && after.is_none() {
                return done(self.unavailable(
                    "this host does not say which fetch a round follows (decide's `after`)",
                ));
            }
            Some(endpoint)
        } else {
            None
        };
        let return_to = transaction::query_params(path.query.as_deref(), &[return_param])
            .ok()
            .and_then(|mut v| v.pop().flatten())
            .and_then(|raw| transaction::return_to(&encode_uri_component(&raw)))
            // Never one of these routes: `/auth/login` would loop through the provider.
            .filter(|to| normalize(to).ok().and_then(|p| self.route(&p)).is_none())
            .unwrap_or_else(|| "/".into());
        let redirect_uri = match &self.redirect_uri {
            Some(uri) => uri.clone(),
            None => match self.app_origin(request) {
                Ok(origin) => format!("{origin}{}/callback", self.prefix),
                Err(e) => return done(self.failure(e, None)),
            },
        };
        let tx = match Transaction::begin(return_to, redirect_uri, now) {
            Ok(tx) => tx,
            Err(e) => return done(self.failure(e, None)),
        };
        let challenge = tx.challenge();
        let mut params: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &self.client.id),
            ("redirect_uri", &tx.redirect_uri),
            ("scope", &self.scope),
            ("state", &tx.state),
            ("nonce", &tx.nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        if self.form_post {
            params.push(("response_mode", "form_post"));
        }
        params.extend(self.extra.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let Some(endpoint) = push else {
            let location = with_query(&metadata.authorization_endpoint, &params);
            return self.send(request, tx, location);
        };
        let id = self
            .pushes
            .begin(tx.clone(), &metadata.authorization_endpoint, now);
        Progress::NeedsFetch(self.client.push(id, endpoint, &self.issuer, now, &params))
    }

    /// The redirect to the provider's `location`, with `tx` sealed in its cookie.
    fn send(&self, request: &Request, mut tx: Transaction, location: String) -> Progress<Decision> {
        let secure = request.secure();
        let name = transaction::cookie_name(secure, &tx.state);
        let mut value = tx.seal(&self.sealer, &name);
        // A browser drops a cookie past 4096 bytes without a word, and the login with it: a
        // returnTo that long lands on `/` instead.
        if value
            .as_ref()
            .is_ok_and(|v| name.len() + 1 + v.len() > MAX_COOKIE_BYTES)
        {
            tx.return_to = "/".into();
            value = tx.seal(&self.sealer, &name);
        }
        let value = match value {
            Ok(v) => v,
            Err(e) => return done(self.failure(e, None)),
        };
        let mut d = Decision::passed(
            Passed::LoginStarted,
            redirect(307, location),
            Under::NONE,
            None,
        );
        d.set_cookies = self.drop_oldest(request, secure);
        let lifetime = transaction::LIFETIME as i64;
        (d.set_cookies).push(self.tx_cookie(&name, &value, secure, lifetime));
        Progress::Done(d)
    }

    /// Clears transactions beyond the newest `MAX_LIVE - 1`, and any that do not open, so
    /// the new one makes at most `MAX_LIVE`.
    fn drop_oldest(&self, request: &Request, secure: bool) -> Vec<String> {
        let cookies = request.cookies().unwrap_or_default();
        let live: Vec<(f64, &str)> = crate::extract::cookie_pairs(&cookies)
            .filter(|(name, _)| transaction::is_cookie(name))
            .map(|(name, value)| {
                let created = Transaction::open(&self.sealer, name, value)
                    .map_or(f64::NEG_INFINITY, |t| t.created);
                (created, name)
            })
            .collect();
        // Kept: the newest MAX_LIVE - 1 that open (a handful at most: no sort needed).
        live.iter()
            .filter(|(created, _)| {
                let newer = live.iter().filter(|(other, _)| other > created).count();
                created.is_infinite() || newer + 1 >= transaction::MAX_LIVE
            })
            .map(|(_, name)| self.tx_cookie(name, "", secure, 0))
            .collect()
    }
}

/// A top-level navigation, not a prefetch: `Sec-Fetch-Mode: navigate` (every current
/// browser sends it; without it nothing proves a navigation), and no prefetch purpose
/// (speculation rules and `<link rel=prefetch>` navigate too, with `Sec-Purpose: prefetch`;
/// Next's router prefetches with its own headers).
pub(super) fn is_navigation(request: &Request) -> bool {
    let navigate = request
        .single("sec-fetch-mode")
        .is_some_and(|m| crate::http::same_name(m.trim(), "navigate"));
    let prefetch = ["sec-purpose", "purpose", "next-router-prefetch", "rsc"]
        .iter()
        .any(|h| request.values(h).next().is_some());
    navigate && !prefetch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(headers: &[(&str, &str)]) -> Request<'static> {
        Request::of("GET", "https://app.example/auth/login", headers)
    }

    #[test]
    fn only_a_navigation_that_is_no_prefetch_starts_a_login() {
        let navigate = ("sec-fetch-mode", "navigate");
        assert!(is_navigation(&get(&[navigate])));
        assert!(is_navigation(&get(&[("Sec-Fetch-Mode", " Navigate ")])));
        assert!(!is_navigation(&get(&[])));
        assert!(!is_navigation(&get(&[("sec-fetch-mode", "cors")])));
        assert!(
            !is_navigation(&get(&[navigate, navigate])),
            "repeated: not one mode"
        );
        for prefetch in ["sec-purpose", "purpose", "next-router-prefetch", "rsc"] {
            assert!(
                !is_navigation(&get(&[navigate, (prefetch, "1")])),
                "{prefetch}"
            );
        }
    }
}
