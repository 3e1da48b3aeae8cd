//! Counting API calls by operation, through an SDK interceptor on every stack client.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::FinalizerInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Calls made, by `service:Operation`.
#[derive(Debug, Clone, Default)]
pub struct CallStats {
    calls: Arc<Mutex<BTreeMap<String, u64>>>,
}

/// A snapshot of call counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CallCounts {
    /// Read calls (Get*, List*, Describe*, Head*).
    pub reads: u64,
    /// Every other call.
    pub mutations: u64,
    /// Counts by `service:Operation`.
    pub by_operation: BTreeMap<String, u64>,
}

/// True for operations that only read.
pub fn is_read(operation: &str) -> bool {
    // Cognito's administrative reads are named `AdminGetUser`, `AdminListGroupsForUser`.
    let operation = operation.strip_prefix("Admin").unwrap_or(operation);
    ["Get", "List", "Describe", "Head"]
        .iter()
        .any(|p| operation.starts_with(p))
}

impl CallStats {
    /// Counts one call.
    pub fn record(&self, service: &str, operation: &str) {
        let mut calls = self.calls.lock().expect("stats lock");
        *calls.entry(format!("{service}:{operation}")).or_default() += 1;
    }

    /// The counts so far.
    pub fn snapshot(&self) -> CallCounts {
        let calls = self.calls.lock().expect("stats lock").clone();
        let mut counts = CallCounts::default();
        for (op, n) in &calls {
            let name = op.split(':').nth(1).unwrap_or(op);
            if is_read(name) {
                counts.reads += n;
            } else {
                counts.mutations += n;
            }
        }
        counts.by_operation = calls;
        counts
    }

    /// Forgets all counts.
    pub fn reset(&self) {
        self.calls.lock().expect("stats lock").clear();
    }
}

impl CallCounts {
    /// The calls made since `earlier`.
    pub fn since(&self, earlier: &CallCounts) -> CallCounts {
        let mut by_operation = BTreeMap::new();
        for (op, n) in &self.by_operation {
            let d = n - earlier.by_operation.get(op).copied().unwrap_or(0);
            if d > 0 {
                by_operation.insert(op.clone(), d);
            }
        }
        CallCounts {
            reads: self.reads - earlier.reads,
            mutations: self.mutations - earlier.mutations,
            by_operation,
        }
    }
}

impl Intercept for CallStats {
    fn name(&self) -> &'static str {
        "ecomflow-call-stats"
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            self.record(meta.service(), meta.name());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_and_mutations() {
        for op in [
            "GetRole",
            "ListUsers",
            "DescribeTable",
            "HeadBucket",
            "AdminListGroupsForUser",
            "AdminGetUser",
        ] {
            assert!(super::is_read(op), "{op}");
        }
        for op in [
            "CreateBucket",
            "AdminCreateUser",
            "PutItem",
            "AdminAddUserToGroup",
        ] {
            assert!(!super::is_read(op), "{op}");
        }
    }
}
