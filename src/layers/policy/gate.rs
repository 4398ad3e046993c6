//! [`ToolGate`]: a rule decided outside the policy's configuration, at every call.

use std::fmt;

use crate::service::Rejection;

/// A dynamic tool rule the policy consults after the name rule and identity, before the
/// allow and deny rules:
/// what it refuses is refused (with its own rejection) and hidden from `tools/list`. The
/// proxy's tool pins are one: a tool whose definition changed since it was approved is
/// held until an operator approves it again.
pub trait ToolGate: Send + Sync + fmt::Debug + 'static {
    /// `Err` with the refusal when `tool` may not be called now. Called on every call and
    /// for every tool of a listing: keep it cheap.
    fn admit(&self, tool: &str) -> Result<(), Rejection>;
}
