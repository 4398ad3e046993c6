//! Masks PII and secrets in everything that flows back, and caps its size.
//!
//! What a tool returns goes straight into the model's context and often the
//! user's screen and logs. [`SanitizeLayer`] runs every response through a
//! [`Sanitizer`]:
//!
//! - **detection** ([`Detector`]): about 200 detectors, listed with their
//!   kind, description and an example by [`Detector::detectors`] and
//!   `airlock sanitize --list-detectors`: e-mail addresses (internationalized,
//!   escaped as `\u0040` or `%40`, or written out, `john at example dot com`),
//!   phone numbers (US, international, national next to a phone word), US
//!   SSNs and ITINs (and, after their names, US passport, driver's license, DEA,
//!   bank account and routing numbers), payment cards (Luhn, issuer ranges or a card word nearby), IPv4 and
//!   IPv6 and MAC addresses, crypto wallets (base58check, bech32, EIP-55),
//!   IBANs (mod-97), about 170 vendor token formats of more than 100 vendors
//!   (GitHub and npm CRC32 checksums checked), JWTs, PEM, OpenSSH and PGP
//!   private keys, URL passwords, `Authorization` headers, bearer tokens and
//!   cookies, and values assigned to secret names in env files, YAML, JSON,
//!   TOML, INI, code, URLs and command lines (placeholders and references left
//!   alone); with locale `in` Aadhaar (Verhoeff), PAN, UPI ids and IFSC codes;
//!   plus workspace patterns, and an allowlist of values never masked. The
//!   scan is linear in the text whatever the rules (see [`Detector`]);
//! - **masking** ([`MaskStyle`]): a label (`[REDACTED:EMAIL]`), a partial mask
//!   keeping the last four characters, or a keyed hash, per kind;
//! - **structure**: JSON outputs are walked: every string, object key and
//!   number of nine digits or more is sanitized (a masked key keeps its member,
//!   a masked number becomes a string), values under sensitive key names are
//!   masked whatever they hold, and so is the value of a `{"name":
//!   "DB_PASSWORD", "value": …}` pair; error messages and refusals are
//!   sanitized too;
//! - **base64**: wherever it appears (a content block's `data` or `blob`, its mirror in
//!   `structuredContent`, a `data:` URL, a wrapped MIME body), base64 that decodes to text
//!   (UTF-8, UTF-16, Latin-1) has that text masked and is encoded again in the same form;
//!   base64 that decodes to binary is passed on and counted under [`UNINSPECTED`]
//!   ([`Note::Uninspected`](crate::Note::Uninspected) in a response);
//! - **budget**: the output is cut at `max_output_chars` or `max_output_tokens`
//!   × 4 characters: text on a character boundary, marked in the text; JSON
//!   inside the value, so it stays JSON (long strings shortened, arrays and
//!   objects ended early, each cut marked where it happened); both recorded in a
//!   [`Note::Truncated`](crate::Note::Truncated).
//!
//! Masking runs before truncation, so a cut never leaves half a secret
//! visible. Notes carry counts by kind, never values.
//!
//! Put this layer outermost (inside audit only): a layer sees the responses of
//! the layers inside it, so there it also masks refusals that echo input.
//!
//! ```
//! use std::convert::Infallible;
//! use agent_airlock::layers::sanitize::{SanitizeConfig, SanitizeLayer};
//! use agent_airlock::{ToolCall, ToolOutput, ToolResponse};
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let tool = service_fn(|_call: ToolCall| async {
//!     Ok::<_, Infallible>(ToolResponse::json(json!({
//!         "user": "alice@example.com",
//!         "api_key": "anything at all",
//!         "note": "call me at (555) 123-4567"
//!     })))
//! });
//! let svc = ServiceBuilder::new()
//!     .layer(SanitizeLayer::from_config(&SanitizeConfig::default())?)
//!     .service(tool);
//! let response = svc.oneshot(ToolCall::new("lookup", json!({}))).await?;
//! assert_eq!(response.output, ToolOutput::Json(json!({
//!     "user": "[REDACTED:EMAIL]",
//!     "api_key": "[REDACTED:SECRET]",
//!     "note": "call me at [REDACTED:PHONE]"
//! })));
//! # Ok(())
//! # }
//! ```

mod automata;
mod budget;
mod config;
mod confirm;
mod context;
mod decode;
mod detect;
mod embedded;
mod error;
mod expressions;
mod future;
mod hashes;
mod kind;
mod layer;
mod locales;
mod mask;
mod mobiles;
mod numbers;
mod phones;
mod placeholder;
mod rules;
mod sanitizer;
mod service;
mod shapes;
mod starts;
mod stdin;
pub mod validate;
mod vendors;

pub use config::SanitizeConfig;
pub use detect::{CustomPattern, Detector, DetectorOptions};
pub use embedded::UNINSPECTED;
pub use error::SanitizeError;
pub use future::SanitizeFuture;
pub use kind::{Finding, KIND_NAMES, Kind};
pub use layer::SanitizeLayer;
pub use locales::LOCALES;
pub use mask::MaskStyle;
pub use rules::DetectorInfo;
pub(crate) use sanitizer::add as add_count;
pub use sanitizer::{CHARS_PER_TOKEN, Counts, Sanitizer};
pub use service::Sanitize;
