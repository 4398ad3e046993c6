//! The rmcp door's connected client: the relay's [`ClientRequests`] (requests and
//! notifications a relayed server makes of it), and what a call sends it before its
//! answer: a tool's progress and log messages ([`Progress`], [`Log`]), in order, masked by
//! the stack, always before the answer.

use rmcp::service::{Peer, RoleServer};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::ServedStack;
use crate::mcp::ClientRequests;
use crate::service::{Log, LogLevel, LogMessage, Progress, ProgressUpdate, ToolCall, ToolResponse};

/// Messages held for a client that reads slower than the tool sends them; more are dropped.
const BACKLOG: usize = 64;

/// The connected client, as the relay's [`ClientRequests`](crate::mcp::ClientRequests).
#[derive(Debug)]
pub(super) struct Downstream(pub(super) Peer<RoleServer>);

impl Downstream {
    /// Sends the notification `method` (dropped when it is not one a server may send);
    /// false when the client is gone.
    pub(super) async fn send(&self, method: &str, params: Value) -> bool {
        let notification = serde_json::from_value::<rmcp::model::ServerNotification>(
            json!({"method": method, "params": params}),
        );
        match notification {
            Ok(notification) => self.0.send_notification(notification).await.is_ok(),
            Err(_) => true,
        }
    }
}

impl ClientRequests for Downstream {
    fn notify(&self, method: &str, params: Value) {
        tokio::spawn(self.notify_in_order(method, params));
    }

    fn notify_in_order(
        &self,
        method: &str,
        params: Value,
    ) -> futures_util::future::BoxFuture<'static, ()> {
        let client = Downstream(self.0.clone());
        let method = method.to_owned();
        Box::pin(async move {
            client.send(&method, params).await;
        })
    }

    fn capabilities(&self) -> Value {
        self.0
            .peer_info()
            .and_then(|info| serde_json::to_value(&info.capabilities).ok())
            .unwrap_or_else(|| json!({}))
    }

    fn request(
        &self,
        method: &str,
        params: Value,
    ) -> futures_util::future::BoxFuture<'static, Result<Value, crate::mcp::RelayError>> {
        let peer = self.0.clone();
        let request = serde_json::from_value::<rmcp::model::ServerRequest>(
            json!({"method": method, "params": params}),
        );
        Box::pin(async move {
            use crate::mcp::RelayError;
            let request = request.map_err(|_| RelayError::new(-32602, "invalid params"))?;
            match peer.send_request(request).await {
                Ok(result) => serde_json::to_value(result)
                    .map_err(|_| RelayError::new(-32603, "the client's answer cannot be read")),
                Err(rmcp::ServiceError::McpError(e)) => {
                    Err(RelayError::new(i64::from(e.code.0), e.message))
                }
                Err(_) => Err(RelayError::new(-32603, "the client did not answer")),
            }
        })
    }
}

/// How what a call reports is sent: a notification's method and params.
type Sender = dyn Fn(&'static str, Value) + Send + Sync;

/// What a call may send its client before it answers.
#[derive(Debug, Default)]
pub(super) struct Notices {
    /// The client's `progressToken`, when it asked for progress.
    pub(super) progress: Option<Value>,
    /// The least severe log message the client hears, when it set one.
    pub(super) level: Option<LogLevel>,
    /// The stream the call's answer will be written to, when the door writes it (the
    /// stdio door's lean path): what the tool reports goes there first, as JSON-RPC
    /// notifications, in order, ahead of the answer.
    pub(super) frames: Option<mpsc::Sender<Vec<u8>>>,
}

impl Notices {
    /// Marks `call` with what the stack reads of them: the client's progress token, and the
    /// trace the call continues (`traced`).
    pub(super) fn mark(
        &self,
        call: &mut crate::service::ToolCall,
        traced: Option<crate::telemetry::TraceContext>,
    ) {
        if let Some(token) = &self.progress {
            call.extensions
                .insert(crate::mcp::ProgressToken(token.clone()));
        }
        if let Some(traced) = traced {
            call.extensions.insert(traced);
        }
    }

    /// Runs `call` through `core`, sending the client what the tool reports along the way,
    /// in order and before the answer.
    pub(super) async fn call(
        &self,
        core: &ServedStack,
        peer: &Peer<RoleServer>,
        mut call: ToolCall,
    ) -> Result<ToolResponse, crate::adapters::BoxError> {
        if self.progress.is_none() && self.level.is_none() {
            return core.call(call).await;
        }
        if let Some(frames) = self.frames.clone() {
            self.install(&mut call, move |method, params| {
                let frame =
                    serde_json::json!({"jsonrpc": "2.0", "method": method, "params": params});
                let mut frame = serde_json::to_vec(&frame).unwrap_or_default();
                frame.push(b'\n');
                let _ = frames.try_send(frame);
            });
            return core.call(call).await;
        }
        let (sender, mut sent) = mpsc::channel::<(&'static str, Value)>(BACKLOG);
        self.install(&mut call, move |method, params| {
            let _ = sender.try_send((method, params));
        });
        let client = Downstream(peer.clone());
        let running = core.call(call);
        tokio::pin!(running);
        loop {
            tokio::select! {
                biased;
                Some((method, params)) = sent.recv() => {
                    client.send(method, params).await;
                }
                answered = &mut running => {
                    while let Ok((method, params)) = sent.try_recv() {
                        client.send(method, params).await;
                    }
                    return answered;
                }
            }
        }
    }

    /// Gives `call` the [`Progress`] and [`Log`] the client asked for, each report sent
    /// with `send`.
    fn install(
        &self,
        call: &mut ToolCall,
        send: impl Fn(&'static str, Value) + Send + Sync + 'static,
    ) {
        let send: std::sync::Arc<Sender> = std::sync::Arc::new(send);
        if let Some(token) = &self.progress {
            let (send, token) = (send.clone(), token.clone());
            call.extensions
                .insert(Progress::new(move |update: ProgressUpdate| {
                    let mut params = json!({"progressToken": token, "progress": update.progress});
                    if let Some(total) = update.total {
                        params["total"] = json!(total);
                    }
                    if let Some(message) = update.message {
                        params["message"] = Value::String(message);
                    }
                    send("notifications/progress", params);
                }));
        }
        if let Some(level) = self.level {
            call.extensions
                .insert(Log::new(level, move |message: LogMessage| {
                    send("notifications/message", message.to_params());
                }));
        }
    }
}

/// Who asks and what they asked to hear, as the door read it from the request.
#[derive(Debug, Default)]
pub(super) struct Asked {
    pub(super) caller: crate::service::Caller,
    /// The session the call counts against.
    pub(super) session: Option<String>,
    /// The client's `progressToken`, when it asked for progress.
    pub(super) progress: Option<Value>,
    /// The client's trace context.
    pub(super) traced: Option<crate::telemetry::TraceContext>,
    /// Where the door writes the answer, when it writes it itself (see [`Notices`]).
    pub(super) frames: Option<mpsc::Sender<Vec<u8>>>,
}

/// The trace context a request's `_meta` carries (`traceparent`, `tracestate`).
pub(super) fn trace_of(
    meta: &serde_json::Map<String, Value>,
) -> Option<crate::telemetry::TraceContext> {
    let text = |key: &str| meta.get(key).and_then(Value::as_str);
    crate::telemetry::TraceContext::parse(text("traceparent")?, text("tracestate"))
}
