//! Opaque access tokens, asked about at the authorization server's introspection endpoint
//! (RFC 7662): the answer must say the token is active, for this resource, from this
//! issuer; it is remembered like a verified JWT (by the token's digest, until its `exp`,
//! at most five minutes) so a client's next requests cost no round trip.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use super::fetch;

/// Most introspections in flight at once: a flood of made-up tokens cannot open more
/// connections to the authorization server than this.
const IN_FLIGHT: usize = 16;

/// How the resource server asks: where, and as which client.
pub(super) struct Introspection {
    endpoint: Option<String>,
    client_id: String,
    secret: String,
    discovered: tokio::sync::OnceCell<String>,
    slots: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Introspection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Introspection {
    /// Introspection as `client_id` (with `secret`), at `endpoint` or, when `None`, at the
    /// endpoint the issuer's metadata names.
    pub(super) fn new(endpoint: Option<String>, client_id: String, secret: String) -> Self {
        Self {
            endpoint,
            client_id,
            secret,
            discovered: tokio::sync::OnceCell::new(),
            slots: Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT)),
        }
    }

    /// The endpoint, discovering it once with `discover` when none was configured.
    async fn url<F, Fut>(&self, discover: F) -> Result<&str, String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<String, String>>,
    {
        if let Some(url) = &self.endpoint {
            return Ok(url);
        }
        self.discovered
            .get_or_try_init(discover)
            .await
            .map(String::as_str)
    }

    /// The claims of an active token, as the endpoint describes it; an error for any
    /// other answer (inactive, unreadable, over the size bound, late).
    pub(super) async fn ask<F, Fut>(
        &self,
        http: &reqwest::Client,
        token: &str,
        wait: Duration,
        discover: F,
    ) -> Result<Map<String, Value>, String>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<String, String>>,
    {
        let _slot = tokio::time::timeout(wait, self.slots.acquire())
            .await
            .map_err(|_| "too many introspections in flight".to_owned())?
            .map_err(|_| "closed".to_owned())?;
        let url = self.url(discover).await?;
        let answer = fetch::post_form(
            http,
            url,
            (&self.client_id, &self.secret),
            &[("token", token), ("token_type_hint", "access_token")],
        )
        .await?;
        if answer.get("active") != Some(&Value::Bool(true)) {
            return Err("the authorization server says the token is not active".into());
        }
        Ok(answer)
    }
}
