//! `airlock approvals`: approvers decide on held calls through a running airlock's API.

use std::process::ExitCode;

use serde_json::Value;

use crate::ApprovalsCommand;

/// Runs `command` against the approvals API at `url` with the approver credential in the
/// variable `token_env`. Exit status 0 on success, 1 when the server refused (not found,
/// already decided, not an approver), 2 when it cannot be reached.
pub(crate) fn approvals(url: &str, token_env: &str, command: ApprovalsCommand) -> ExitCode {
    let Ok(token) = std::env::var(token_env) else {
        eprintln!("airlock: the variable {token_env} holds no approver credential");
        return ExitCode::from(2);
    };
    let base = format!("{}/approvals/api/requests", url.trim_end_matches('/'));
    let (method, target) = match &command {
        ApprovalsCommand::List => (reqwest::Method::GET, base),
        ApprovalsCommand::Show { id } => (reqwest::Method::GET, format!("{base}/{id}")),
        ApprovalsCommand::Approve { id } => (reqwest::Method::POST, format!("{base}/{id}/approve")),
        ApprovalsCommand::Deny { id } => (reqwest::Method::POST, format!("{base}/{id}/deny")),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("airlock: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    // reqwest is built without a default TLS provider: ring, as the proxy's client uses.
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let answer = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        let response = client
            .request(method, &target)
            .bearer_auth(token.trim())
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        Ok::<_, reqwest::Error>((status, body))
    });
    let (status, body) = match answer {
        Ok(a) => a,
        Err(e) => {
            eprintln!("airlock: cannot reach {target}: {e}");
            return ExitCode::from(2);
        }
    };
    if !status.is_success() {
        let why = body["error"].as_str().unwrap_or("refused");
        eprintln!("airlock: {why} ({status})");
        return ExitCode::from(1);
    }
    match command {
        ApprovalsCommand::List => {
            for request in body["requests"].as_array().into_iter().flatten() {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    request["id"].as_str().unwrap_or(""),
                    request["state"].as_str().unwrap_or(""),
                    request["binding"]["tool"].as_str().unwrap_or(""),
                    request["binding"]["agent"]
                        .as_str()
                        .unwrap_or("(anonymous)"),
                    request["reason"].as_str().unwrap_or(""),
                );
            }
        }
        _ => println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        ),
    }
    ExitCode::SUCCESS
}
