//! [`Target`] and [`Launch`]: where the upstream is and how it is started.

use std::collections::BTreeMap;

/// Where the upstream is: a command to start (over stdio) or a Streamable HTTP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Started as a command; MCP over its stdin and stdout.
    Command(Launch),
    /// Reached at an `http://` URL (MCP's Streamable HTTP: JSON and SSE responses,
    /// session ids); a lost connection or session is opened again at the next call.
    Http(String),
}

impl From<Launch> for Target {
    fn from(launch: Launch) -> Self {
        Target::Command(launch)
    }
}

/// The command a stdio upstream runs, and its environment (nothing else of the host's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its whole environment.
    pub env: BTreeMap<String, String>,
}
