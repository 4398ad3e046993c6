//! Bounds on hostile input, checked before anything else looks at the arguments.
//!
//! Every layer that walks a call's arguments checks them first, so each layer
//! is safe alone: the arguments must be a JSON object, no larger than
//! [`InputLimits::max_payload_bytes`] as compact JSON, nested no deeper than
//! [`InputLimits::max_depth`], with no more than [`InputLimits::max_keys`]
//! object keys in all. The check is one iterative pass that stops at the first
//! limit crossed, so its cost is bounded by the limits, not by the input.
//!
//! ```
//! use agent_airlock::InputLimits;
//! use serde_json::json;
//!
//! let limits = InputLimits::default().max_depth(2);
//! assert!(limits.check(&json!({"a": {"b": 1}})).is_ok());
//! assert!(limits.check(&json!({"a": {"b": {"c": 1}}})).is_err());
//! assert!(limits.check(&json!(["not", "an", "object"])).is_err());
//! ```

use std::fmt::{self, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::preview::json_type;
use crate::service::Rejection;

/// Size, depth and key-count limits on a call's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputLimits {
    /// Largest arguments object, in bytes of compact JSON. Default 1 MiB.
    pub max_payload_bytes: usize,
    /// Deepest nesting of objects and arrays; the arguments object itself is depth 1.
    /// Default 64.
    pub max_depth: usize,
    /// Most object keys, counted over all levels. Default 1024.
    pub max_keys: usize,
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            max_payload_bytes: 1 << 20,
            max_depth: 64,
            max_keys: 1024,
        }
    }
}

/// Which limit a call crossed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitViolation {
    /// The arguments are not a JSON object.
    NotAnObject {
        /// The JSON type that was sent.
        received: &'static str,
    },
    /// Larger than `max_payload_bytes`.
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Deeper than `max_depth`.
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// More than `max_keys` keys.
    TooManyKeys {
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for LimitViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitViolation::NotAnObject { received } => {
                write!(f, "the arguments must be a JSON object, got {received}")
            }
            LimitViolation::TooLarge { limit } => {
                write!(
                    f,
                    "the arguments are larger than the limit of {limit} bytes"
                )
            }
            LimitViolation::TooDeep { limit } => {
                write!(
                    f,
                    "the arguments are nested deeper than the limit of {limit} levels"
                )
            }
            LimitViolation::TooManyKeys { limit } => {
                write!(f, "the arguments have more than the limit of {limit} keys")
            }
        }
    }
}

impl LimitViolation {
    /// What the caller should do instead.
    pub fn hint(&self) -> &'static str {
        match self {
            LimitViolation::NotAnObject { .. } => {
                "send the arguments as an object of named parameters, e.g. {\"path\": \"notes.txt\"}"
            }
            LimitViolation::TooLarge { .. } => {
                "send less data in one call: split the work into several smaller calls"
            }
            LimitViolation::TooDeep { .. } => "flatten the arguments: send fewer nested levels",
            LimitViolation::TooManyKeys { .. } => {
                "send fewer fields in one call: split the work into several smaller calls"
            }
        }
    }

    /// The `malformed_call` refusal for this violation.
    pub fn to_rejection(&self, layer: &'static str) -> Rejection {
        Rejection::malformed_call(layer, self.to_string(), self.hint())
    }
}

impl InputLimits {
    /// Sets the largest payload in bytes.
    #[must_use]
    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = bytes;
        self
    }

    /// Sets the deepest nesting.
    #[must_use]
    pub fn max_depth(mut self, depth: usize) -> Self {
        self.max_depth = depth;
        self
    }

    /// Sets the most keys.
    #[must_use]
    pub fn max_keys(mut self, keys: usize) -> Self {
        self.max_keys = keys;
        self
    }

    /// Checks a call's arguments against every limit.
    pub fn check(&self, arguments: &Value) -> Result<(), LimitViolation> {
        if !arguments.is_object() {
            return Err(LimitViolation::NotAnObject {
                received: json_type(arguments),
            });
        }
        self.measure(arguments)
    }

    /// Checks the bounds on any JSON value (not only an object).
    pub(crate) fn measure(&self, value: &Value) -> Result<(), LimitViolation> {
        let mut walk = Walk {
            limits: self,
            size: 0,
            keys: 0,
            // Only nested containers are pushed: a flat call allocates nothing.
            stack: Vec::new(),
        };
        walk.visit(value, 1)?;
        while let Some((value, depth)) = walk.stack.pop() {
            walk.visit(value, depth)?;
        }
        Ok(())
    }
}

/// Whether `value` serializes (compact) to more than `bytes` bytes, found without
/// serializing it and stopping as soon as the answer is known.
pub(crate) fn json_longer_than(value: &Value, bytes: usize) -> bool {
    let limits = InputLimits {
        max_payload_bytes: bytes,
        max_depth: usize::MAX,
        max_keys: usize::MAX,
    };
    limits.measure(value).is_err()
}

struct Walk<'a, 'v> {
    limits: &'a InputLimits,
    size: usize,
    keys: usize,
    stack: Vec<(&'v Value, usize)>,
}

impl<'v> Walk<'_, 'v> {
    /// Accounts for one container and its scalar children; nested containers are queued.
    fn visit(&mut self, value: &'v Value, depth: usize) -> Result<(), LimitViolation> {
        let limits = self.limits;
        if depth > limits.max_depth {
            return Err(LimitViolation::TooDeep {
                limit: limits.max_depth,
            });
        }
        match value {
            Value::Array(items) => {
                self.add(2 + items.len().saturating_sub(1))?;
                for item in items {
                    self.child(item, depth)?;
                }
            }
            Value::Object(map) => {
                self.keys += map.len();
                if self.keys > limits.max_keys {
                    return Err(LimitViolation::TooManyKeys {
                        limit: limits.max_keys,
                    });
                }
                self.add(2 + map.len().saturating_sub(1))?;
                for (key, item) in map {
                    self.add(string_len(key) + 1)?;
                    self.child(item, depth)?;
                }
            }
            scalar => self.add(scalar_len(scalar))?,
        }
        Ok(())
    }

    fn child(&mut self, value: &'v Value, depth: usize) -> Result<(), LimitViolation> {
        if value.is_object() || value.is_array() {
            self.stack.push((value, depth + 1));
            Ok(())
        } else {
            self.add(scalar_len(value))
        }
    }

    fn add(&mut self, bytes: usize) -> Result<(), LimitViolation> {
        self.size += bytes;
        if self.size > self.limits.max_payload_bytes {
            return Err(LimitViolation::TooLarge {
                limit: self.limits.max_payload_bytes,
            });
        }
        Ok(())
    }
}

fn scalar_len(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(true) => 4,
        Value::Bool(false) => 5,
        Value::Number(n) => number_len(n),
        Value::String(s) => string_len(s),
        // Containers are accounted for by `visit`.
        Value::Array(_) | Value::Object(_) => 0,
    }
}

/// Length of a string as serde_json writes it, quotes included.
fn string_len(s: &str) -> usize {
    let extra: usize = s
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\x08' | b'\x0c' | b'\n' | b'\r' | b'\t' => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum();
    s.len() + 2 + extra
}

fn number_len(n: &serde_json::Number) -> usize {
    if let Some(u) = n.as_u64() {
        return decimal_digits(u);
    }
    if let Some(i) = n.as_i64() {
        return 1 + decimal_digits(i.unsigned_abs());
    }
    struct Count(usize);
    impl Write for Count {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = write!(count, "{n}");
    count.0
}

fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn nested(depth: usize) -> Value {
        // Built by hand: json! would serialize `v` recursively on each step.
        let mut v = json!(1);
        for _ in 0..depth {
            let mut map = serde_json::Map::new();
            map.insert("n".into(), v);
            v = Value::Object(map);
        }
        v
    }

    #[test]
    fn depth_counts_the_arguments_object_as_one() {
        let limits = InputLimits::default().max_depth(3);
        assert!(limits.check(&nested(3)).is_ok());
        assert_eq!(
            limits.check(&nested(4)),
            Err(LimitViolation::TooDeep { limit: 3 })
        );
        // Containers count as levels, empty or not; scalars do not.
        assert!(limits.check(&json!({"a": {"b": {}}})).is_ok());
        assert!(limits.check(&json!({"a": {"b": [[]]}})).is_err());
    }

    #[test]
    fn very_deep_input_is_refused_without_recursion() {
        // Built in a loop and checked iteratively: no stack overflow.
        let v = nested(100_000);
        assert!(InputLimits::default().check(&v).is_err());
        // Dropping it must not overflow either: unwind it by hand.
        let mut v = v;
        while let Value::Object(mut map) = v {
            v = map.remove("n").unwrap_or(Value::Null);
        }
    }

    #[test]
    fn key_limit_counts_all_levels() {
        let limits = InputLimits::default().max_keys(3);
        assert!(limits.check(&json!({"a": 1, "b": {"c": 1}})).is_ok());
        assert_eq!(
            limits.check(&json!({"a": 1, "b": {"c": 1, "d": 2}})),
            Err(LimitViolation::TooManyKeys { limit: 3 })
        );
    }

    #[test]
    fn json_length_without_serializing() {
        let v = json!(["ab", {"k": 1}]);
        let exact = serde_json::to_string(&v).unwrap().len();
        assert!(!json_longer_than(&v, exact));
        assert!(json_longer_than(&v, exact - 1));
    }

    #[test]
    fn non_objects_are_refused() {
        for v in [json!(null), json!([]), json!("{}"), json!(1)] {
            assert!(matches!(
                InputLimits::default().check(&v),
                Err(LimitViolation::NotAnObject { .. })
            ));
        }
    }

    proptest! {
        /// The size the check computes is exactly serde_json's compact length.
        #[test]
        fn size_matches_serde_json(s in ".{0,40}", n in any::<i64>(), f in any::<f64>(), b in any::<bool>()) {
            let v = json!({"s": s, "n": n, "f": f, "b": b, "a": [null, s, {"k\"": n}]});
            let exact = serde_json::to_string(&v).unwrap().len();
            let limits = InputLimits::default().max_payload_bytes(exact);
            prop_assert!(limits.check(&v).is_ok());
            let limits = InputLimits::default().max_payload_bytes(exact - 1);
            prop_assert_eq!(limits.check(&v), Err(LimitViolation::TooLarge { limit: exact - 1 }));
        }
    }
}
