//! The OAuth resource server's token verification against an authorization server of the
//! test's own on loopback (metadata, JWKS), honest and hostile: rotation, refused headers
//! and algorithms, tokens for someone else, JWKS answers that are huge, slow or malformed.
//! (The end-to-end run against a real OpenID provider is `tests/e2e/oauth.sh`.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_airlock::layers::policy::{
    IdentityError, IdentityVerifier, OAuthVerifier, PolicyEngine, PolicyLayer,
};
use agent_airlock::service::Credential;
use agent_airlock::{Caller, RejectionCode, ToolCall, ToolResponse};
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt, service_fn};

const RESOURCE: &str = "https://tools.example.com/mcp";

/// What the authorization server of a test publishes, and what it was asked.
#[derive(Clone)]
struct Server {
    jwks: Arc<Mutex<Jwks>>,
    jwks_hits: Arc<AtomicUsize>,
    elsewhere_hits: Arc<AtomicUsize>,
    issuer_override: Arc<Mutex<Option<String>>>,
    /// Opaque tokens and what introspection says of them.
    opaque: Arc<Mutex<std::collections::HashMap<String, Value>>>,
    introspect_hits: Arc<AtomicUsize>,
}

#[derive(Clone)]
enum Jwks {
    Keys(Vec<Value>),
    Huge,
    Slow,
    Malformed,
}

fn jwk(file: &str) -> Value {
    let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pem(file: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Starts the server; its issuer URL and its state.
async fn authorization_server(keys: Vec<Value>) -> (String, Server) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let server = Server {
        jwks: Arc::new(Mutex::new(Jwks::Keys(keys))),
        jwks_hits: Arc::default(),
        elsewhere_hits: Arc::default(),
        issuer_override: Arc::default(),
        opaque: Arc::default(),
        introspect_hits: Arc::default(),
    };
    let named = issuer.clone();
    let app = Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(move |State(s): State<Server>| {
                let issuer = s
                    .issuer_override
                    .lock()
                    .unwrap()
                    .clone()
                    .unwrap_or(named.clone());
                let (jwks_uri, introspection) =
                    (format!("{named}/jwks"), format!("{named}/introspect"));
                async move {
                    axum::Json(json!({"issuer": issuer, "jwks_uri": jwks_uri,
                        "introspection_endpoint": introspection}))
                }
            }),
        )
        .route(
            "/jwks",
            get(|State(s): State<Server>| async move {
                s.jwks_hits.fetch_add(1, Ordering::SeqCst);
                let jwks = s.jwks.lock().unwrap().clone();
                match jwks {
                    Jwks::Keys(keys) => axum::Json(json!({"keys": keys})).into_response(),
                    Jwks::Huge => {
                        let pad = "x".repeat(400 * 1024);
                        axum::Json(json!({"keys": [], "pad": pad})).into_response()
                    }
                    Jwks::Slow => {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        axum::Json(json!({"keys": []})).into_response()
                    }
                    Jwks::Malformed => "{\"keys\": [".into_response(),
                }
            }),
        )
        .route(
            "/introspect",
            axum::routing::post(
                |State(s): State<Server>, headers: axum::http::HeaderMap, body: String| async move {
                    s.introspect_hits.fetch_add(1, Ordering::SeqCst);
                    let expected = format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD
                            .encode("tools-server:introspection-secret")
                    );
                    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&expected)
                    {
                        return (axum::http::StatusCode::UNAUTHORIZED, "{}").into_response();
                    }
                    let token = body
                        .split('&')
                        .find_map(|pair| pair.strip_prefix("token="))
                        .unwrap_or_default()
                        .to_owned();
                    let answer = s.opaque.lock().unwrap().get(&token).cloned();
                    axum::Json(answer.unwrap_or(json!({"active": false}))).into_response()
                },
            ),
        )
        .route(
            "/elsewhere",
            get(|State(s): State<Server>| async move {
                s.elsewhere_hits.fetch_add(1, Ordering::SeqCst);
                axum::Json(json!({"keys": [jwk("rsa2_public.jwk.json")]}))
            }),
        )
        .with_state(server.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (issuer, server)
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

fn claims(issuer: &str) -> Value {
    json!({"iss": issuer, "sub": "alice", "aud": RESOURCE, "exp": now() + 600, "iat": now(), "scope": "tools:read"})
}

fn rs256(kid: Option<&str>, key: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid.map(str::to_owned);
    header.typ = Some("at+jwt".into());
    encode(
        &header,
        claims,
        &EncodingKey::from_rsa_pem(&pem(key)).unwrap(),
    )
    .unwrap()
}

fn verifier(issuer: &str) -> OAuthVerifier {
    OAuthVerifier::builder(issuer, RESOURCE)
        .scope_roles("tools:read", ["reader"])
        .timeout(Duration::from_millis(500))
        .refresh_interval(Duration::from_millis(300))
        .build()
        .unwrap()
}

/// `prepare` (what fetches keys), then `verify`.
async fn check(v: &OAuthVerifier, token: &str) -> Result<String, IdentityError> {
    let credential = Credential::new(token);
    if let Some(fetch) = v.prepare(&credential) {
        fetch.await;
    }
    v.verify(&credential).map(|who| who.agent_id)
}

#[tokio::test]
async fn verifies_tokens_of_the_discovered_keys_and_maps_scopes_to_roles() {
    let (issuer, server) = authorization_server(vec![jwk("rsa_public.jwk.json")]).await;
    let v = verifier(&issuer);
    let token = rs256(Some("test-rsa-1"), "rsa_private.pem", &claims(&issuer));
    let who = {
        let credential = Credential::new(token.clone());
        v.prepare(&credential)
            .expect("no key held yet: a fetch")
            .await;
        v.verify(&credential).unwrap()
    };
    assert_eq!(who.agent_id, "alice");
    assert_eq!(who.roles, ["reader"]);
    assert_eq!(who.claims["scope"], "tools:read");
    // Held now: nothing to fetch, and the same token again costs no fetch.
    assert!(v.prepare(&Credential::new(token.clone())).is_none());
    assert_eq!(check(&v, &token).await.unwrap(), "alice");
    assert_eq!(server.jwks_hits.load(Ordering::SeqCst), 1);
    // An Ed25519 key of the same set verifies too.
    *server.jwks.lock().unwrap() = Jwks::Keys(vec![
        jwk("rsa_public.jwk.json"),
        jwk("ed25519_public.jwk.json"),
    ]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("test-ed-1".into());
    let ed = encode(
        &header,
        &claims(&issuer),
        &EncodingKey::from_ed_pem(&pem("ed25519_private.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(check(&v, &ed).await.unwrap(), "alice");
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_unknown_kids_cannot_hammer_the_server() {
    let (issuer, server) = authorization_server(vec![jwk("rsa_public.jwk.json")]).await;
    let v = verifier(&issuer);
    let old = rs256(Some("test-rsa-1"), "rsa_private.pem", &claims(&issuer));
    assert!(check(&v, &old).await.is_ok());
    // The server rotates: a new key first, the old one still published.
    *server.jwks.lock().unwrap() = Jwks::Keys(vec![
        jwk("rsa2_public.jwk.json"),
        jwk("rsa_public.jwk.json"),
    ]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let new = rs256(Some("test-rsa-2"), "rsa2_private.pem", &claims(&issuer));
    assert_eq!(
        check(&v, &new).await.unwrap(),
        "alice",
        "the new key is fetched on sight"
    );
    assert!(check(&v, &old).await.is_ok());
    assert_eq!(server.jwks_hits.load(Ordering::SeqCst), 2);
    // Kids nobody published: at most one fetch per refresh interval (300 ms), however many.
    let forged: Vec<String> = (0..50)
        .map(|i| {
            rs256(
                Some(&format!("made-up-{i}")),
                "rsa2_private.pem",
                &claims(&issuer),
            )
        })
        .collect();
    // All at once, as a flood comes: they wait for one fetch together.
    let checks: Vec<_> = forged
        .into_iter()
        .map(|token| {
            let v = v.clone();
            tokio::spawn(async move { check(&v, &token).await })
        })
        .collect();
    for refused in checks {
        assert!(refused.await.unwrap().is_err());
    }
    let fetches = server.jwks_hits.load(Ordering::SeqCst) - 2;
    assert!(fetches <= 1, "{fetches} fetches for 50 made-up kids");
    // One after another: at most one fetch per interval (300 ms).
    let forged: Vec<String> = (0..4)
        .map(|i| {
            rs256(
                Some(&format!("again-{i}")),
                "rsa2_private.pem",
                &claims(&issuer),
            )
        })
        .collect();
    let started = std::time::Instant::now();
    for token in &forged {
        assert!(check(&v, token).await.is_err());
    }
    let fetches = server.jwks_hits.load(Ordering::SeqCst) - 2;
    let intervals = started.elapsed().as_millis() as usize / 300 + 2;
    assert!(
        fetches <= intervals,
        "{fetches} fetches in {intervals} intervals"
    );
    // The old key withdrawn: its tokens are refused once the keys are fetched again, even a
    // token verified (and remembered) before.
    *server.jwks.lock().unwrap() = Jwks::Keys(vec![jwk("rsa2_public.jwk.json")]);
    tokio::time::sleep(Duration::from_millis(350)).await;
    let trigger = rs256(Some("unknown"), "rsa2_private.pem", &claims(&issuer));
    assert!(check(&v, &trigger).await.is_err());
    assert!(
        check(&v, &old).await.is_err(),
        "a withdrawn key verifies nothing"
    );
    assert!(check(&v, &new).await.is_ok());
}

#[tokio::test]
async fn hostile_tokens_are_refused_and_nothing_they_name_is_fetched() {
    let (issuer, server) = authorization_server(vec![jwk("rsa_public.jwk.json")]).await;
    let v = verifier(&issuer);
    let good = claims(&issuer);
    assert!(
        check(&v, &rs256(Some("test-rsa-1"), "rsa_private.pem", &good))
            .await
            .is_ok()
    );

    // alg none, unsigned.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"test-rsa-1"}"#),
        URL_SAFE_NO_PAD.encode(good.to_string())
    );
    assert!(check(&v, &none).await.is_err());
    // HS256 "signed" with the RSA public key, as if it were a shared secret.
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some("test-rsa-1".into());
    let confused = encode(
        &hs,
        &good,
        &EncodingKey::from_secret(&pem("rsa_public.pem")),
    )
    .unwrap();
    assert!(check(&v, &confused).await.is_err());
    // Headers that point at keys elsewhere: refused, and never followed.
    for field in ["jku", "x5u"] {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("test-rsa-1".into());
        let url = format!("{issuer}/elsewhere");
        match field {
            "jku" => header.jku = Some(url),
            _ => header.x5u = Some(url),
        }
        let token = encode(
            &header,
            &good,
            &EncodingKey::from_rsa_pem(&pem("rsa_private.pem")).unwrap(),
        )
        .unwrap();
        assert!(check(&v, &token).await.is_err(), "{field}");
    }
    assert_eq!(server.elsewhere_hits.load(Ordering::SeqCst), 0);
    // A kid that points elsewhere (a path, another key's type): no key, refused.
    for kid in ["../../../etc/passwd", "test-ed-1", ""] {
        let token = rs256(Some(kid), "rsa2_private.pem", &good);
        assert!(check(&v, &token).await.is_err(), "{kid}");
    }
    // Signed by another key under the known kid.
    assert_eq!(
        check(&v, &rs256(Some("test-rsa-1"), "rsa2_private.pem", &good)).await,
        Err(IdentityError::BadSignature)
    );
    // Huge: refused unread.
    let mut huge = good.clone();
    huge["pad"] = "x".repeat(20_000).into();
    assert_eq!(
        check(&v, &rs256(Some("test-rsa-1"), "rsa_private.pem", &huge)).await,
        Err(IdentityError::Malformed)
    );
    // For another resource, from another issuer, expired, not yet valid, without a subject.
    let mut c = good.clone();
    c["aud"] = "https://other.example.com/mcp".into();
    assert_eq!(
        check(&v, &rs256(Some("test-rsa-1"), "rsa_private.pem", &c)).await,
        Err(IdentityError::WrongAudience)
    );
    let mut c = good.clone();
    c["iss"] = "https://evil.example.com".into();
    assert_eq!(
        check(&v, &rs256(Some("test-rsa-1"), "rsa_private.pem", &c)).await,
        Err(IdentityError::WrongIssuer)
    );
    let mut c = good.clone();
    c["exp"] = (now() - 120).into();
    assert_eq!(
        check(&v, &rs256(Some("test-rsa-1"), "rsa_private.pem", &c)).await,
        Err(IdentityError::Expired)
    );
    let mut c = good.clone();
    c["nbf"] = (now() + 600).into();
    assert_eq!(
        check(&v, &rs256(Some("test-rsa-1"), "rsa_private.pem", &c)).await,
        Err(IdentityError::NotYetValid)
    );
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("aud");
    assert!(
        check(&v, &rs256(Some("test-rsa-1"), "rsa_private.pem", &c))
            .await
            .is_err()
    );
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("sub");
    assert_eq!(
        check(&v, &rs256(Some("test-rsa-1"), "rsa_private.pem", &c)).await,
        Err(IdentityError::Claim("sub"))
    );
    // An ID token (another type) is not an access token.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-rsa-1".into());
    header.typ = Some("logout+jwt".into());
    let token = encode(
        &header,
        &good,
        &EncodingKey::from_rsa_pem(&pem("rsa_private.pem")).unwrap(),
    )
    .unwrap();
    assert!(check(&v, &token).await.is_err());
    // Garbage.
    for token in ["", "a.b.c", "....", "eyJ.eyJ.x"] {
        assert!(check(&v, token).await.is_err(), "{token:?}");
    }
}

#[tokio::test]
async fn a_huge_slow_or_malformed_jwks_yields_no_key_and_keeps_the_keys_held() {
    for bad in [Jwks::Huge, Jwks::Slow, Jwks::Malformed] {
        let (issuer, server) = authorization_server(vec![]).await;
        *server.jwks.lock().unwrap() = bad.clone();
        let v = verifier(&issuer);
        let token = rs256(Some("test-rsa-1"), "rsa_private.pem", &claims(&issuer));
        let started = std::time::Instant::now();
        assert!(check(&v, &token).await.is_err(), "fail closed with no key");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "the fetch has a deadline"
        );
        assert_eq!(v.key_count(), 0);
        // Good keys, then a bad answer: the keys held stay in use.
        *server.jwks.lock().unwrap() = Jwks::Keys(vec![jwk("rsa_public.jwk.json")]);
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(check(&v, &token).await.is_ok());
        *server.jwks.lock().unwrap() = bad;
        tokio::time::sleep(Duration::from_millis(350)).await;
        let rotated = rs256(Some("test-rsa-2"), "rsa2_private.pem", &claims(&issuer));
        assert!(check(&v, &rotated).await.is_err());
        assert!(check(&v, &token).await.is_ok(), "the keys held are kept");
    }
}

#[tokio::test]
async fn ecdsa_keys_verify_and_weak_rsa_keys_never_do() {
    let (issuer, _server) = authorization_server(vec![
        jwk("ec_p256_public.jwk.json"),
        jwk("rsa1024_public.jwk.json"),
    ])
    .await;
    let v = verifier(&issuer);
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("test-ec-1".into());
    let ec = EncodingKey::from_ec_pem(&pem("ec_p256_private.pem")).unwrap();
    assert_eq!(
        check(&v, &encode(&header, &claims(&issuer), &ec).unwrap())
            .await
            .unwrap(),
        "alice"
    );
    // An audience list naming this resource, a fractional expiry: both as RFC 7519 allows.
    let mut c = claims(&issuer);
    c["aud"] = json!(["https://other.example.com", RESOURCE]);
    c["exp"] = json!(now() as f64 + 600.5);
    assert!(check(&v, &encode(&header, &c, &ec).unwrap()).await.is_ok());
    // A 1024-bit RSA key published and a token signed with it: refused (2048 bits at least).
    let weak = rs256(
        Some("test-rsa-weak"),
        "rsa1024_private.pem",
        &claims(&issuer),
    );
    assert_eq!(check(&v, &weak).await, Err(IdentityError::BadSignature));
}

#[tokio::test]
async fn opaque_tokens_are_introspected_once_and_refused_unless_vouched_for() {
    let (issuer, server) = authorization_server(vec![jwk("rsa_public.jwk.json")]).await;
    let good = json!({"active": true, "iss": issuer, "sub": "bob", "aud": RESOURCE,
        "scope": "tools:read", "exp": now() + 600, "token_type": "Bearer"});
    let with = |key: &str, value: Value| {
        let mut c = good.clone();
        c[key] = value;
        c
    };
    for (token, answer) in [
        ("good-opaque-token", good.clone()),
        (
            "for-another-resource",
            with("aud", "https://other.example.com/mcp".into()),
        ),
        (
            "from-another-issuer",
            with("iss", "https://evil.example.com".into()),
        ),
        ("expired", with("exp", (now() - 120).into())),
        (
            "expired-fraction",
            with("exp", json!((now() - 120) as f64 + 0.5)),
        ),
        ("exp-not-a-number", with("exp", "tomorrow".into())),
        ("not-active", with("active", false.into())),
        ("active-as-a-string", with("active", "true".into())),
        ("no-audience", {
            let mut c = good.clone();
            c.as_object_mut().unwrap().remove("aud");
            c
        }),
    ] {
        server.opaque.lock().unwrap().insert(token.into(), answer);
    }
    // Discovered from the metadata (introspection_endpoint).
    let v = OAuthVerifier::builder(&issuer, RESOURCE)
        .scope_roles("tools:read", ["reader"])
        .introspection("tools-server", "introspection-secret")
        .build()
        .unwrap();
    let who = {
        let credential = Credential::new("good-opaque-token");
        v.prepare(&credential).expect("asked about").await;
        v.verify(&credential).unwrap()
    };
    assert_eq!(
        (who.agent_id.as_str(), who.roles.as_slice()),
        ("bob", &["reader".to_owned()][..])
    );
    assert!(
        v.prepare(&Credential::new("good-opaque-token")).is_none(),
        "remembered"
    );
    assert_eq!(check(&v, "good-opaque-token").await.unwrap(), "bob");
    assert_eq!(server.introspect_hits.load(Ordering::SeqCst), 1);
    for token in [
        "for-another-resource",
        "from-another-issuer",
        "expired",
        "expired-fraction",
        "exp-not-a-number",
        "not-active",
        "active-as-a-string",
        "no-audience",
        "never-issued",
    ] {
        assert!(check(&v, token).await.is_err(), "{token}");
        // Refused answers are not remembered: asked again next time.
        let hits = server.introspect_hits.load(Ordering::SeqCst);
        assert!(check(&v, token).await.is_err(), "{token}");
        assert_eq!(
            server.introspect_hits.load(Ordering::SeqCst),
            hits + 1,
            "{token}"
        );
    }
    // Without introspection, an opaque token is refused and nobody is asked.
    let hits = server.introspect_hits.load(Ordering::SeqCst);
    assert!(
        check(&verifier(&issuer), "good-opaque-token")
            .await
            .is_err()
    );
    // With the wrong secret, the server refuses to answer: refused.
    let wrong = OAuthVerifier::builder(&issuer, RESOURCE)
        .introspection("tools-server", "not-the-secret")
        .introspection_endpoint(format!("{issuer}/introspect"))
        .build()
        .unwrap();
    assert!(check(&wrong, "good-opaque-token").await.is_err());
    assert_eq!(server.introspect_hits.load(Ordering::SeqCst), hits + 1);
}

#[tokio::test]
async fn metadata_naming_another_issuer_is_refused() {
    let (issuer, server) = authorization_server(vec![jwk("rsa_public.jwk.json")]).await;
    *server.issuer_override.lock().unwrap() = Some("https://evil.example.com".into());
    let v = verifier(&issuer);
    let token = rs256(Some("test-rsa-1"), "rsa_private.pem", &claims(&issuer));
    assert!(check(&v, &token).await.is_err());
    assert_eq!(
        server.jwks_hits.load(Ordering::SeqCst),
        0,
        "keys of an impostor are never fetched"
    );
    assert!(v.load_keys().await.is_err());
}

#[tokio::test]
async fn the_policy_layer_fetches_keys_and_refuses_missing_scopes() {
    let (issuer, _server) = authorization_server(vec![jwk("rsa_public.jwk.json")]).await;
    let policy = PolicyEngine::builder()
        .verifier(Arc::new(verifier(&issuer)))
        .require_identity(true)
        .role(
            "reader",
            agent_airlock::layers::policy::RuleConfig {
                allow: Some(vec!["read_*".into(), "delete_*".into()]),
                deny: vec![],
            },
        )
        .allow(Vec::<String>::new())
        .tool_scopes("delete_*", ["tools:admin"])
        .build()
        .unwrap();
    let svc = ServiceBuilder::new()
        .layer(PolicyLayer::new(Arc::new(policy)))
        .service(service_fn(|call: ToolCall| async move {
            Ok::<_, std::convert::Infallible>(ToolResponse::text(
                call.caller.agent_id.unwrap_or_default(),
            ))
        }));
    let call = |tool: &str, token: &str| {
        let mut caller = Caller::default();
        caller.credential = Some(Credential::new(token));
        ToolCall::new(tool, json!({})).with_caller(caller)
    };
    let reader = rs256(Some("test-rsa-1"), "rsa_private.pem", &claims(&issuer));
    let ok = svc
        .clone()
        .oneshot(call("read_file", &reader))
        .await
        .unwrap();
    assert!(!ok.is_error, "{ok:?}");
    let refused = svc
        .clone()
        .oneshot(call("delete_file", &reader))
        .await
        .unwrap();
    let rejection = refused.rejection.unwrap();
    assert_eq!(rejection.code, RejectionCode::InsufficientScope);
    assert!(
        rejection.message.contains("tools:admin"),
        "{}",
        rejection.message
    );
    let mut admin = claims(&issuer);
    admin["scope"] = "tools:read tools:admin".into();
    let admin = rs256(Some("test-rsa-1"), "rsa_private.pem", &admin);
    assert!(
        !svc.clone()
            .oneshot(call("delete_file", &admin))
            .await
            .unwrap()
            .is_error
    );
    let anonymous = svc
        .oneshot(ToolCall::new("read_file", json!({})))
        .await
        .unwrap();
    assert_eq!(
        anonymous.rejection.unwrap().code,
        RejectionCode::Unauthenticated
    );
}

mod http_door {
    use super::*;
    use agent_airlock::adapters::http::{HttpAdapter, ProtectedResource};
    use agent_airlock::layers::policy::RuleConfig;
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};

    /// example-axum's shape: a reader may read; deleting needs the admin scope.
    async fn door() -> (Router, String) {
        let (issuer, _server) = authorization_server(vec![jwk("rsa_public.jwk.json")]).await;
        let policy = Arc::new(
            PolicyEngine::builder()
                .verifier(Arc::new(verifier(&issuer)))
                .require_identity(true)
                .role(
                    "reader",
                    RuleConfig {
                        allow: Some(vec!["read_*".into(), "delete_*".into()]),
                        deny: vec![],
                    },
                )
                .allow(Vec::<String>::new())
                .tool_scopes("delete_*", ["tools:admin"])
                .build()
                .unwrap(),
        );
        let mut catalog = agent_airlock::ToolCatalog::new();
        for name in ["read_file", "delete_file"] {
            catalog
                .insert(
                    agent_airlock::ToolSpec::new(name, None, Some(json!({"type": "object"})))
                        .unwrap(),
                )
                .unwrap();
        }
        let stack = ServiceBuilder::new()
            .layer(PolicyLayer::new(policy.clone()))
            .service(service_fn(|call: ToolCall| async move {
                Ok::<_, std::convert::Infallible>(ToolResponse::text(format!(
                    "{} by {}",
                    call.tool,
                    call.caller.agent_id.unwrap_or_default()
                )))
            }));
        let resource = ProtectedResource::new(RESOURCE, [issuer.clone()])
            .unwrap()
            .scopes(["tools:read", "tools:admin"])
            .challenge_scopes(["tools:read"]);
        let router = HttpAdapter::new(stack, Arc::new(catalog))
            .policy(policy)
            .protected_resource(resource)
            .allowed_hosts(["tools.example.com"])
            .require_session(false)
            .into_router();
        (router, issuer)
    }

    fn post(body: Value, token: Option<&str>) -> Request<Body> {
        let mut request = Request::post("/mcp")
            .header(header::HOST, "tools.example.com")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        request.body(Body::from(body.to_string())).unwrap()
    }

    fn call(tool: &str) -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": {}}})
    }

    async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            challenge,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        )
    }

    #[tokio::test]
    async fn publishes_its_metadata_where_rfc_9728_says() {
        let (router, issuer) = door().await;
        for path in [
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ] {
            // Clients name their newest revision, whatever it is: the document does not care.
            let request = Request::get(path)
                .header(header::HOST, "tools.example.com")
                .header("mcp-protocol-version", "2999-01-01")
                .body(Body::empty())
                .unwrap();
            let (status, _, doc) = send(&router, request).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(doc["resource"], RESOURCE);
            assert_eq!(doc["authorization_servers"], json!([issuer]));
            assert_eq!(
                doc["scopes_supported"],
                json!(["tools:read", "tools:admin"])
            );
        }
        // Behind the front door like everything else: another Host is refused.
        let request = Request::get("/.well-known/oauth-protected-resource/mcp")
            .header(header::HOST, "evil.example.net")
            .body(Body::empty())
            .unwrap();
        assert_eq!(send(&router, request).await.0, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn challenges_callers_without_a_valid_token() {
        let (router, issuer) = door().await;
        let metadata = "resource_metadata=\"https://tools.example.com/.well-known/oauth-protected-resource/mcp\"";
        let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
        let (status, challenge, _) = send(&router, post(initialize.clone(), None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let challenge = challenge.unwrap();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains(metadata),
            "{challenge}"
        );
        assert!(
            challenge.contains("scope=\"tools:read\"") && !challenge.contains("invalid_token"),
            "{challenge}"
        );
        // A token that does not verify: invalid_token. For another resource: the same.
        let mut other = claims(&issuer);
        other["aud"] = "https://other.example.com/mcp".into();
        for token in [
            "garbage".to_owned(),
            rs256(Some("test-rsa-1"), "rsa_private.pem", &other),
        ] {
            for body in [initialize.clone(), call("read_file")] {
                let (status, challenge, _) = send(&router, post(body, Some(&token))).await;
                assert_eq!(status, StatusCode::UNAUTHORIZED);
                assert!(challenge.unwrap().contains("error=\"invalid_token\""));
            }
        }
        // A valid one: served, as its subject.
        let token = rs256(Some("test-rsa-1"), "rsa_private.pem", &claims(&issuer));
        let (status, _, answer) = send(&router, post(initialize, Some(&token))).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let (status, _, answer) = send(&router, post(call("read_file"), Some(&token))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            answer["result"]["content"][0]["text"], "read_file by alice",
            "{answer}"
        );
    }

    #[tokio::test]
    async fn a_tool_needing_more_scopes_is_403_with_the_scopes_to_ask_for() {
        let (router, issuer) = door().await;
        let reader = rs256(Some("test-rsa-1"), "rsa_private.pem", &claims(&issuer));
        let (status, challenge, answer) =
            send(&router, post(call("delete_file"), Some(&reader))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let challenge = challenge.unwrap();
        assert!(
            challenge.starts_with("Bearer error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(
            challenge.contains("scope=\"tools:read tools:admin\""),
            "{challenge}"
        );
        assert!(challenge.contains("resource_metadata=\""), "{challenge}");
        assert_eq!(
            answer["result"]["structuredContent"]["rejection"]["code"], "insufficient_scope",
            "{answer}"
        );
        // With the scope: served.
        let mut admin = claims(&issuer);
        admin["scope"] = "tools:read tools:admin".into();
        let admin = rs256(Some("test-rsa-1"), "rsa_private.pem", &admin);
        let (status, challenge, answer) =
            send(&router, post(call("delete_file"), Some(&admin))).await;
        assert_eq!((status, challenge), (StatusCode::OK, None));
        assert_eq!(
            answer["result"]["content"][0]["text"],
            "delete_file by alice"
        );
        // The plain door says the same.
        let request = Request::post("/tools/delete_file")
            .header(header::HOST, "tools.example.com")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {reader}"))
            .body(Body::from("{}"))
            .unwrap();
        let (status, challenge, _) = send(&router, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(challenge.unwrap().contains("insufficient_scope"));
    }
}

#[test]
fn the_configuration_refuses_what_would_not_protect() {
    let build = |identity: &str| {
        let text = format!("[policy.identity]\n{identity}\n");
        let config = agent_airlock::AirlockConfig::from_toml_str(&text).unwrap();
        PolicyEngine::from_config(&config.policy).map(|_| ())
    };
    let ok = "kind = \"oauth\"\nissuer = \"https://auth.example.com\"\nresource = \"https://t.example/mcp\"";
    assert!(build(ok).is_ok());
    for (extra, why) in [
        ("algorithms = [\"HS256\"]", "shared-secret"),
        ("algorithms = [\"none\"]", "unknown"),
        ("audience = \"x\"", "remove `audience`"),
    ] {
        let error = build(&format!("{ok}\n{extra}")).unwrap_err().to_string();
        assert!(error.contains(why), "{extra}: {error}");
    }
    let error = build("kind = \"oauth\"\nissuer = \"https://auth.example.com\"").unwrap_err();
    assert!(error.to_string().contains("resource"), "{error}");
    let error =
        build("kind = \"oauth\"\nissuer = \"file:///etc\"\nresource = \"https://t.example/mcp\"")
            .unwrap_err();
    assert!(error.to_string().contains("issuer"), "{error}");
    // OAuth's keys under another kind would be silently ignored: refused instead.
    let error =
        build("kind = \"hmac\"\nsecret_env = \"X\"\nscope_roles = { a = [\"b\"] }").unwrap_err();
    assert!(error.to_string().contains("scope_roles"), "{error}");
}
