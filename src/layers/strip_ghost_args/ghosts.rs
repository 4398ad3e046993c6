//! Finding and removing undeclared arguments, without Tower.

use serde_json::Value;

use crate::catalog::ToolSpec;
use crate::catalog::shape::{NodeId, Shape};
use crate::preview::{json_type, pointer_segment};
use crate::service::FieldError;

/// One step of a path into the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// One undeclared argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ghost {
    /// Where it is, for removal.
    pub path: Vec<PathSegment>,
    /// A display-safe JSON pointer to it (names escaped and shortened).
    pub pointer: String,
    /// The JSON type of its value; the value itself is never kept.
    pub received: &'static str,
    /// The declared object it sits in, for suggestions computed on demand.
    node: NodeId,
}

/// Most declared names listed in one hint.
const MAX_NAMES_IN_HINT: usize = 20;

impl Ghost {
    /// The nearest declared parameter at the same level, if one is close.
    pub fn suggestion<'s>(&self, spec: &'s ToolSpec) -> Option<&'s str> {
        let key = match self.path.last() {
            Some(PathSegment::Key(k)) => k,
            _ => return None,
        };
        let object = spec.shape()?.node(self.node).object.as_ref()?;
        crate::catalog::nearest_names(key, object.names(), 1)
            .first()
            .copied()
    }

    /// The field error a strict-mode refusal lists for this ghost: the nearest declared
    /// parameter, or the declared ones. Computed on demand, so a call with a thousand
    /// ghosts costs a thousand suggestions only if a thousand are reported.
    pub fn to_field_error(&self, spec: &ToolSpec) -> FieldError {
        let declared: Vec<&str> = spec
            .shape()
            .and_then(|shape| shape.node(self.node).object.as_ref())
            .map(|object| object.names().collect())
            .unwrap_or_default();
        let hint = match self.suggestion(spec) {
            Some(name) => format!(
                "did you mean `{name}`? remove `{}` or rename it",
                self.pointer
            ),
            None if declared.is_empty() => {
                format!("remove `{}`: no parameters are declared here", self.pointer)
            }
            None => {
                let mut listed = declared[..declared.len().min(MAX_NAMES_IN_HINT)].join(", ");
                if declared.len() > MAX_NAMES_IN_HINT {
                    listed.push_str(&format!(", … ({} in all)", declared.len()));
                }
                format!(
                    "remove `{}`; the declared parameters here are: {listed}",
                    self.pointer
                )
            }
        };
        FieldError::new(
            self.pointer.clone(),
            "no such parameter",
            self.received,
            hint,
        )
    }
}

/// The undeclared arguments in `arguments`, per the tool's declared tree, in the order of
/// their pointers (whatever order the JSON map keeps its keys in: sorted, or as sent when
/// a dependency turns on `serde_json/preserve_order`, as the `cedar` feature does). Empty
/// (and allocation-free) when there are none or the tool has no schema.
///
/// The caller bounds the depth (see [`InputLimits`](crate::InputLimits)).
pub fn find_ghosts(spec: &ToolSpec, arguments: &Value) -> Vec<Ghost> {
    let mut ghosts = Vec::new();
    if let Some(shape) = spec.shape() {
        walk(shape, Shape::ROOT, arguments, None, &mut ghosts);
    }
    ghosts.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    ghosts
}

/// The path to the value being walked, as a chain of borrowed links on the call stack:
/// nothing is allocated unless a ghost is found.
struct Link<'a> {
    segment: Step<'a>,
    parent: Option<&'a Link<'a>>,
}

#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn materialize(link: &Link<'_>) -> Vec<PathSegment> {
    let mut path = Vec::new();
    let mut current = Some(link);
    while let Some(l) = current {
        path.push(match l.segment {
            Step::Key(k) => PathSegment::Key(k.to_owned()),
            Step::Index(i) => PathSegment::Index(i),
        });
        current = l.parent;
    }
    path.reverse();
    path
}

fn walk(
    shape: &Shape,
    node: NodeId,
    value: &Value,
    parent: Option<&Link<'_>>,
    ghosts: &mut Vec<Ghost>,
) {
    let node_id = node;
    let node = shape.node(node);
    match value {
        Value::Object(map) => {
            let Some(object) = &node.object else { return };
            for (key, child) in map {
                let link = Link {
                    segment: Step::Key(key),
                    parent,
                };
                match object.get(key) {
                    Some(child_node) if child.is_object() || child.is_array() => {
                        walk(shape, child_node, child, Some(&link), ghosts);
                    }
                    Some(_) => {}
                    None if object.closed => {
                        let path = materialize(&link);
                        ghosts.push(Ghost {
                            pointer: display_pointer(&path),
                            path,
                            received: json_type(child),
                            node: node_id,
                        });
                    }
                    // A map's values (`additionalProperties`, `patternProperties`) have a
                    // declared shape of their own: walk them too.
                    None if child.is_object() || child.is_array() => {
                        if let Some(value_node) = object.value_node(key) {
                            walk(shape, value_node, child, Some(&link), ghosts);
                        }
                    }
                    None => {}
                }
            }
        }
        Value::Array(items) => {
            let Some(item_node) = node.items else { return };
            for (i, item) in items.iter().enumerate() {
                if item.is_object() || item.is_array() {
                    let link = Link {
                        segment: Step::Index(i),
                        parent,
                    };
                    walk(shape, item_node, item, Some(&link), ghosts);
                }
            }
        }
        _ => {}
    }
}

fn display_pointer(path: &[PathSegment]) -> String {
    let mut out = String::new();
    for segment in path {
        out.push('/');
        match segment {
            PathSegment::Key(k) => out.push_str(&pointer_segment(k)),
            PathSegment::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// Removes each ghost from `arguments`. Ghosts never nest inside one another (a ghost's
/// value is not walked), so the order of removal does not matter.
pub fn strip_ghosts(arguments: &mut Value, ghosts: &[Ghost]) {
    for ghost in ghosts {
        let Some((PathSegment::Key(last), parents)) = ghost.path.split_last() else {
            continue;
        };
        let parent =
            parents
                .iter()
                .try_fold(&mut *arguments, |target, segment| match (segment, target) {
                    (PathSegment::Key(k), Value::Object(map)) => map.get_mut(k),
                    (PathSegment::Index(i), Value::Array(items)) => items.get_mut(*i),
                    _ => None,
                });
        if let Some(Value::Object(map)) = parent {
            map.remove(last);
        }
    }
}
