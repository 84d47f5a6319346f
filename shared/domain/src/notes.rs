//! What the operations note about the request they serve (tenant, actor, target, counters, the
//! time spent waiting on the store), for its access line and metrics, which the Lambda wiring
//! writes (`lambda::telemetry`). Noting outside a request does nothing.

use std::cell::RefCell;
use std::future::Future;
use std::time::Instant;

/// What the operations of one request note about it, for its access line and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestNotes {
    pub tenant: Option<String>,
    /// The user whose token acts (or who logs in, once known).
    pub actor: Option<String>,
    /// The user acted on.
    pub target: Option<String>,
    pub error_code: Option<String>,
    pub login_failures: u32,
    pub lockouts: u32,
    pub token_revocations: u32,
    pub write_conflicts: u32,
    pub store_throttles: u32,
    /// The store calls made for the request (timed on DynamoDB by `lambda::telemetry::StoreTiming`).
    pub store: StoreWait,
}

/// How long a request waited on DynamoDB: the time during which at least one of its calls was in
/// flight, so that calls made side by side count once (retries and back-off included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreWait {
    pub calls: u32,
    pub waited: std::time::Duration,
    in_flight: u32,
    busy_since: Option<Instant>,
}

impl StoreWait {
    pub fn call_started(&mut self, at: Instant) {
        self.calls += 1;
        if self.in_flight == 0 {
            self.busy_since = Some(at);
        }
        self.in_flight += 1;
    }

    pub fn call_ended(&mut self, at: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        if self.in_flight == 0 {
            self.stop_waiting(at);
        }
    }

    /// Ends the wait of calls still in flight when the request ends (futures it dropped unfinished).
    pub fn settle(&mut self, at: Instant) {
        self.in_flight = 0;
        self.stop_waiting(at);
    }

    fn stop_waiting(&mut self, at: Instant) {
        if let Some(since) = self.busy_since.take() {
            self.waited += at.saturating_duration_since(since);
        }
    }

    pub fn waited_ms(&self) -> f64 {
        self.waited.as_secs_f64() * 1000.0
    }
}

tokio::task_local! {
    static NOTES: RefCell<RequestNotes>;
}

/// Notes something about the request being served; nothing outside one (tests calling operations
/// directly, housekeeping).
pub fn note(edit: impl FnOnce(&mut RequestNotes)) {
    let _ = NOTES.try_with(|notes| edit(&mut notes.borrow_mut()));
}

/// Runs `work` as one request with notes of its own, and answers them with its result.
pub async fn scope<T>(work: impl Future<Output = T>) -> (T, RequestNotes) {
    NOTES
        .scope(RefCell::new(RequestNotes::default()), async {
            let result = work.await;
            let mut notes = NOTES.with(|notes| notes.take());
            notes.store.settle(Instant::now());
            (result, notes)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_side_by_side_count_their_wait_once() {
        let start = Instant::now();
        let at = |ms: u64| start + std::time::Duration::from_millis(ms);
        let mut store = StoreWait::default();
        // Two calls joined (0-3 and 1-5 ms), then one alone (7-9 ms): 5 + 2 ms of waiting.
        store.call_started(at(0));
        store.call_started(at(1));
        store.call_ended(at(3));
        store.call_ended(at(5));
        store.call_started(at(7));
        store.call_ended(at(9));
        assert_eq!(store.calls, 3);
        assert_eq!(store.waited, std::time::Duration::from_millis(7));
        // A call dropped unfinished (10 ms on) counts until the request ends (12 ms).
        store.call_started(at(10));
        store.settle(at(12));
        assert_eq!(store.waited, std::time::Duration::from_millis(9));
    }
}
