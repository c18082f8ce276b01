//! The engine's clock, injected: `wasm32-unknown-unknown` has no clock of its own (chrono's
//! `Utc::now()` panics there), hosts pass `Date.now()`, and tests pass a fixed instant.

/// Seconds since the Unix epoch. Injected, because `wasm32-unknown-unknown` has no clock of
/// its own and tests need a fixed one.
pub trait Clock: Send + Sync {
    /// Now, in seconds since the Unix epoch.
    fn now(&self) -> f64;
}

/// A clock that always answers the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub f64);

impl Clock for FixedClock {
    fn now(&self) -> f64 {
        self.0
    }
}

/// The operating system's clock (not available on `wasm32-unknown-unknown`).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now(&self) -> f64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}
