//! An authorization server's signing keys, read from its JWKS (RFC 7517) with care, and
//! signatures verified with them by `ring` (the crypto provider the TLS stack already
//! carries: a 2048-bit RSA signature in about a tenth of the pure-Rust time).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use ring::signature;

/// Most keys kept from one JWKS; the rest of a larger set is ignored.
pub(super) const MAX_KEYS: usize = 32;

/// One verification key: the algorithms it may verify, and the key itself.
#[derive(Clone)]
pub(super) struct Key {
    /// The one algorithm the JWK names, or every algorithm of its type and curve.
    algorithms: Vec<Algorithm>,
    material: Material,
}

/// A public key's bytes, as `ring` takes them.
#[derive(Clone)]
enum Material {
    /// RSA's modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// An elliptic curve point, uncompressed (`04 || x || y`).
    Ec(Vec<u8>),
    /// An Ed25519 public key.
    Ed(Vec<u8>),
}

impl Key {
    /// Whether `signature` over `message` verifies with this key under `alg`; never for an
    /// algorithm the key may not verify.
    pub(super) fn verifies(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> bool {
        if !self.algorithms.contains(&alg) {
            return false;
        }
        match (&self.material, alg) {
            (Material::Rsa { n, e }, _) => {
                let params = match alg {
                    Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                    Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                    Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                    Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
                    _ => return false,
                };
                signature::RsaPublicKeyComponents { n, e }
                    .verify(params, message, sig)
                    .is_ok()
            }
            (Material::Ec(point), Algorithm::ES256) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            (Material::Ec(point), Algorithm::ES384) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
            (Material::Ed(x), Algorithm::EdDSA) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, x)
                    .verify(message, sig)
                    .is_ok()
            }
            _ => false,
        }
    }
}

/// The keys of one JWKS that can verify access tokens: asymmetric (a symmetric `oct` key
/// published in a JWKS is never used), for signatures, of an allowed algorithm.
#[derive(Clone, Default)]
pub(super) struct KeySet {
    by_kid: HashMap<String, Key>,
    /// Keys without a `kid`: used only for tokens without one.
    unnamed: Vec<Key>,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.by_kid.keys().collect::<Vec<_>>())
            .field("unnamed", &self.unnamed.len())
            .finish()
    }
}

impl KeySet {
    /// The usable keys of a JWKS document; an error when the document is not a JWKS or
    /// holds no usable key.
    pub(super) fn parse(body: &[u8], allowed: &[Algorithm]) -> Result<Self, String> {
        // Read as values first: one malformed or unknown key must not hide the others.
        let doc: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("the JWKS is not JSON: {e}"))?;
        let Some(keys) = doc.get("keys").and_then(|k| k.as_array()) else {
            return Err("the JWKS has no `keys` array".into());
        };
        let mut set = KeySet::default();
        for value in keys.iter().take(MAX_KEYS) {
            let Ok(jwk) = serde_json::from_value::<Jwk>(value.clone()) else {
                continue;
            };
            let Some(key) = usable(&jwk, allowed) else {
                continue;
            };
            match jwk.common.key_id {
                Some(kid) if !kid.is_empty() && kid.len() <= 256 => {
                    set.by_kid.entry(kid).or_insert(key);
                }
                Some(_) => {}
                None => set.unnamed.push(key),
            }
        }
        if set.is_empty() {
            return Err("the JWKS holds no key this verifier may use".into());
        }
        Ok(set)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_kid.is_empty() && self.unnamed.is_empty()
    }

    /// Whether a token with this `kid` (or none) has a key to look at here.
    pub(super) fn knows(&self, kid: Option<&str>) -> bool {
        match kid {
            Some(kid) => self.by_kid.contains_key(kid),
            None => !self.unnamed.is_empty(),
        }
    }

    /// The keys a token with this `kid` may be verified with.
    pub(super) fn candidates(&self, kid: Option<&str>) -> &[Key] {
        match kid {
            Some(kid) => self
                .by_kid
                .get(kid)
                .map(std::slice::from_ref)
                .unwrap_or(&[]),
            None => &self.unnamed,
        }
    }

    /// How many keys the set holds.
    pub(super) fn len(&self) -> usize {
        self.by_kid.len() + self.unnamed.len()
    }
}

/// The key of `jwk`, if it is a public signature key of an allowed algorithm.
fn usable(jwk: &Jwk, allowed: &[Algorithm]) -> Option<Key> {
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    // What the key's type and curve can verify.
    let possible: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
            _ => return None,
        },
        // A shared secret published as a key, or a type this library does not know.
        _ => return None,
    };
    let named = match jwk.common.key_algorithm {
        None => None,
        Some(alg) => Some(algorithm_of(alg)?),
    };
    let algorithms: Vec<Algorithm> = possible
        .iter()
        .copied()
        .filter(|a| allowed.contains(a) && named.is_none_or(|n| n == *a))
        .collect();
    if algorithms.is_empty() {
        return None;
    }
    let bytes = |text: &str| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok();
    let material = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => Material::Rsa {
            n: bytes(&rsa.n)?,
            e: bytes(&rsa.e)?,
        },
        AlgorithmParameters::EllipticCurve(ec) => {
            let (x, y) = (bytes(&ec.x)?, bytes(&ec.y)?);
            let size = if ec.curve == EllipticCurve::P256 {
                32
            } else {
                48
            };
            if x.len() != size || y.len() != size {
                return None;
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Material::Ec(point)
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            let x = bytes(&okp.x)?;
            if x.len() != 32 {
                return None;
            }
            Material::Ed(x)
        }
        _ => return None,
    };
    Some(Key {
        algorithms,
        material,
    })
}

/// The signature algorithm a JWK's `alg` names; `None` for anything else.
fn algorithm_of(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_N: &str = "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw";

    fn rsa(kid: Option<&str>, alg: Option<&str>, use_: Option<&str>) -> serde_json::Value {
        let mut key = serde_json::json!({"kty": "RSA", "n": RSA_N, "e": "AQAB"});
        if let Some(kid) = kid {
            key["kid"] = kid.into();
        }
        if let Some(alg) = alg {
            key["alg"] = alg.into();
        }
        if let Some(use_) = use_ {
            key["use"] = use_.into();
        }
        key
    }

    fn parse(keys: Vec<serde_json::Value>, allowed: &[Algorithm]) -> Result<KeySet, String> {
        KeySet::parse(
            &serde_json::to_vec(&serde_json::json!({"keys": keys})).unwrap(),
            allowed,
        )
    }

    #[test]
    fn keeps_signature_keys_of_allowed_algorithms_only() {
        let set = parse(
            vec![
                rsa(Some("a"), Some("RS256"), Some("sig")),
                rsa(Some("enc"), None, Some("enc")),
                rsa(Some("ps"), Some("PS256"), None),
                serde_json::json!({"kty": "oct", "kid": "secret", "k": "c2VjcmV0"}),
                serde_json::json!({"kty": "RSA", "kid": "broken"}),
                rsa(None, None, None),
            ],
            &[Algorithm::RS256],
        )
        .unwrap();
        assert!(set.knows(Some("a")));
        assert!(!set.knows(Some("enc")), "an encryption key never verifies");
        assert!(!set.knows(Some("ps")), "its alg is not allowed");
        assert!(
            !set.knows(Some("secret")),
            "a shared secret is never a verification key"
        );
        assert!(!set.knows(Some("broken")));
        assert!(set.knows(None));
        let a = &set.candidates(Some("a"))[0];
        assert_eq!(a.algorithms, [Algorithm::RS256]);
    }

    #[test]
    fn refuses_what_is_not_a_usable_jwks() {
        assert!(KeySet::parse(b"not json", &[Algorithm::RS256]).is_err());
        assert!(KeySet::parse(b"{\"keys\": 3}", &[Algorithm::RS256]).is_err());
        assert!(parse(vec![rsa(Some("a"), None, None)], &[Algorithm::ES256]).is_err());
        // Only the first keys of a huge set are read.
        let many: Vec<_> = (0..1000)
            .map(|i| rsa(Some(&format!("k{i}")), None, None))
            .collect();
        let set = parse(many, &[Algorithm::RS256]).unwrap();
        assert_eq!(set.len(), MAX_KEYS);
    }
}
