//! [`ProtectedResource`]: the HTTP door as an OAuth 2.1 protected resource, as MCP's
//! authorization specification asks: its metadata (RFC 9728) at
//! `/.well-known/oauth-protected-resource` (and the form with the resource's path after
//! it), `401` with `WWW-Authenticate: Bearer resource_metadata="…"` to a caller without a
//! valid token, `403` with `error="insufficient_scope"` and the scopes to ask for when a
//! tool needs more.

use serde_json::{Value, json};

/// What the door publishes as a protected resource: its canonical URI, the authorization
/// servers whose tokens it accepts, the scopes it knows.
///
/// ```
/// use agent_airlock::adapters::http::ProtectedResource;
///
/// let resource = ProtectedResource::new("https://tools.example.com/mcp", ["https://auth.example.com"])
///     .unwrap()
///     .scopes(["tools:read", "tools:admin"]);
/// assert_eq!(
///     resource.metadata_url(),
///     "https://tools.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource {
    resource: String,
    origin: String,
    path: String,
    authorization_servers: Vec<String>,
    scopes: Vec<String>,
    challenge_scopes: Vec<String>,
    name: Option<String>,
}

impl ProtectedResource {
    /// The resource `resource` (this server's canonical URI, the `aud` of its tokens),
    /// protected by `authorization_servers` (their issuer URLs); an error when the URI is
    /// not an absolute `http(s)` URI without a fragment.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(
        resource: impl Into<String>,
        authorization_servers: I,
    ) -> Result<Self, String> {
        let resource = resource.into();
        let url = url_parts(&resource)?;
        Ok(Self {
            origin: url.0,
            path: url.1,
            resource,
            authorization_servers: authorization_servers.into_iter().map(Into::into).collect(),
            scopes: Vec::new(),
            challenge_scopes: Vec::new(),
            name: None,
        })
    }

    /// The protected resource `[policy.identity]` describes when its `kind` is `oauth`
    /// (its `resource`, `issuer`, `scopes` and `challenge_scopes`); `None` for any other
    /// identity.
    pub fn from_config(
        identity: Option<&crate::layers::policy::IdentityConfig>,
    ) -> Result<Option<Self>, String> {
        use crate::layers::policy::IdentityKind;
        let Some(identity) = identity.filter(|i| i.kind == IdentityKind::Oauth) else {
            return Ok(None);
        };
        let (Some(resource), Some(issuer)) = (&identity.resource, &identity.issuer) else {
            return Err("`policy.identity.kind = \"oauth\"` needs `resource` and `issuer`".into());
        };
        Ok(Some(
            Self::new(resource.clone(), [issuer.clone()])?
                .scopes(identity.scopes.iter().cloned())
                .challenge_scopes(identity.challenge_scopes.iter().cloned()),
        ))
    }

    /// The scopes published as `scopes_supported`.
    #[must_use]
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The scopes a `401` names (`scope="…"`): what a client should ask for first. None by
    /// default: clients then ask for every scope of [`scopes`](Self::scopes).
    #[must_use]
    pub fn challenge_scopes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scopes: I,
    ) -> Self {
        self.challenge_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// A name for people (`resource_name`).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The resource's canonical URI.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where the metadata is served, the resource's path after the well-known segment
    /// (RFC 9728 section 3.1).
    pub fn metadata_path(&self) -> String {
        format!("/.well-known/oauth-protected-resource{}", self.path)
    }

    /// The metadata's absolute URL, named in every challenge.
    pub fn metadata_url(&self) -> String {
        format!("{}{}", self.origin, self.metadata_path())
    }

    /// The metadata document (RFC 9728 section 2).
    pub fn document(&self) -> Value {
        let mut doc = json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "bearer_methods_supported": ["header"],
        });
        if !self.scopes.is_empty() {
            doc["scopes_supported"] = json!(self.scopes);
        }
        if let Some(name) = &self.name {
            doc["resource_name"] = json!(name);
        }
        doc
    }

    /// `WWW-Authenticate` of a 401: the metadata, `invalid_token` when a token was
    /// presented and refused, the scopes to ask for first.
    pub(super) fn unauthorized(&self, presented: bool) -> String {
        let mut value = format!("Bearer resource_metadata=\"{}\"", self.metadata_url());
        if presented {
            value.push_str(", error=\"invalid_token\"");
        }
        if !self.challenge_scopes.is_empty() {
            value.push_str(&format!(", scope=\"{}\"", self.challenge_scopes.join(" ")));
        }
        value
    }

    /// `WWW-Authenticate` of a 403 for a token lacking scopes: every scope to ask for
    /// (those held and those missing, so the new token keeps what the old one could do).
    pub(super) fn insufficient_scope(&self, held: &[&str], missing: &[String]) -> String {
        let mut scopes: Vec<&str> = held.to_vec();
        for scope in missing {
            if !scopes.contains(&scope.as_str()) {
                scopes.push(scope);
            }
        }
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{}\", \
             error_description=\"the tool needs more scopes than this token grants\"",
            scopes.join(" "),
            self.metadata_url()
        )
    }
}

/// `scheme://host[:port]` and the path (none for `/`) of an absolute http(s) URI.
fn url_parts(resource: &str) -> Result<(String, String), String> {
    let (scheme, rest) = resource
        .split_once("://")
        .ok_or_else(|| format!("{resource:?} is not an absolute URI"))?;
    if !matches!(scheme, "http" | "https") || resource.contains('#') || rest.is_empty() {
        return Err(format!(
            "{resource:?}: the resource must be an http(s) URI without a fragment"
        ));
    }
    let rest = rest.split('?').next().unwrap_or(rest);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(format!("{resource:?}: no host, or a user in it"));
    }
    Ok((format!("{scheme}://{authority}"), path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metadata_path_follows_the_resource() {
        let at =
            |r: &str| ProtectedResource::new(r, ["https://a.example"]).map(|p| p.metadata_url());
        assert_eq!(
            at("https://t.example/mcp").unwrap(),
            "https://t.example/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            at("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            at("https://t.example/").unwrap(),
            "https://t.example/.well-known/oauth-protected-resource"
        );
        assert!(at("t.example/mcp").is_err());
        assert!(at("ftp://t.example").is_err());
        assert!(at("https://t.example/mcp#x").is_err());
        assert!(at("https://user@t.example/mcp").is_err());
    }

    #[test]
    fn challenges_name_the_metadata_and_the_scopes() {
        let r = ProtectedResource::new("https://t.example/mcp", ["https://a.example"])
            .unwrap()
            .scopes(["read", "admin"])
            .challenge_scopes(["read"]);
        assert_eq!(
            r.unauthorized(true),
            "Bearer resource_metadata=\"https://t.example/.well-known/oauth-protected-resource/mcp\", error=\"invalid_token\", scope=\"read\""
        );
        let h = r.insufficient_scope(&["read"], &["admin".to_owned(), "read".to_owned()]);
        assert!(
            h.starts_with("Bearer error=\"insufficient_scope\", scope=\"read admin\""),
            "{h}"
        );
        assert_eq!(r.document()["scopes_supported"], json!(["read", "admin"]));
    }
}
