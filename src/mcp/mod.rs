//! The Model Context Protocol in one place: what every door that speaks MCP (the HTTP
//! adapter, the rmcp adapter) and the proxy share, so that they depend on this module and
//! not on each other.
//!
//! | file | what it holds |
//! |---|---|
//! | `version.rs` | the protocol revisions served, and the one a door answers with |
//! | `rpc.rs` | [`RpcError`]: every JSON-RPC error a door sends, with its code |
//! | `result.rs` | the one encoding of a [`ToolResponse`](crate::ToolResponse) as MCP's `CallToolResult` |
//! | `link.rs` | which links a client may be sent to open |
//! | `notify.rs` | [`Outbox`]: the one channel a server behind the doors sends notifications on |
//! | `state.rs` | [`StateSeal`]: the multi-round trip's `requestState`, sealed and bound to its request |
//! | `relay.rs` | [`Relay`], [`ClientRequests`], [`ProgressToken`]: what passes between a door and a server behind it |
//!
//! ```
//! use agent_airlock::mcp::{RpcError, PROTOCOL_VERSION, SUPPORTED_VERSIONS};
//!
//! assert!(SUPPORTED_VERSIONS.contains(&PROTOCOL_VERSION));
//! let error = RpcError::MethodNotFound;
//! assert_eq!(error.code(), -32601);
//! ```

#[cfg(feature = "rmcp")]
pub(crate) mod frames;
mod link;
mod notify;
mod relay;
#[cfg(any(feature = "axum", feature = "rmcp"))]
pub(crate) mod result;
mod rpc;
#[cfg(any(feature = "axum", feature = "rmcp"))]
mod state;
mod version;

pub(crate) use link::safe_to_open;
pub use notify::{Notification, Outbox};
pub use relay::{ClientRequests, ProgressToken, Relay, RelayError};
pub use rpc::RpcError;
#[cfg(any(feature = "axum", feature = "rmcp"))]
pub(crate) use state::Binding;
#[cfg(any(feature = "axum", feature = "rmcp"))]
pub use state::StateSeal;
pub use version::{ALL_VERSIONS, PROTOCOL_VERSION, STATELESS_VERSION, SUPPORTED_VERSIONS};
