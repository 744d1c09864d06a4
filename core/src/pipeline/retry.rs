//! When to try again: exponential backoff with full jitter, and pacing to a collector's
//! request budget so its 429s stay rare.

use std::time::{Duration, Instant};

use super::config::{RetryPolicy, MAX_RATE_LIMIT_PAUSE, MIN_RATE_LIMIT_PAUSE};
use crate::destinations::RateLimit;

/// Full jitter: uniform in [0, min(cap, base·2^attempt)), never below `floor` (a Retry-After).
pub fn backoff(policy: &RetryPolicy, attempt: u32, floor: Option<Duration>) -> Duration {
    let exp = policy.base.saturating_mul(1u32 << attempt.min(20));
    let ceiling = exp.min(policy.cap);
    let jittered = ceiling.mul_f64(fastrand::f64());
    jittered.max(floor.unwrap_or(Duration::ZERO))
}

/// A 429's pause: the collector's Retry-After clamped to 1–300 s, or backoff without it.
pub fn rate_limit_pause(
    policy: &RetryPolicy,
    retry_after: Option<Duration>,
    streak: u32,
) -> Duration {
    match retry_after {
        Some(after) => after.clamp(MIN_RATE_LIMIT_PAUSE, MAX_RATE_LIMIT_PAUSE),
        None => backoff(policy, streak, Some(MIN_RATE_LIMIT_PAUSE)).min(MAX_RATE_LIMIT_PAUSE),
    }
}

/// A token bucket holding one request: requests go out evenly spaced at the collector's rate
/// (60 a minute → one a second) instead of in bursts that trip the limit.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Instant,
}

impl Pacer {
    pub fn new(limit: RateLimit) -> Pacer {
        Pacer {
            interval: limit.per / limit.requests.max(1),
            next: Instant::now(),
        }
    }

    /// When the next request may go.
    pub fn ready_at(&self) -> Instant {
        self.next
    }

    /// Records a request sent at `now`.
    pub fn sent(&mut self, now: Instant) {
        self.next = self.next.max(now) + self.interval;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_under_an_exponential_cap() {
        let policy = RetryPolicy::default();
        for attempt in 0..12 {
            let ceiling = (policy.base * 2u32.pow(attempt)).min(policy.cap);
            for _ in 0..50 {
                assert!(backoff(&policy, attempt, None) <= ceiling);
            }
        }
        let spread: Vec<Duration> = (0..50).map(|_| backoff(&policy, 5, None)).collect();
        assert!(spread.iter().any(|d| *d != spread[0]), "jitter varies");
    }

    #[test]
    fn backoff_never_undercuts_retry_after() {
        let policy = RetryPolicy::default();
        for _ in 0..50 {
            assert!(backoff(&policy, 0, Some(Duration::from_secs(30))) >= Duration::from_secs(30));
        }
    }

    #[test]
    fn rate_limit_pause_is_clamped() {
        let p = RetryPolicy::default();
        assert_eq!(
            rate_limit_pause(&p, Some(Duration::from_secs(3600)), 0),
            Duration::from_secs(300)
        );
        assert_eq!(
            rate_limit_pause(&p, Some(Duration::ZERO), 0),
            Duration::from_secs(1)
        );
        assert_eq!(
            rate_limit_pause(&p, Some(Duration::from_secs(30)), 0),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn pacer_spaces_requests_evenly() {
        let mut pacer = Pacer::new(RateLimit {
            requests: 60,
            per: Duration::from_secs(60),
        });
        let start = Instant::now();
        pacer.sent(start);
        assert_eq!(pacer.ready_at(), start + Duration::from_secs(1));
        pacer.sent(start);
        assert_eq!(pacer.ready_at(), start + Duration::from_secs(2));
    }
}
