//! The Cedar schema of a tool catalog: one action per tool, its context typed by the tool's
//! input schema, so the validator can refuse a policy that reads an argument a tool does not
//! have, or compares it with a value of another type, before any call is made.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::catalog::ToolSpec;

/// Nesting followed in an input schema (local `$ref`s included).
const MAX_DEPTH: usize = 16;

/// The action every tool's call action is a member of.
pub(super) const CALL_TOOL: &str = "call_tool";
/// Entity types the airlock defines (an entities file may add attributes and groups).
pub(super) const OWN_TYPES: [&str; 6] =
    ["Agent", "Anonymous", "Role", "Tool", "Resource", "Prompt"];
/// The boolean hints of a tool's MCP `annotations` offered as `resource.annotations`.
pub(super) const HINTS: [&str; 4] = [
    "readOnlyHint",
    "destructiveHint",
    "idempotentHint",
    "openWorldHint",
];
/// The action of reading a resource through the proxy (`resources/read`).
pub(super) const READ_RESOURCE: &str = "read_resource";
/// The action of getting a prompt through the proxy (`prompts/get`).
pub(super) const GET_PROMPT: &str = "get_prompt";

/// The action of a call to `tool`.
pub(super) fn call_action(tool: &str) -> String {
    format!("call:{tool}")
}

/// What an argument is to Cedar, from the tool's input schema.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ArgType {
    String,
    /// A string naming a file: normalized before a policy sees it.
    Path,
    /// A string holding a URL: also offered parsed, under `context.urls`.
    Url,
    Long,
    Decimal,
    Bool,
    Set(Box<ArgType>),
    Record(Vec<Field>),
}

/// A declared property of an object argument.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Field {
    pub(super) name: String,
    pub(super) ty: ArgType,
    pub(super) required: bool,
}

/// Which top-level arguments name paths or URLs, besides those whose schema `format` says so:
/// `"name"` for an argument of any tool, `"tool.name"` for one tool's.
#[derive(Debug, Clone, Default)]
pub(super) struct Kinds {
    pub(super) paths: BTreeSet<String>,
    pub(super) urls: BTreeSet<String>,
}

impl Kinds {
    fn kind_of(&self, tool: &str, argument: &str) -> Option<ArgType> {
        let named = |set: &BTreeSet<String>| {
            set.contains(argument) || set.contains(&format!("{tool}.{argument}"))
        };
        if named(&self.paths) {
            Some(ArgType::Path)
        } else if named(&self.urls) {
            Some(ArgType::Url)
        } else {
            None
        }
    }
}

/// The arguments of `spec` as a Cedar record: the properties its schema declares with a type
/// Cedar has (the others are left out, so a policy that reads them fails validation).
pub(super) fn arguments_of(spec: &ToolSpec, kinds: &Kinds) -> Vec<Field> {
    let Some(schema) = spec.input_schema() else {
        return Vec::new();
    };
    let mut fields = match arg_type(schema, schema, 0) {
        Some(ArgType::Record(fields)) => fields,
        _ => Vec::new(),
    };
    for field in &mut fields {
        let Some(kind) = kinds.kind_of(spec.name(), &field.name) else {
            continue;
        };
        match &mut field.ty {
            ArgType::String | ArgType::Path | ArgType::Url => field.ty = kind,
            ArgType::Set(item) if matches!(**item, ArgType::String) && kind == ArgType::Path => {
                **item = kind;
            }
            _ => {}
        }
    }
    fields
}

/// `schema` (within `root`, for local `$ref`s) as an [`ArgType`], when Cedar has a type for it.
fn arg_type(schema: &Value, root: &Value, depth: usize) -> Option<ArgType> {
    if depth > MAX_DEPTH {
        return None;
    }
    let schema = schema.as_object()?;
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let target = target.strip_prefix('#')?;
        return arg_type(root.pointer(target)?, root, depth + 1);
    }
    if let Some(Value::Array(parts)) = schema.get("allOf")
        && parts.len() == 1
    {
        return arg_type(&parts[0], root, depth + 1);
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        // `["string", "null"]`: a null is left out of the record, so it is optional.
        Some(Value::Array(types)) => {
            let mut named = types
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null");
            match (named.next(), named.next()) {
                (Some(t), None) => t,
                _ => return None,
            }
        }
        _ => return enum_type(schema),
    };
    Some(match ty {
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some("path" | "file-path" | "directory-path") => ArgType::Path,
            Some("uri" | "url" | "iri") => ArgType::Url,
            _ => ArgType::String,
        },
        "integer" => ArgType::Long,
        "number" => ArgType::Decimal,
        "boolean" => ArgType::Bool,
        "array" => ArgType::Set(Box::new(arg_type(schema.get("items")?, root, depth + 1)?)),
        "object" => {
            let required: BTreeSet<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let nullable = |s: &Value| {
                s.get("type")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|t| t == "null"))
            };
            let fields = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .filter_map(|(name, s)| {
                            Some(Field {
                                name: name.clone(),
                                ty: arg_type(s, root, depth + 1)?,
                                required: required.contains(name.as_str()) && !nullable(s),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            ArgType::Record(fields)
        }
        _ => return None,
    })
}

/// An untyped `enum` or `const` of strings only, or of integers only.
fn enum_type(schema: &Map<String, Value>) -> Option<ArgType> {
    let values: Vec<&Value> = match (schema.get("enum"), schema.get("const")) {
        (Some(Value::Array(values)), _) => values.iter().collect(),
        (None, Some(value)) => vec![value],
        _ => return None,
    };
    if !values.is_empty() && values.iter().all(|v| v.is_string()) {
        Some(ArgType::String)
    } else if !values.is_empty() && values.iter().all(|v| v.is_i64()) {
        Some(ArgType::Long)
    } else {
        None
    }
}

fn cedar_type(ty: &ArgType) -> Value {
    match ty {
        ArgType::String | ArgType::Path | ArgType::Url => json!({"type": "String"}),
        ArgType::Long => json!({"type": "Long"}),
        ArgType::Decimal => json!({"type": "Extension", "name": "decimal"}),
        ArgType::Bool => json!({"type": "Boolean"}),
        ArgType::Set(item) => json!({"type": "Set", "element": cedar_type(item)}),
        ArgType::Record(fields) => record(
            fields
                .iter()
                .map(|f| (&f.name, cedar_type(&f.ty), f.required)),
        ),
    }
}

fn record<'a>(fields: impl Iterator<Item = (&'a String, Value, bool)>) -> Value {
    let attributes: Map<String, Value> = fields
        .map(|(name, mut ty, required)| {
            if !required {
                ty["required"] = Value::Bool(false);
            }
            (name.clone(), ty)
        })
        .collect();
    json!({"type": "Record", "attributes": attributes})
}

/// The parts of a URL offered to policies.
pub(super) fn url_type() -> Value {
    let string = json!({"type": "String"});
    json!({"type": "Record", "attributes": {
        "scheme": string, "host": string, "path": string,
        "port": {"type": "Long", "required": false},
    }})
}

/// The context of a call to a tool whose arguments are `fields`.
pub(super) fn context_type(fields: &[Field]) -> Value {
    let urls: Vec<(&String, Value, bool)> = fields
        .iter()
        .filter(|f| f.ty == ArgType::Url)
        .map(|f| (&f.name, url_type(), f.required))
        .collect();
    json!({"type": "Record", "attributes": {
        "arguments": cedar_type(&ArgType::Record(fields.to_vec())),
        "urls": record(urls.into_iter()),
        "now": {"type": "Long"},
    }})
}

/// What an entities file says of the entity types it uses: their groups' types, and the
/// attributes every entity of the type agrees on the type of.
#[derive(Debug, Default)]
pub(super) struct FileTypes {
    types: BTreeMap<String, FileType>,
}

#[derive(Debug, Default)]
struct FileType {
    count: usize,
    parents: BTreeSet<String>,
    /// Attribute name → (its type, or `None` where entities disagree; how many have it).
    attrs: BTreeMap<String, (Option<Value>, usize)>,
}

impl FileTypes {
    /// Reads the entity types of an entities file (Cedar's JSON format).
    pub(super) fn of(entities: &Value) -> Self {
        let mut out = Self::default();
        for entity in entities.as_array().into_iter().flatten() {
            let Some(kind) = entity.pointer("/uid/type").and_then(Value::as_str) else {
                continue;
            };
            let parents: Vec<String> = entity
                .get("parents")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("type").and_then(Value::as_str).map(str::to_owned))
                .collect();
            let entry = out.types.entry(kind.to_owned()).or_default();
            entry.count += 1;
            entry.parents.extend(parents.iter().cloned());
            for (name, value) in entity
                .get("attrs")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let ty = value_type(value);
                let slot = entry.attrs.entry(name.clone()).or_insert((ty.clone(), 0));
                if slot.0 != ty {
                    slot.0 = None;
                }
                slot.1 += 1;
            }
            // A group's type is a type too, even when no entity of it is listed.
            for parent in parents {
                out.types.entry(parent).or_default();
            }
        }
        out
    }

    fn shape(&self, kind: &str, own: &[(&str, Value)]) -> Value {
        let mut attributes = Map::new();
        if let Some(t) = self.types.get(kind) {
            for (name, (ty, seen)) in &t.attrs {
                if let Some(ty) = ty {
                    let mut ty = ty.clone();
                    if *seen < t.count {
                        ty["required"] = Value::Bool(false);
                    }
                    attributes.insert(name.clone(), ty);
                }
            }
        }
        for (name, ty) in own {
            attributes.insert((*name).to_owned(), ty.clone());
        }
        json!({"type": "Record", "attributes": attributes})
    }

    fn parents(&self, kind: &str) -> BTreeSet<String> {
        self.types
            .get(kind)
            .map(|t| t.parents.clone())
            .unwrap_or_default()
    }
}

/// The Cedar type of an attribute's JSON value in an entities file, when it has a plain one.
fn value_type(value: &Value) -> Option<Value> {
    Some(match value {
        Value::String(_) => json!({"type": "String"}),
        Value::Bool(_) => json!({"type": "Boolean"}),
        Value::Number(n) if n.is_i64() => json!({"type": "Long"}),
        Value::Array(items) => {
            let first = value_type(items.first()?)?;
            if items.iter().any(|i| value_type(i).as_ref() != Some(&first)) {
                return None;
            }
            json!({"type": "Set", "element": first})
        }
        _ => return None,
    })
}

/// The Cedar schema (JSON form) of the tools `specs` with the entity types of `file`.
pub(super) fn schema_json(specs: &[&ToolSpec], file: &FileTypes, kinds: &Kinds) -> Value {
    let string_set = json!({"type": "Set", "element": {"type": "String"}});
    let mut entity_types = Map::new();
    let mut agent_parents = file.parents("Agent");
    agent_parents.insert("Role".to_owned());
    entity_types.insert(
        "Agent".into(),
        json!({
            "memberOfTypes": agent_parents,
            "shape": file.shape("Agent", &[("verified", json!({"type": "Boolean"})), ("roles", string_set)]),
        }),
    );
    entity_types.insert(
        "Anonymous".into(),
        json!({"shape": {"type": "Record", "attributes": {
            "verified": {"type": "Boolean"},
            "roles": {"type": "Set", "element": {"type": "String"}},
        }}}),
    );
    entity_types.insert(
        "Tool".into(),
        json!({
            "memberOfTypes": file.parents("Tool"),
            "shape": file.shape("Tool", &[
                ("name", json!({"type": "String"})),
                ("annotations", json!({"type": "Record", "attributes": HINTS
                    .iter()
                    .map(|h| ((*h).to_owned(), json!({"type": "Boolean", "required": false})))
                    .collect::<Map<String, Value>>()})),
            ]),
        }),
    );
    for kind in file
        .types
        .keys()
        .filter(|k| !OWN_TYPES.contains(&k.as_str()) && *k != "Action")
    {
        entity_types.insert(
            kind.clone(),
            json!({"memberOfTypes": file.parents(kind), "shape": file.shape(kind, &[])}),
        );
    }
    entity_types.entry("Role").or_insert_with(
        || json!({"memberOfTypes": file.parents("Role"), "shape": file.shape("Role", &[])}),
    );
    let string = json!({"type": "String"});
    entity_types.insert(
        "Resource".into(),
        json!({"shape": {"type": "Record", "attributes": {"uri": string}}}),
    );
    entity_types.insert(
        "Prompt".into(),
        json!({"shape": {"type": "Record", "attributes": {"name": string}}}),
    );
    let mut actions = Map::new();
    actions.insert(CALL_TOOL.into(), json!({}));
    let relayed = |kind: &str, argument: &str, url: bool| {
        let urls = if url {
            let mut parts = url_type();
            parts["required"] = Value::Bool(false);
            json!({"type": "Record", "attributes": {argument: parts}})
        } else {
            json!({"type": "Record", "attributes": {}})
        };
        json!({"appliesTo": {
            "principalTypes": ["Agent", "Anonymous"],
            "resourceTypes": [kind],
            "context": {"type": "Record", "attributes": {
                "arguments": {"type": "Record", "attributes": {argument: {"type": "String"}}},
                "urls": urls,
                "now": {"type": "Long"},
            }},
        }})
    };
    actions.insert(READ_RESOURCE.into(), relayed("Resource", "uri", true));
    actions.insert(GET_PROMPT.into(), relayed("Prompt", "name", false));
    for spec in specs {
        let fields = arguments_of(spec, kinds);
        actions.insert(
            call_action(spec.name()),
            json!({
                "memberOf": [{"id": CALL_TOOL}],
                "appliesTo": {
                    "principalTypes": ["Agent", "Anonymous"],
                    "resourceTypes": ["Tool"],
                    "context": context_type(&fields),
                },
            }),
        );
    }
    json!({"": {"entityTypes": entity_types, "actions": actions}})
}
