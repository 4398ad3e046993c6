//! [`MemoryApprovalStore`]: approval requests in this process.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use super::store::{
    ApprovalError, ApprovalRequest, ApprovalState, ApprovalStore, Binding, BoxFuture, Held,
};

/// Approval requests in this process's memory, at most `max` alive at once (expired ones
/// are swept as new ones come).
#[derive(Debug)]
pub struct MemoryApprovalStore {
    max: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    requests: HashMap<String, ApprovalRequest>,
    /// Binding key → the id of its live, unused request.
    bound: HashMap<String, String>,
}

impl Inner {
    fn sweep(&mut self, now: i64) {
        self.requests.retain(|_, r| r.expires_at > now);
        let requests = &self.requests;
        self.bound.retain(|_, id| requests.contains_key(id));
    }
}

impl MemoryApprovalStore {
    /// A store of at most `max` live requests (at least 1).
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn hold_now(
        &self,
        binding: &Binding,
        preview: Value,
        reason: &str,
        now: i64,
        ttl_secs: i64,
    ) -> Result<Held, ApprovalError> {
        let mut inner = self.lock();
        let key = binding.key();
        if let Some(id) = inner.bound.get(&key).cloned() {
            match inner.requests.get_mut(&id) {
                Some(request) if request.expires_at > now => {
                    return Ok(match request.state.clone() {
                        ApprovalState::Approved { by, .. } => {
                            request.state = ApprovalState::Used { by, at: now };
                            let used = request.clone();
                            inner.bound.remove(&key);
                            Held::Granted(used)
                        }
                        ApprovalState::Denied { .. } => Held::Denied(request.clone()),
                        ApprovalState::Pending | ApprovalState::Used { .. } => {
                            Held::Pending(request.clone())
                        }
                    });
                }
                _ => {
                    inner.bound.remove(&key);
                }
            }
        }
        if inner.requests.len() >= self.max {
            inner.sweep(now);
            if inner.requests.len() >= self.max {
                return Err(ApprovalError::Full);
            }
        }
        let request = ApprovalRequest::pending(binding, preview, reason, now, ttl_secs);
        inner.bound.insert(key, request.id.clone());
        inner.requests.insert(request.id.clone(), request.clone());
        Ok(Held::Pending(request))
    }

    fn decide_now(
        &self,
        id: &str,
        approve: bool,
        by: &str,
        now: i64,
    ) -> Result<ApprovalRequest, ApprovalError> {
        let mut inner = self.lock();
        let request = inner
            .requests
            .get_mut(id)
            .filter(|r| r.expires_at > now)
            .ok_or_else(|| ApprovalError::NotFound(id.to_owned()))?;
        if request.state != ApprovalState::Pending {
            return Err(ApprovalError::Decided(id.to_owned()));
        }
        let by = by.to_owned();
        request.state = if approve {
            ApprovalState::Approved { by, at: now }
        } else {
            ApprovalState::Denied { by, at: now }
        };
        Ok(request.clone())
    }
}

impl ApprovalStore for MemoryApprovalStore {
    fn hold<'a>(
        &'a self,
        binding: &'a Binding,
        preview: Value,
        reason: &'a str,
        now: i64,
        ttl_secs: i64,
    ) -> BoxFuture<'a, Result<Held, ApprovalError>> {
        let held = self.hold_now(binding, preview, reason, now, ttl_secs);
        Box::pin(std::future::ready(held))
    }

    fn get<'a>(
        &'a self,
        id: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<Option<ApprovalRequest>, ApprovalError>> {
        let found = self
            .lock()
            .requests
            .get(id)
            .filter(|r| r.expires_at > now)
            .cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn list(
        &self,
        now: i64,
        max: usize,
    ) -> BoxFuture<'_, Result<Vec<ApprovalRequest>, ApprovalError>> {
        let mut live: Vec<ApprovalRequest> = self
            .lock()
            .requests
            .values()
            .filter(|r| r.expires_at > now)
            .cloned()
            .collect();
        live.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        live.truncate(max);
        Box::pin(std::future::ready(Ok(live)))
    }

    fn decide<'a>(
        &'a self,
        id: &'a str,
        approve: bool,
        by: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<ApprovalRequest, ApprovalError>> {
        Box::pin(std::future::ready(self.decide_now(id, approve, by, now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt as _;
    use serde_json::json;

    fn hold(store: &MemoryApprovalStore, binding: &Binding, now: i64) -> Held {
        store
            .hold(binding, json!({}), "why", now, 60)
            .now_or_never()
            .unwrap()
            .unwrap()
    }

    #[test]
    fn an_approval_serves_its_exact_call_once_before_it_expires() {
        let store = MemoryApprovalStore::new(10);
        let call = Binding::new(Some("a"), true, "rm", &json!({"p": 1}), "v");
        let Held::Pending(first) = hold(&store, &call, 0) else {
            panic!()
        };
        let Held::Pending(again) = hold(&store, &call, 1) else {
            panic!()
        };
        assert_eq!(first.id, again.id, "one request per binding");
        let other = Binding::new(Some("a"), true, "rm", &json!({"p": 2}), "v");
        assert!(matches!(hold(&store, &other, 1), Held::Pending(r) if r.id != first.id));
        store.decide_now(&first.id, true, "ops", 2).unwrap();
        assert_eq!(
            store.decide_now(&first.id, false, "ops", 2),
            Err(ApprovalError::Decided(first.id.clone()))
        );
        assert!(
            matches!(hold(&store, &other, 3), Held::Pending(_)),
            "other arguments"
        );
        assert!(matches!(hold(&store, &call, 3), Held::Granted(r) if r.id == first.id));
        assert!(
            matches!(hold(&store, &call, 4), Held::Pending(r) if r.id != first.id),
            "single use"
        );
        // Denied stays denied; expired is gone.
        let Held::Pending(next) = hold(&store, &other, 5) else {
            panic!()
        };
        store.decide_now(&next.id, false, "ops", 6).unwrap();
        assert!(matches!(hold(&store, &other, 7), Held::Denied(_)));
        let late = Binding::new(Some("b"), true, "rm", &json!({}), "v");
        let Held::Pending(r) = hold(&store, &late, 10) else {
            panic!()
        };
        assert_eq!(
            store.decide_now(&r.id, true, "ops", 70),
            Err(ApprovalError::NotFound(r.id.clone()))
        );
        assert!(matches!(hold(&store, &late, 71), Held::Pending(n) if n.id != r.id));
    }

    #[test]
    fn the_store_is_bounded() {
        let store = MemoryApprovalStore::new(2);
        for i in 0..2 {
            let b = Binding::new(None, false, "t", &json!({"i": i}), "v");
            hold(&store, &b, 0);
        }
        let b = Binding::new(None, false, "t", &json!({"i": 9}), "v");
        assert_eq!(
            store.hold(&b, json!({}), "", 1, 60).now_or_never().unwrap(),
            Err(ApprovalError::Full)
        );
        assert!(
            matches!(hold(&store, &b, 61), Held::Pending(_)),
            "expired ones are swept"
        );
    }
}
