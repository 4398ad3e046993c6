//! [`CedarPolicies`]: decisions over what a call does, in Cedar (feature `cedar`).
//!
//! Each call is one Cedar request:
//!
//! - **principal**: `Agent::"<id>"` (the caller's id as the policy layer left it, verified
//!   or claimed) with the attributes `verified` (Bool) and `roles` (Set of String), member
//!   of `Role::"<role>"` for each role; a caller without an id is `Anonymous::""`, with the
//!   same two attributes;
//! - **action**: `Action::"call:<tool>"`, one per tool, each a member of
//!   `Action::"call_tool"`;
//! - **resource**: `Tool::"<name>"` with the attributes `name` and `annotations` (the boolean
//!   hints of the tool's MCP annotations, each optional: the server's words, fit for a
//!   `forbid`, never a reason to permit);
//! - **context**: `arguments`, the call's arguments typed as the tool's input schema declares
//!   them (`string` as String, `integer` as Long, `number` as `decimal`, `boolean` as Bool,
//!   arrays as sets, objects as records; optional properties optional), `urls`, the parts
//!   (`scheme`, `host`, `port`, `path`) of each URL argument, and `now` (Unix seconds).
//!
//! With a catalog, the policies are validated (Cedar's strict mode) against a schema made
//! from it before any call: a policy that reads an argument a tool does not have, or compares
//! it with a value of another type, is a configuration error naming the policy. When the
//! catalog changes (a proxied server's tools), they are validated again; if they no longer
//! hold, every call they decide is refused until they do.
//!
//! Only arguments that are free of undeclared members and valid against the schema reach a
//! condition: others are refused here with the schema's own errors. Arguments that name
//! files (schema `format: "path"`, or named in `[policy] path_arguments`) are resolved
//! lexically first, and the call carries the resolved path, so the server acts on the path
//! the policies saw; a path that climbs above its root, or hides a dot or a separator in an
//! encoding, is refused. URL arguments (`format: "uri"`, or `[policy] url_arguments`) are
//! offered parsed under `context.urls`: write conditions on the host there, never on the text.
//!
//! An entity the entities file defines (an agent's attributes and groups, a tool's) is used
//! as defined there, the airlock's own attributes added. Arguments become values, never entity
//! references: an argument that looks like Cedar's JSON escapes (`{"__entity": …}`) is a
//! record like any other.
//!
//! A call needs a `permit` and no `forbid`; a policy that cannot be evaluated for the call
//! refuses it. A refusal names the policies that forbade the call, by their `@id("…")`
//! annotation when they have one, with their `@reason("…")`; it never names another policy.
//! The TOML rules apply first: a call passes both.

mod index;
mod listing;
mod principal;
mod relayed;
mod schema;
mod values;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr as _;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityUid, Policy, PolicySet, Request,
    RestrictedExpression, Schema, ValidationMode, Validator,
};
use serde_json::Value;

use super::error::PolicyError;
use crate::catalog::{SharedCatalog, ToolCatalog};
use crate::layers::strict_schema::explain;
use crate::layers::strip_ghost_args::{find_ghosts, strip_ghosts};
use crate::service::layer_names::POLICY;
use crate::service::{Caller, Rejection, ToolCall};
use principal::uid;
use schema::{CALL_TOOL, Field, FileTypes, Kinds, call_action};

/// The verdict of `response` (from `policies`) on a request about `subject`: a refusal
/// names the forbidding policies (`@id`, `@reason`) and no other; a permit whose every
/// satisfied policy asks for a person is [`Verdict::Ask`].
fn judge(
    response: &cedar_policy::Response,
    policies: &PolicySet,
    subject: &str,
) -> Result<Verdict, Rejection> {
    let refuse = |why: String| Err(Rejection::policy_denied(POLICY, why, &[]));
    let diagnostics = response.diagnostics();
    if diagnostics.errors().next().is_some() {
        tracing::info!(subject, "a Cedar policy could not be evaluated: refused");
        return refuse(format!(
            "{subject}: a Cedar policy could not be evaluated for these arguments"
        ));
    }
    match response.decision() {
        Decision::Allow => {
            // Held for a person when every permit that holds asks for one.
            let mut asks = Vec::new();
            for id in diagnostics.reason() {
                match policies.policy(id).and_then(|p| p.annotation("approval")) {
                    Some(reason) => asks.push(reason.to_owned()),
                    None => return Ok(Verdict::Allow),
                }
            }
            Ok(match asks.is_empty() {
                true => Verdict::Allow,
                false => Verdict::Ask(asks.join("; ")),
            })
        }
        Decision::Deny => {
            let forbidding: Vec<String> = diagnostics
                .reason()
                .map(|id| {
                    let policy = policies.policy(id);
                    let name = policy
                        .and_then(|p| p.annotation("id"))
                        .map_or_else(|| id.to_string(), str::to_owned);
                    match policy.and_then(|p| p.annotation("reason")) {
                        Some(reason) => format!("{name} ({reason})"),
                        None => name,
                    }
                })
                .collect();
            if forbidding.is_empty() {
                refuse(format!("{subject}: no Cedar policy permits this"))
            } else {
                refuse(format!(
                    "{subject}: forbidden by the Cedar policy {}",
                    forbidding.join(", ")
                ))
            }
        }
    }
}

/// What the policies say of a call they do not refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It may go ahead.
    Allow,
    /// It may go ahead once a person approves it: every permit that holds is annotated
    /// `@approval("…")` (their texts, joined).
    Ask(String),
}

/// Schema errors reported in a refusal, at most.
const MAX_ERRORS: usize = 8;

/// Cedar policies (and the entities they name), checked on every call.
pub struct CedarPolicies {
    policies: Vec<Policy>,
    /// Digest of the policies and entities: approvals are bound to it.
    version: String,
    entities: Entities,
    file_types: FileTypes,
    kinds: Kinds,
    authorizer: Authorizer,
    /// The policies compiled for the catalog they were last validated against.
    compiled: ArcSwapOption<Compiled>,
}

impl std::fmt::Debug for CedarPolicies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CedarPolicies")
            .field("policies", &self.policies.len())
            .finish()
    }
}

/// The policies, entities and argument types for one catalog.
struct Compiled {
    catalog: Option<Arc<ToolCatalog>>,
    /// Why the policies do not hold for this catalog: every call they decide is refused.
    failure: Option<String>,
    tools: HashMap<String, ForTool>,
    /// For tools outside the catalog: every policy, arguments untyped.
    other: ForTool,
    /// The file's entities and every tool's, for listing them all at once.
    all_entities: Entities,
}

struct ForTool {
    decide: index::Scoped,
    list: index::Scoped,
    fields: Option<Vec<Field>>,
    entities: Entities,
    /// The entities of the requests of each kind of caller seen (bounded).
    callers: std::sync::Mutex<HashMap<CallerKey, Arc<Prepared>>>,
}

/// What makes one caller's entity differ from another's.
type CallerKey = (Option<String>, bool, Vec<String>);

/// Kinds of callers whose entities a tool keeps, at most (then they are built again).
const MAX_CALLERS: usize = 64;

/// A caller's part of a request: its principal, its groups, and the request's entities.
struct Prepared {
    principal: EntityUid,
    ancestors: HashSet<EntityUid>,
    entities: Entities,
}

impl CedarPolicies {
    /// Policies in Cedar's syntax, and optionally entities in Cedar's JSON format.
    pub fn new(policies: &str, entities: Option<&str>) -> Result<Self, PolicyError> {
        let set = PolicySet::from_str(policies)
            .map_err(|e| PolicyError::Cedar(format!("the policies do not parse: {e}")))?;
        if set.templates().next().is_some() {
            return Err(PolicyError::Cedar(
                "policy templates are not supported: write each policy out".into(),
            ));
        }
        let version = {
            use sha2::Digest as _;
            let mut h = sha2::Sha256::new();
            h.update(policies.as_bytes());
            h.update([0]);
            h.update(entities.unwrap_or("").as_bytes());
            h.finalize()[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let mut listed: Vec<Policy> = set.policies().cloned().collect();
        listed.sort_by_key(|p| p.id().to_string());
        let (entities, file_types) = match entities {
            Some(json) => {
                let value: Value = serde_json::from_str(json)
                    .map_err(|e| PolicyError::Cedar(format!("the entities do not parse: {e}")))?;
                let entities = Entities::from_json_value(value.clone(), None)
                    .map_err(|e| PolicyError::Cedar(format!("the entities do not parse: {e}")))?;
                (entities, FileTypes::of(&value))
            }
            None => (Entities::empty(), FileTypes::default()),
        };
        Ok(Self {
            version,
            policies: listed,
            entities,
            file_types,
            kinds: Kinds::default(),
            authorizer: Authorizer::new(),
            compiled: ArcSwapOption::empty(),
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

    /// The digest of the policies and entities this was built from: an approval is bound to
    /// it, so changed policies ask again.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Top-level string arguments (or arrays of strings) that name files: `"path"` for
    /// every tool's, `"write_file.path"` for one tool's. Their values are resolved lexically
    /// before a policy sees them, and the call carries the resolved form.
    pub fn path_arguments<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.kinds.paths.extend(names.into_iter().map(Into::into));
        self
    }

    /// Top-level string arguments that hold URLs (named as in
    /// [`path_arguments`](Self::path_arguments)): offered parsed under `context.urls`.
    pub fn url_arguments<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.kinds.urls.extend(names.into_iter().map(Into::into));
        self
    }

    /// Validates the policies against the schema `catalog` makes (Cedar's strict mode), and
    /// keeps them compiled for it. The error names each policy that does not hold, and why.
    pub fn validate(&self, catalog: &Arc<ToolCatalog>) -> Result<(), PolicyError> {
        let compiled = self.compile(Some(catalog.clone()));
        let failure = compiled.failure.clone();
        self.compiled.store(Some(Arc::new(compiled)));
        match failure {
            Some(why) => Err(PolicyError::Cedar(why)),
            None => Ok(()),
        }
    }

    /// The compiled policies for the catalog of now, compiled again when it changed.
    fn compiled_for(&self, catalog: Option<&SharedCatalog>) -> Arc<Compiled> {
        let current = catalog.map(|c| c.load());
        let same = |c: &Compiled| match (&c.catalog, &current) {
            (Some(a), Some(b)) => std::ptr::eq(Arc::as_ptr(a), &**b),
            (None, None) => true,
            _ => false,
        };
        if let Some(compiled) = self.compiled.load_full()
            && same(&compiled)
        {
            return compiled;
        }
        drop(current);
        let compiled = Arc::new(self.compile(catalog.map(SharedCatalog::snapshot)));
        if let Some(why) = &compiled.failure {
            tracing::error!(
                reason = %why,
                "the Cedar policies do not hold for the tools as they are now: the calls they decide are refused"
            );
        }
        self.compiled.store(Some(compiled.clone()));
        compiled
    }

    fn compile(&self, catalog: Option<Arc<ToolCatalog>>) -> Compiled {
        let listing = index::before_arguments(&self.policies);
        let mut failure = None;
        let mut tools = HashMap::new();
        if let Some(catalog) = &catalog {
            if let Err(why) = self.check(catalog) {
                failure = Some(why);
            }
            for spec in catalog.tools() {
                let name = spec.name();
                let fields = schema::arguments_of(spec, &self.kinds);
                tools.insert(
                    name.to_owned(),
                    ForTool {
                        decide: index::Scoped::new(&self.policies, Some(name)),
                        list: index::Scoped::new(&listing, Some(name)),
                        fields: Some(fields),
                        entities: self.entities_for(Some(spec)),
                        callers: Default::default(),
                    },
                );
            }
        }
        Compiled {
            all_entities: self.entities_for_all(catalog.as_deref()),
            catalog,
            failure,
            tools,
            other: ForTool {
                decide: index::Scoped::new(&self.policies, None),
                list: index::Scoped::new(&listing, None),
                fields: None,
                entities: self.entities_for(None),
                callers: Default::default(),
            },
        }
    }

    /// Validates the policies against `catalog`'s schema; the error names each failing policy.
    /// A policy whose scope spans every tool is checked once per distinct argument type
    /// rather than once per tool (Cedar's validator checks each action apart), and against
    /// every tool only when that finds a problem, so the messages name the right tools.
    fn check(&self, catalog: &ToolCatalog) -> Result<(), String> {
        let specs = catalog.tools();
        let build = |specs: &[&crate::catalog::ToolSpec]| {
            let json = schema::schema_json(specs, &self.file_types, &self.kinds);
            Schema::from_json_value(json)
                .map_err(|e| format!("the Cedar schema of the tools does not build: {e}"))
        };
        let validate = |schema: &Schema, policies: &[&Policy]| {
            let mut set = PolicySet::new();
            for policy in policies {
                let _ = set.add((*policy).clone());
            }
            let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
            result
                .validation_errors()
                .take(MAX_ERRORS)
                .map(|e| format!("{}: {e}", self.describe(e.policy_id())))
                .collect::<Vec<String>>()
        };
        let full = build(&specs)?;
        let (wide, narrow): (Vec<&Policy>, Vec<&Policy>) = self
            .policies
            .iter()
            .partition(|p| index::spans_every_tool(p));
        let mut problems = validate(&full, &narrow);
        if !wide.is_empty() {
            let mut seen = HashSet::new();
            let distinct: Vec<&crate::catalog::ToolSpec> = specs
                .iter()
                .filter(|s| {
                    let fields = schema::arguments_of(s, &self.kinds);
                    seen.insert(schema::context_type(&fields).to_string())
                })
                .copied()
                .collect();
            if distinct.len() == specs.len() || !validate(&build(&distinct)?, &wide).is_empty() {
                problems.extend(validate(&full, &wide));
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        problems.truncate(MAX_ERRORS);
        Err(format!(
            "the Cedar policies do not hold for the tools' schemas: {}",
            problems.join("; ")
        ))
    }

    /// A policy by its `@id` annotation, and its place in the file (Cedar numbers the
    /// policies of a file `policy0`, `policy1`, … in order).
    fn describe(&self, id: &cedar_policy::PolicyId) -> String {
        let place = id
            .to_string()
            .strip_prefix("policy")
            .and_then(|n| n.parse::<usize>().ok())
            .map(|n| format!("the policy number {} in the file", n + 1));
        let annotated = self
            .policies
            .iter()
            .find(|p| p.id() == id)
            .and_then(|p| p.annotation("id"));
        match (annotated, place) {
            (Some(name), Some(place)) => format!("`{name}` ({place})"),
            (Some(name), None) => format!("`{name}`"),
            (None, Some(place)) => place,
            (None, None) => format!("`{id}`"),
        }
    }

    /// The file's entities and the ones every request to `tool` names: the tool, its action,
    /// and `Action::"call_tool"`.
    fn entities_for(&self, tool: Option<&crate::catalog::ToolSpec>) -> Entities {
        self.entities_with(tool.into_iter())
    }

    /// The file's entities and those of every tool in `catalog`.
    fn entities_for_all(&self, catalog: Option<&ToolCatalog>) -> Entities {
        self.entities_with(
            catalog
                .map(ToolCatalog::tools)
                .unwrap_or_default()
                .into_iter(),
        )
    }

    /// The file's entities, `Action::"call_tool"`, and the entities of `tools` (those the
    /// file does not define).
    fn entities_with<'a>(
        &self,
        tools: impl Iterator<Item = &'a crate::catalog::ToolSpec>,
    ) -> Entities {
        let mut added: Vec<Entity> = uid("Action", CALL_TOOL)
            .map(|group| Entity::new_no_attrs(group, HashSet::new()))
            .into_iter()
            .collect();
        for spec in tools {
            added.extend(self.tool_entities(spec.name(), spec.annotations()));
        }
        self.entities
            .clone()
            .upsert_entities(
                added
                    .into_iter()
                    .filter(|e| self.entities.get(&e.uid()).is_none()),
                None,
            )
            .unwrap_or_else(|_| self.entities.clone())
    }

    /// `Tool::"<tool>"` (unless the file defines it: then as defined there), with its `name`
    /// and the boolean hints of its MCP `annotations`, and `Action::"call:<tool>"`.
    fn tool_entities(&self, tool: &str, annotations: Option<&Value>) -> Vec<Entity> {
        let mut out = Vec::new();
        if let (Some(action), Some(group)) =
            (uid("Action", &call_action(tool)), uid("Action", CALL_TOOL))
        {
            out.push(Entity::new_no_attrs(action, HashSet::from([group])));
        }
        if let Some(resource) = uid("Tool", tool)
            && self.entities.get(&resource).is_none()
            && let Ok(hints) =
                RestrictedExpression::new_record(schema::HINTS.iter().filter_map(|hint| {
                    let value = annotations?.get(*hint)?.as_bool()?;
                    Some(((*hint).to_owned(), RestrictedExpression::new_bool(value)))
                }))
            && let Ok(entity) = Entity::new(
                resource,
                HashMap::from([
                    (
                        "name".to_owned(),
                        RestrictedExpression::new_string(tool.to_owned()),
                    ),
                    ("annotations".to_owned(), hints),
                ]),
                HashSet::new(),
            )
        {
            out.push(entity);
        }
        out
    }

    /// Decides `call` at `now` (Unix seconds): `Ok` when a policy permits it and none
    /// forbids it. Path arguments in `call` are replaced by their resolved form.
    pub(crate) fn decide(
        &self,
        call: &mut ToolCall,
        catalog: Option<&SharedCatalog>,
        now: i64,
    ) -> Result<Verdict, Rejection> {
        let refuse = |why: String| Err(Rejection::policy_denied(POLICY, why, &[]));
        let compiled = self.compiled_for(catalog);
        let tool = call.tool.clone();
        let tool = tool.as_str();
        if compiled.failure.is_some() {
            return refuse(format!(
                "tool `{tool}`: the policies cannot decide calls until their configuration is mended"
            ));
        }
        let for_tool = compiled.tools.get(tool).unwrap_or(&compiled.other);
        let (arguments, urls) = match &for_tool.fields {
            Some(fields) => {
                self.admit_arguments(&compiled, call)?;
                match values::typed(&mut call.arguments, fields) {
                    Ok(typed) => (typed.arguments, typed.urls),
                    Err(misfit) => {
                        return Err(Rejection::malformed_call(
                            POLICY,
                            format!("tool `{tool}`: {misfit}"),
                            "send the argument in its plain form, within its root",
                        ));
                    }
                }
            }
            None => (
                values::untyped(&call.arguments, 0)
                    .unwrap_or_else(|| RestrictedExpression::new_record([]).expect("empty record")),
                RestrictedExpression::new_record([]).expect("empty record"),
            ),
        };
        let context = Context::from_pairs([
            ("arguments".to_owned(), arguments),
            ("urls".to_owned(), urls),
            ("now".to_owned(), RestrictedExpression::new_long(now)),
        ]);
        let put = || {
            refuse(format!(
                "tool `{tool}`: the call cannot be put to the Cedar policies"
            ))
        };
        let Some(prepared) = self.prepared(for_tool, &call.caller, tool) else {
            return put();
        };
        let policies = for_tool
            .decide
            .for_principal(&prepared.principal, &prepared.ancestors);
        if !policies
            .policies()
            .any(|p| p.effect() == cedar_policy::Effect::Permit)
        {
            return refuse(format!("tool `{tool}`: no Cedar policy permits this call"));
        }
        let (Ok(context), Some(resource), Some(action)) = (
            context,
            uid("Tool", tool),
            uid("Action", &call_action(tool)),
        ) else {
            return put();
        };
        let Ok(request) = Request::new(prepared.principal.clone(), action, resource, context, None)
        else {
            return put();
        };
        let response = self
            .authorizer
            .is_authorized(&request, &policies, &prepared.entities);
        judge(&response, &policies, &format!("tool `{tool}`"))
    }

    /// Refuses arguments the schema refuses, undeclared members set aside as the ghost layer
    /// sets them aside: no condition sees them.
    fn admit_arguments(&self, compiled: &Compiled, call: &ToolCall) -> Result<(), Rejection> {
        let Some(spec) = compiled.catalog.as_ref().and_then(|c| c.get(&call.tool)) else {
            return Ok(());
        };
        let Some(validator) = spec.validator() else {
            return Ok(());
        };
        let ghosts = find_ghosts(spec, &call.arguments);
        let stripped;
        let arguments = if ghosts.is_empty() {
            &call.arguments
        } else {
            let mut copy = call.arguments.clone();
            strip_ghosts(&mut copy, &ghosts);
            stripped = copy;
            &stripped
        };
        if validator.is_valid(arguments) {
            return Ok(());
        }
        let (errors, truncated) = explain(validator, arguments, MAX_ERRORS);
        Err(Rejection::schema_violation(
            POLICY,
            spec.name(),
            errors,
            truncated,
        ))
    }

    /// The caller's part of a request to `tool`, built once per kind of caller (its id,
    /// whether it was verified, its roles: all its entity holds) for a tool of the catalog.
    fn prepared(&self, for_tool: &ForTool, caller: &Caller, tool: &str) -> Option<Arc<Prepared>> {
        let key: CallerKey = (
            caller.agent_id.clone(),
            caller.verified,
            caller.roles.clone(),
        );
        let lock = || {
            for_tool
                .callers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let cached = for_tool.fields.is_some();
        if cached && let Some(prepared) = lock().get(&key) {
            return Some(prepared.clone());
        }
        let (principal, entity, ancestors) = principal::principal(&self.entities, caller)?;
        let mut added = vec![entity];
        if !cached {
            // A tool outside the catalog: its entities are not in the tool's set.
            added.extend(self.tool_entities(tool, None));
        }
        let entities = for_tool
            .entities
            .clone()
            .upsert_entities(added, None)
            .ok()?;
        let prepared = Arc::new(Prepared {
            principal,
            ancestors,
            entities,
        });
        if cached {
            let mut callers = lock();
            if callers.len() >= MAX_CALLERS {
                callers.clear();
            }
            callers.insert(key, prepared.clone());
        }
        Some(prepared)
    }
}

#[cfg(test)]
mod tests;
