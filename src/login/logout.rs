//! `POST <prefix>/logout` (or a same-origin GET navigation): the session cleared, the
//! refresh token revoked, then RP-initiated logout at the provider.

use super::start::is_navigation;
use super::*;
use crate::csrf::Csrf;

impl Login {
    /// `POST <prefix>/logout` (or a same-origin `GET` navigation): revoke, clear, end the
    /// provider's session. A cross-site attempt changes nothing, nor does a same-origin
    /// image, fetch or prefetch.
    pub(crate) fn logout(
        &self,
        request: &Request,
        session: &SessionCookies,
        csrf: &Csrf,
        refresh_token: Option<&str>,
        now: f64,
    ) -> Progress<Decision> {
        if let Err(e) = may_log_out(request, csrf) {
            return done(Decision::refused(
                e,
                json(403, r#"{"error":"forbidden"}"#),
                Under::NONE,
            ));
        }
        let secure = request.secure();
        // The provider's part is best effort: the local session ends whatever happens.
        let metadata = match self.metadata(now) {
            Ok(Progress::Done(m)) => Some(m),
            Ok(Progress::NeedsFetch(f)) => return Progress::NeedsFetch(f),
            Err(_) => None,
        };
        let revocation = metadata
            .as_ref()
            .and_then(|m| m.revocation_endpoint.as_deref());
        if let (Some(url), Some(token)) = (revocation, refresh_token) {
            let call = self.revocations.call(calls::key(&["revoke", token]), now);
            let revoked = calls::progress(
                call,
                || (),
                |id| {
                    self.client.post(
                        id,
                        url,
                        now,
                        &[("token", token), ("token_type_hint", "refresh_token")],
                    )
                },
            );
            if let Progress::NeedsFetch(f) = revoked {
                return Progress::NeedsFetch(f);
            }
        }
        let id_token = self.id_token(request, secure);
        // Without a listed origin, the local session still ends; the provider's page just
        // gets no way back.
        let after = self
            .post_logout_redirect_uri
            .clone()
            .or_else(|| self.app_origin(request).ok().map(|o| format!("{o}/")));
        let location = match (
            metadata
                .as_ref()
                .and_then(|m| m.end_session_endpoint.as_deref()),
            &after,
        ) {
            (Some(end), after) => {
                let mut params = vec![("client_id", self.client.id.as_str())];
                if let Some(hint) = &id_token {
                    params.push(("id_token_hint", hint));
                }
                if let Some(after) = after {
                    params.push(("post_logout_redirect_uri", after));
                }
                with_query(end, &params)
            }
            (None, _) => "/".into(),
        };
        let mut d = Decision::passed(
            Passed::LoggedOut,
            redirect(303, location),
            Under::NONE,
            None,
        );
        d.set_cookies = session.clear(&request.url, request.cookies().as_deref());
        d.set_cookies.push(clear_id_cookie(secure));
        Progress::Done(d)
    }

    /// The ID token of this browser's session, from its sealed cookie (none where the
    /// cookie holds only its identity).
    pub(super) fn id_token(&self, request: &Request, secure: bool) -> Option<String> {
        self.id_sealed(request, secure)
            .filter(|t| !t.starts_with('{'))
    }

    /// The claims of this session's ID token (or of its identity: `sub`, `sid`, `iat`), as
    /// the gate sealed them after verifying it.
    pub(crate) fn id_claims(&self, request: &Request, secure: bool) -> Option<Map<String, Value>> {
        let text = self.id_sealed(request, secure)?;
        match text.starts_with('{') {
            true => crate::verify::jws::parse_object(text.as_bytes()),
            false => crate::verify::jws::parse(&text).ok()?.claims(),
        }
    }

    /// What the sealed ID-token cookie holds.
    fn id_sealed(&self, request: &Request, secure: bool) -> Option<String> {
        let name = id_cookie_name(secure);
        let cookies = request.cookies()?;
        let value = crate::extract::cookie_pairs(&cookies)
            .find(|(n, _)| *n == name)?
            .1;
        String::from_utf8(self.sealer.open(&name, value).ok()?).ok()
    }
}

/// Logout's CSRF rule: a POST from this origin (the gate's one rule, [`Csrf::same_origin`]),
/// or a GET a user made here: a GET carries no `Origin`, so only Fetch Metadata can show it
/// (`Sec-Fetch-Site` same-origin or none) and only a navigation counts (a same-origin link,
/// or typed). Never a cross-site link or form, nor a same-origin `<img>`, script fetch or
/// router prefetch.
fn may_log_out(request: &Request, csrf: &Csrf) -> Result<()> {
    match request.method.as_ref() {
        "POST" => csrf.same_origin(request),
        "GET" => {
            let site = request.single("sec-fetch-site").map(str::trim);
            match matches!(site, Some("same-origin" | "none")) && is_navigation(request) {
                true => Ok(()),
                false => Err(Error::Csrf(
                    "a logout by GET must be a navigation from this origin",
                )),
            }
        }
        _ => Err(Error::Login(LoginError::Method, "logout takes POST".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CsrfOptions;

    fn request(method: &str, headers: &[(&str, &str)]) -> Request<'static> {
        Request::of(method, "https://app.example/auth/logout", headers)
    }

    #[test]
    fn a_logout_comes_from_this_origin_and_a_get_is_a_navigation() {
        let csrf = Csrf::new(&CsrfOptions {
            enabled: false, // logout asks the rule whatever the guard's setting
            allowed_origins: vec!["https://admin.example".into()],
        })
        .unwrap();
        let code = |r: &Request| may_log_out(r, &csrf).map_err(|e| e.code());
        let navigate = [
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "navigate"),
        ];
        assert_eq!(
            code(&request("POST", &[("sec-fetch-site", "same-origin")])),
            Ok(())
        );
        assert_eq!(
            code(&request("POST", &[("origin", "https://app.example")])),
            Ok(())
        );
        assert_eq!(
            code(&request("POST", &[("origin", "https://admin.example")])),
            Ok(())
        );
        assert_eq!(code(&request("GET", &navigate)), Ok(()));
        for refused in [
            request("POST", &[("origin", "https://evil.example")]),
            request("POST", &[]),
            request("POST", &[("sec-fetch-site", "cross-site")]),
            // An <img> or a script's fetch of the same origin: not a navigation.
            request("GET", &[("sec-fetch-site", "same-origin")]),
            request(
                "GET",
                &[
                    ("sec-fetch-site", "same-origin"),
                    ("sec-fetch-mode", "no-cors"),
                ],
            ),
            // A GET carries no Origin worth reading.
            request("GET", &[("origin", "https://app.example")]),
            request(
                "GET",
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("sec-fetch-mode", "navigate"),
                ],
            ),
        ] {
            assert_eq!(code(&refused), Err("ERR_CSRF"), "{refused:?}");
        }
        let prefetch = [navigate.as_slice(), &[("sec-purpose", "prefetch")]].concat();
        assert_eq!(code(&request("GET", &prefetch)), Err("ERR_CSRF"));
        assert_eq!(code(&request("PUT", &navigate)), Err("ERR_LOGIN_METHOD"));
    }
}
