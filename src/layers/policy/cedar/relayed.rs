//! Requests the proxy relays, put to the Cedar policies: `resources/read` as
//! `Action::"read_resource"` on `Resource::"<uri>"` (context: `arguments.uri`, and its parts
//! under `urls.uri`), `prompts/get` as `Action::"get_prompt"` on `Prompt::"<name>"`
//! (context: `arguments.name`).

use std::collections::{HashMap, HashSet};

use cedar_policy::{Context, Entity, Request, RestrictedExpression};
use serde_json::Value;

use super::principal::{principal, uid};
use super::schema::{GET_PROMPT, READ_RESOURCE};
use super::values::url_record;
use super::{CedarPolicies, Verdict, judge};
use crate::catalog::SharedCatalog;
use crate::service::layer_names::POLICY;
use crate::service::{Caller, Rejection};

impl CedarPolicies {
    /// Decides a request the proxy relays to its server, when it is one the policies speak
    /// of (`resources/read`, `prompts/get`; any other is `Ok`). With Cedar policies, such a
    /// request needs a permit too. A permit that asks for a person refuses it: relayed
    /// requests are not held for approval.
    pub(crate) fn decide_relayed(
        &self,
        method: &str,
        params: &Value,
        caller: &Caller,
        catalog: Option<&SharedCatalog>,
        now: i64,
    ) -> Result<(), Rejection> {
        let (action, kind, argument) = match method {
            "resources/read" => (READ_RESOURCE, "Resource", "uri"),
            "prompts/get" => (GET_PROMPT, "Prompt", "name"),
            _ => return Ok(()),
        };
        let refuse = |why: String| Err(Rejection::policy_denied(POLICY, why, &[]));
        let subject = format!("`{method}`");
        let compiled = self.compiled_for(catalog);
        if compiled.failure.is_some() {
            return refuse(format!(
                "{subject}: the policies cannot decide until their configuration is mended"
            ));
        }
        let Some(value) = params.get(argument).and_then(Value::as_str) else {
            return refuse(format!("{subject} without a string `{argument}`"));
        };
        let mut urls = Vec::new();
        if argument == "uri"
            && let Ok(parts) = url_record(value, argument)
        {
            urls.push((argument.to_owned(), parts));
        }
        let text = || RestrictedExpression::new_string(value.to_owned());
        let context = RestrictedExpression::new_record([(argument.to_owned(), text())]).and_then(
            |arguments| {
                Ok(Context::from_pairs([
                    ("arguments".to_owned(), arguments),
                    ("urls".to_owned(), RestrictedExpression::new_record(urls)?),
                    ("now".to_owned(), RestrictedExpression::new_long(now)),
                ]))
            },
        );
        let put = || {
            refuse(format!(
                "{subject}: the request cannot be put to the Cedar policies"
            ))
        };
        let Ok(Ok(context)) = context else {
            return put();
        };
        let (Some((principal, entity, ancestors)), Some(resource), Some(action)) = (
            principal(&self.entities, caller),
            uid(kind, value),
            uid("Action", action),
        ) else {
            return put();
        };
        let mut added = vec![entity, Entity::new_no_attrs(action.clone(), HashSet::new())];
        if self.entities.get(&resource).is_none() {
            let attrs = HashMap::from([(argument.to_owned(), text())]);
            match Entity::new(resource.clone(), attrs, HashSet::new()) {
                Ok(e) => added.push(e),
                Err(_) => return put(),
            }
        }
        let Ok(entities) = compiled.other.entities.clone().upsert_entities(added, None) else {
            return put();
        };
        let policies = compiled.other.decide.for_principal(&principal, &ancestors);
        let Ok(request) = Request::new(principal, action, resource, context, None) else {
            return put();
        };
        let response = self
            .authorizer
            .is_authorized(&request, &policies, &entities);
        match judge(&response, &policies, &subject)? {
            Verdict::Allow => Ok(()),
            Verdict::Ask(_) => refuse(format!(
                "{subject}: a Cedar policy asks for a person, and relayed requests are not held for approval"
            )),
        }
    }
}
