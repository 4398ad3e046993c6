//! The authorization server's documents, fetched with limits: a deadline, a size bound,
//! no redirects, and nothing but `http(s)`.

use std::time::Duration;

/// Largest metadata or JWKS document read, in bytes; a larger answer is refused.
pub(crate) const MAX_DOCUMENT: usize = 256 * 1024;

/// The HTTP client every fetch of one verifier shares.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, String> {
    // reqwest's rustls needs a crypto provider: ring, unless the program chose one.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(|e| format!("the HTTP client cannot be built: {e}"))
}

/// `GET url` as JSON: a 2xx answer of at most [`MAX_DOCUMENT`] bytes, within the client's
/// deadline.
pub(crate) async fn json(client: &reqwest::Client, url: &str) -> Result<serde_json::Value, String> {
    let body = bounded(
        client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json"),
        url,
    )
    .await?;
    serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
}

/// Sends `request` and reads its body, refusing a status other than 2xx and a body over
/// [`MAX_DOCUMENT`] bytes (read no further than that).
pub(crate) async fn bounded(
    request: reqwest::RequestBuilder,
    url: &str,
) -> Result<Vec<u8>, String> {
    let mut response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT as u64)
    {
        return Err(format!("{url}: the answer is over {MAX_DOCUMENT} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(format!("{url}: the answer is over {MAX_DOCUMENT} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `POST form` to `url` as the client `client_id` with `secret` (HTTP Basic, each
/// form-encoded first as RFC 6749 section 2.3.1 asks), the answer a JSON object read with
/// [`bounded`]'s limits. What comes back may hold a token: an error never quotes it.
pub(crate) async fn post_form(
    client: &reqwest::Client,
    url: &str,
    (client_id, secret): (&str, &str),
    form: &[(&str, &str)],
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut body = reqwest::Url::parse("urn:form").expect("a constant URL");
    body.query_pairs_mut().extend_pairs(form);
    let request = client
        .post(url)
        .basic_auth(form_value(client_id), Some(form_value(secret)))
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body.query().unwrap_or_default().to_owned());
    let answer = bounded(request, url).await?;
    serde_json::from_slice(&answer).map_err(|_| format!("{url}: not a JSON object"))
}

/// `text` as an `application/x-www-form-urlencoded` value.
pub(crate) fn form_value(text: &str) -> String {
    let mut url = reqwest::Url::parse("urn:x").expect("a constant URL");
    url.query_pairs_mut().append_pair("", text);
    url.query()
        .unwrap_or_default()
        .trim_start_matches('=')
        .to_owned()
}

/// `url`, if it is an `http(s)` URL.
pub(crate) fn http_url(url: &str) -> Result<(), String> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err(format!("{url:?} is not an http(s) URL")),
    }
}

/// Where RFC 8414 and OpenID Connect Discovery publish the metadata of `issuer`: the
/// RFC 8414 form first (the well-known segment before the issuer's path), then OpenID's
/// (appended to it).
pub(crate) fn metadata_urls(issuer: &str) -> Result<Vec<String>, String> {
    let url = reqwest::Url::parse(issuer).map_err(|e| format!("the issuer URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https")
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err("the issuer must be an http(s) URL without a query or fragment".into());
    }
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    Ok(vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}{path}/.well-known/openid-configuration"),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_credentials_are_form_encoded_before_basic() {
        assert_eq!(form_value("a b:c/d"), "a+b%3Ac%2Fd");
        assert_eq!(form_value("plain"), "plain");
    }

    #[test]
    fn metadata_lives_where_the_rfcs_say() {
        assert_eq!(
            metadata_urls("https://auth.example.com").unwrap(),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            metadata_urls("https://example.com/tenant1/").unwrap(),
            [
                "https://example.com/.well-known/oauth-authorization-server/tenant1",
                "https://example.com/tenant1/.well-known/openid-configuration"
            ]
        );
        assert!(metadata_urls("file:///etc/passwd").is_err());
        assert!(metadata_urls("https://a.example/?x=1").is_err());
    }
}
