//! `airlock`: the agent-airlock command line.
//!
//! ```text
//! airlock check --tools tools.json [--config airlock.toml] [--fail-on-deny] < calls.jsonl
//! airlock sanitize [--config airlock.toml] [--jsonl] [--findings] < output.txt
//! airlock audit verify [--key-env VAR] audit.jsonl audit.jsonl.0000000000000001 …
//! airlock sandbox run [--backend process|bwrap] [--wall-time-secs N] … -- CMD ARGS…
//! airlock proxy [--config airlock.toml] [--listen ADDR] -- CMD ARGS…
//! airlock proxy [--config airlock.toml] [--listen ADDR] --upstream URL
//! airlock pins --config airlock.toml list | diff [NAME…] | approve NAME…
//! ```

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use std::io::{BufRead, Read, Write};

use agent_airlock::check::{dry_run_stack, run_check};
use agent_airlock::layers::audit::{VerifyError, verify_files};
use agent_airlock::layers::sandbox::{
    BackendKind, Exit, Job, LinuxSandbox, SandboxBackend, SandboxConfig,
};
use agent_airlock::layers::sanitize::{Counts, Sanitizer};
use agent_airlock::preview::escape_pointer_segment;
use agent_airlock::sensitive::is_sensitive_name;
use agent_airlock::{AirlockConfig, ToolCatalog};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};

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
        /// Exit with status 1 when any call is denied (for use in CI).
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
enum PinsCommand {
    /// Every pinned tool: approved, changed (what), new or held, and what the scan of its
    /// descriptions found. Exit status 1 when any tool is held.
    List,
    /// What changed in each tool (or the ones named) since it was approved.
    Diff {
        /// Tools to show (default: every changed one).
        names: Vec<String>,
    },
    /// Approve what the upstream serves now for these tools; a running proxy serves them
    /// again within a second.
    Approve {
        /// The tools.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
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
enum SandboxCommand {
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

/// `airlock pins`: exit status 0, 1 (held tools for `list`, unknown names for `approve`),
/// 2 (no pin file configured, or it cannot be read or written).
fn pins(config: Option<PathBuf>, action: PinsCommand) -> ExitCode {
    use agent_airlock::proxy::pins::PinFile;
    let config = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(pins) = config.proxy.pins else {
        eprintln!("airlock: the configuration has no [proxy.pins] file");
        return ExitCode::from(2);
    };
    let mut file = match PinFile::load(&pins.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("airlock: {e}");
            return ExitCode::from(2);
        }
    };
    match action {
        PinsCommand::List => {
            let mut held = 0;
            for (name, entry) in &file.tools {
                let state = match entry.hold_reason(pins.on_change, pins.new_tools) {
                    Some(reason) => {
                        held += 1;
                        format!("held: {reason}")
                    }
                    None if entry.approved.is_none() => "not approved".to_owned(),
                    None if !entry.changed_fields().is_empty() => format!(
                        "changed since approved ({}), served (on_change = warn)",
                        entry.changed_fields().join(", ")
                    ),
                    None => "approved".to_owned(),
                };
                println!("{name}: {state}");
                for finding in entry.seen.iter().flat_map(|s| &s.findings) {
                    println!("  found in {finding}");
                }
            }
            if held > 0 {
                eprintln!(
                    "airlock: {held} tool(s) held: `airlock pins diff` shows why, `airlock pins approve NAME` serves them"
                );
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        PinsCommand::Diff { names } => {
            for (name, entry) in &file.tools {
                if !names.is_empty() && !names.contains(name) {
                    continue;
                }
                let fields = entry.changed_fields();
                let new = entry.approved.is_none();
                if names.is_empty() && fields.is_empty() && !new {
                    continue;
                }
                println!("== {name}");
                let empty = Value::Null;
                let approved = entry.approved.as_ref().map_or(&empty, |p| &p.definition);
                let seen = entry.seen.as_ref().map_or(&empty, |p| &p.definition);
                for &field in agent_airlock::proxy::pins::PINNED_FIELDS {
                    let (old, now) = (approved.get(field), seen.get(field));
                    if old == now {
                        continue;
                    }
                    println!("{field}:");
                    let lines = |v: Option<&Value>| -> Vec<String> {
                        v.map(|v| serde_json::to_string_pretty(v).unwrap_or_default())
                            .unwrap_or_default()
                            .lines()
                            .map(str::to_owned)
                            .collect()
                    };
                    let (old, now) = (lines(old), lines(now));
                    for line in old.iter().filter(|l| !now.contains(l)) {
                        println!("- {line}");
                    }
                    for line in now.iter().filter(|l| !old.contains(l)) {
                        println!("+ {line}");
                    }
                }
                for finding in entry.seen.iter().flat_map(|s| &s.findings) {
                    println!("found in {finding}");
                }
            }
            ExitCode::SUCCESS
        }
        PinsCommand::Approve { names } => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let unknown = file.approve(&names);
            if let Err(e) = file.save(&pins.file) {
                eprintln!("airlock: {e}");
                return ExitCode::from(2);
            }
            for name in &names {
                if !unknown.contains(name) {
                    println!("{name}: approved");
                }
            }
            if !unknown.is_empty() {
                eprintln!("airlock: not in the pin file: {}", unknown.join(", "));
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
    }
}

/// `airlock proxy`: exit status 0 when the client went away, 1 when serving failed, 2 when
/// the proxy could not start.
fn proxy(
    config: Option<PathBuf>,
    listen: Option<String>,
    upstream: Option<String>,
    command: Vec<String>,
) -> ExitCode {
    use agent_airlock::proxy::{Launch, Proxy, Target};
    // Stdout may be the MCP channel: every log line goes to stderr.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let config = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let target = match (upstream, command.split_first()) {
        (Some(url), _) => Target::Http(url),
        (None, Some((program, args))) => Target::Command(Launch {
            program: program.clone(),
            args: args.to_vec(),
            env: config.proxy.upstream_env(|name| std::env::var(name).ok()),
        }),
        (None, None) => {
            eprintln!("airlock: proxy needs the upstream's command after --, or --upstream URL");
            return ExitCode::from(2);
        }
    };
    // One client over stdio: one thread, no hand-offs between threads; over HTTP, a
    // worker per core for concurrent clients.
    let runtime = match if listen.is_some() {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("airlock: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        let proxy = match Proxy::start(&config, target).await {
            Ok(p) => p,
            Err(e) => {
                eprintln!("airlock: {e}");
                return ExitCode::from(2);
            }
        };
        let served = match listen {
            None => proxy.serve_stdio().await,
            Some(addr) => {
                let listener = match tokio::net::TcpListener::bind(&addr).await {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("airlock: cannot listen on {addr}: {e}");
                        return ExitCode::from(2);
                    }
                };
                eprintln!("airlock: proxy listening on http://{addr}/mcp");
                proxy
                    .serve_http(
                        listener,
                        agent_airlock::adapters::http::ServeLimits::default(),
                    )
                    .await
            }
        };
        match served {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("airlock: {e}");
                ExitCode::from(1)
            }
        }
    })
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
fn load_config(path: Option<&std::path::Path>) -> Result<AirlockConfig, ExitCode> {
    AirlockConfig::load(path).map_err(|e| {
        eprintln!("airlock: {e}");
        ExitCode::from(2)
    })
}

/// The configuration's `[sanitize]`, compiled; a problem is printed and becomes exit
/// status 2.
fn load_sanitizer(path: Option<&std::path::Path>) -> Result<Sanitizer, ExitCode> {
    Sanitizer::new(&load_config(path)?.sanitize).map_err(|e| {
        eprintln!("airlock: {e}");
        ExitCode::from(2)
    })
}

fn list_sanitize_detectors(config: Option<PathBuf>) -> ExitCode {
    let sanitizer = match load_sanitizer(config.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for detector in sanitizer.detector().detectors() {
        let line = serde_json::to_string(&detector).unwrap_or_default();
        if writeln!(out, "{line}").is_err() {
            return ExitCode::from(1);
        }
    }
    match out.flush() {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}

fn sanitize(config: Option<PathBuf>, jsonl: bool, findings: bool, stats: bool) -> ExitCode {
    let sanitizer = match load_sanitizer(config.as_deref()) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut tally = Tally::default();
    let result = if jsonl {
        sanitize_lines(&sanitizer, findings, &mut out, &mut tally)
    } else {
        sanitize_text(&sanitizer, findings, &mut out, &mut tally)
    };
    if stats {
        let secs = tally.elapsed.as_secs_f64();
        eprintln!(
            "airlock: sanitized {} bytes in {:.3} ms ({:.1} MB/s); masked {:?}",
            tally.bytes,
            secs * 1000.0,
            tally.bytes as f64 / secs.max(1e-9) / 1e6,
            tally.counts
        );
    }
    match result.and_then(|ok| out.flush().map(|()| ok)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("airlock: {e}");
            ExitCode::from(2)
        }
    }
}

/// What `--stats` reports.
#[derive(Default)]
struct Tally {
    bytes: usize,
    elapsed: std::time::Duration,
    counts: Counts,
}

fn sanitize_text(
    sanitizer: &Sanitizer,
    findings: bool,
    out: &mut impl Write,
    tally: &mut Tally,
) -> std::io::Result<bool> {
    let mut bytes = Vec::new();
    std::io::stdin().lock().read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    tally.bytes += text.len();
    if findings {
        for f in sanitizer.findings(&text) {
            let line =
                json!({"kind": f.kind.name(), "rule": &*f.rule, "start": f.start, "end": f.end});
            writeln!(out, "{line}")?;
        }
    } else {
        let start = std::time::Instant::now();
        let masked = sanitizer.sanitize_text(&text, &mut tally.counts);
        tally.elapsed += start.elapsed();
        out.write_all(masked.as_bytes())?;
    }
    Ok(true)
}

fn sanitize_lines(
    sanitizer: &Sanitizer,
    findings: bool,
    out: &mut impl Write,
    tally: &mut Tally,
) -> std::io::Result<bool> {
    let mut all_json = true;
    for (i, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line?;
        let number = i + 1;
        tally.bytes += line.len();
        let counts = &mut tally.counts;
        let start = std::time::Instant::now();
        match serde_json::from_str::<Value>(&line) {
            Ok(mut value) => {
                if findings {
                    report(sanitizer, number, String::new(), &value, out)?;
                } else {
                    sanitizer.sanitize_json(&mut value, counts);
                    tally.elapsed += start.elapsed();
                    writeln!(out, "{value}")?;
                }
            }
            Err(e) => {
                // Never pass an unparsed line through unmasked: mask it as text.
                eprintln!("airlock: line {number} is not valid JSON ({e}); masked as text");
                all_json = false;
                if findings {
                    for f in sanitizer.findings(&line) {
                        let record = json!({"line": number, "kind": f.kind.name(), "rule": &*f.rule, "start": f.start, "end": f.end});
                        writeln!(out, "{record}")?;
                    }
                } else {
                    writeln!(out, "{}", sanitizer.sanitize_text(&line, counts))?;
                }
            }
        }
    }
    Ok(all_json)
}

/// Findings in every string leaf (with its JSON pointer) and every sensitive field.
fn report(
    sanitizer: &Sanitizer,
    line: usize,
    pointer: String,
    value: &Value,
    out: &mut impl Write,
) -> std::io::Result<()> {
    match value {
        Value::String(s) => {
            for f in sanitizer.findings(s) {
                let record = json!({"line": line, "pointer": pointer, "kind": f.kind.name(), "rule": &*f.rule, "start": f.start, "end": f.end});
                writeln!(out, "{record}")?;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                report(sanitizer, line, format!("{pointer}/{i}"), item, out)?;
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let child = format!("{pointer}/{}", escape_pointer_segment(key));
                if is_sensitive_name(key) && !item.is_null() {
                    writeln!(
                        out,
                        "{}",
                        json!({"line": line, "pointer": child, "kind": "secret", "rule": "sensitive_key"})
                    )?;
                } else {
                    report(sanitizer, line, child, item, out)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn sandbox_run(config: &SandboxConfig, command: Vec<String>) -> ExitCode {
    let backend = match LinuxSandbox::from_config(config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("airlock: cannot find this program to re-execute: {e}");
            return ExitCode::from(125);
        }
    };
    let mut stdin = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut stdin) {
        eprintln!("airlock: cannot read stdin: {e}");
        return ExitCode::from(2);
    }
    let run = backend.run(Job::command(command, stdin));
    // Leave no pids cgroup behind: their removal may still be under way.
    LinuxSandbox::wait_for_cleanup(std::time::Duration::from_secs(3));
    let _ = std::io::stdout().write_all(&run.stdout);
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().write_all(&run.stderr);
    eprintln!("airlock sandbox ({}):", backend.name());
    for item in &run.enforced {
        eprintln!("  enforced: {item}");
    }
    for item in &run.not_enforced {
        eprintln!("  not enforced: {item}");
    }
    if run.stdout_truncated || run.stderr_truncated {
        eprintln!("  output cut at the limits");
    }
    let code = match run.exit {
        Exit::Code(code) => {
            eprintln!(
                "  exit status {code} after {:.3} s",
                run.elapsed.as_secs_f64()
            );
            code.clamp(0, 255) as u8
        }
        Exit::Signal(sig) => {
            eprintln!(
                "  killed by signal {sig} after {:.3} s",
                run.elapsed.as_secs_f64()
            );
            128u8.saturating_add(sig.clamp(0, 127) as u8)
        }
        Exit::TimedOut => {
            eprintln!(
                "  timed out after {:.3} s: killed with everything it started",
                run.elapsed.as_secs_f64()
            );
            124
        }
        Exit::SetupFailed(why) => {
            eprintln!("  refused: isolation is unavailable, the command did not run: {why}");
            125
        }
        _ => 125,
    };
    ExitCode::from(code)
}

fn audit_verify(files: &[PathBuf], key_env: Option<String>) -> ExitCode {
    let key = match key_env {
        Some(var) => match std::env::var(&var) {
            Ok(k) if !k.is_empty() => Some(k.into_bytes()),
            _ => {
                eprintln!("airlock: environment variable {var} (--key-env) is not set");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    match verify_files(files, key.as_deref()) {
        Ok(report) => {
            for warning in &report.warnings {
                println!("WARNING: {warning}");
            }
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(VerifyError::Broken(b)) => {
            println!("{b}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("airlock: {e}");
            ExitCode::from(2)
        }
    }
}

fn check(
    tools: PathBuf,
    config: Option<PathBuf>,
    fail_on_deny: bool,
    audit_log: Option<PathBuf>,
) -> ExitCode {
    let mut config = match load_config(config.as_deref()) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let catalog = match ToolCatalog::from_mcp_file(&tools) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("airlock: {e}");
            return ExitCode::from(2);
        }
    };
    // The log `--audit-log` names, and no other: a check does not write to the service's log.
    config.audit.path = audit_log;
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("airlock: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let (airlock, service) = match dry_run_stack(&config, catalog) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("airlock: {e}");
            return ExitCode::from(2);
        }
    };
    // A call line may carry up to the payload limit in arguments, plus its envelope.
    let max_line = config.limits.max_payload_bytes.saturating_add(64 * 1024);
    let stdin = std::io::stdin().lock();
    let stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let result = runtime.block_on(async {
        let summary = run_check(service, stdin, stdout, max_line).await?;
        if let Some(layer) = airlock.audit() {
            layer.flush().await?;
        }
        Ok::<_, std::io::Error>(summary)
    });
    match result {
        Ok(summary) => {
            eprintln!(
                "airlock: {} allowed, {} denied, {} errors",
                summary.allowed, summary.denied, summary.errors
            );
            if fail_on_deny && summary.denied + summary.errors > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("airlock: {e}");
            ExitCode::from(2)
        }
    }
}
