//! The service kit: what every provider repeats, written once. Rate-limited mutations, one
//! not-found tolerance, one poll-until, and tag convergence for each tagging shape. A
//! provider file holds only what is specific to its kind.

use super::{Aws, AwsError, Listed, Outputs};
use crate::model::{changed_tags, stale_tags, Service, Tags};
use crate::names::TAG_STACK;
use aws_smithy_async::future::pagination_stream::PaginationStream;
use serde_json::Value;
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

type Shared = Arc<dyn Any + Send + Sync>;

/// Account listings shared by the calls of one live-state read. Some kinds can only find
/// their resource in a listing (a user pool or a REST API by name, as AWS assigns the IDs),
/// which the leak sweep or a sibling's read makes too; within [`Listings::scope`] each listing
/// is made once and every caller gets its answer. The scope covers only reads, so nothing it
/// keeps can go stale under a mutation; outside it every call lists afresh.
#[derive(Default)]
pub struct Listings {
    scopes: Mutex<usize>,
    entries: Mutex<HashMap<String, Arc<OnceCell<Shared>>>>,
}

/// An open [`Listings::scope`]; the last one closed forgets every listing.
pub struct ListingScope<'a>(&'a Listings);

impl Drop for ListingScope<'_> {
    fn drop(&mut self) {
        let mut scopes = self.0.scopes.lock().unwrap_or_else(|e| e.into_inner());
        *scopes -= 1;
        if *scopes == 0 {
            self.0
                .entries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
    }
}

impl Listings {
    /// Shares listings until the scope is dropped.
    pub fn scope(&self) -> ListingScope<'_> {
        *self.scopes.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        ListingScope(self)
    }

    /// The listing named `key`: `load`'s answer, made once per scope (concurrent callers wait
    /// for the first), or made for this caller alone outside any scope.
    pub(crate) async fn shared<T, F, Fut>(&self, key: &str, load: F) -> Result<Arc<T>, AwsError>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let cell = {
            let scoped = *self.scopes.lock().unwrap_or_else(|e| e.into_inner()) > 0;
            scoped.then(|| {
                self.entries
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(key.to_string())
                    .or_default()
                    .clone()
            })
        };
        let Some(cell) = cell else {
            return Ok(Arc::new(load().await?));
        };
        let value = cell
            .get_or_try_init(|| async { Ok::<Shared, AwsError>(Arc::new(load().await?)) })
            .await?
            .clone();
        value
            .downcast::<T>()
            .map_err(|_| AwsError::msg(format!("internal error: listing {key} of another type")))
    }
}

impl Aws {
    /// Makes one mutating call once the service's client-side quota allows it (see
    /// `control_plane_quota`), with its error as an [`AwsError`] naming `what` was being done.
    pub(crate) async fn mutate<T, E, F>(
        &self,
        service: Service,
        what: impl std::fmt::Display,
        call: F,
    ) -> Result<T, AwsError>
    where
        F: Future<Output = Result<T, E>>,
        AwsError: From<E>,
    {
        self.throttle(service).await;
        call.await.map_err(|e| AwsError::from(e).context(what))
    }
}

/// A call whose answer carries nothing needed: success, or its error as an [`AwsError`].
pub(crate) async fn sent<T, E>(call: impl Future<Output = Result<T, E>>) -> Result<(), AwsError>
where
    AwsError: From<E>,
{
    call.await.map(drop).map_err(AwsError::from)
}

/// Every page of an SDK paginator (`into_paginator().send()`), or its first error with `what`
/// was being listed as context (whose code still answers [`Absent`] for a missing parent).
pub(crate) async fn all_pages<P, E>(
    pages: PaginationStream<Result<P, E>>,
    what: impl std::fmt::Display,
) -> Result<Vec<P>, AwsError>
where
    AwsError: From<E>,
{
    let pages: Result<Vec<P>, E> = pages.collect().await;
    pages.map_err(|e| AwsError::from(e).context(what))
}

/// A resource policy as the service returns it (JSON text; none reads as `{}`), parsed. `of`
/// names the resource for the error.
pub(crate) fn policy_doc(raw: Option<&str>, of: impl std::fmt::Display) -> Result<Value, AwsError> {
    serde_json::from_str(raw.unwrap_or("{}"))
        .map_err(|e| AwsError::msg(format!("the policy of {of} is not valid JSON: {e}")))
}

/// A leak listing's entry for a kind named by its physical name: the spec is that name and
/// the tags, all the ownership check reads.
fn named_listing(name: String, tags: Tags, outputs: Outputs) -> Listed {
    Listed {
        spec: serde_json::json!({"name": name, "tags": tags}),
        physical: name,
        outputs,
    }
}

/// The leak listing of a kind named by prefix: of the `(name, outputs)` the account lists,
/// those starting with `prefix` and not in `skip`, with their tags. `tags` (given a name and
/// its outputs) answers `None` for one deleted since it was listed, which is left out.
pub(crate) async fn listed<F, Fut>(
    names: Vec<(String, Outputs)>,
    prefix: &str,
    skip: &[String],
    tags: F,
) -> Result<Vec<Listed>, AwsError>
where
    F: Fn(String, Outputs) -> Fut,
    Fut: Future<Output = Result<Option<Tags>, AwsError>>,
{
    let mut out = Vec::new();
    for (name, outputs) in names {
        if !name.starts_with(prefix) || skip.contains(&name) {
            continue;
        }
        if let Some(tags) = tags(name.clone(), outputs.clone()).await? {
            out.push(named_listing(name, tags, outputs));
        }
    }
    Ok(out)
}

/// The leak listing of a kind whose listing already carries each one's tags: of the
/// `(name, tags, outputs)` found, those starting with `prefix` and not in `skip`.
pub(crate) fn listed_with_tags(
    found: impl IntoIterator<Item = (String, Tags, Outputs)>,
    prefix: &str,
    skip: &[String],
) -> Vec<Listed> {
    found
        .into_iter()
        .filter(|(name, ..)| name.starts_with(prefix) && !skip.contains(name))
        .map(|(name, tags, outputs)| named_listing(name, tags, outputs))
        .collect()
}

/// The leak listing of a kind whose names AWS does not keep unique (user pools and REST APIs,
/// where AWS assigns the IDs). Of the `(name, key)` found under `prefix`, the declared one of a
/// skipped name is the one the kind's read picks: the first tagged with this stack, else the
/// first; every other one sharing the name is listed. `describe(key)` answers its tags and
/// outputs, `None` for one gone since it was listed; the only one of a skipped name is not
/// described at all.
pub(crate) async fn listed_sharing_names<K, F, Fut>(
    found: Vec<(String, K)>,
    prefix: &str,
    skip: &[String],
    describe: F,
) -> Result<Vec<Listed>, AwsError>
where
    F: Fn(K) -> Fut,
    Fut: Future<Output = Result<Option<(Tags, Outputs)>, AwsError>>,
{
    let stack = prefix.strip_suffix('-').unwrap_or(prefix);
    let mut by_name: BTreeMap<String, Vec<K>> = BTreeMap::new();
    for (name, key) in found.into_iter().filter(|(n, _)| n.starts_with(prefix)) {
        by_name.entry(name).or_default().push(key);
    }
    let mut out = Vec::new();
    for (name, keys) in by_name {
        let declared = skip.contains(&name);
        if declared && keys.len() == 1 {
            continue;
        }
        let mut described = Vec::new();
        for key in keys {
            described.extend(describe(key).await?);
        }
        if declared && !described.is_empty() {
            let ours =
                |(tags, _): &(Tags, Outputs)| tags.get(TAG_STACK).is_some_and(|s| s == stack);
            described.remove(described.iter().position(ours).unwrap_or(0));
        }
        let listing = |(tags, outputs)| named_listing(name.clone(), tags, outputs);
        out.extend(described.into_iter().map(listing));
    }
    Ok(out)
}

/// Tags of services that page them by the last key seen (Kinesis streams, Firehose delivery
/// streams), for which the SDK has no paginator: `page(start)` answers one page of
/// `(key, value)` pairs and whether more follow.
pub(crate) async fn tags_by_last_key<F, Fut>(mut page: F) -> Result<Tags, AwsError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<(String, String)>, bool), AwsError>>,
{
    let mut tags = Tags::new();
    let mut start = None;
    loop {
        let (batch, more) = page(start).await?;
        start = batch.last().map(|(k, _)| k.clone());
        let done = !more || batch.is_empty();
        tags.extend(batch);
        if done {
            return Ok(tags);
        }
    }
}

/// "Not found" tolerance, in one idiom for every service's codes.
pub(crate) trait Absent<T> {
    /// `None` when the error's code is one of `codes` (the resource does not exist).
    fn or_absent(self, codes: &[&str]) -> Result<Option<T>, AwsError>;
    /// Success when the error's code is one of `codes` (e.g. a delete of what is gone).
    fn tolerate(self, codes: &[&str]) -> Result<(), AwsError>;
}

impl<T> Absent<T> for Result<T, AwsError> {
    fn or_absent(self, codes: &[&str]) -> Result<Option<T>, AwsError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is(codes) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn tolerate(self, codes: &[&str]) -> Result<(), AwsError> {
        self.or_absent(codes).map(|_| ())
    }
}

/// Calls `check` every `interval` until it returns `Some`, or fails naming `what` once
/// `deadline` has passed. For states the SDK has no waiter for.
pub(crate) async fn poll_until<T, F, Fut>(
    what: impl std::fmt::Display,
    deadline: Duration,
    interval: Duration,
    mut check: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, AwsError>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if start.elapsed() >= deadline {
            return Err(AwsError::msg(format!(
                "timed out after {} s waiting until {what}",
                deadline.as_secs()
            )));
        }
        tokio::time::sleep(interval).await;
    }
}

/// Tags of services that add and remove keys separately (TagResource/UntagResource and
/// their kin) on `what` (e.g. `Kinesis stream x`): removes the keys no longer declared, then
/// sets the missing or different ones. `untag` and `tag` make the SDK call; each is made only
/// when needed, rate-limited as a mutation, and its error names `what`.
pub(crate) async fn converge_tags<UF, UT, UE, TF, TT, TE>(
    aws: &Aws,
    service: Service,
    what: &str,
    (desired, live): (&Tags, &Tags),
    untag: impl FnOnce(Vec<String>) -> UF,
    tag: impl FnOnce(Tags) -> TF,
) -> Result<(), AwsError>
where
    UF: Future<Output = Result<UT, UE>>,
    TF: Future<Output = Result<TT, TE>>,
    AwsError: From<UE> + From<TE>,
{
    let stale = stale_tags(desired, live);
    if !stale.is_empty() {
        aws.mutate(service, format!("failed to untag {what}"), untag(stale))
            .await?;
    }
    let changed = changed_tags(desired, live);
    if !changed.is_empty() {
        aws.mutate(service, format!("failed to tag {what}"), tag(changed))
            .await?;
    }
    Ok(())
}

/// Tags of services that replace the whole set in one call (S3's PutBucketTagging): one
/// rate-limited call when the sets differ.
pub(crate) async fn converge_tag_set<P, PF>(
    aws: &Aws,
    service: Service,
    desired: &Tags,
    live: &Tags,
    put: P,
) -> Result<(), AwsError>
where
    P: FnOnce(Tags) -> PF,
    PF: Future<Output = Result<(), AwsError>>,
{
    if desired == live {
        return Ok(());
    }
    aws.throttle(service).await;
    put(desired.clone()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absence_is_tolerated_for_the_given_codes_only() {
        let gone: Result<u8, AwsError> = Err(AwsError {
            code: Some("NoSuchThing".into()),
            ..AwsError::msg("gone")
        });
        assert_eq!(gone.clone().or_absent(&["NoSuchThing"]).unwrap(), None);
        assert!(gone.clone().tolerate(&["NoSuchThing"]).is_ok());
        assert!(gone.or_absent(&["Other"]).is_err());
        assert_eq!(Ok::<u8, AwsError>(3).or_absent(&["X"]).unwrap(), Some(3));
    }

    #[tokio::test]
    async fn poll_until_returns_the_first_answer_and_times_out_naming_the_wait() {
        let mut n = 0;
        let v = poll_until("three", Duration::from_secs(5), Duration::ZERO, || {
            n += 1;
            let done = n >= 3;
            async move { Ok(done.then_some(n)) }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
        let e = poll_until::<(), _, _>(
            "the thing is ready",
            Duration::ZERO,
            Duration::ZERO,
            || async { Ok(None) },
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("the thing is ready"), "{e}");
    }

    #[tokio::test]
    async fn tags_by_last_key_pages_from_the_last_key_until_no_more() {
        let mut starts = Vec::new();
        let tags = tags_by_last_key(|start: Option<String>| {
            starts.push(start.clone());
            let page = match start.as_deref() {
                None => (
                    vec![("a".into(), "1".into()), ("b".into(), "2".into())],
                    true,
                ),
                Some("b") => (vec![("c".into(), "3".into())], false),
                other => panic!("asked from {other:?}"),
            };
            async move { Ok(page) }
        })
        .await
        .unwrap();
        assert_eq!(starts, [None, Some("b".to_string())]);
        assert_eq!(tags.len(), 3);
        assert_eq!(tags["c"], "3");
    }

    #[tokio::test]
    async fn listed_keeps_the_prefix_minus_skipped_and_vanished() {
        let names = ["app-a", "app-b", "app-gone", "other-c"]
            .map(|n| (n.to_string(), Outputs::new()))
            .to_vec();
        let skip = ["app-b".to_string()];
        let found = listed(names, "app-", &skip, |name, _| async move {
            Ok((name != "app-gone").then(|| Tags::from([("k".to_string(), name)])))
        })
        .await
        .unwrap();
        let physical: Vec<&str> = found.iter().map(|l| l.physical.as_str()).collect();
        assert_eq!(physical, ["app-a"]);
        assert_eq!(found[0].spec["tags"]["k"], "app-a");
    }

    /// Within a scope a listing is made once, concurrent callers included, and a failed one
    /// is made again; outside any scope, and once the last scope is closed, every call lists.
    #[tokio::test]
    async fn listings_are_shared_within_a_scope_only() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listings = Listings::default();
        let calls = AtomicUsize::new(0);
        let list = |fail: bool| {
            let calls = &calls;
            let listings = &listings;
            async move {
                listings
                    .shared("k", || async move {
                        calls.fetch_add(1, Ordering::SeqCst);
                        if fail {
                            Err(AwsError::msg("throttled"))
                        } else {
                            Ok(vec![1, 2])
                        }
                    })
                    .await
            }
        };
        list(false).await.unwrap();
        list(false).await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no scope, no sharing");
        {
            let _outer = listings.scope();
            assert!(list(true).await.is_err());
            let (a, b) = tokio::join!(list(false), list(false));
            assert_eq!(*a.unwrap(), [1, 2]);
            assert_eq!(*b.unwrap(), [1, 2]);
            assert_eq!(
                calls.load(Ordering::SeqCst),
                4,
                "the failure, then one listing"
            );
            let inner = listings.scope();
            drop(inner);
            list(false).await.unwrap();
            assert_eq!(
                calls.load(Ordering::SeqCst),
                4,
                "an inner scope forgets nothing"
            );
        }
        list(false).await.unwrap();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            5,
            "the last scope closed forgets"
        );
    }
}
