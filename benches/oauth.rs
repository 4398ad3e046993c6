//! Cost of verifying an OAuth access token with the keys held (a warm JWKS cache): a
//! token seen before (remembered by its digest), and tokens seen for the first time
//! (a signature verified: RS256, the providers' default, ES256 and EdDSA).

use std::hint::black_box;
use std::sync::Arc;

use agent_airlock::layers::policy::{IdentityVerifier, OAuthVerifier};
use agent_airlock::service::Credential;
use axum::Router;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const RESOURCE: &str = "https://tools.example.com/mcp";
/// More distinct tokens than the verifier remembers (4,096): each is verified afresh.
const FRESH: usize = 4500;

fn fixture(file: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn tokens(issuer: &str, alg: Algorithm, kid: &str, key: &EncodingKey, n: usize) -> Vec<Credential> {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    header.typ = Some("at+jwt".into());
    let now = jsonwebtoken::get_current_timestamp();
    (0..n)
        .map(|i| {
            let claims = json!({"iss": issuer, "sub": format!("agent-{}", i % 50), "aud": RESOURCE,
                "exp": now + 3600, "iat": now, "jti": i.to_string(), "scope": "tools:read tools:write",
                "client_id": "mcp-agent"});
            Credential::new(encode(&header, &claims, key).unwrap())
        })
        .collect()
}

fn oauth(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let jwks: Value = json!({"keys": [
        serde_json::from_slice::<Value>(&fixture("rsa_public.jwk.json")).unwrap(),
        serde_json::from_slice::<Value>(&fixture("ed25519_public.jwk.json")).unwrap(),
        serde_json::from_slice::<Value>(&fixture("ec_p256_public.jwk.json")).unwrap(),
    ]});
    let issuer = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new().route("/jwks", get(move || async move { axum::Json(jwks) }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        issuer
    });
    let verifier = Arc::new(
        OAuthVerifier::builder(&issuer, RESOURCE)
            .jwks_uri(format!("{issuer}/jwks"))
            .scope_roles("tools:read", ["reader"])
            .build()
            .unwrap(),
    );
    runtime.block_on(verifier.load_keys()).unwrap();
    let rsa = EncodingKey::from_rsa_pem(&fixture("rsa_private.pem")).unwrap();
    let ed = EncodingKey::from_ed_pem(&fixture("ed25519_private.pem")).unwrap();
    let ec = EncodingKey::from_ec_pem(&fixture("ec_p256_private.pem")).unwrap();

    let mut group = c.benchmark_group("oauth");
    let seen = tokens(&issuer, Algorithm::RS256, "test-rsa-1", &rsa, 1).remove(0);
    verifier.verify(&seen).unwrap();
    group.bench_function("verify/seen_before", |b| {
        b.iter(|| {
            assert!(verifier.prepare(&seen).is_none());
            black_box(verifier.verify(black_box(&seen)).unwrap())
        })
    });
    for (name, fresh) in [
        (
            "rs256",
            tokens(&issuer, Algorithm::RS256, "test-rsa-1", &rsa, FRESH),
        ),
        (
            "es256",
            tokens(&issuer, Algorithm::ES256, "test-ec-1", &ec, FRESH),
        ),
        (
            "eddsa",
            tokens(&issuer, Algorithm::EdDSA, "test-ed-1", &ed, FRESH),
        ),
    ] {
        let mut next = 0;
        group.bench_function(format!("verify/first_sight_{name}"), |b| {
            b.iter(|| {
                let token = &fresh[next % FRESH];
                next += 1;
                assert!(verifier.prepare(token).is_none());
                black_box(verifier.verify(token).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, oauth);
criterion_main!(benches);
