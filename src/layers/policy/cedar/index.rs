//! The policies that can apply to each tool, for deciding its calls and for listing it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use cedar_policy::{
    ActionConstraint, Effect, EntityUid, Policy, PolicySet, PrincipalConstraint, ResourceConstraint,
};
use serde_json::Value;

use super::schema::{CALL_TOOL, call_action};

/// Whether `policy`'s scope can hold for a call to `tool` (its action and resource scope
/// alone; a resource scope over groups of tools is kept, as groups come from entities).
pub(super) fn applies_to(policy: &Policy, tool: &str) -> bool {
    let action = match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(uid) => is_action(&uid, &call_action(tool)),
        ActionConstraint::In(uids) => uids
            .iter()
            .any(|uid| is_action(uid, &call_action(tool)) || is_action(uid, CALL_TOOL)),
    };
    let resource = match policy.resource_constraint() {
        ResourceConstraint::Eq(uid) => {
            uid.type_name().to_string() != "Tool" || uid.id().unescaped() == tool
        }
        ResourceConstraint::Is(kind) => kind.to_string() == "Tool",
        ResourceConstraint::Any | ResourceConstraint::In(_) | ResourceConstraint::IsIn(..) => true,
    };
    action && resource
}

/// Whether `policy`'s action scope takes in every tool's call.
pub(super) fn spans_every_tool(policy: &Policy) -> bool {
    match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(_) => false,
        ActionConstraint::In(uids) => uids.iter().any(|uid| is_action(uid, CALL_TOOL)),
    }
}

fn is_action(uid: &cedar_policy::EntityUid, id: &str) -> bool {
    uid.type_name().to_string() == "Action" && uid.id().unescaped() == id
}

/// Policy sets kept per tool, at most: one per distinct group of policies callers' scopes
/// select (a handful of roles make a handful).
const MAX_SETS: usize = 1024;

/// The policies whose scope can hold for one tool, and the sets of them that hold for each
/// kind of caller, made on first use: a decision evaluates only the policies whose
/// principal scope holds for its caller.
pub(super) struct Scoped {
    policies: Vec<Policy>,
    principals: Vec<PrincipalConstraint>,
    sets: Mutex<HashMap<Vec<u32>, Arc<PolicySet>>>,
}

impl Scoped {
    /// The policies of `all` whose scope can hold for `tool` (every one for `None`).
    pub(super) fn new(all: &[Policy], tool: Option<&str>) -> Self {
        let policies: Vec<Policy> = all
            .iter()
            .filter(|p| tool.is_none_or(|t| applies_to(p, t)))
            .cloned()
            .collect();
        let principals = policies.iter().map(Policy::principal_constraint).collect();
        Self {
            policies,
            principals,
            sets: Mutex::new(HashMap::new()),
        }
    }

    /// The policies whose principal scope holds for `principal`, a member of `ancestors`.
    pub(super) fn for_principal(
        &self,
        principal: &EntityUid,
        ancestors: &HashSet<EntityUid>,
    ) -> Arc<PolicySet> {
        let within = |uid: &EntityUid| uid == principal || ancestors.contains(uid);
        let chosen: Vec<u32> = self
            .principals
            .iter()
            .enumerate()
            .filter(|(_, scope)| match scope {
                PrincipalConstraint::Any => true,
                PrincipalConstraint::Eq(uid) => uid == principal,
                PrincipalConstraint::In(uid) => within(uid),
                PrincipalConstraint::Is(kind) => kind == principal.type_name(),
                PrincipalConstraint::IsIn(kind, uid) => {
                    kind == principal.type_name() && within(uid)
                }
            })
            .map(|(i, _)| i as u32)
            .collect();
        let mut sets = self
            .sets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(set) = sets.get(&chosen) {
            return set.clone();
        }
        let mut set = PolicySet::new();
        for &i in &chosen {
            // Ids are unique in the file, so adding cannot clash.
            let _ = set.add(self.policies[i as usize].clone());
        }
        let set = Arc::new(set);
        if sets.len() >= MAX_SETS {
            sets.clear();
        }
        sets.insert(chosen, set.clone());
        set
    }
}

/// `policies` as they stand before the arguments are known, for `tools/list`: a permit's
/// conditions on the context are taken as met (some arguments may meet them), and a forbid
/// with a condition on the context is left out (some arguments may escape it). Conditions on
/// the caller and the tool still decide.
pub(super) fn before_arguments(policies: &[Policy]) -> Vec<Policy> {
    policies
        .iter()
        .filter_map(|policy| {
            let mut est = policy.to_json().ok()?;
            let conditions = est.get_mut("conditions")?.as_array_mut()?;
            match policy.effect() {
                Effect::Forbid => {
                    if conditions.iter().any(|c| reads_context(&c["body"])) {
                        return None;
                    }
                }
                Effect::Permit => {
                    let kept: Vec<Value> = std::mem::take(conditions)
                        .into_iter()
                        .filter_map(|mut c| {
                            if !reads_context(&c["body"]) {
                                return Some(c);
                            }
                            if c["kind"] != "when" {
                                return None;
                            }
                            c["body"] = without_context(c["body"].take())?;
                            Some(c)
                        })
                        .collect();
                    *conditions = kept;
                }
            }
            Policy::from_json(Some(policy.id().clone()), est).ok()
        })
        .collect()
}

/// Whether a policy expression (Cedar's JSON form) reads `context`.
fn reads_context(expr: &Value) -> bool {
    match expr {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| (k == "Var" && v == "context") || reads_context(v)),
        Value::Array(items) => items.iter().any(reads_context),
        _ => false,
    }
}

/// The conjuncts of `expr` that do not read `context`, or `None` when none is left.
fn without_context(expr: Value) -> Option<Value> {
    if !reads_context(&expr) {
        return Some(expr);
    }
    let Value::Object(mut map) = expr else {
        return None;
    };
    let and = map.remove("&&")?;
    let left = without_context(and.get("left")?.clone());
    let right = without_context(and.get("right")?.clone());
    match (left, right) {
        (Some(l), Some(r)) => Some(serde_json::json!({"&&": {"left": l, "right": r}})),
        (one, None) | (None, one) => one,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr as _;

    #[test]
    fn listing_keeps_what_the_caller_decides_and_drops_what_the_arguments_do() {
        let set = PolicySet::from_str(
            r#"
            permit(principal, action == Action::"call:a", resource)
              when { principal.verified && context.arguments.x == 1 };
            permit(principal, action == Action::"call:b", resource)
              unless { context.arguments.x == 1 };
            forbid(principal, action, resource) when { context.arguments.y == 2 };
            forbid(principal, action == Action::"call:c", resource);
            "#,
        )
        .unwrap();
        let mut policies: Vec<Policy> = set.policies().cloned().collect();
        policies.sort_by_key(|p| p.id().to_string());
        let listed = before_arguments(&policies);
        let text = |id: &str| {
            listed
                .iter()
                .find(|p| p.id().to_string() == id)
                .map(ToString::to_string)
        };
        assert_eq!(listed.len(), 3, "the forbid over the arguments is left out");
        assert!(text("policy2").is_none());
        let first = text("policy0").unwrap();
        assert!(
            first.contains("principal.verified") && !first.contains("context"),
            "{first}"
        );
        assert!(!text("policy1").unwrap().contains("unless"));
        assert!(applies_to(&policies[0], "a") && !applies_to(&policies[0], "b"));
        assert!(applies_to(&policies[2], "anything"));
    }
}
