//! The MCP revisions a door serves.

/// The revision a door answers `initialize` with when the client asks for one it does not
/// know.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Every revision a door accepts with the `initialize` handshake, newest first.
pub const SUPPORTED_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// The stateless revision: no handshake, no session; each request names the revision
/// and the client's capabilities in its `_meta` and its method (and name) in headers.
pub const STATELESS_VERSION: &str = "2026-07-28";

/// Every revision the HTTP door speaks, newest first (`server/discover`'s
/// `supportedVersions`).
pub const ALL_VERSIONS: &[&str] = &["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];
