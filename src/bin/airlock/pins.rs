//! `airlock pins`: list, diff and approve the proxy's tool pins.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;

use crate::{PinsCommand, load_config};

/// `airlock pins`: exit status 0, 1 (held tools for `list`, unknown names for `approve`),
/// 2 (no pin file configured, or it cannot be read or written).
pub(crate) fn pins(config: Option<PathBuf>, action: PinsCommand) -> ExitCode {
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
                    "airlock: {held} tool(s) held: `airlock pins diff` shows why, `airlock pins approve NAME@HASH` serves them"
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
                if let Some(seen) = &entry.seen {
                    let shown = &seen.hash[..seen.hash.len().min(16)];
                    println!("approve this definition: airlock pins approve {name}@{shown}");
                }
                let empty = Value::Null;
                let approved = entry.approved.as_ref().map_or(&empty, |p| &p.definition);
                let seen = entry.seen.as_ref().map_or(&empty, |p| &p.definition);
                // Every member either definition has: the named ones first, then the rest.
                let mut members: Vec<String> = agent_airlock::proxy::pins::NAMED_FIELDS
                    .iter()
                    .map(|f| (*f).to_owned())
                    .collect();
                for definition in [approved, seen] {
                    for key in definition.as_object().into_iter().flat_map(|m| m.keys()) {
                        if !members.contains(key) {
                            members.push(key.clone());
                        }
                    }
                }
                for field in &members {
                    let field = field.as_str();
                    let (old, now) = (approved.get(field), seen.get(field));
                    if old == now {
                        continue;
                    }
                    // A member's key is the upstream's text: shown escaped.
                    println!("{}:", agent_airlock::preview::display_name(field));
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
            // Each name carries the hash of the definition the operator reviewed: what the
            // upstream serves by then must still be that definition.
            let mut failed = false;
            for given in &names {
                let Some((name, shown)) = given.split_once('@') else {
                    eprintln!(
                        "airlock: approve {given}@HASH, with the hash `airlock pins diff {given}` \
                         shows for the definition you reviewed"
                    );
                    return ExitCode::from(2);
                };
                match file.approve_shown(name, shown) {
                    Ok(()) => println!("{name}: approved"),
                    Err(e) => {
                        eprintln!("airlock: {name}: {e}");
                        failed = true;
                    }
                }
            }
            if let Err(e) = file.save(&pins.file) {
                eprintln!("airlock: {e}");
                return ExitCode::from(2);
            }
            if failed {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
    }
}
