//! [`Upstream`]: one MCP server the proxy talks to as a client (rmcp): started as a command
//! over stdio and restarted, with backoff, when it exits; or reached over Streamable HTTP
//! and connected again when the connection or the session is lost.
//!
//! | file | its job |
//! |---|---|
//! | `supervisor.rs` | start, restart with backoff, reconnect; calls and requests |
//! | `stdio.rs` | the command, its environment and sandbox lease, its stderr |
//! | `http.rs` | the HTTP transport: TLS, the token |
//! | `listing.rs` | the upstream's tools, every page, within the limits |
//! | `client.rs` | the client handler: sampling, elicitation, roots, notifications, progress |
//! | `rounds.rs` | the upstream's questions as a 2026-07-28 client's `InputRequiredResult` |
//! | `target.rs` | where the upstream is |
//! | `wire.rs` | the lean path of a call to a stdio upstream |

mod client;
mod exchange;
mod http;
mod listing;
mod rounds;
mod stdio;
mod supervisor;
mod target;
mod wire;

pub(crate) use client::{Heard, Listener};
pub(crate) use listing::ToolsObserver;
pub(crate) use rounds::{Answer, Call, Parked, Question, Rounds};
pub use supervisor::Upstream;
pub use target::{Launch, Target};
