//! Names of the layers as they appear in [`Rejection::layer`](super::Rejection::layer) and in notes.

/// The tool router (name → handler).
pub const ROUTER: &str = "router";
/// [`StripGhostArgsLayer`](crate::StripGhostArgsLayer).
pub const STRIP_GHOST_ARGS: &str = "strip_ghost_args";
/// [`StrictSchemaLayer`](crate::StrictSchemaLayer).
pub const STRICT_SCHEMA: &str = "strict_schema";
/// The `airlock check` dry run.
pub const DRY_RUN: &str = "dry_run";
/// [`PolicyLayer`](crate::PolicyLayer).
pub const POLICY: &str = "policy";
/// [`SanitizeLayer`](crate::SanitizeLayer).
pub const SANITIZE: &str = "sanitize";
/// [`AuditLayer`](crate::AuditLayer).
pub const AUDIT: &str = "audit";
/// The sandbox layer.
pub const SANDBOX: &str = "sandbox";
/// A transport adapter (HTTP, gRPC) refusing what it could not turn into a call.
pub const ADAPTER: &str = "adapter";
