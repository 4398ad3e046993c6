//! # agent-airlock
//!
//! Tower middleware that stands between AI agents and the tools they call.
//! Every tool call is untrusted input; each defense is an independent
//! [`tower::Layer`] that refuses with a structured [`Rejection`] an LLM can
//! correct itself from.
//!
//! The layers, outermost first in the recommended stack: [`AuditLayer`], [`SanitizeLayer`],
//! [`PolicyLayer`], [`StripGhostArgsLayer`], [`StrictSchemaLayer`] and the sandbox's
//! `SandboxLayer` (feature `sandbox`); what each defends against is the README's table, and
//! each module's page here.
//!
//! [`Airlock`] builds the recommended stack (audit, sanitize, policy, ghost arguments,
//! schema, sandbox) from one [`AirlockConfig`]; each layer also stands alone, built from
//! its own config section, and composes with `ServiceBuilder` as below.
//!
//! The contract every layer shares is in [`service`]: a [`ToolCall`] goes in,
//! a [`ToolResponse`] comes out, and **a refusal is a response, not an
//! error**: `Ok(ToolResponse::rejected(..))`. Tool schemas live in one
//! [`ToolCatalog`], compiled once and shared by the router and the layers.
//!
//! ```
//! use agent_airlock::{
//!     AirlockConfig, RejectionCode, StrictSchemaLayer, StripGhostArgsLayer, ToolCall, ToolRouter,
//! };
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct ReadFile {
//!     /// Path relative to the workspace.
//!     path: String,
//!     /// Most bytes to return.
//!     limit: Option<u32>,
//! }
//!
//! async fn read_file(args: ReadFile) -> Result<String, std::io::Error> {
//!     Ok(format!("contents of {} (limit {:?})", args.path, args.limit))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = AirlockConfig::default(); // or AirlockConfig::load(Some(path))?
//! let router = ToolRouter::builder()
//!     .tool("read_file", "Read a text file", read_file)
//!     .build()?;
//! let catalog = router.catalog();
//!
//! let airlock = ServiceBuilder::new()
//!     .layer(StripGhostArgsLayer::from_config(&config.strip_ghost_args(), catalog.clone()))
//!     .layer(StrictSchemaLayer::from_config(&config.strict_schema(), catalog))
//!     .service(router);
//!
//! // A hallucinated argument is stripped; the call goes through.
//! let ok = airlock.clone()
//!     .oneshot(ToolCall::new("read_file", json!({"path": "a.txt", "force": true})))
//!     .await?;
//! assert!(!ok.is_error);
//!
//! // "100" for an integer is refused, with a hint the model can follow.
//! let refused = airlock
//!     .oneshot(ToolCall::new("read_file", json!({"path": "a.txt", "limit": "100"})))
//!     .await?;
//! let rejection = refused.rejection.unwrap();
//! assert_eq!(rejection.code, RejectionCode::SchemaViolation);
//! assert_eq!(rejection.field_errors[0].hint, "send 100 as a number, without quotes");
//! # Ok(())
//! # }
//! ```
//!
//! ## Feature flags
//!
//! | feature | what it adds |
//! |---|---|
//! | `cli` | the `airlock` binary (`check`, `sanitize`, `audit verify`, `sandbox run`); includes `jwt`, `sandbox` and `cedar` |
//! | `sandbox` | the sandbox layer (Linux): process isolation with namespaces, Landlock, seccomp and rlimits, or bubblewrap |
//! | `jwt` | JWT identity verification (`JwtVerifier`) |
//! | `cedar` | `[policy] cedar_file`: Cedar policies over the caller, the tool and its arguments (`CedarPolicies`) |
//! | `axum` | `adapters::http`: MCP over HTTP and plain HTTP, on axum |
//! | `telemetry` | `telemetry::{Telemetry, Metrics}`: OTLP traces and audit logs, Prometheus metrics |
//! | `full` | everything |

// Two `unsafe` blocks in the crate, both in the sandbox's own stages: the `fork` of a
// process it has checked is single-threaded (`layers/sandbox/stage.rs`), and the `prctl`
// that empties the capability bounding set (`layers/sandbox/confine.rs`).
#![deny(unsafe_code)]
#![deny(unreachable_pub)]
#![warn(missing_docs)]

/// `get_ref`, `get_mut` and `into_inner` for a layer's service that wraps `inner: S`, as
/// every service of the crate has them (tower-http does the same).
macro_rules! inner_service_accessors {
    () => {
        /// The wrapped service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// The wrapped service, mutably.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Unwraps the service.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}

pub mod adapters;
pub mod airlock;
pub mod approvals;
pub mod builder;
pub mod catalog;
pub mod check;
pub mod config;
#[cfg(feature = "proxy")]
mod doors;
mod future;
pub mod layers;
pub mod limits;
pub mod mcp;
pub mod preview;
pub mod proxy;
pub mod router;
pub mod sensitive;
pub mod service;
pub mod state;
pub mod telemetry;

/// The JSON Schema crate whose compiled validator [`ToolSpec::validator`] hands out (to
/// [`layers::strict_schema::explain`], or your own checks): re-exported on purpose, so the
/// types you name are the ones this crate built. The other foreign types in public
/// signatures are those of the framework a door plugs into, each re-exported beside it:
/// `adapters::http::{axum, CorsLayer}`, `adapters::grpc::tonic`, `adapters::mcp::rmcp`,
/// and `http`'s `Extensions` in [`ToolCall`].
pub use jsonschema;

pub use airlock::{Airlock, AirlockBuilder, AirlockError, AirlockService};
pub use builder::ServiceBuilderExt;
pub use catalog::{CatalogError, MAX_SCHEMA_NODES, ToolCatalog, ToolSpec};
pub use config::{AirlockConfig, ConfigError};
pub use future::ResponseFuture;
pub use layers::audit::{Audit, AuditLayer};
pub use layers::policy::{Policy, PolicyEngine, PolicyLayer};
pub use layers::sanitize::{Sanitize, SanitizeLayer, Sanitizer};
pub use layers::strict_schema::{StrictSchema, StrictSchemaLayer};
pub use layers::strip_ghost_args::{StripGhostArgs, StripGhostArgsLayer};
pub use limits::{InputLimits, LimitViolation};
pub use router::{ToolRouter, ToolRouterBuilder};
pub use service::{
    Caller, FieldError, McpContent, Note, Rejection, RejectionCode, ToolCall, ToolOutput,
    ToolResponse, VerifiedAgent,
};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The guides' examples (`docs/`), compiled and run as doctests.
#[cfg(doctest)]
pub mod guides {
    /// docs/adapters.md
    #[doc = include_str!("../docs/adapters.md")]
    pub struct Adapters;
    /// docs/cli.md
    #[doc = include_str!("../docs/cli.md")]
    pub struct Cli;
    /// docs/configuration.md
    #[doc = include_str!("../docs/configuration.md")]
    pub struct Configuration;
    /// docs/deployment.md
    #[doc = include_str!("../docs/deployment.md")]
    pub struct Deployment;
    /// docs/performance.md
    #[doc = include_str!("../docs/performance.md")]
    pub struct Performance;
    /// docs/proxy.md
    #[doc = include_str!("../docs/proxy.md")]
    pub struct Proxy;
    /// docs/sandbox.md
    #[doc = include_str!("../docs/sandbox.md")]
    pub struct Sandbox;
    /// docs/testing.md
    #[doc = include_str!("../docs/testing.md")]
    pub struct Testing;
}

/// SECURITY.md's hardening example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../SECURITY.md")]
pub struct SecurityDoctests;
