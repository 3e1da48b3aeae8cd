//! Reading the live state of a stack instance, concurrently.

use crate::aws::{provider, Aws, AwsError, Inputs, Listed, LiveValue};
use crate::blueprint::Blueprint;
use crate::model::{spec_tags, Kind, Resource};
use crate::names::TAG_STACK;
use crate::plan::{LiveResource, LiveState, Ownership};
use futures::stream::{self, FuturesUnordered, StreamExt, TryStreamExt};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// Whose a live spec is, judged by its tags. `adopt` lists physical names this instance
/// began creating in an interrupted run (see [`super::lock::Journal`]).
pub fn ownership_of(
    instance: &str,
    spec: &serde_json::Value,
    physical: &str,
    adopt: &HashSet<String>,
) -> Ownership {
    let tags = spec_tags(spec).unwrap_or_default();
    match tags.get(TAG_STACK) {
        Some(owner) if owner == instance => Ownership::Ours,
        Some(other) => Ownership::Foreign(Some(other.clone())),
        None if adopt.contains(physical) => Ownership::Ours,
        None => Ownership::Foreign(None),
    }
}

/// Reads every declared resource, each once what it depends on has been read, so that a read
/// gets its parents' outputs (IDs, ARNs) from the graph instead of looking them up. At most
/// `parallelism` reads run at once.
async fn read_declared<'a>(
    aws: &Aws,
    resources: &'a [Resource],
    parallelism: usize,
    unreadable: Option<&mut Vec<(String, String)>>,
) -> Result<Vec<(&'a Resource, Option<LiveValue>)>, AwsError> {
    let mut unreadable = unreadable;
    let index: HashMap<String, usize> = resources
        .iter()
        .enumerate()
        .map(|(i, r)| (r.address(), i))
        .collect();
    let waits: Vec<Vec<usize>> = resources
        .iter()
        .map(|r| {
            r.depends_on
                .iter()
                .filter_map(|d| index.get(d).copied())
                .collect()
        })
        .collect();
    let mut dependents = vec![Vec::new(); resources.len()];
    for (i, w) in waits.iter().enumerate() {
        for &d in w {
            dependents[d].push(i);
        }
    }
    let mut pending: Vec<usize> = waits.iter().map(Vec::len).collect();
    let mut ready: VecDeque<usize> = (0..resources.len()).filter(|&i| pending[i] == 0).collect();
    let mut done: Vec<Option<Option<LiveValue>>> = vec![None; resources.len()];
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < parallelism.max(1) {
            let Some(i) = ready.pop_front() else { break };
            let r = &resources[i];
            let inputs = Inputs::new(
                waits[i]
                    .iter()
                    .filter_map(|&d| {
                        let live = done[d].as_ref().and_then(Option::as_ref)?;
                        Some((resources[d].address(), live.1.clone()))
                    })
                    .collect(),
            );
            running.push(async move {
                let read = provider(r.kind)
                    .read(aws, r, &inputs)
                    .await
                    .map_err(|e| e.context(format!("failed to read {}", r.address())));
                (i, read)
            });
        }
        let Some((i, read)) = running.next().await else {
            break;
        };
        done[i] = Some(match (read, unreadable.as_deref_mut()) {
            (Ok(live), _) => live,
            (Err(e), Some(unreadable)) => {
                unreadable.push((resources[i].address(), e.to_string()));
                None
            }
            (Err(e), None) => return Err(e),
        });
        for &d in &dependents[i] {
            pending[d] -= 1;
            if pending[d] == 0 {
                ready.push_back(d);
            }
        }
    }
    resources
        .iter()
        .zip(done)
        .map(|(r, live)| {
            live.map(|l| (r, l)).ok_or_else(|| {
                AwsError::msg(format!(
                    "internal error: {} waits for itself through its dependencies",
                    r.address()
                ))
            })
        })
        .collect()
}

/// Reads every declared resource and lists every taggable kind for undeclared resources
/// tagged with this instance. At most `parallelism` reads run at once.
///
/// With `go_on`, a declared resource that cannot be read (access denied, say) counts as
/// absent and is named in [`LiveState::unreadable`] instead of stopping the read: destroy
/// deletes what it can and then says what it could not.
pub async fn read_live(
    aws: &Aws,
    blueprint: &Blueprint,
    parallelism: usize,
    adopt: &HashSet<String>,
    go_on: bool,
) -> Result<LiveState, AwsError> {
    let instance = blueprint.names.instance.clone();
    // Nothing below mutates: listings made by several reads are made once.
    let _listings = aws.listings.scope();
    let mut unreadable = Vec::new();
    let reads = read_declared(
        aws,
        &blueprint.resources,
        parallelism,
        go_on.then_some(&mut unreadable),
    );
    let prefix = blueprint.names.all_prefix();
    let lists = stream::iter(
        Kind::ALL
            .into_iter()
            .filter(|k| k.info().taggable)
            .map(|kind| {
                let skip: Vec<String> = blueprint
                    .resources
                    .iter()
                    .filter(|r| r.kind == kind)
                    .map(|r| r.physical.clone())
                    .collect();
                let prefix = prefix.clone();
                async move {
                    let found = provider(kind).list(aws, &prefix, &skip).await?;
                    Ok::<_, AwsError>((kind, found))
                }
            }),
    )
    .buffer_unordered(parallelism.max(1))
    .try_collect::<Vec<_>>();

    let (read, listed) = futures::try_join!(reads, lists)?;

    // Ownership of taggable resources first; sub-resources take their owner's.
    let mut owners: BTreeMap<String, Ownership> = BTreeMap::new();
    for (r, live) in &read {
        if r.owner.is_none() {
            if let Some((spec, _)) = live {
                owners.insert(
                    r.address(),
                    ownership_of(&instance, spec, &r.physical, adopt),
                );
            }
        }
    }
    let members = read_members(aws, &read, &owners, &instance, parallelism).await;
    let mut members_found = Vec::new();
    for (what, found) in members {
        match (found, go_on) {
            (Ok(found), _) => members_found.extend(found),
            (Err(e), true) => unreadable.push((what, e.to_string())),
            (Err(e), false) => return Err(e),
        }
    }
    let members = members_found;
    let mut state = LiveState::default();
    for (r, live) in read {
        let live = live.map(|(spec, outputs)| {
            let ownership = match &r.owner {
                Some(owner) => owners
                    .get(owner)
                    .cloned()
                    .unwrap_or(Ownership::Foreign(None)),
                None => owners
                    .get(&r.address())
                    .cloned()
                    .unwrap_or(Ownership::Foreign(None)),
            };
            LiveResource {
                kind: r.kind,
                physical: r.physical.clone(),
                spec,
                outputs,
                ownership,
            }
        });
        state.declared.insert(r.address(), live);
    }
    let mut undeclared: Vec<LiveResource> = listed
        .into_iter()
        .flat_map(|(kind, found)| found.into_iter().map(move |l| (kind, l)))
        .filter(|(_, l)| {
            ownership_of(&instance, &l.spec, &l.physical, &HashSet::new()) == Ownership::Ours
        })
        .chain(members.into_iter().filter(|(kind, l)| {
            !blueprint
                .resources
                .iter()
                .any(|r| r.kind == *kind && r.physical == l.physical)
        }))
        .map(|(kind, l)| LiveResource {
            kind,
            physical: l.physical,
            spec: l.spec,
            outputs: l.outputs,
            ownership: Ownership::Ours,
        })
        .collect();
    undeclared.sort_by(|a, b| (a.kind, &a.physical).cmp(&(b.kind, &b.physical)));
    state.undeclared = undeclared;
    state.unreadable = unreadable;
    Ok(state)
}

/// The live members (see [`Kind::members_of`]) of every parent that was read and is ours,
/// declared or not; members go with their parent's ownership. Each listing comes back with
/// what it lists (`s3_objects of s3_bucket.lake`), so a caller that goes on past failures can
/// name the one that failed.
async fn read_members(
    aws: &Aws,
    read: &[(&Resource, Option<LiveValue>)],
    owners: &BTreeMap<String, Ownership>,
    instance: &str,
    parallelism: usize,
) -> Vec<(String, Result<Vec<(Kind, Listed)>, AwsError>)> {
    let parents = read.iter().filter_map(|(r, spec)| {
        let ours = owners.get(&r.address()) == Some(&Ownership::Ours);
        spec.as_ref()
            .filter(|_| ours)
            .map(|(_, outputs)| (*r, outputs))
    });
    let lists = parents.flat_map(|(parent, outputs)| {
        Kind::ALL
            .into_iter()
            .filter(move |k| k.members_of() == Some(parent.kind))
            .map(move |kind| async move {
                let what = format!("{kind}s of {}", parent.address());
                let declared: Vec<String> = read
                    .iter()
                    .filter(|(r, _)| r.kind == kind)
                    .map(|(r, _)| r.physical.clone())
                    .collect();
                let found = provider(kind)
                    .members(aws, parent, outputs, instance, &declared)
                    .await
                    .map(|found| found.into_iter().map(|l| (kind, l)).collect())
                    .map_err(|e| e.context(format!("failed to list the {what}")));
                (what, found)
            })
    });
    stream::iter(lists)
        .buffer_unordered(parallelism.max(1))
        .collect()
        .await
}

/// Everything still tagged with `instance`, by listing each taggable kind (the leak sweep).
pub async fn sweep(
    aws: &Aws,
    instance: &str,
    prefix: &str,
) -> Result<Vec<(Kind, String)>, AwsError> {
    let mut left = Vec::new();
    for kind in Kind::ALL.into_iter().filter(|k| k.info().taggable) {
        for l in provider(kind).list(aws, prefix, &[]).await? {
            if ownership_of(instance, &l.spec, &l.physical, &HashSet::new()) == Ownership::Ours {
                left.push((kind, l.physical));
            }
        }
    }
    Ok(left)
}
