//! [`Outbox`]: the one channel on which a server behind the doors (the proxy's upstream)
//! sends what its client should hear, and which whichever door serves subscribes to.

use std::sync::Arc;

use serde_json::{Value, json};
use tokio::sync::broadcast;

/// A notification for the client of a door: its method and params, already masked by
/// whoever sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// `notifications/tools/list_changed`, `notifications/message`, …
    pub method: String,
    /// Its params (an object).
    pub params: Value,
}

impl Notification {
    /// Whether every session of a door may hear it, not only the connection it came from:
    /// that the tools, the prompts or the resources changed. (A log message of the one
    /// upstream belongs to no session in particular, and a resource's update only to the
    /// sessions that subscribed to it, so a door serving several sessions keeps the first
    /// to itself and sends the second where it was asked for; a door with one client,
    /// stdio, passes everything on.)
    pub fn for_every_session(&self) -> bool {
        matches!(
            self.method.as_str(),
            "notifications/tools/list_changed"
                | "notifications/prompts/list_changed"
                | "notifications/resources/list_changed"
        )
    }

    /// The JSON-RPC message, serialized.
    pub fn to_message(&self) -> String {
        let mut message = json!({"jsonrpc": "2.0", "method": self.method});
        if self.params.as_object().is_some_and(|p| !p.is_empty()) {
            message["params"] = self.params.clone();
        }
        message.to_string()
    }
}

/// Where a server behind the doors sends its client-bound notifications, once, whatever
/// door serves: the rmcp adapter passes each to its client, the HTTP adapter's event
/// streams those [for every session](Notification::for_every_session). Cheap to clone.
/// Bounded: a door that falls behind loses the oldest, never holds memory for them.
#[derive(Debug, Clone)]
pub struct Outbox {
    sender: broadcast::Sender<Arc<Notification>>,
}

impl Outbox {
    /// An outbox keeping at most `capacity` notifications for a subscriber that lags.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self { sender }
    }

    /// Sends `method` with `params` to every subscriber (none: dropped).
    pub fn send(&self, method: &str, params: Value) {
        let _ = self.sender.send(Arc::new(Notification {
            method: method.to_owned(),
            params,
        }));
    }

    /// What is sent from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Notification>> {
        self.sender.subscribe()
    }
}

impl Default for Outbox {
    /// 64 notifications.
    fn default() -> Self {
        Self::new(64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_subscriber_hears_each_notification_once() {
        let outbox = Outbox::new(4);
        let mut a = outbox.subscribe();
        let mut b = outbox.subscribe();
        outbox.send("notifications/tools/list_changed", json!({}));
        outbox.send(
            "notifications/message",
            json!({"level": "info", "data": "x"}),
        );
        for receiver in [&mut a, &mut b] {
            let first = receiver.recv().await.unwrap();
            assert!(first.for_every_session());
            assert_eq!(
                first.to_message(),
                r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#
            );
            let second = receiver.recv().await.unwrap();
            assert!(!second.for_every_session());
            assert_eq!(second.params["data"], "x");
        }
    }

    #[tokio::test]
    async fn a_lagging_subscriber_loses_the_oldest_not_memory() {
        let outbox = Outbox::new(2);
        let mut slow = outbox.subscribe();
        for i in 0..5 {
            outbox.send("notifications/message", json!({"i": i}));
        }
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(3))
        ));
        assert_eq!(slow.recv().await.unwrap().params["i"], 3);
    }
}
