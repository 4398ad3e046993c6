//! The tool catalog: name → JSON Schema, compiled once, shared by every layer.
//!
//! A [`ToolCatalog`] holds one [`ToolSpec`] per tool. Building a spec
//! compiles everything the hot path needs: the `jsonschema` validator (Draft
//! 2020-12 unless the schema's `$schema` says otherwise, formats checked,
//! `pattern` on the linear-time `regex` engine, no remote `$ref` fetched) and
//! the tree of declared arguments used to find ghost arguments. A bad schema
//! or name is an error when the catalog is built, never at the first call.
//!
//! The router holds it as an `Arc<ToolCatalog>`; the
//! [`StripGhostArgsLayer`](crate::StripGhostArgsLayer),
//! [`StrictSchemaLayer`](crate::StrictSchemaLayer), the policy's hints and the adapters
//! listing tools share one [`SharedCatalog`], which can be replaced while they run.
//!
//! ```
//! use agent_airlock::ToolCatalog;
//!
//! let catalog = ToolCatalog::from_mcp_json(r#"{"tools": [{
//!     "name": "read_file",
//!     "description": "Read a text file",
//!     "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}
//! }]}"#).unwrap();
//! assert!(catalog.get("read_file").is_some());
//! ```

pub(crate) mod shape;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use crate::service::Rejection;
pub(crate) use shape::Shape;

/// Longest tool name the MCP rule allows.
pub const MAX_TOOL_NAME_LEN: usize = 128;

/// Checks a tool name against the MCP rule: 1–128 characters from `[A-Za-z0-9_./-]`.
///
/// Anything else (spaces, Unicode look-alikes, control characters) is refused
/// before any other rule looks at the name.
///
/// ```
/// use agent_airlock::catalog::check_tool_name;
///
/// assert!(check_tool_name("fs.read_file").is_ok());
/// assert!(check_tool_name("reаd_file").is_err()); // Cyrillic 'а'
/// assert!(check_tool_name("").is_err());
/// ```
pub fn check_tool_name(name: &str) -> Result<(), ToolNameError> {
    if name.is_empty() {
        return Err(ToolNameError::Empty);
    }
    if name.len() > MAX_TOOL_NAME_LEN {
        return Err(ToolNameError::TooLong { len: name.len() });
    }
    match name
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')))
    {
        Some((index, c)) => Err(ToolNameError::BadChar { index, c }),
        None => Ok(()),
    }
}

/// Why a tool name breaks the MCP rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolNameError {
    /// The name is empty.
    #[error("the tool name is empty")]
    Empty,
    /// Longer than 128 bytes.
    #[error("the tool name is {len} bytes long; the limit is {MAX_TOOL_NAME_LEN}")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A character outside `[A-Za-z0-9_./-]`.
    #[error("the tool name has the character U+{:04X} ({}) at byte {index}; only A-Z, a-z, 0-9, `_`, `.`, `/` and `-` are allowed", *c as u32, crate::preview::display_name(&format!("{c:?}")))]
    BadChar {
        /// Byte offset.
        index: usize,
        /// The character.
        c: char,
    },
}

impl ToolNameError {
    /// The `malformed_call` refusal for this name.
    pub fn to_rejection(&self, layer: &'static str) -> Rejection {
        Rejection::malformed_call(
            layer,
            self.to_string(),
            "use a tool name exactly as tools/list gives it",
        )
    }
}

/// Errors building a catalog. Each names the tool and what is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The tool name breaks the MCP rule.
    #[error("tool name {name:?}: {source}")]
    BadName {
        /// The name as given.
        name: String,
        /// Why.
        source: ToolNameError,
    },
    /// Two tools share a name.
    #[error("tool `{0}` is registered twice")]
    Duplicate(String),
    /// The input schema does not compile.
    #[error("tool `{tool}`: invalid input schema: {reason}")]
    BadSchema {
        /// The tool.
        tool: String,
        /// What the compiler said.
        reason: String,
    },
    /// The input schema is larger than [`MAX_SCHEMA_NODES`]: not compiled.
    #[error(
        "tool `{tool}`: its input schema has more than {limit} objects and arrays; too large to compile and check"
    )]
    SchemaTooLarge {
        /// The tool.
        tool: String,
        /// The limit.
        limit: usize,
    },
    /// A catalog file could not be read.
    #[error("cannot read catalog {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A catalog file is not the `tools/list` shape.
    #[error("catalog is not an MCP tools/list document: {0}")]
    Format(String),
}

/// One tool: its name, description and input schema, compiled.
#[derive(Debug)]
pub struct ToolSpec {
    name: String,
    description: Option<String>,
    input_schema: Option<Value>,
    validator: Option<jsonschema::Validator>,
    shape: Option<Shape>,
    /// The rest of an MCP tool definition (`title`, `outputSchema`, `annotations`, `icons`,
    /// `_meta`), kept as given and served in `tools/list`.
    rest: serde_json::Map<String, Value>,
}

impl ToolSpec {
    /// Compiles a tool. `input_schema: None` is a tool without a schema: strict mode refuses
    /// its calls, non-strict mode lets them through unchecked.
    pub fn new(
        name: impl Into<String>,
        description: Option<String>,
        input_schema: Option<Value>,
    ) -> Result<Self, CatalogError> {
        let name = name.into();
        if let Err(source) = check_tool_name(&name) {
            return Err(CatalogError::BadName { name, source });
        }
        let (validator, shape) = match &input_schema {
            Some(schema) if larger_than(schema, MAX_SCHEMA_NODES) => {
                return Err(CatalogError::SchemaTooLarge {
                    tool: name,
                    limit: MAX_SCHEMA_NODES,
                });
            }
            Some(schema) => {
                let validator =
                    compile_validator(schema).map_err(|reason| CatalogError::BadSchema {
                        tool: name.clone(),
                        reason,
                    })?;
                (Some(validator), Some(Shape::compile(schema)))
            }
            None => (None, None),
        };
        Ok(Self {
            name,
            description,
            input_schema,
            validator,
            shape,
            rest: serde_json::Map::new(),
        })
    }

    /// Compiles a tool from its MCP `tools/list` entry, keeping every other member of it
    /// (`title`, `outputSchema`, `annotations`, …) for `tools/list`.
    pub fn from_mcp(entry: &Value) -> Result<Self, CatalogError> {
        let Value::Object(map) = entry else {
            return Err(CatalogError::Format("a tool is not a JSON object".into()));
        };
        let name = map
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| CatalogError::Format("a tool has no string `name`".into()))?;
        let description = match map.get("description") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => {
                return Err(CatalogError::Format(format!(
                    "tool `{name}`: `description` is not a string"
                )));
            }
        };
        let mut spec = Self::new(name, description, map.get("inputSchema").cloned())?;
        spec.rest = map
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "name" | "description" | "inputSchema"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(spec)
    }

    /// The output schema, when the tool declares one.
    pub fn output_schema(&self) -> Option<&Value> {
        self.rest.get("outputSchema")
    }

    /// The tool's MCP `annotations` (`readOnlyHint`, `destructiveHint`, …), as its server
    /// declared them: hints, not guarantees.
    pub fn annotations(&self) -> Option<&Value> {
        self.rest.get("annotations")
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool's description.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The input schema as given.
    pub fn input_schema(&self) -> Option<&Value> {
        self.input_schema.as_ref()
    }

    /// The compiled validator.
    pub fn validator(&self) -> Option<&jsonschema::Validator> {
        self.validator.as_ref()
    }

    pub(crate) fn shape(&self) -> Option<&Shape> {
        self.shape.as_ref()
    }

    /// The tool as an MCP `tools/list` entry.
    pub fn to_mcp(&self) -> Value {
        let mut entry = serde_json::Map::new();
        entry.insert("name".into(), Value::String(self.name.clone()));
        if let Some(d) = &self.description {
            entry.insert("description".into(), Value::String(d.clone()));
        }
        entry.insert(
            "inputSchema".into(),
            self.input_schema
                .clone()
                .unwrap_or_else(|| serde_json::json!({"type": "object"})),
        );
        for (key, value) in &self.rest {
            entry.insert(key.clone(), value.clone());
        }
        Value::Object(entry)
    }
}

/// The most objects and arrays an input schema may have. Compiling a schema costs more
/// than linear time in its size (an `allOf` of 10,000 members takes about 0.3 s in a
/// release build, of 30,000 several seconds); real tools' schemas have tens to a few
/// hundred. Counted before anything is compiled, without recursion.
pub const MAX_SCHEMA_NODES: usize = 4096;

/// Whether `schema` has more than `limit` objects and arrays.
fn larger_than(schema: &Value, limit: usize) -> bool {
    let mut nodes = 0usize;
    let mut stack = vec![schema];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                nodes += 1;
                stack.extend(map.values().filter(|v| v.is_object() || v.is_array()));
            }
            Value::Array(items) => {
                nodes += 1;
                stack.extend(items.iter().filter(|v| v.is_object() || v.is_array()));
            }
            _ => {}
        }
        if nodes > limit {
            return true;
        }
    }
    false
}

fn compile_validator(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .should_validate_formats(true)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .map_err(|e| {
            let mut reason = e.to_string();
            if !e.instance_path().as_str().is_empty() {
                reason = format!("{reason} (at {})", e.instance_path().as_str());
            }
            reason
        })
}

/// The set of tools, by name.
#[derive(Debug, Default)]
pub struct ToolCatalog {
    tools: HashMap<String, ToolSpec>,
}

impl ToolCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool; a second tool of the same name is an error.
    pub fn insert(&mut self, spec: ToolSpec) -> Result<(), CatalogError> {
        if self.tools.contains_key(spec.name()) {
            return Err(CatalogError::Duplicate(spec.name));
        }
        self.tools.insert(spec.name.clone(), spec);
        Ok(())
    }

    /// Looks a tool up by its exact name.
    pub fn get(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.get(name)
    }

    /// The tools, in name order.
    pub fn tools(&self) -> Vec<&ToolSpec> {
        let mut tools: Vec<&ToolSpec> = self.tools.values().collect();
        tools.sort_by(|a, b| a.name.cmp(&b.name));
        tools
    }

    /// Number of tools.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether there are no tools.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The catalog as an MCP `tools/list` result: `{"tools": [...]}`.
    pub fn to_mcp(&self) -> Value {
        serde_json::json!({ "tools": self.tools().iter().map(|t| t.to_mcp()).collect::<Vec<_>>() })
    }

    /// Resolves a call's tool name: refuses names that break the MCP rule
    /// (`malformed_call`) and names not in the catalog (`unknown_tool`, with the nearest
    /// known names as hints).
    pub fn resolve(&self, layer: &'static str, name: &str) -> Result<&ToolSpec, Rejection> {
        if let Err(e) = check_tool_name(name) {
            return Err(e.to_rejection(layer));
        }
        self.tools.get(name).ok_or_else(|| {
            let suggestions = self.nearest(name);
            Rejection::unknown_tool(layer, name, &suggestions)
        })
    }

    /// The admission every layer makes before looking at a call: the tool name is resolved
    /// as by [`resolve`](Self::resolve), then the arguments are checked against `limits`.
    pub fn admit(
        &self,
        layer: &'static str,
        tool: &str,
        arguments: &Value,
        limits: &crate::limits::InputLimits,
    ) -> Result<&ToolSpec, Rejection> {
        let spec = self.resolve(layer, tool)?;
        limits.check(arguments).map_err(|v| v.to_rejection(layer))?;
        Ok(spec)
    }

    /// Up to three known names closest to `name` (case-insensitive, by Jaro-Winkler).
    pub fn nearest(&self, name: &str) -> Vec<&str> {
        nearest_names(name, self.tools.keys().map(String::as_str), 3)
    }

    /// Loads a catalog from an MCP `tools/list` document: `{"tools": [{"name",
    /// "description", "inputSchema"}]}`. A JSON-RPC response wrapping it in `result` is
    /// accepted too.
    pub fn from_mcp_json(json: &str) -> Result<Self, CatalogError> {
        #[derive(Deserialize)]
        struct Doc {
            tools: Vec<Value>,
        }
        #[derive(Deserialize)]
        struct Envelope {
            result: Doc,
        }
        let value: Value =
            serde_json::from_str(json).map_err(|e| CatalogError::Format(e.to_string()))?;
        let doc = if value.get("result").is_some() {
            serde_json::from_value::<Envelope>(value).map(|e| e.result)
        } else {
            serde_json::from_value::<Doc>(value)
        }
        .map_err(|e| CatalogError::Format(e.to_string()))?;
        let mut catalog = Self::new();
        for entry in &doc.tools {
            catalog.insert(ToolSpec::from_mcp(entry)?)?;
        }
        Ok(catalog)
    }

    /// Loads a catalog from an MCP `tools/list` JSON file.
    pub fn from_mcp_file(path: impl AsRef<Path>) -> Result<Self, CatalogError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_mcp_json(&text)
    }
}

/// A catalog the stack shares and that can be replaced while it runs: every layer and
/// adapter built from one `SharedCatalog` sees a [`replace`](Self::replace) at its next
/// call (a call under way keeps the catalog it started with). The proxy replaces its
/// catalog when the upstream's tools change; a stack over a fixed set of tools never
/// does, and pays one atomic load per call for the possibility.
///
/// ```
/// use agent_airlock::catalog::SharedCatalog;
/// use agent_airlock::ToolCatalog;
///
/// let shared = SharedCatalog::new(ToolCatalog::new());
/// assert!(shared.load().is_empty());
/// shared.replace(ToolCatalog::from_mcp_json(r#"{"tools": [{"name": "ping",
///     "inputSchema": {"type": "object"}}]}"#).unwrap());
/// assert!(shared.load().get("ping").is_some());
/// ```
#[derive(Clone)]
pub struct SharedCatalog(Arc<arc_swap::ArcSwap<ToolCatalog>>);

impl SharedCatalog {
    /// Shares `catalog`.
    pub fn new(catalog: impl Into<Arc<ToolCatalog>>) -> Self {
        Self(Arc::new(arc_swap::ArcSwap::new(catalog.into())))
    }

    /// The catalog now.
    pub fn load(&self) -> CatalogGuard {
        CatalogGuard(self.0.load())
    }

    /// The catalog now, to keep.
    pub fn snapshot(&self) -> Arc<ToolCatalog> {
        self.0.load_full()
    }

    /// Puts `catalog` in place of the current one, for every holder at its next call.
    pub fn replace(&self, catalog: impl Into<Arc<ToolCatalog>>) {
        self.0.store(catalog.into());
    }
}

impl std::fmt::Debug for SharedCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedCatalog")
            .field(&self.0.load().len())
            .finish()
    }
}

impl From<Arc<ToolCatalog>> for SharedCatalog {
    fn from(catalog: Arc<ToolCatalog>) -> Self {
        Self::new(catalog)
    }
}

impl From<ToolCatalog> for SharedCatalog {
    fn from(catalog: ToolCatalog) -> Self {
        Self::new(catalog)
    }
}

impl From<&SharedCatalog> for SharedCatalog {
    fn from(catalog: &SharedCatalog) -> Self {
        catalog.clone()
    }
}

/// The catalog as [`SharedCatalog::load`] found it (a cheap, short-lived hold: keep a
/// [`snapshot`](SharedCatalog::snapshot) across awaits instead).
pub struct CatalogGuard(arc_swap::Guard<Arc<ToolCatalog>>);

impl std::ops::Deref for CatalogGuard {
    type Target = ToolCatalog;

    fn deref(&self) -> &ToolCatalog {
        &self.0
    }
}

/// Up to `max` candidates closest to `wanted`: exact matches ignoring case and `_`/`-`
/// first, then Jaro-Winkler similarity of at least 0.8.
pub(crate) fn nearest_names<'a>(
    wanted: &str,
    candidates: impl Iterator<Item = &'a str>,
    max: usize,
) -> Vec<&'a str> {
    let folded = fold(wanted);
    let mut scored: Vec<(f64, &str)> = candidates
        .filter_map(|c| {
            let f = fold(c);
            let score = if f == folded {
                2.0
            } else {
                strsim::jaro_winkler(&folded, &f)
            };
            (score >= 0.8).then_some((score, c))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(max).map(|(_, c)| c).collect()
}

fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .take(crate::catalog::MAX_TOOL_NAME_LEN)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RejectionCode;
    use serde_json::json;

    fn catalog() -> ToolCatalog {
        let mut c = ToolCatalog::new();
        for name in ["read_file", "write_file", "search", "list_dir"] {
            c.insert(ToolSpec::new(name, None, Some(json!({"type": "object"}))).unwrap())
                .unwrap();
        }
        c
    }

    #[test]
    fn tool_names_follow_the_mcp_rule() {
        for good in ["a", "fs.read", "admin/users", "x-y_z.9", &"a".repeat(128)] {
            assert!(check_tool_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "read file",
            "read_file\n",
            "reаd_file",
            "read_file\u{200b}",
            "../etc",
            "tool;rm",
            &"a".repeat(129),
            "café",
            "ｒｅａｄ",
        ] {
            if bad == "../etc" {
                // Dots and slashes are allowed by the MCP rule; the name is merely unknown.
                assert!(check_tool_name(bad).is_ok());
                continue;
            }
            assert!(check_tool_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_char_message_escapes_the_character() {
        let err = check_tool_name("a\u{202e}b").unwrap_err().to_string();
        assert!(!err.contains('\u{202e}'), "{err}");
        assert!(err.contains("at byte 1"), "{err}");
    }

    #[test]
    fn unknown_tools_get_the_nearest_names() {
        let c = catalog();
        let r = c.resolve("router", "read_fiel").unwrap_err();
        assert_eq!(r.code, RejectionCode::UnknownTool);
        assert_eq!(r.fix_hints, ["did you mean `read_file`?"]);
        let r = c.resolve("router", "READ-FILE").unwrap_err();
        assert_eq!(r.fix_hints[0], "did you mean `read_file`?");
        let r = c.resolve("router", "zzz").unwrap_err();
        assert_eq!(r.fix_hints, ["call one of the tools listed by tools/list"]);
        let r = c.resolve("router", "bad name").unwrap_err();
        assert_eq!(r.code, RejectionCode::MalformedCall);
    }

    #[test]
    fn bad_schemas_and_names_fail_at_build_time() {
        assert!(matches!(
            ToolSpec::new("t", None, Some(json!({"type": "nonsense"}))),
            Err(CatalogError::BadSchema { .. })
        ));
        assert!(matches!(
            ToolSpec::new(
                "t",
                None,
                Some(json!({"$ref": "https://example.com/remote.json"}))
            ),
            Err(CatalogError::BadSchema { .. })
        ));
        assert!(matches!(
            ToolSpec::new("bad name", None, None),
            Err(CatalogError::BadName { .. })
        ));
        let mut c = catalog();
        assert!(matches!(
            c.insert(ToolSpec::new("search", None, None).unwrap()),
            Err(CatalogError::Duplicate(_))
        ));
    }

    #[test]
    fn loads_tools_list_documents() {
        let doc = json!({"tools": [
            {"name": "a", "inputSchema": {"type": "object", "properties": {"x": {"type": "integer"}}}},
            {"name": "b", "description": "no schema"}
        ]});
        let c = ToolCatalog::from_mcp_json(&doc.to_string()).unwrap();
        assert_eq!(c.len(), 2);
        assert!(c.get("b").unwrap().input_schema().is_none());
        let wrapped = json!({"jsonrpc": "2.0", "id": 1, "result": doc});
        assert_eq!(
            ToolCatalog::from_mcp_json(&wrapped.to_string())
                .unwrap()
                .len(),
            2
        );
        assert!(matches!(
            ToolCatalog::from_mcp_json("{\"tools\": 3}"),
            Err(CatalogError::Format(_))
        ));
        let listed = c.to_mcp();
        assert_eq!(listed["tools"][0]["name"], "a");
    }
}
