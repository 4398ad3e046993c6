//! The defenses, one module per layer.
//!
//! | layer | what it does |
//! |---|---|
//! | [`audit`] | an append-only, tamper-evident record of every call |
//! | [`strip_ghost_args`] | removes arguments the tool does not declare; in strict mode refuses them |
//! | [`strict_schema`] | validates arguments against the tool's JSON Schema, no coercion |
//! | [`policy`] | identity, allow/deny, roles, time windows, rate limits, session budgets |
//! | `sandbox` (feature `sandbox`, Linux) | runs chosen tools in an isolated process, fails closed |
//! | [`sanitize`] | masks PII and secrets in outputs and errors, truncates to a budget |

pub mod audit;
pub mod policy;
pub mod sandbox;
pub mod sanitize;
pub mod strict_schema;
pub mod strip_ghost_args;
