//! A governor clock on top of `tokio::time`, so that paused test time
//! (`tokio::time::pause`/`advance`) drives the limiter and production uses
//! the ordinary monotonic clock.

use std::ops::Add;
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::nanos::Nanos;

/// Reads `tokio::time::Instant::now()`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TokioClock;

/// A `tokio::time::Instant` that governor can do arithmetic with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TokioInstant(pub(crate) tokio::time::Instant);

impl Add<Nanos> for TokioInstant {
    type Output = TokioInstant;

    fn add(self, rhs: Nanos) -> TokioInstant {
        // Saturate instead of panicking: governor only adds bucket-sized
        // durations, but a far-future instant must never abort a request.
        let d = Duration::from(rhs);
        TokioInstant(self.0.checked_add(d).unwrap_or(self.0))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: TokioInstant) -> Nanos {
        let d = self.0.saturating_duration_since(earlier.0);
        // Nanos::from(Duration) panics past 584 years; clamp.
        Nanos::new(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    fn saturating_sub(&self, duration: Nanos) -> TokioInstant {
        TokioInstant(
            self.0
                .checked_sub(Duration::from(duration))
                .unwrap_or(self.0),
        )
    }
}

impl Clock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        TokioInstant(tokio::time::Instant::now())
    }
}
