//! The caller as Cedar's principal: its entity, its groups, and the airlock's entity types.

use std::collections::{HashMap, HashSet};
use std::str::FromStr as _;

use cedar_policy::{Entities, Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};
use serde_json::Value;

use crate::service::Caller;

/// The caller as Cedar's principal, its entity, and every group it is in (for choosing
/// the policies whose scope holds).
pub(super) fn principal(
    entities: &Entities,
    caller: &Caller,
) -> Option<(EntityUid, Entity, HashSet<EntityUid>)> {
    let principal = match caller.agent_id.as_deref() {
        Some(id) => uid("Agent", id)?,
        None => uid("Anonymous", "")?,
    };
    let (entity, parents) = principal_entity(entities, &principal, caller)?;
    let mut ancestors = HashSet::new();
    for parent in parents {
        if let Some(above) = entities.ancestors(&parent) {
            ancestors.extend(above.cloned());
        }
        ancestors.insert(parent);
    }
    Some((principal, entity, ancestors))
}

/// The caller as an entity: as the entities file defines it, with `verified`, `roles`
/// and its roles' `Role` groups set by the airlock.
pub(super) fn principal_entity(
    entities: &Entities,
    principal: &EntityUid,
    caller: &Caller,
) -> Option<(Entity, Vec<EntityUid>)> {
    let roles: Vec<Value> = caller
        .roles
        .iter()
        .map(|r| Value::from(r.as_str()))
        .collect();
    let role_uids = caller
        .roles
        .iter()
        .map(|r| serde_json::json!({"type": "Role", "id": r}));
    let Some(defined) = entities.get(principal) else {
        let parents: HashSet<EntityUid> = if caller.agent_id.is_some() {
            caller.roles.iter().filter_map(|r| uid("Role", r)).collect()
        } else {
            HashSet::new()
        };
        let attrs = HashMap::from([
            (
                "verified".to_owned(),
                RestrictedExpression::new_bool(caller.verified),
            ),
            (
                "roles".to_owned(),
                RestrictedExpression::new_set(
                    caller
                        .roles
                        .iter()
                        .map(|r| RestrictedExpression::new_string(r.clone())),
                ),
            ),
        ]);
        let listed = parents.iter().cloned().collect();
        return Some((Entity::new(principal.clone(), attrs, parents).ok()?, listed));
    };
    let mut json = defined.to_json_value().ok()?;
    let attrs = json.get_mut("attrs")?.as_object_mut()?;
    attrs.insert("verified".to_owned(), Value::Bool(caller.verified));
    attrs.insert("roles".to_owned(), Value::Array(roles));
    let parents = json.get_mut("parents")?.as_array_mut()?;
    parents.extend(role_uids);
    let listed = parents
        .iter()
        .filter_map(|p| EntityUid::from_json(p.clone()).ok())
        .collect();
    Some((Entity::from_json_value(json, None).ok()?, listed))
}

/// The entity types the airlock names, parsed once: parsing a name runs Cedar's parser.
static TYPES: std::sync::LazyLock<HashMap<&'static str, EntityTypeName>> =
    std::sync::LazyLock::new(|| {
        [
            "Agent",
            "Anonymous",
            "Role",
            "Tool",
            "Action",
            "Resource",
            "Prompt",
        ]
        .into_iter()
        .filter_map(|k| Some((k, EntityTypeName::from_str(k).ok()?)))
        .collect()
    });

pub(super) fn uid(kind: &str, id: &str) -> Option<EntityUid> {
    let kind = TYPES.get(kind)?.clone();
    Some(EntityUid::from_type_name_and_id(kind, EntityId::new(id)))
}
