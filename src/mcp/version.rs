//! The MCP revisions a door serves.

/// The revision a door answers `initialize` with when the client asks for one it does not
/// know.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Every revision a door accepts, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];
