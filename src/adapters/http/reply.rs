//! JSON answers of the HTTP door.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

pub(super) fn rpc_result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

pub(super) fn json_response(status: StatusCode, body: impl Serialize) -> Response {
    (status, axum::Json(body)).into_response()
}
