//! `airlock sandbox run`: a command in the sandbox.

use std::process::ExitCode;

use std::io::{Read, Write};

use agent_airlock::layers::sandbox::{Exit, Job, LinuxSandbox, SandboxBackend, SandboxConfig};

pub(crate) fn sandbox_run(config: &SandboxConfig, command: Vec<String>) -> ExitCode {
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
