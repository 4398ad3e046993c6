//! [`CedarPolicies`]: decisions over what a call does, in Cedar (feature `cedar`).
//!
//! Each call is one Cedar request:
//!
//! - **principal**: `Agent::"<id>"` (the caller's id as the policy layer left it, verified
//!   or claimed) with the attributes `verified` (Bool) and `roles` (Set of String), member
//!   of `Role::"<role>"` for each role; a caller without an id is `Anonymous::""`;
//! - **action**: `Action::"call_tool"`;
//! - **resource**: `Tool::"<name>"` with the attribute `name`;
//! - **context**: `arguments`, a record of the call's arguments with their JSON types
//!   (strings, booleans, integers as Long, numbers with at most four decimals as
//!   `decimal`, arrays as sets, objects as records; `null`, other numbers and anything
//!   deeper than 32 levels left out, so a policy that reads them errs and the call is
//!   refused), and `now` (Unix seconds).
//!
//! An entity the entities file defines (an agent's attributes and groups, a tool's) is
//! used as defined there. Arguments become values, never entity references: an argument
//! that looks like Cedar's JSON escapes (`{"__entity": …}`) is a record like any other.
//!
//! A refusal names the policies that forbade the call, by their `@id("…")` annotation
//! when they have one. With Cedar policies, a call needs a `permit` and no `forbid`; a policy that cannot be
//! evaluated for the call (an argument it reads is missing or of another type) refuses
//! it. The TOML rules apply first: a call passes both.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr as _;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid,
    PolicySet, Request, RestrictedExpression,
};
use serde_json::Value;

use super::error::PolicyError;
use crate::service::layer_names::POLICY;
use crate::service::{Rejection, ToolCall};

/// Deepest nesting of arguments given to Cedar.
const MAX_DEPTH: usize = 32;

/// Cedar policies (and the entities they name), checked on every call.
pub struct CedarPolicies {
    policies: PolicySet,
    entities: Entities,
    authorizer: Authorizer,
}

impl std::fmt::Debug for CedarPolicies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CedarPolicies")
            .field("policies", &self.policies.policies().count())
            .finish()
    }
}

impl CedarPolicies {
    /// Policies in Cedar's syntax, and optionally entities in Cedar's JSON format.
    pub fn new(policies: &str, entities: Option<&str>) -> Result<Self, PolicyError> {
        let policies = PolicySet::from_str(policies)
            .map_err(|e| PolicyError::Cedar(format!("the policies do not parse: {e}")))?;
        let entities = match entities {
            Some(json) => Entities::from_json_str(json, None)
                .map_err(|e| PolicyError::Cedar(format!("the entities do not parse: {e}")))?,
            None => Entities::empty(),
        };
        Ok(Self {
            policies,
            entities,
            authorizer: Authorizer::new(),
        })
    }

    /// Policies from `policies` (`[policy] cedar_file`), entities from `entities`
    /// (`cedar_entities_file`).
    pub fn from_files(policies: &Path, entities: Option<&Path>) -> Result<Self, PolicyError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|e| PolicyError::Cedar(format!("cannot read {}: {e}", path.display())))
        };
        let source = read(policies)?;
        let entities = entities.map(read).transpose()?;
        Self::new(&source, entities.as_deref()).map_err(|e| match e {
            PolicyError::Cedar(reason) => {
                PolicyError::Cedar(format!("{}: {reason}", policies.display()))
            }
            other => other,
        })
    }

    /// Decides `call` at `now` (Unix seconds): `Ok` when a policy permits it and none
    /// forbids it.
    pub(crate) fn decide(&self, call: &ToolCall, now: i64) -> Result<(), Rejection> {
        let refuse = |why: String| Err(Rejection::policy_denied(POLICY, why, &[]));
        let tool = call.tool.as_str();
        let Some((request, entities)) = self.request(call, now) else {
            return refuse(format!(
                "tool `{tool}`: the call cannot be put to the Cedar policies"
            ));
        };
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        let diagnostics = response.diagnostics();
        if diagnostics.errors().next().is_some() {
            tracing::info!(
                tool,
                "a Cedar policy could not be evaluated for a call: refused"
            );
            return refuse(format!(
                "tool `{tool}`: a Cedar policy could not be evaluated for these arguments"
            ));
        }
        match response.decision() {
            Decision::Allow => Ok(()),
            Decision::Deny => {
                // Named by their `@id("…")` annotation when they have one.
                let forbidding: Vec<String> = diagnostics
                    .reason()
                    .map(|id| {
                        self.policies
                            .policy(id)
                            .and_then(|p| p.annotation("id"))
                            .map_or_else(|| id.to_string(), str::to_owned)
                    })
                    .collect();
                if forbidding.is_empty() {
                    refuse(format!("tool `{tool}`: no Cedar policy permits this call"))
                } else {
                    refuse(format!(
                        "tool `{tool}`: forbidden by the Cedar policy {}",
                        forbidding.join(", ")
                    ))
                }
            }
        }
    }

    fn request(&self, call: &ToolCall, now: i64) -> Option<(Request, Entities)> {
        let caller = &call.caller;
        let principal = match caller.agent_id.as_deref() {
            Some(id) => uid("Agent", id)?,
            None => uid("Anonymous", "")?,
        };
        let resource = uid("Tool", &call.tool)?;
        let action = uid("Action", "call_tool")?;
        let mut added = Vec::new();
        if self.entities.get(&principal).is_none() {
            let roles: Vec<RestrictedExpression> = caller
                .roles
                .iter()
                .map(|r| RestrictedExpression::new_string(r.clone()))
                .collect();
            let attrs = HashMap::from([
                (
                    "verified".to_owned(),
                    RestrictedExpression::new_bool(caller.verified),
                ),
                ("roles".to_owned(), RestrictedExpression::new_set(roles)),
            ]);
            let parents: HashSet<EntityUid> =
                caller.roles.iter().filter_map(|r| uid("Role", r)).collect();
            added.push(Entity::new(principal.clone(), attrs, parents).ok()?);
        }
        if self.entities.get(&resource).is_none() {
            let attrs = HashMap::from([(
                "name".to_owned(),
                RestrictedExpression::new_string(call.tool.clone()),
            )]);
            added.push(Entity::new(resource.clone(), attrs, HashSet::new()).ok()?);
        }
        let arguments =
            expression(&call.arguments, 0).or_else(|| RestrictedExpression::new_record([]).ok())?;
        let context = Context::from_pairs([
            ("arguments".to_owned(), arguments),
            ("now".to_owned(), RestrictedExpression::new_long(now)),
        ])
        .ok()?;
        let entities = self.entities.clone().add_entities(added, None).ok()?;
        let request = Request::new(principal, action, resource, context, None).ok()?;
        Some((request, entities))
    }
}

fn uid(kind: &str, id: &str) -> Option<EntityUid> {
    let kind = EntityTypeName::from_str(kind).ok()?;
    Some(EntityUid::from_type_name_and_id(kind, EntityId::new(id)))
}

/// A JSON value as a Cedar value of the same type, or `None` when Cedar has none for it.
fn expression(value: &Value, depth: usize) -> Option<RestrictedExpression> {
    if depth > MAX_DEPTH {
        return None;
    }
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(RestrictedExpression::new_bool(*b)),
        Value::String(s) => Some(RestrictedExpression::new_string(s.clone())),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Some(RestrictedExpression::new_long(i)),
            None => decimal(n.as_f64()?).map(RestrictedExpression::new_decimal),
        },
        Value::Array(items) => Some(RestrictedExpression::new_set(
            items.iter().filter_map(|v| expression(v, depth + 1)),
        )),
        Value::Object(map) => RestrictedExpression::new_record(
            map.iter()
                .filter_map(|(k, v)| Some((k.clone(), expression(v, depth + 1)?))),
        )
        .ok(),
    }
}

/// `x` as Cedar's `decimal` (at most four decimals), only when that is exactly `x`: a
/// rounded value could slip past a comparison.
fn decimal(x: f64) -> Option<String> {
    if !x.is_finite() || x.abs() >= 922_337_203_685_477.0 {
        return None;
    }
    let text = format!("{x:.4}");
    (text.parse::<f64>().ok()? == x).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Caller;
    use serde_json::json;

    fn call(tool: &str, agent: Option<&str>, arguments: Value) -> ToolCall {
        let caller = match agent {
            Some(id) => Caller::agent(id),
            None => Caller::default(),
        };
        ToolCall::new(tool, arguments).with_caller(caller)
    }

    #[test]
    fn decisions_follow_the_arguments() {
        let cedar = CedarPolicies::new(
            r#"
            permit(principal, action == Action::"call_tool", resource == Tool::"write_file")
              when { context.arguments.path like "/workspace/*" };
            forbid(principal, action, resource == Tool::"write_file")
              when { context.arguments.path like "*/../*" };
            permit(principal is Agent, action, resource == Tool::"transfer")
              when { context.arguments.amount.lessThanOrEqual(decimal("100.0")) };
            "#,
            None,
        )
        .unwrap();
        let write = |path: Value| call("write_file", Some("alice"), json!({"path": path}));
        assert!(
            cedar
                .decide(&write(json!("/workspace/notes.md")), 0)
                .is_ok()
        );
        for refused in [
            json!("/etc/cron.d/x"),
            json!("/workspace/../etc/passwd"),
            json!(["/workspace/a"]),
            json!({"__entity": {"type": "Tool", "id": "x"}}),
            json!(7),
        ] {
            assert!(
                cedar.decide(&write(refused.clone()), 0).is_err(),
                "{refused}"
            );
        }
        let transfer = |amount: Value| call("transfer", Some("alice"), json!({"amount": amount}));
        assert!(cedar.decide(&transfer(json!(99.5)), 0).is_ok());
        assert!(
            cedar.decide(&transfer(json!(100.00001)), 0).is_err(),
            "not rounded to 100"
        );
        assert!(cedar.decide(&transfer(json!("50")), 0).is_err());
        let anonymous = call("transfer", None, json!({"amount": 1}));
        assert!(cedar.decide(&anonymous, 0).is_err(), "only agents");
        assert!(
            cedar
                .decide(&call("other", Some("alice"), json!({})), 0)
                .is_err(),
            "no permit"
        );
    }

    #[test]
    fn entities_from_the_file_are_used_and_bad_sources_are_named() {
        let cedar = CedarPolicies::new(
            r#"permit(principal in Group::"ops", action, resource);"#,
            Some(r#"[{"uid": {"type": "Agent", "id": "bob"}, "attrs": {}, "parents": [{"type": "Group", "id": "ops"}]}]"#),
        )
        .unwrap();
        assert!(
            cedar
                .decide(&call("deploy", Some("bob"), json!({})), 0)
                .is_ok()
        );
        assert!(
            cedar
                .decide(&call("deploy", Some("eve"), json!({})), 0)
                .is_err()
        );
        let e = CedarPolicies::new("permit(principal, action, resource", None).unwrap_err();
        assert!(e.to_string().contains("do not parse"), "{e}");
    }
}
