//! Driving providers one at a time as the engine does: each call gets its dependencies'
//! outputs (IDs, ARNs) as inputs, and what a create or read returns is recorded for the
//! dependents that follow.

use ecomflow_infra::aws::{provider, Aws, Changes, ConnectOptions, Inputs, Listed, Outputs};
use ecomflow_infra::blueprint::Blueprint;
use ecomflow_infra::model::Resource;
use ecomflow_infra::plan::attribute_changes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The clients, and the outputs of what the test made, by address.
pub struct Harness {
    /// The clients.
    pub aws: Aws,
    outputs: Mutex<BTreeMap<String, Outputs>>,
}

impl std::ops::Deref for Harness {
    type Target = Aws;
    fn deref(&self) -> &Aws {
        &self.aws
    }
}

impl Harness {
    /// Clients for the emulator at `endpoint`, with dummy credentials.
    pub async fn connect(endpoint: &str) -> Harness {
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        let aws = Aws::connect(
            &ConnectOptions {
                endpoint_url: Some(endpoint.to_string()),
                region: Some("us-east-1".into()),
                ..ConnectOptions::default()
            },
            "us-east-1",
        )
        .await
        .expect("connect to the emulator");
        Harness {
            aws,
            outputs: Mutex::default(),
        }
    }

    /// The outputs of `r`'s dependencies, as the engine hands them.
    pub fn inputs(&self, r: &Resource) -> Inputs {
        let known = self.outputs.lock().unwrap();
        Inputs::new(
            r.depends_on
                .iter()
                .filter_map(|d| Some((d.clone(), known.get(d)?.clone())))
                .collect(),
        )
    }

    /// The recorded outputs of `r`.
    pub fn outputs_of(&self, r: &Resource) -> Outputs {
        let known = self.outputs.lock().unwrap();
        known.get(&r.address()).cloned().unwrap_or_default()
    }

    fn record(&self, r: &Resource, outputs: Outputs) {
        self.outputs.lock().unwrap().insert(r.address(), outputs);
    }

    /// Reads `r`; its outputs are recorded.
    pub async fn read(&self, r: &Resource) -> Result<Option<Value>, String> {
        let live = provider(r.kind)
            .read(&self.aws, r, &self.inputs(r))
            .await
            .map_err(|e| format!("read {}: {e}", r.address()))?;
        Ok(live.map(|(spec, outputs)| {
            self.record(r, outputs);
            spec
        }))
    }

    /// Creates `r`; its outputs are recorded.
    pub async fn create(&self, r: &Resource) -> Result<(), String> {
        let outputs = provider(r.kind)
            .create(&self.aws, r, &self.inputs(r))
            .await
            .map_err(|e| format!("create {}: {e}", r.address()))?;
        self.record(r, outputs);
        Ok(())
    }

    /// Updates live `live` to `wanted` where the plan would find them different.
    pub async fn update(&self, wanted: &Resource, live: &Value) -> Result<(), String> {
        let changes = Changes::new(changed_paths(wanted, live));
        provider(wanted.kind)
            .update(
                &self.aws,
                wanted,
                &(live.clone(), self.outputs_of(wanted)),
                &changes,
                &self.inputs(wanted),
            )
            .await
            .map_err(|e| format!("update {}: {e}", wanted.address()))
    }

    /// Deletes `r`, live as `live`.
    pub async fn delete(&self, r: &Resource, live: &Value) -> Result<(), String> {
        provider(r.kind)
            .delete(&self.aws, &r.physical, &(live.clone(), self.outputs_of(r)))
            .await
            .map_err(|e| format!("delete {}: {e}", r.address()))
    }

    /// What listing `r`'s kind finds under `prefix`, and the members of its parent if it is
    /// a member kind.
    pub async fn listed(&self, bp: &Blueprint, r: &Resource) -> Result<Vec<Listed>, String> {
        let p = provider(r.kind);
        let mut found = p
            .list(&self.aws, &bp.names.all_prefix(), &[])
            .await
            .map_err(|e| format!("list {}: {e}", r.kind))?;
        if let Some(parent_kind) = r.kind.members_of() {
            if let Some(parent) = bp
                .resources
                .iter()
                .find(|p| p.kind == parent_kind && r.depends_on.contains(&p.address()))
            {
                found.extend(
                    p.members(
                        &self.aws,
                        parent,
                        &self.outputs_of(parent),
                        &bp.names.instance,
                        &[],
                    )
                    .await
                    .map_err(|e| format!("members of {}: {e}", parent.address()))?,
                );
            }
        }
        Ok(found)
    }
}

/// The paths where `live` differs from what `wanted` declares, as a plan sees them.
pub fn changed_paths(wanted: &Resource, live: &Value) -> Vec<String> {
    attribute_changes(wanted.kind, Some(live), Some(&wanted.spec))
        .into_iter()
        .map(|c| c.path)
        .collect()
}

/// `r` and what it depends on, transitively, parents first.
pub fn with_dependencies<'a>(bp: &'a Blueprint, r: &Resource) -> Vec<&'a Resource> {
    let by_address: BTreeMap<String, &Resource> = bp
        .resources
        .iter()
        .map(|res| (res.address(), res))
        .collect();
    let mut ordered: Vec<&Resource> = Vec::new();
    fn visit<'a>(
        address: &str,
        by_address: &BTreeMap<String, &'a Resource>,
        ordered: &mut Vec<&'a Resource>,
    ) {
        let Some(res) = by_address.get(address) else {
            return;
        };
        if ordered.iter().any(|o| o.address() == address) {
            return;
        }
        for d in &res.depends_on {
            visit(d, by_address, ordered);
        }
        ordered.push(res);
    }
    visit(&r.address(), &by_address, &mut ordered);
    ordered
}
