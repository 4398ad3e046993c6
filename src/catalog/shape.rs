//! The declared-argument tree of a tool, compiled once from its JSON Schema.
//!
//! [`Shape`] answers one question fast: which keys of an arguments object
//! (and of the nested objects whose properties the schema declares) does the
//! schema name? It follows local `$ref`s (recursive types included),
//! `allOf`/`anyOf`/`oneOf`, `if`/`then`/`else`, array `items` and
//! `prefixItems`. An object is *closed* (undeclared keys are ghosts) when the
//! schema lists its `properties` and none of its parts opens it with
//! `additionalProperties`, `patternProperties` or `unevaluatedProperties`
//! other than `false`. What the schema does not describe precisely (a remote
//! `$ref`, an anchor) is left open: the schema layer still validates it.

use std::collections::HashMap;

use serde_json::Value;

/// Index of a node in [`Shape::nodes`].
pub(crate) type NodeId = usize;

/// Schemas nested deeper than this while compiling are treated as open.
const MAX_BUILD_DEPTH: usize = 128;

#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    /// Set when the node is an object whose properties the schema declares.
    pub(crate) object: Option<ObjectShape>,
    /// Set when array elements have a shape of their own.
    pub(crate) items: Option<NodeId>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ObjectShape {
    /// Declared property names, sorted, with their nodes.
    pub(crate) props: Vec<(Box<str>, NodeId)>,
    /// Undeclared keys are ghosts.
    pub(crate) closed: bool,
    /// `patternProperties`: the values of keys a pattern matches have that pattern's shape.
    pub(crate) patterns: Vec<(regex_automata::meta::Regex, NodeId)>,
    /// `additionalProperties` as a schema: the shape of the values of the other keys (a map
    /// of declared objects).
    pub(crate) additional: Option<NodeId>,
}

impl ObjectShape {
    /// The shape of the value under an undeclared `key`: the pattern's that matches it,
    /// else `additionalProperties`'. None when nothing describes it, or when more than one
    /// pattern does (their shapes are not merged; the schema layer still validates it).
    pub(crate) fn value_node(&self, key: &str) -> Option<NodeId> {
        let mut matching = self.patterns.iter().filter(|(re, _)| re.is_match(key));
        match (matching.next(), matching.next()) {
            (Some((_, node)), None) => Some(*node),
            (Some(_), Some(_)) => None,
            (None, _) => self.additional,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<NodeId> {
        // Tools have few parameters: a scan that compares lengths first beats a binary
        // search of string comparisons up to a dozen or so.
        if self.props.len() <= 12 {
            return self
                .props
                .iter()
                .find(|(name, _)| name.len() == key.len() && **name == *key)
                .map(|(_, id)| *id);
        }
        self.props
            .binary_search_by(|(name, _)| (**name).cmp(key))
            .ok()
            .map(|i| self.props[i].1)
    }

    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.props.iter().map(|(name, _)| &**name)
    }
}

/// The compiled tree; node 0 is the arguments object.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    pub(crate) nodes: Vec<Node>,
}

impl Shape {
    pub(crate) const ROOT: NodeId = 0;

    pub(crate) fn compile(schema: &Value) -> Shape {
        let mut builder = Builder {
            root: schema,
            nodes: Vec::new(),
            memo: HashMap::new(),
        };
        let root_parts = builder.flatten(vec![String::new()]);
        builder.node(root_parts, true, 0);
        Shape {
            nodes: builder.nodes,
        }
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }
}

struct Builder<'a> {
    root: &'a Value,
    nodes: Vec<Node>,
    memo: HashMap<Vec<String>, NodeId>,
}

/// A flattened constituent: a JSON pointer into the root schema, or a part we cannot follow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Part {
    At(String),
    Opaque,
}

impl<'a> Builder<'a> {
    /// Expands pointers through `$ref`, combinators and conditionals; the result is sorted
    /// and free of duplicates, so equal sets share one node.
    fn flatten(&self, start: Vec<String>) -> Vec<String> {
        let mut out: Vec<Part> = Vec::new();
        let mut todo: Vec<Part> = start.into_iter().map(Part::At).collect();
        while let Some(part) = todo.pop() {
            if out.contains(&part) {
                continue;
            }
            let Part::At(ptr) = &part else {
                out.push(part);
                continue;
            };
            let Some(schema) = self.root.pointer(ptr) else {
                out.push(Part::Opaque);
                continue;
            };
            if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
                todo.push(match local_ref(reference) {
                    Some(target) => Part::At(target),
                    None => Part::Opaque,
                });
            }
            for key in ["allOf", "anyOf", "oneOf"] {
                if let Some(list) = schema.get(key).and_then(Value::as_array) {
                    todo.extend((0..list.len()).map(|i| Part::At(format!("{ptr}/{key}/{i}"))));
                }
            }
            for key in ["then", "else"] {
                if schema.get(key).is_some() {
                    todo.push(Part::At(format!("{ptr}/{key}")));
                }
            }
            out.push(part);
        }
        // Parts that only point elsewhere (`{"$ref": ...}`) add nothing of their own; leaving
        // them out lets a recursive type map to one node.
        out.retain(|p| match p {
            Part::At(ptr) => self.root.pointer(ptr).is_some_and(contributes),
            Part::Opaque => true,
        });
        out.sort();
        out.dedup();
        out.into_iter()
            .map(|p| match p {
                Part::At(ptr) => ptr,
                // An impossible pointer marks the set as containing an opaque part.
                Part::Opaque => OPAQUE.to_owned(),
            })
            .collect()
    }

    fn node(&mut self, parts: Vec<String>, is_root: bool, depth: usize) -> NodeId {
        if let Some(&id) = self.memo.get(&parts) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(Node::default());
        self.memo.insert(parts.clone(), id);
        if depth > MAX_BUILD_DEPTH || parts.iter().any(|p| p == OPAQUE) {
            return id;
        }

        let mut declares_object = false;
        let mut open = false;
        let mut props: Vec<(String, Vec<String>)> = Vec::new();
        let mut patterns: Vec<(String, Vec<String>)> = Vec::new();
        let mut additional: Vec<String> = Vec::new();
        let mut items: Vec<String> = Vec::new();
        for ptr in &parts {
            let Some(schema) = self.root.pointer(ptr) else {
                continue;
            };
            let Some(obj) = schema.as_object() else {
                continue;
            };
            if let Some(p) = obj.get("properties").and_then(Value::as_object) {
                declares_object = true;
                for name in p.keys() {
                    let child = format!(
                        "{ptr}/properties/{}",
                        crate::preview::escape_pointer_segment(name)
                    );
                    match props.iter_mut().find(|(n, _)| n == name) {
                        Some((_, list)) => list.push(child),
                        None => props.push((name.clone(), vec![child])),
                    }
                }
            }
            if is_root && type_includes(schema, "object") {
                declares_object = true;
            }
            for key in ["additionalProperties", "unevaluatedProperties"] {
                if obj.get(key).is_some_and(|v| v != &Value::Bool(false)) {
                    open = true;
                }
            }
            if let Some(map) = obj.get("patternProperties") {
                open = true;
                declares_object |= map.as_object().is_some_and(|m| !m.is_empty());
                for (pattern, schema) in map.as_object().into_iter().flatten() {
                    if !schema.is_object() {
                        continue;
                    }
                    let child = format!(
                        "{ptr}/patternProperties/{}",
                        crate::preview::escape_pointer_segment(pattern)
                    );
                    match patterns.iter_mut().find(|(p, _)| p == pattern) {
                        Some((_, list)) => list.push(child),
                        None => patterns.push((pattern.clone(), vec![child])),
                    }
                }
            }
            if obj
                .get("additionalProperties")
                .is_some_and(Value::is_object)
            {
                declares_object = true;
                additional.push(format!("{ptr}/additionalProperties"));
            }
            match obj.get("items") {
                Some(Value::Array(list)) => {
                    items.extend((0..list.len()).map(|i| format!("{ptr}/items/{i}")))
                }
                Some(Value::Object(_)) => items.push(format!("{ptr}/items")),
                _ => {}
            }
            if let Some(list) = obj.get("prefixItems").and_then(Value::as_array) {
                items.extend((0..list.len()).map(|i| format!("{ptr}/prefixItems/{i}")));
            }
            if obj.get("additionalItems").is_some_and(Value::is_object) {
                items.push(format!("{ptr}/additionalItems"));
            }
        }

        let object = if declares_object {
            let mut shaped = Vec::with_capacity(props.len());
            for (name, pointers) in props {
                let child_parts = self.flatten(pointers);
                let child = self.node(child_parts, false, depth + 1);
                shaped.push((name.into_boxed_str(), child));
            }
            shaped.sort_by(|a, b| a.0.cmp(&b.0));
            let mut compiled = Vec::with_capacity(patterns.len());
            for (pattern, pointers) in patterns {
                // A pattern the regex engine cannot compile describes keys we cannot
                // match: their values are left to the schema layer.
                let Ok(re) = regex_automata::meta::Regex::new(&pattern) else {
                    continue;
                };
                let child_parts = self.flatten(pointers);
                compiled.push((re, self.node(child_parts, false, depth + 1)));
            }
            let additional = if additional.is_empty() {
                None
            } else {
                let child_parts = self.flatten(additional);
                Some(self.node(child_parts, false, depth + 1))
            };
            Some(ObjectShape {
                props: shaped,
                closed: !open,
                patterns: compiled,
                additional,
            })
        } else {
            None
        };
        let items = if items.is_empty() {
            None
        } else {
            let item_parts = self.flatten(items);
            Some(self.node(item_parts, false, depth + 1))
        };
        self.nodes[id] = Node { object, items };
        id
    }
}

/// Whether a schema says anything about object keys or array items itself.
fn contributes(schema: &Value) -> bool {
    const KEYWORDS: &[&str] = &[
        "type",
        "properties",
        "additionalProperties",
        "patternProperties",
        "unevaluatedProperties",
        "items",
        "prefixItems",
        "additionalItems",
    ];
    match schema {
        Value::Object(map) => KEYWORDS.iter().any(|k| map.contains_key(*k)),
        _ => false,
    }
}

/// Never a valid pointer (pointers start with `/` or are empty).
const OPAQUE: &str = "#opaque";

/// `#/$defs/Name` → `/$defs/Name`; `#` → ``; anything not local → `None`.
fn local_ref(reference: &str) -> Option<String> {
    let fragment = reference.strip_prefix('#')?;
    if !(fragment.is_empty() || fragment.starts_with('/')) {
        return None; // an anchor
    }
    percent_decode(fragment)
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn type_includes(schema: &Value, wanted: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == wanted,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == wanted),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn root_names(shape: &Shape) -> Vec<String> {
        let root = shape.node(Shape::ROOT).object.as_ref().unwrap();
        root.names().map(str::to_owned).collect()
    }

    #[test]
    fn plain_properties_are_closed() {
        let shape = Shape::compile(&json!({"type": "object", "properties": {"b": {}, "a": {}}}));
        assert_eq!(root_names(&shape), ["a", "b"]);
        assert!(shape.node(0).object.as_ref().unwrap().closed);
    }

    #[test]
    fn additional_properties_open_the_object() {
        for extra in [
            json!({"additionalProperties": true}),
            json!({"additionalProperties": {"type": "string"}}),
            json!({"patternProperties": {"^x-": {}}}),
        ] {
            let mut schema = json!({"type": "object", "properties": {"a": {}}});
            schema
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            let shape = Shape::compile(&schema);
            assert!(!shape.node(0).object.as_ref().unwrap().closed, "{schema}");
        }
    }

    #[test]
    fn refs_combinators_and_recursion() {
        let schema = json!({
            "type": "object",
            "properties": {
                "tree": {"$ref": "#/$defs/Tree"},
                "opt": {"anyOf": [{"$ref": "#/$defs/Leaf"}, {"type": "null"}]}
            },
            "allOf": [{"properties": {"extra": {"type": "integer"}}}],
            "$defs": {
                "Tree": {"type": "object", "properties": {
                    "value": {}, "children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}
                }},
                "Leaf": {"type": "object", "properties": {"x": {}}}
            }
        });
        let shape = Shape::compile(&schema);
        assert_eq!(root_names(&shape), ["extra", "opt", "tree"]);
        let root = shape.node(0).object.as_ref().unwrap();
        let tree = root.get("tree").unwrap();
        let children = shape
            .node(tree)
            .object
            .as_ref()
            .unwrap()
            .get("children")
            .unwrap();
        let item = shape.node(children).items.unwrap();
        assert_eq!(item, tree, "recursive type shares its node");
        let opt = shape
            .node(root.get("opt").unwrap())
            .object
            .as_ref()
            .unwrap();
        assert_eq!(opt.names().collect::<Vec<_>>(), ["x"]);
    }

    #[test]
    fn remote_refs_stay_open() {
        let shape = Shape::compile(&json!({
            "type": "object",
            "properties": {"a": {"$ref": "https://example.com/s.json"}}
        }));
        let root = shape.node(0).object.as_ref().unwrap();
        assert!(shape.node(root.get("a").unwrap()).object.is_none());
    }

    #[test]
    fn nested_free_form_objects_are_not_shaped() {
        let shape = Shape::compile(&json!({
            "type": "object",
            "properties": {"meta": {"type": "object"}}
        }));
        let root = shape.node(0).object.as_ref().unwrap();
        assert!(shape.node(root.get("meta").unwrap()).object.is_none());
    }

    #[test]
    fn lookups_agree_for_small_and_large_objects() {
        for n in [3, 12, 13, 40] {
            let props: serde_json::Map<String, Value> =
                (0..n).map(|i| (format!("p{i}"), json!({}))).collect();
            let shape = Shape::compile(&json!({"properties": props}));
            let root = shape.node(0).object.as_ref().unwrap();
            for i in 0..n {
                assert!(root.get(&format!("p{i}")).is_some(), "{n} {i}");
            }
            assert!(root.get("p").is_none() && root.get("q0").is_none() && root.get("").is_none());
        }
    }

    #[test]
    fn escaped_names_and_refs() {
        let shape = Shape::compile(&json!({
            "properties": {"a/b~c": {"$ref": "#/$defs/My%20T"}},
            "$defs": {"My T": {"properties": {"inner": {}}}}
        }));
        let root = shape.node(0).object.as_ref().unwrap();
        let child = shape
            .node(root.get("a/b~c").unwrap())
            .object
            .as_ref()
            .unwrap();
        assert_eq!(child.names().collect::<Vec<_>>(), ["inner"]);
    }
}
