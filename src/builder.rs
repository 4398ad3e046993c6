//! `ServiceBuilder` methods for every layer: `.audit(..)`, `.sanitize(..)`, `.policy(..)`,
//! `.strip_ghost_args(..)`, `.strict_schema(..)`, `.sandbox(..)`.
//!
//! ```
//! use std::sync::Arc;
//! use agent_airlock::layers::sanitize::{SanitizeConfig, Sanitizer};
//! use agent_airlock::{PolicyEngine, ServiceBuilderExt, ToolRouter};
//! use serde_json::json;
//! use tower::ServiceBuilder;
//!
//! let router = ToolRouter::builder()
//!     .raw_tool("echo", "", json!({"type": "object", "properties": {"text": {"type": "string"}}}),
//!         |args| async move { Ok::<_, std::convert::Infallible>(args) })
//!     .build()
//!     .unwrap();
//! let catalog = router.catalog();
//! let policy = Arc::new(PolicyEngine::builder().deny(["drop_*"]).build().unwrap());
//! let sanitizer = Arc::new(Sanitizer::new(&SanitizeConfig::default()).unwrap());
//! let _svc = ServiceBuilder::new()
//!     .sanitize(sanitizer)
//!     .policy(policy)
//!     .strip_ghost_args(catalog.clone())
//!     .strict_schema(catalog)
//!     .service(router);
//! ```

use std::sync::Arc;

use tower::ServiceBuilder;
use tower_layer::Stack;

use crate::catalog::SharedCatalog;
use crate::layers::audit::AuditLayer;
use crate::layers::policy::{PolicyEngine, PolicyLayer};
use crate::layers::sanitize::{SanitizeLayer, Sanitizer};
use crate::layers::strict_schema::StrictSchemaLayer;
use crate::layers::strip_ghost_args::StripGhostArgsLayer;

#[cfg(all(feature = "sandbox", target_os = "linux"))]
use crate::layers::sandbox::SandboxLayer;

mod sealed {
    pub trait Sealed {}
    impl<L> Sealed for tower::ServiceBuilder<L> {}
}

/// Adds agent-airlock's layers to a [`ServiceBuilder`]. Each method takes what the layer's
/// `new` takes; for other settings, build the layer (`from_config`, builder methods) and
/// pass it to `.layer(..)`. The audit and sandbox layers open a file or find a worker
/// program when they are built, which can fail, so their methods take the built layer.
pub trait ServiceBuilderExt<L>: sealed::Sealed + Sized {
    /// Adds `layer` (an [`AuditLayer`] built with `from_config` or `with_sink`).
    fn audit(self, layer: AuditLayer) -> ServiceBuilder<Stack<AuditLayer, L>>;

    /// Adds [`SanitizeLayer::new`].
    fn sanitize(self, sanitizer: Arc<Sanitizer>) -> ServiceBuilder<Stack<SanitizeLayer, L>>;

    /// Adds [`PolicyLayer::new`].
    fn policy(self, policy: Arc<PolicyEngine>) -> ServiceBuilder<Stack<PolicyLayer, L>>;

    /// Adds [`StripGhostArgsLayer::new`] (non-strict).
    fn strip_ghost_args(
        self,
        catalog: impl Into<SharedCatalog>,
    ) -> ServiceBuilder<Stack<StripGhostArgsLayer, L>>;

    /// Adds [`StrictSchemaLayer::new`].
    fn strict_schema(
        self,
        catalog: impl Into<SharedCatalog>,
    ) -> ServiceBuilder<Stack<StrictSchemaLayer, L>>;

    /// Adds `layer` (a [`SandboxLayer`] built with `from_config` or `with_backend`).
    #[cfg(all(feature = "sandbox", target_os = "linux"))]
    fn sandbox(self, layer: SandboxLayer) -> ServiceBuilder<Stack<SandboxLayer, L>>;
}

impl<L> ServiceBuilderExt<L> for ServiceBuilder<L> {
    fn audit(self, layer: AuditLayer) -> ServiceBuilder<Stack<AuditLayer, L>> {
        self.layer(layer)
    }

    fn sanitize(self, sanitizer: Arc<Sanitizer>) -> ServiceBuilder<Stack<SanitizeLayer, L>> {
        self.layer(SanitizeLayer::new(sanitizer))
    }

    fn policy(self, policy: Arc<PolicyEngine>) -> ServiceBuilder<Stack<PolicyLayer, L>> {
        self.layer(PolicyLayer::new(policy))
    }

    fn strip_ghost_args(
        self,
        catalog: impl Into<SharedCatalog>,
    ) -> ServiceBuilder<Stack<StripGhostArgsLayer, L>> {
        self.layer(StripGhostArgsLayer::new(catalog))
    }

    fn strict_schema(
        self,
        catalog: impl Into<SharedCatalog>,
    ) -> ServiceBuilder<Stack<StrictSchemaLayer, L>> {
        self.layer(StrictSchemaLayer::new(catalog))
    }

    #[cfg(all(feature = "sandbox", target_os = "linux"))]
    fn sandbox(self, layer: SandboxLayer) -> ServiceBuilder<Stack<SandboxLayer, L>> {
        self.layer(layer)
    }
}
