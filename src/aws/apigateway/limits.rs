//! API Gateway's documented per-operation control-plane quotas (per account and region), on
//! top of the service-wide limiter of [`Aws::throttle`](crate::aws::Aws::throttle) (the
//! "total operations" quota of 10 requests per second). Process-wide: the account's quota is
//! shared by everything the process does.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::OnceLock;
use std::time::Duration;

/// One limiter per operation with a quota of its own.
pub(super) struct OperationLimits {
    /// CreateResource: 5 requests per second.
    pub create_resource: DefaultDirectRateLimiter,
    /// DeleteResource: 5 requests per second.
    pub delete_resource: DefaultDirectRateLimiter,
    /// CreateRestApi (regional): 1 request every 3 seconds.
    pub create_rest_api: DefaultDirectRateLimiter,
    /// CreateDeployment: 1 request every 5 seconds.
    pub create_deployment: DefaultDirectRateLimiter,
    /// GetResources: 5 requests every 2 seconds.
    pub get_resources: DefaultDirectRateLimiter,
}

/// The process-wide limiters.
pub(super) fn limits() -> &'static OperationLimits {
    static LIMITS: OnceLock<OperationLimits> = OnceLock::new();
    LIMITS.get_or_init(|| {
        let five = NonZeroU32::new(5).expect("positive");
        let every = |period: Duration| {
            RateLimiter::direct(Quota::with_period(period).expect("positive period"))
        };
        OperationLimits {
            create_resource: RateLimiter::direct(Quota::per_second(five)),
            delete_resource: RateLimiter::direct(Quota::per_second(five)),
            create_rest_api: every(Duration::from_secs(3)),
            create_deployment: every(Duration::from_secs(5)),
            get_resources: RateLimiter::direct(
                Quota::with_period(Duration::from_millis(400))
                    .expect("positive period")
                    .allow_burst(five),
            ),
        }
    })
}
