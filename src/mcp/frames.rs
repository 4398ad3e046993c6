//! Newline-delimited JSON-RPC over a byte stream (MCP's stdio transport), as both lean
//! paths read and write it: the stdio door's (`adapters/mcp_stdio.rs`) and the proxy's to
//! a stdio upstream (`proxy/upstream/wire.rs`). Lines are read within a bound; one writer
//! task puts every message on the stream whole; what rmcp writes reaches that writer a
//! message at a time.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::mpsc;

/// Longest line read (rmcp's own limit): a longer one is dropped, as rmcp drops it.
pub(crate) const MAX_LINE: usize = 16 * 1024 * 1024;

/// What [`read_line`] read.
pub(crate) enum Read {
    /// A line, in the buffer.
    Line,
    /// A line too long, dropped.
    Oversized,
    /// The end of the stream (or a failure to read it).
    End,
}

/// The next line of `reader` into `line` (its `\n` kept), at most [`MAX_LINE`] bytes: a
/// longer one is read to its end and dropped, holding no more than that.
pub(crate) async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut tokio::io::BufReader<R>,
    line: &mut Vec<u8>,
) -> Read {
    use tokio::io::AsyncReadExt as _;
    match (&mut *reader)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', line)
        .await
    {
        Ok(0) | Err(_) => return Read::End,
        Ok(_) if line.len() <= MAX_LINE => return Read::Line,
        Ok(_) => {}
    }
    loop {
        line.clear();
        match (&mut *reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', line)
            .await
        {
            Ok(0) | Err(_) => return Read::End,
            Ok(_) if line.last() == Some(&b'\n') => {
                line.clear();
                return Read::Oversized;
            }
            Ok(_) => {}
        }
    }
}

/// A JSON-RPC message's envelope, read borrowing its line: only what tells where it goes.
#[derive(Deserialize)]
pub(crate) struct Envelope<'a> {
    #[serde(borrow, default)]
    pub(crate) jsonrpc: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub(crate) method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) params: Option<&'a RawValue>,
}

/// Passes `line` on to `writer` (rmcp's side of a stream) as one line, ending it with a
/// newline if the stream's last line had none.
pub(crate) async fn pass_line<W: AsyncWrite + Unpin>(
    writer: &mut W,
    line: &[u8],
) -> std::io::Result<()> {
    writer.write_all(line).await?;
    if line.last() != Some(&b'\n') {
        writer.write_all(b"\n").await?;
    }
    Ok(())
}

/// Writes every message sent on `outbox`, those waiting together, until every sender is
/// gone.
pub(crate) async fn write_frames<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut outbox: mpsc::Receiver<Vec<u8>>,
) -> std::io::Result<()> {
    let mut batch = Vec::new();
    while let Some(frame) = outbox.recv().await {
        batch.clear();
        batch.extend_from_slice(&frame);
        while batch.len() < 64 * 1024 {
            match outbox.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        writer.write_all(&batch).await?;
        writer.flush().await?;
    }
    Ok(())
}

/// What rmcp writes, handed to the writer a whole message at a time (at each flush: rmcp
/// flushes after every message), so it never interleaves with a lean answer.
pub(crate) struct FrameSink {
    buffer: Vec<u8>,
    frames: tokio_util::sync::PollSender<Vec<u8>>,
}

impl FrameSink {
    /// Hands what is written to `frames`.
    pub(crate) fn new(frames: mpsc::Sender<Vec<u8>>) -> Self {
        Self {
            buffer: Vec::new(),
            frames: tokio_util::sync::PollSender::new(frames),
        }
    }
}

impl AsyncWrite for FrameSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.buffer.extend_from_slice(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        if self.buffer.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let closed = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        match self.frames.poll_reserve(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(Err(closed())),
            Poll::Ready(Ok(())) => {
                let frame = std::mem::take(&mut self.buffer);
                match self.frames.send_item(frame) {
                    Ok(()) => Poll::Ready(Ok(())),
                    Err(_) => Poll::Ready(Err(closed())),
                }
            }
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.as_mut().poll_flush(cx) {
            std::task::Poll::Ready(_) => {
                self.frames.close();
                std::task::Poll::Ready(Ok(()))
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

/// A content block of a kind and shape rmcp reads as one.
pub(crate) fn known_block(block: &Value) -> bool {
    let text = |key: &str| block.get(key).is_some_and(Value::is_string);
    match block.get("type").and_then(Value::as_str) {
        Some("text") => text("text"),
        Some("image" | "audio") => text("data") && text("mimeType"),
        Some("resource") => block.get("resource").is_some_and(|r| {
            r.get("uri").is_some_and(Value::is_string)
                && (r.get("text").is_some_and(Value::is_string)
                    || r.get("blob").is_some_and(Value::is_string))
        }),
        Some("resource_link") => text("uri") && text("name"),
        _ => false,
    }
}
