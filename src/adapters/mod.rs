//! The airlock stack behind the doors agents use.
//!
//! | adapter | feature | what it serves |
//! |---|---|---|
//! | [`http`] | `axum` | MCP's Streamable HTTP transport at `POST /mcp`, and `POST /tools/{name}` |

#[cfg(feature = "axum")]
pub mod http;
