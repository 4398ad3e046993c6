//! A `tools/call`, the same whether rmcp parsed it ([`AirlockMcp`]'s `call_tool`) or the
//! stdio door's lean path did (`mcp_stdio.rs`): for a client of the handshake revisions
//! (2025-11-25 and before), the session's call through the stack, what the tool reports
//! sent along the way, and what it needs asked of the client before it is called again;
//! for a client of 2026-07-28, its retry's answers opened, the call, and the sealed round
//! when the tool needs its input.

use rmcp::ErrorData;
use rmcp::service::{Peer, RoleServer};
use serde_json::Value;

use super::mcp::AirlockMcp;
use super::mcp_client::{Asked, Notices};
use super::mcp_rounds::{self, Answered, Stateless};
use crate::service::{ToolCall, ToolResponse};
use crate::state::session::{owner_of, principal_budget};

impl AirlockMcp {
    /// Calls `name` for a client of the handshake revisions connected as `peer`: its
    /// progress and log messages (at the level it set) sent before the answer; what the
    /// tool needs from the client asked of it when it declared it can answer, and the tool
    /// called again with the answers, at most [`mcp_rounds::MAX_ROUNDS`] times.
    pub(super) async fn in_session(
        &self,
        peer: &Peer<RoleServer>,
        name: String,
        arguments: Value,
        asked: Asked,
    ) -> Result<ToolResponse, ErrorData> {
        let mut call = ToolCall::new(name, arguments).with_caller(asked.caller);
        call.session = asked.session;
        let notices = Notices {
            progress: asked.progress,
            level: self.log_level(),
            frames: asked.frames,
        };
        notices.mark(&mut call, asked.traced);
        let failed = |_| ErrorData::internal_error("internal error", None);
        // A client that can be asked something: the call is kept, to be made again with
        // its answers.
        let first = mcp_rounds::can_be_asked(peer).then(|| call.clone());
        let mut response = notices
            .call(self.core(), peer, call)
            .await
            .map_err(failed)?;
        for _ in 0..mcp_rounds::MAX_ROUNDS {
            let (Some(input), Some(first)) = (response.input_requests(), &first) else {
                break; // answered, or nothing the client could be asked: said in the result
            };
            let capabilities = mcp_rounds::declared(peer);
            match mcp_rounds::ask_client(peer, &capabilities, input).await {
                Ok(inputs) => {
                    let mut again = first.clone().with_id(ToolCall::new("", Value::Null).id);
                    again.extensions.insert(inputs);
                    response = notices
                        .call(self.core(), peer, again)
                        .await
                        .map_err(failed)?;
                }
                Err(why) => response = ToolResponse::error(why),
            }
        }
        Ok(response)
    }

    /// Calls `name` for a client of 2026-07-28 connected as `peer`: a retry's answers
    /// opened (they must be for this caller, tool and arguments), budgets counted against
    /// the verified caller, and what the tool needs from the client returned as a sealed
    /// round instead of asked.
    pub(super) async fn stateless_call(
        &self,
        peer: &Peer<RoleServer>,
        name: String,
        arguments: Value,
        asked: Stateless,
    ) -> Result<Answered, ErrorData> {
        // Who asks, as sessions know them: what the round is bound to, and what its budgets
        // count against.
        let owner = owner_of(&asked.caller, self.core().policy());
        let binding = crate::mcp::Binding::of("tools/call", &name, &arguments, &owner);
        let inputs = mcp_rounds::answers(self.seal(), &binding, asked.responses, asked.state)?;
        let mut call = ToolCall::new(name, arguments).with_caller(asked.caller);
        // A 2026-07-28 client has no session: budgets count against the verified caller.
        call.session = asked.session.or_else(|| principal_budget(&owner));
        // What the client hears along the way: progress, as it asked; log messages, at the
        // level in the request's `_meta`.
        let notices = Notices {
            progress: asked.progress,
            level: asked.level?,
            frames: asked.frames,
        };
        notices.mark(&mut call, asked.traced);
        if let Some(inputs) = inputs {
            call.extensions.insert(inputs);
        }
        call.extensions.insert(asked.capabilities.clone());
        let response = notices
            .call(self.core(), peer, call)
            .await
            .map_err(|_| ErrorData::internal_error("internal error", None))?;
        match response.input_requests() {
            Some(input) => {
                mcp_rounds::input_required(self.seal(), &binding, &asked.capabilities, input)
                    .map(Answered::Input)
            }
            None => Ok(Answered::Done(response)),
        }
    }
}
