//! Listing the upstream's tools: every page, within the limits, and never a name twice.

use rmcp::model::Tool;
use rmcp::service::{Peer, RoleClient};

use super::stdio::brief;
use crate::proxy::config::ProxyConfig;

/// Every page of the upstream's tools, within `[proxy] max_tools` and `max_tool_pages`.
pub(super) async fn list_tools(
    peer: &Peer<RoleClient>,
    config: &ProxyConfig,
) -> Result<Vec<Tool>, String> {
    let mut tools = Vec::new();
    let mut cursor = None;
    for _ in 0..config.max_tool_pages.max(1) {
        let params =
            cursor.map(|c| rmcp::model::PaginatedRequestParams::default().with_cursor(Some(c)));
        let page = peer
            .list_tools(params)
            .await
            .map_err(|e| format!("tools/list failed: {}", brief(&e)))?;
        tools.extend(page.tools);
        if tools.len() > config.max_tools {
            return Err(format!(
                "the upstream lists more than {} tools ([proxy] max_tools)",
                config.max_tools
            ));
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok(tools),
        }
    }
    Err(format!(
        "the upstream's tools/list goes on past {} pages ([proxy] max_tool_pages)",
        config.max_tool_pages
    ))
}

/// The tools of a listing whose name it lists once. A name listed more than once is never
/// served: which of its definitions the catalog would keep, and which the pins would
/// judge, is the upstream's choice, so none of them is (logged, the name escaped).
pub(super) fn unambiguous(tools: Vec<Tool>) -> Vec<Tool> {
    let mut count: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for tool in &tools {
        *count.entry(tool.name.to_string()).or_default() += 1;
    }
    let (kept, twice): (Vec<Tool>, Vec<Tool>) = tools
        .into_iter()
        .partition(|tool| count.get(tool.name.as_ref()) == Some(&1));
    let mut reported = std::collections::HashSet::new();
    for tool in &twice {
        if reported.insert(tool.name.to_string()) {
            tracing::warn!(
                tool = %crate::preview::display_name(&tool.name),
                times = count[tool.name.as_ref()],
                "the upstream lists a tool name more than once: none of its definitions is served"
            );
        }
    }
    kept
}

/// Told what the upstream serves whenever that may have changed (a restart, a
/// `notifications/tools/list_changed`): the proxy's pins re-check the tools then.
pub(crate) trait ToolsObserver: Send + Sync + 'static {
    /// The upstream's tools now (`tools/list` entries, every page).
    fn observe(&self, tools: &[serde_json::Value]);
}

/// What the upstream said when it started.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    /// Its `initialize` answer (server info, capabilities, instructions).
    pub info: Option<rmcp::model::ServerPeerInfo>,
    /// Every tool it lists (every page).
    pub tools: Vec<Tool>,
}
