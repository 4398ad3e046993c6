//! [`Outcome`]: what happened to a call, as its record says.

use serde::{Deserialize, Serialize};

/// What became of a call, as its audit record says (the record's `decision` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Let through, and the tool answered.
    Allowed,
    /// Refused by a layer (see `code` and `layer`).
    Refused,
    /// Let through; the tool reported an error.
    Failed,
    /// The service returned an error instead of a response.
    Error,
    /// The caller dropped the call before it finished.
    Cancelled,
}
