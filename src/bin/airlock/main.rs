//! `airlock`: the agent-airlock command line.
//!
//! ```text
//! airlock check --tools tools.json [--config airlock.toml] [--fail-on-deny] < calls.jsonl
//! airlock sanitize [--config airlock.toml] [--jsonl] [--findings] < output.txt
//! airlock audit verify [--key-env VAR] audit.jsonl audit.jsonl.0000000000000001 …
//! airlock sandbox run [--backend process|bwrap] [--wall-time-secs N] … -- CMD ARGS…
//! airlock proxy [--config airlock.toml] [--listen ADDR] -- CMD ARGS…
//! airlock proxy [--config airlock.toml] [--listen ADDR] --upstream URL
//! airlock pins --config airlock.toml list | diff [NAME…] | approve NAME@HASH…
//! ```
use std::path::PathBuf;
use std::process::ExitCode;

use agent_airlock::AirlockConfig;
use agent_airlock::layers::sandbox::BackendKind;
use agent_airlock::layers::sanitize::Sanitizer;
use clap::{Parser, Subcommand};

mod approvals;
mod audit;
mod check;
mod pins;
mod policy;
mod proxy;
mod sandbox;
mod sanitize;

use audit::audit_verify;
use check::check;
use pins::pins;
use proxy::proxy;
use sandbox::sandbox_run;
use sanitize::{list_sanitize_detectors, sanitize};

/// Guard AI agents' tool calls: check calls against a tool catalog and a policy.
#[derive(Parser)]
#[command(name = "airlock", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Dry-run tool calls read as JSON Lines on stdin; write one decision per line.
    ///
    /// Each input line: {"tool": "...", "arguments": {...}, "agent": "..."}.
    /// Each output line: {"line": N, "decision": "allow", "arguments": {...}} or
    /// {"line": N, "decision": "deny", "rejection": {...}}. Nothing is executed.
    Check {
        /// The tool catalog: an MCP tools/list JSON document.
        #[arg(long, value_name = "FILE")]
        tools: PathBuf,
        /// Configuration file (TOML); AIRLOCK_* environment variables apply on top.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Exit with status 1 when any call is denied or held for approval (for use in CI).
        #[arg(long)]
        fail_on_deny: bool,
        /// Record every decision in this audit log, as a live stack would (the rest of
        /// `[audit]` comes from the configuration).
        #[arg(long, value_name = "FILE")]
        audit_log: Option<PathBuf>,
    },
    /// Work with audit logs.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check the policy configuration.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Decide on calls held for approval, through a running airlock's approvals API
    /// (`[policy.approvals] listen`).
    Approvals {
        /// The approvals server, e.g. http://127.0.0.1:7070.
        #[arg(long, value_name = "URL")]
        url: String,
        /// The environment variable holding an approver's credential.
        #[arg(long, value_name = "VAR", default_value = "AIRLOCK_APPROVER_TOKEN")]
        token_env: String,
        #[command(subcommand)]
        action: ApprovalsCommand,
    },
    /// Run commands under the sandbox layer's isolation.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Put the whole airlock in front of an MCP server: start CMD ARGS… as the upstream
    /// (over stdio), or reach it at --upstream URL (Streamable HTTP), and serve its tools
    /// through every layer.
    ///
    /// Without --listen it speaks MCP on its own stdin and stdout, so an MCP host
    /// configures `airlock proxy -- <the original command>` in place of the command; with
    /// --listen it serves MCP's Streamable HTTP at http://ADDR/mcp. Logs go to stderr
    /// (RUST_LOG filters them; default info).
    Proxy {
        /// Configuration file (TOML); AIRLOCK_* environment variables apply on top.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Serve Streamable HTTP on this address (e.g. 127.0.0.1:3000) instead of stdio.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// The upstream server's Streamable HTTP endpoint (http://host:port/mcp or https://…).
        #[arg(long, value_name = "URL", conflicts_with = "command")]
        upstream: Option<String>,
        /// The upstream server's command and its arguments.
        #[arg(last = true, required_unless_present = "upstream", value_name = "CMD")]
        command: Vec<String>,
    },
    /// Review the proxy's tool pins (`[proxy.pins] file`): which tools are held, what
    /// changed, and approve them.
    Pins {
        /// Configuration file (TOML) whose `[proxy.pins]` names the pin file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: PinsCommand,
    },
    /// Mask PII and secrets in text read on stdin, with the sanitize layer's configuration.
    ///
    /// Text mode (default) writes the masked text. With --jsonl, each input line is a JSON
    /// value and each output line is the same value sanitized. With --findings, writes
    /// what was found instead (kinds, rules and byte spans, never the values).
    Sanitize {
        /// Configuration file (TOML); AIRLOCK_* environment variables apply on top.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// One JSON value per line in and out.
        #[arg(long)]
        jsonl: bool,
        /// Report findings (kind, rule, byte span) as JSON lines instead of masking.
        #[arg(long)]
        findings: bool,
        /// Print to stderr the bytes sanitized, the counts by kind, and the time spent
        /// sanitizing (reading and writing excluded).
        #[arg(long)]
        stats: bool,
        /// List every detector the configuration enables (name, kind, description, an
        /// example it masks), one JSON object per line, and exit.
        #[arg(long)]
        list_detectors: bool,
    },
}

#[derive(Subcommand)]
pub(crate) enum PinsCommand {
    /// Every pinned tool: approved, changed (what), new or held, and what the scan of its
    /// descriptions found. Exit status 1 when any tool is held.
    List,
    /// What changed in each tool (or the ones named) since it was approved.
    Diff {
        /// Tools to show (default: every changed one).
        names: Vec<String>,
    },
    /// Approve the definitions `diff` showed (NAME@HASH): only when the upstream still
    /// serves that definition; a running proxy serves them again within a second.
    Approve {
        /// The tools, each as NAME@HASH (at least 12 hex digits of the hash `diff` prints).
        #[arg(required = true)]
        names: Vec<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum ApprovalsCommand {
    /// The live requests, newest first: id, state, tool, caller, why (tab-separated).
    List,
    /// One request as JSON, its arguments masked.
    Show {
        /// The request id.
        id: String,
    },
    /// Approve a pending request: the identical call, retried, then goes through once.
    Approve {
        /// The request id.
        id: String,
    },
    /// Deny a pending request.
    Deny {
        /// The request id.
        id: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum PolicyCommand {
    /// Run the policy's start-up checks alone, against a tool catalog: the rules compile,
    /// and the Cedar policies (`[policy] cedar_file`) hold for every tool's input schema (an
    /// argument a tool does not have, a comparison of another type, an unknown tool are
    /// errors naming the policy). Exit status 1 when they do not hold, 2 when a file
    /// cannot be read.
    Validate {
        /// The tool catalog: an MCP tools/list JSON document.
        #[arg(long, value_name = "FILE")]
        tools: PathBuf,
        /// Configuration file (TOML); AIRLOCK_* environment variables apply on top.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the hash chain and sequence of an audit log, across its rotated files (given in
    /// any order). Prints OK or the first broken record (file, line, seq, why); exit status 1
    /// on a break, 2 when a file cannot be read.
    Verify {
        /// The log files: the active one and the rotated ones.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The environment variable holding the HMAC key of a keyed chain.
        #[arg(long, value_name = "VAR")]
        key_env: Option<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum SandboxCommand {
    /// Run CMD ARGS… isolated as a sandboxed tool would be; print what was enforced to
    /// stderr. Stdin is passed through; the exit status is the command's (124 on timeout,
    /// 125 when isolation is unavailable or could not be set up: the command did not run).
    Run {
        /// `process` (namespaces, Landlock, seccomp, rlimits) or `bwrap` (bubblewrap).
        #[arg(long, default_value = "process")]
        backend: String,
        /// Configuration file (TOML) whose `[sandbox]` section sets the defaults.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Wall-clock limit in seconds.
        #[arg(long)]
        wall_time_secs: Option<u64>,
        /// CPU seconds.
        #[arg(long)]
        cpu_secs: Option<u64>,
        /// Address space in MiB.
        #[arg(long)]
        memory_mb: Option<u64>,
        /// Most processes.
        #[arg(long)]
        max_processes: Option<u64>,
        /// A path the command may read (repeatable; replaces the default list).
        #[arg(long = "read-only", value_name = "PATH")]
        read_only: Vec<PathBuf>,
        /// A host environment variable to pass through (repeatable).
        #[arg(long = "allow-env", value_name = "VAR")]
        allow_env: Vec<String>,
        /// The command and its arguments.
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    // The sandbox re-executes this program for its own stages.
    agent_airlock::layers::sandbox::enter_without_tools();
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            tools,
            config,
            fail_on_deny,
            audit_log,
        } => check(tools, config, fail_on_deny, audit_log),
        Command::Audit(AuditCommand::Verify { files, key_env }) => audit_verify(&files, key_env),
        Command::Approvals {
            url,
            token_env,
            action,
        } => approvals::approvals(&url, &token_env, action),
        Command::Policy(PolicyCommand::Validate { tools, config }) => {
            policy::validate(tools, config)
        }
        Command::Proxy {
            config,
            listen,
            upstream,
            command,
        } => proxy(config, listen, upstream, command),
        Command::Pins { config, action } => pins(config, action),
        Command::Sandbox(SandboxCommand::Run {
            backend,
            config,
            wall_time_secs,
            cpu_secs,
            memory_mb,
            max_processes,
            read_only,
            allow_env,
            command,
        }) => {
            let mut sandbox = match load_config(config.as_deref()) {
                Ok(c) => c.sandbox,
                Err(code) => return code,
            };
            sandbox.backend = match backend.as_str() {
                "process" => BackendKind::Process,
                "bwrap" => BackendKind::Bwrap,
                other => {
                    eprintln!("airlock: unknown backend `{other}`: use process or bwrap");
                    return ExitCode::from(2);
                }
            };
            let limits = &mut sandbox.limits;
            limits.wall_time_secs = wall_time_secs.unwrap_or(limits.wall_time_secs);
            limits.cpu_secs = cpu_secs.unwrap_or(limits.cpu_secs);
            limits.memory_mb = memory_mb.unwrap_or(limits.memory_mb);
            limits.max_processes = max_processes.unwrap_or(limits.max_processes);
            if !read_only.is_empty() {
                sandbox.read_only_paths = read_only;
            }
            sandbox.allow_env.extend(allow_env);
            sandbox_run(&sandbox, command)
        }
        Command::Sanitize {
            config,
            jsonl,
            findings,
            stats,
            list_detectors,
        } => {
            if list_detectors {
                list_sanitize_detectors(config)
            } else {
                sanitize(config, jsonl, findings, stats)
            }
        }
    }
}

/// The configuration file (or the defaults) with `AIRLOCK_*` on top; a problem is printed
/// and becomes exit status 2.
pub(crate) fn load_config(path: Option<&std::path::Path>) -> Result<AirlockConfig, ExitCode> {
    AirlockConfig::load(path).map_err(|e| {
        eprintln!("airlock: {e}");
        ExitCode::from(2)
    })
}

/// The configuration's `[sanitize]`, compiled; a problem is printed and becomes exit
/// status 2.
pub(crate) fn load_sanitizer(path: Option<&std::path::Path>) -> Result<Sanitizer, ExitCode> {
    Sanitizer::new(&load_config(path)?.sanitize).map_err(|e| {
        eprintln!("airlock: {e}");
        ExitCode::from(2)
    })
}
