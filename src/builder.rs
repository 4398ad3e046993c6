//! `ServiceBuilder` methods for every layer: `.policy(..)`, `.strip_ghost_args(..)`,
//! `.strict_schema(..)`.
//!
//! ```
//! use agent_airlock::{ServiceBuilderExt, ToolRouter};
//! use serde_json::json;
//! use tower::ServiceBuilder;
//!
//! let router = ToolRouter::builder()
//!     .raw_tool("echo", "", json!({"type": "object", "properties": {"text": {"type": "string"}}}),
//!         |args| async move { Ok::<_, std::convert::Infallible>(args) })
//!     .build()
//!     .unwrap();
//! let catalog = router.catalog();
//! let policy = std::sync::Arc::new(agent_airlock::Policy::builder().deny(["drop_*"]).build().unwrap());
//! let _svc = ServiceBuilder::new()
//!     .policy(policy)
//!     .strip_ghost_args(catalog.clone())
//!     .strict_schema(catalog)
//!     .service(router);
//! ```

use std::sync::Arc;

use tower::ServiceBuilder;
use tower_layer::Stack;

use crate::catalog::ToolCatalog;
use crate::layers::policy::{Policy, PolicyLayer};
use crate::layers::strict_schema::StrictSchemaLayer;
use crate::layers::strip_ghost_args::StripGhostArgsLayer;

mod sealed {
    pub trait Sealed {}
    impl<L> Sealed for tower::ServiceBuilder<L> {}
}

/// Adds agent-airlock's layers to a [`ServiceBuilder`], with their default settings. For
/// other settings, build the layer and pass it to `.layer(..)`.
pub trait ServiceBuilderExt<L>: sealed::Sealed + Sized {
    /// Adds [`PolicyLayer::new`].
    fn policy(self, policy: Arc<Policy>) -> ServiceBuilder<Stack<PolicyLayer, L>>;

    /// Adds [`StripGhostArgsLayer::new`] (non-strict).
    fn strip_ghost_args(
        self,
        catalog: Arc<ToolCatalog>,
    ) -> ServiceBuilder<Stack<StripGhostArgsLayer, L>>;

    /// Adds [`StrictSchemaLayer::new`].
    fn strict_schema(
        self,
        catalog: Arc<ToolCatalog>,
    ) -> ServiceBuilder<Stack<StrictSchemaLayer, L>>;
}

impl<L> ServiceBuilderExt<L> for ServiceBuilder<L> {
    fn policy(self, policy: Arc<Policy>) -> ServiceBuilder<Stack<PolicyLayer, L>> {
        self.layer(PolicyLayer::new(policy))
    }

    fn strip_ghost_args(
        self,
        catalog: Arc<ToolCatalog>,
    ) -> ServiceBuilder<Stack<StripGhostArgsLayer, L>> {
        self.layer(StripGhostArgsLayer::new(catalog))
    }

    fn strict_schema(
        self,
        catalog: Arc<ToolCatalog>,
    ) -> ServiceBuilder<Stack<StrictSchemaLayer, L>> {
        self.layer(StrictSchemaLayer::new(catalog))
    }
}
