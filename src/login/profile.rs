//! `GET <prefix>/session`: the profile client components read, judged by the gate's own
//! pipeline as an API.

use super::*;

impl Login {
    /// `<prefix>/session`'s answer for a verified session: `sub`, `exp`, and the configured
    /// claims from the ID token of the same subject (else from the access token).
    pub(crate) fn session_json(&self, request: &Request, verified: Option<&Verified>) -> Action {
        let Some(v) = verified else {
            return json(200, r#"{"authenticated":false}"#);
        };
        let mut out = Map::new();
        out.insert("authenticated".into(), Value::Bool(true));
        let sub = v.claims.get("sub");
        for name in ["sub", "exp"] {
            if let Some(value) = v.claims.get(name) {
                out.insert(name.into(), value.clone());
            }
        }
        let id_claims = self
            .id_claims(request, request.secure())
            .filter(|c| c.get("sub") == sub);
        for name in &self.session_claims {
            let value = id_claims
                .as_ref()
                .and_then(|c| c.get(name))
                .or_else(|| v.claims.get(name));
            if let Some(value) = value {
                out.insert(name.clone(), value.clone());
            }
        }
        // serde_json::to_string, as everywhere: Value's Display links a second serializer.
        json(200, &serde_json::to_string(&out).unwrap_or_default())
    }
}
