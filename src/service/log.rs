//! [`Log`]: where a tool sends log messages during a call, when the client asked to hear
//! them (MCP's `notifications/message`, at the level the client set).

use std::sync::Arc;

use serde_json::Value;

/// The severity of a log message (RFC 5424's, as MCP names them), least severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Detailed debugging information.
    Debug,
    /// General information.
    Info,
    /// Normal but significant events.
    Notice,
    /// Warning conditions.
    Warning,
    /// Error conditions.
    Error,
    /// Critical conditions.
    Critical,
    /// Action must be taken immediately.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl LogLevel {
    /// Every level, least severe first.
    pub const ALL: [LogLevel; 8] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Notice,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
        LogLevel::Alert,
        LogLevel::Emergency,
    ];

    /// Its name on the wire (`"warning"`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Notice => "notice",
            LogLevel::Warning => "warning",
            LogLevel::Error => "error",
            LogLevel::Critical => "critical",
            LogLevel::Alert => "alert",
            LogLevel::Emergency => "emergency",
        }
    }

    /// The level named `name` on the wire; `None` for any other text.
    ///
    /// ```
    /// use agent_airlock::service::LogLevel;
    ///
    /// assert_eq!(LogLevel::parse("notice"), Some(LogLevel::Notice));
    /// assert_eq!(LogLevel::parse("Notice"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|level| level.as_str() == name)
    }
}

/// One log message of a call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LogMessage {
    /// How severe.
    pub level: LogLevel,
    /// Who logs it (a component's name), when the tool says.
    pub logger: Option<String>,
    /// What is logged: any JSON (a string, an object of fields).
    pub data: Value,
}

impl LogMessage {
    /// The params of its `notifications/message`.
    pub fn to_params(&self) -> Value {
        let mut params = serde_json::json!({"level": self.level.as_str(), "data": self.data});
        if let Some(logger) = &self.logger {
            params["logger"] = Value::String(logger.clone());
        }
        params
    }
}

/// In [`ToolCall::extensions`](super::ToolCall::extensions) when the client asked to hear
/// the call's log messages (`logging/setLevel` under the handshake revisions, the
/// request's `_meta` under 2026-07-28): a tool logs with [`Log::log`], the door sends each
/// message at or above the client's level before the answer. Messages are masked by the
/// sanitize layer like any output. Logging never blocks; messages the client cannot take
/// fast enough are dropped.
///
/// ```
/// use agent_airlock::service::{Log, LogLevel, LogMessage};
/// use std::sync::{Arc, Mutex};
///
/// let heard = Arc::new(Mutex::new(Vec::new()));
/// let sink = heard.clone();
/// let log = Log::new(LogLevel::Info, move |m: LogMessage| sink.lock().unwrap().push(m));
/// log.log(LogLevel::Debug, None, "not heard: below the client's level");
/// log.log(LogLevel::Warning, Some("fetch"), "retrying");
/// let heard = heard.lock().unwrap();
/// assert_eq!(heard.len(), 1);
/// assert_eq!(heard[0].to_params()["logger"], "fetch");
/// ```
#[derive(Clone)]
pub struct Log {
    level: LogLevel,
    sink: Arc<dyn Fn(LogMessage) + Send + Sync>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("level", &self.level).finish()
    }
}

impl Log {
    /// Messages at `level` or above go to `sink`.
    pub fn new(level: LogLevel, sink: impl Fn(LogMessage) + Send + Sync + 'static) -> Self {
        Self {
            level,
            sink: Arc::new(sink),
        }
    }

    /// The least severe level the client hears.
    pub fn level(&self) -> LogLevel {
        self.level
    }

    /// Whether a message at `level` would be heard (to skip building one that would not).
    pub fn enabled(&self, level: LogLevel) -> bool {
        level >= self.level
    }

    /// Logs `data` at `level`, from `logger`; dropped below the client's level.
    pub fn log(&self, level: LogLevel, logger: Option<&str>, data: impl Into<Value>) {
        if self.enabled(level) {
            (self.sink)(LogMessage {
                level,
                logger: logger.map(str::to_owned),
                data: data.into(),
            });
        }
    }

    /// The same log, each message through `mask` first.
    pub fn masked(&self, mask: impl Fn(&mut LogMessage) + Send + Sync + 'static) -> Self {
        let inner = self.sink.clone();
        Self {
            level: self.level,
            sink: Arc::new(move |mut message: LogMessage| {
                mask(&mut message);
                inner(message)
            }),
        }
    }
}
