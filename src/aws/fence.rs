//! The lease fence of the stack lock. A run holds the lock only while its lease is renewed;
//! once no renewal has been confirmed for (nearly) a lease, another run may take the lock
//! over, so this run must stop changing things. The fence is an SDK interceptor on every
//! stack client: while it is armed and the lease has lapsed (or was lost to a takeover), each
//! mutating call fails before it is sent. Reads never need the lock; the lock table's own
//! client has no fence, so renewals and the release still go through.

use super::stats::is_read;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Whether this run may still change the stack (shared by every clone of [`super::Aws`]).
#[derive(Debug, Clone, Default)]
pub struct Fence {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
enum State {
    /// No lock is held: nothing is fenced (plan, queries, `users sync`).
    #[default]
    Open,
    /// The lock is held until this instant unless a renewal moves it.
    Until(Instant),
    /// The lock is no longer this run's, for this reason.
    Lost(String),
}

impl Fence {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lock is held until `until` (an acquisition or a confirmed renewal). A lost lock
    /// stays lost.
    pub fn hold_until(&self, until: Instant) {
        let mut s = self.state();
        if !matches!(*s, State::Lost(_)) {
            *s = State::Until(until);
        }
    }

    /// The lock was taken from this run.
    pub fn lose(&self, why: String) {
        *self.state() = State::Lost(why);
    }

    /// The lock was released: nothing is fenced any more.
    pub fn open(&self) {
        *self.state() = State::Open;
    }

    /// Why this run may no longer change the stack, if it may not.
    pub fn closed(&self) -> Option<String> {
        match &*self.state() {
            State::Open => None,
            State::Until(t) if Instant::now() < *t => None,
            State::Until(_) => Some(
                "this run's lease on the stack lock lapsed (no renewal was confirmed in time), \
                 so another run may hold the lock now; it stops before changing anything more"
                    .to_string(),
            ),
            State::Lost(why) => Some(why.clone()),
        }
    }
}

impl Intercept for Fence {
    fn name(&self) -> &'static str {
        "ecomflow-lock-fence"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        if is_read(meta.name()) {
            return Ok(());
        }
        match self.closed() {
            Some(why) => Err(format!("{}:{} not sent: {why}", meta.service(), meta.name()).into()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Fence;
    use std::time::{Duration, Instant};

    #[test]
    fn open_until_lapsed_or_lost() {
        let f = Fence::default();
        assert_eq!(f.closed(), None);
        f.hold_until(Instant::now() + Duration::from_secs(60));
        assert_eq!(f.closed(), None);
        f.hold_until(Instant::now() - Duration::from_millis(1));
        assert!(f.closed().unwrap().contains("lapsed"));
        f.lose("taken over".into());
        f.hold_until(Instant::now() + Duration::from_secs(60));
        assert_eq!(f.closed().as_deref(), Some("taken over"));
        f.open();
        assert_eq!(f.closed(), None);
    }
}
