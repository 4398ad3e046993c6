//! Allow and deny rules on tool names, compiled once into glob sets.
//!
//! Deny patterns match case-insensitively, so `DELETE_FILE` is denied by
//! `delete_*` even if a downstream dispatcher is lenient about case; allow
//! patterns match exactly. Deny wins. `*` and `?` stay within one `/`-separated
//! segment, `**` crosses segments (`admin/**`), `{a,b}` and `[abc]` work as in
//! shells.

use std::collections::HashMap;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

use super::error::PolicyError;
use crate::service::Caller;

/// A compiled list of glob patterns that remembers which pattern matched.
#[derive(Debug, Clone)]
pub(crate) struct Matcher {
    set: GlobSet,
    patterns: Vec<String>,
}

impl Matcher {
    pub(crate) fn new(
        patterns: &[String],
        case_insensitive: bool,
        what: &str,
    ) -> Result<Self, PolicyError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            builder.add(compile_glob(pattern, case_insensitive, what)?);
        }
        let set = builder.build().map_err(|e| PolicyError::Glob {
            what: what.to_owned(),
            pattern: patterns.join(", "),
            reason: e.to_string(),
        })?;
        Ok(Self {
            set,
            patterns: patterns.to_vec(),
        })
    }

    pub(crate) fn is_match(&self, name: &str) -> bool {
        self.set.is_match(name)
    }

    /// The first pattern that matches, for naming the rule in a refusal.
    pub(crate) fn first_match(&self, name: &str) -> Option<&str> {
        self.set
            .matches(name)
            .first()
            .map(|&i| self.patterns[i].as_str())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }
}

fn compile_glob(pattern: &str, case_insensitive: bool, what: &str) -> Result<Glob, PolicyError> {
    if pattern.is_empty() || pattern.len() > 256 || pattern.chars().any(char::is_control) {
        return Err(PolicyError::Glob {
            what: what.to_owned(),
            pattern: pattern.to_owned(),
            reason: "a pattern must be 1 to 256 characters without control characters".into(),
        });
    }
    GlobBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| PolicyError::Glob {
            what: what.to_owned(),
            pattern: pattern.to_owned(),
            reason: e.kind().to_string(),
        })
}

/// One allow list (exact) and one deny list (case-insensitive).
#[derive(Debug, Clone)]
pub(crate) struct RuleSet {
    allow: Option<Matcher>,
    deny: Matcher,
}

impl RuleSet {
    pub(crate) fn new(
        allow: Option<&[String]>,
        deny: &[String],
        what: &str,
    ) -> Result<Self, PolicyError> {
        Ok(Self {
            allow: allow
                .map(|a| Matcher::new(a, false, &format!("{what} allow")))
                .transpose()?,
            deny: Matcher::new(deny, true, &format!("{what} deny"))?,
        })
    }
}

/// Why the rules refused a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// A deny pattern matched: `(where, pattern)`.
    Denied { rule: String, pattern: String },
    /// An allow list exists and none of the caller's allow patterns matched.
    NotAllowed,
}

/// The global rules, the rules per role, and the rules per agent.
#[derive(Debug, Clone)]
pub(crate) struct ToolRules {
    global: RuleSet,
    roles: HashMap<String, RuleSet>,
    agents: HashMap<String, RuleSet>,
    /// Some allow list is configured somewhere: only allowed tools pass.
    allowlist: bool,
}

impl ToolRules {
    pub(crate) fn new(
        global: RuleSet,
        roles: HashMap<String, RuleSet>,
        agents: HashMap<String, RuleSet>,
    ) -> Self {
        let allowlist = global.allow.is_some()
            || roles.values().any(|r| r.allow.is_some())
            || agents.values().any(|r| r.allow.is_some());
        Self {
            global,
            roles,
            agents,
            allowlist,
        }
    }

    /// The rule sets that apply to this caller: global, the agent's own, then each of its
    /// roles (unknown roles grant nothing). The agent's own only when `agent_rules` (its
    /// id is trusted for them).
    fn applicable<'a>(
        &'a self,
        caller: &'a Caller,
        agent_rules: bool,
    ) -> impl Iterator<Item = (Scope<'a>, &'a RuleSet)> + 'a {
        let agent = caller
            .agent_id
            .as_deref()
            .filter(|_| agent_rules)
            .and_then(|id| self.agents.get(id).map(|r| (Scope::Agent(id), r)));
        let roles = caller
            .roles
            .iter()
            .filter_map(|role| self.roles.get(role).map(|r| (Scope::Role(role), r)));
        std::iter::once((Scope::Global, &self.global))
            .chain(agent)
            .chain(roles)
    }

    /// Deny wins; then, if any allow list exists, one of the caller's must match.
    ///
    /// `trusted_id`: whether the caller's agent id may unlock that agent's allow rules (it
    /// was verified, or no verifier is configured and the adapter vouches for it). An
    /// untrusted, claimed id still gets that agent's deny rules: claiming an id can only
    /// narrow what a caller may do, never widen it.
    pub(crate) fn decide(
        &self,
        tool: &str,
        caller: &Caller,
        trusted_id: bool,
    ) -> Result<(), Denial> {
        if let Some((scope, set)) = self
            .applicable(caller, true)
            .find(|(_, set)| set.deny.is_match(tool))
        {
            // Only a refusal pays for naming the rule.
            return Err(Denial::Denied {
                rule: scope.label(),
                pattern: set.deny.first_match(tool).unwrap_or_default().to_owned(),
            });
        }
        if !self.allowlist {
            return Ok(());
        }
        let allowed = self
            .applicable(caller, trusted_id)
            .any(|(_, set)| set.allow.as_ref().is_some_and(|a| a.is_match(tool)));
        if allowed {
            Ok(())
        } else {
            Err(Denial::NotAllowed)
        }
    }
}

/// Where a rule set comes from, for naming it in a refusal.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    Global,
    Agent(&'a str),
    Role(&'a str),
}

impl Scope<'_> {
    fn label(self) -> String {
        match self {
            Scope::Global => "policy".to_owned(),
            Scope::Agent(id) => format!("agent `{}`", crate::preview::display_name(id)),
            Scope::Role(role) => format!("role `{}`", crate::preview::display_name(role)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn rules(allow: Option<&[&str]>, deny: &[&str]) -> ToolRules {
        let allow = allow.map(strings);
        ToolRules::new(
            RuleSet::new(allow.as_deref(), &strings(deny), "policy").unwrap(),
            HashMap::new(),
            HashMap::new(),
        )
    }

    #[test]
    fn deny_is_case_insensitive_allow_is_exact_and_deny_wins() {
        let r = rules(Some(&["read_*", "delete_tmp"]), &["delete_*"]);
        let anyone = Caller::default();
        assert!(r.decide("read_file", &anyone, true).is_ok());
        assert_eq!(
            r.decide("READ_FILE", &anyone, true),
            Err(Denial::NotAllowed)
        );
        assert!(matches!(
            r.decide("DELETE_tmp", &anyone, true),
            Err(Denial::Denied { .. })
        ));
        assert!(matches!(
            r.decide("delete_tmp", &anyone, true),
            Err(Denial::Denied { .. })
        ));
    }

    #[test]
    fn globs_respect_segments() {
        let r = rules(Some(&["fs.*", "admin/**", "ns/*"]), &[]);
        let anyone = Caller::default();
        for ok in ["fs.read", "admin/users/delete", "ns/tool"] {
            assert!(r.decide(ok, &anyone, true).is_ok(), "{ok}");
        }
        for no in ["fs", "ns/a/b", "xfs.read"] {
            assert!(r.decide(no, &anyone, true).is_err(), "{no}");
        }
    }

    #[test]
    fn bad_patterns_fail_at_build() {
        assert!(RuleSet::new(None, &strings(&["a[b"]), "policy").is_err());
        assert!(RuleSet::new(None, &strings(&[""]), "policy").is_err());
    }
}
