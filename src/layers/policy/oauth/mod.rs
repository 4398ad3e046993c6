//! [`OAuthVerifier`]: access tokens of an OAuth 2.1 authorization server, verified as the
//! MCP authorization specification asks of a resource server.
//!
//! - The server's metadata is discovered from its issuer URL (RFC 8414, then OpenID
//!   Connect Discovery), and must name that issuer exactly; its JWKS is fetched from the
//!   `jwks_uri` it names (or one configured), with a deadline, a size bound and no
//!   redirects.
//! - Keys are cached. A token signed with a key the cache does not hold (a `kid` never
//!   seen: the server rotated its keys) makes the verifier fetch the JWKS again, at most
//!   once per [`refresh_interval`](OAuthVerifierBuilder::refresh_interval) (a token
//!   arriving sooner waits for the next fetch, shared by all that wait); the JWKS is
//!   fetched again as well once older than [`max_key_age`](OAuthVerifierBuilder::max_key_age).
//!   A failed fetch keeps the keys held: a token no held key verifies is refused (fail
//!   closed).
//! - A token is accepted only when signed with an allowed asymmetric algorithm by a key of
//!   that JWKS (never `none`, never HMAC: a JWKS's public key is not a shared secret), with
//!   no header that points at other keys (`jku`, `x5u`, `jwk`, `x5c`) or asks for
//!   extensions (`crit`), `iss` exactly the issuer, `aud` naming this server's canonical
//!   resource URI (RFC 8707), `exp` in the future and `nbf` in the past within the leeway.
//! - An opaque token (not a JWT), when [`introspection`](OAuthVerifierBuilder::introspection)
//!   is set, is asked about at the issuer's introspection endpoint (RFC 7662; at most 16 at
//!   once): an active one naming this resource, from this issuer, is remembered like a
//!   verified JWT (a client's own token without `sub` is its `client_id`'s); without
//!   introspection, opaque tokens are refused.
//! - The verified `sub` is the agent id; roles come from the token's scopes and claims
//!   through configured mappings; every claim is kept for the policy (Cedar's context).
//!
//! Verification is synchronous once the keys are held: the policy layer (and the HTTP
//! door, before it answers) first awaits
//! [`IdentityVerifier::prepare`](crate::layers::policy::IdentityVerifier::prepare), which fetches
//! what a token needs. A verified token is remembered (by its SHA-256 digest, until its
//! `exp`, at most five minutes, and never across a change of keys), so the several
//! checks of one request cost one signature verification.

mod builder;
pub(crate) mod fetch;
mod introspect;
mod keys;
mod verifier;

pub use builder::OAuthVerifierBuilder;
pub use verifier::{DEFAULT_ALGORITHMS, OAuthVerifier};
