//! What a caller may be shown in `tools/list`: the policies with their conditions on the
//! arguments set aside, evaluated for every tool with the caller's entities built once.

use std::collections::HashSet;
use std::sync::Arc;

use cedar_policy::{Context, Decision, Entities, EntityUid, Request};

use super::principal::{principal, uid};
use super::schema::call_action;
use super::{CedarPolicies, Compiled};
use crate::catalog::SharedCatalog;
use crate::service::Caller;

impl CedarPolicies {
    /// What `caller` may be shown in `tools/list`: see [`Lister::may_list`].
    pub(crate) fn lister(&self, caller: &Caller, catalog: Option<&SharedCatalog>) -> Lister<'_> {
        let compiled = self.compiled_for(catalog);
        let principal = match &compiled.failure {
            Some(_) => None,
            None => principal(&self.entities, caller).and_then(|(uid, entity, ancestors)| {
                let entities = compiled
                    .all_entities
                    .clone()
                    .upsert_entities([entity], None)
                    .ok()?;
                Some((uid, ancestors, entities))
            }),
        };
        Lister {
            policies: self,
            compiled,
            principal,
        }
    }
}

/// One caller's view of the catalog, for `tools/list`.
pub(crate) struct Lister<'a> {
    policies: &'a CedarPolicies,
    compiled: Arc<Compiled>,
    principal: Option<(EntityUid, HashSet<EntityUid>, Entities)>,
}

impl Lister<'_> {
    /// Whether some arguments could make a call to `tool` permitted for the caller: the
    /// policies decide with their conditions on the arguments set aside.
    pub(crate) fn may_list(&self, tool: &str) -> bool {
        let Some((principal, ancestors, entities)) = &self.principal else {
            return false;
        };
        let compiled = &self.compiled;
        let for_tool = compiled.tools.get(tool).unwrap_or(&compiled.other);
        let policies = for_tool.list.for_principal(principal, ancestors);
        // No permit whose scope holds: nothing to evaluate.
        if !policies
            .policies()
            .any(|p| p.effect() == cedar_policy::Effect::Permit)
        {
            return false;
        }
        let (Some(resource), Some(action)) = (uid("Tool", tool), uid("Action", &call_action(tool)))
        else {
            return false;
        };
        let entities = if for_tool.fields.is_none() {
            let added = self.policies.tool_entities(tool, None);
            match entities.clone().upsert_entities(added, None) {
                Ok(e) => std::borrow::Cow::Owned(e),
                Err(_) => return false,
            }
        } else {
            std::borrow::Cow::Borrowed(entities)
        };
        let Ok(request) = Request::new(principal.clone(), action, resource, Context::empty(), None)
        else {
            return false;
        };
        let response = self
            .policies
            .authorizer
            .is_authorized(&request, &policies, &entities);
        response.decision() == Decision::Allow
    }
}
