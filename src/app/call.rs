//! The call a unit of work serves, as far as the use cases need to know it: when
//! its caller stops waiting (its deadline, or the moment it leaves), and what
//! the call holds while it or its work lasts (the server's permit, see
//! `src/api/shedding.rs`).
//!
//! The transport sets the call for the handler's future ([`scope`]); every unit
//! of work started inside it ([`super::App`]'s `unit`) checks it before it
//! begins and keeps it until it ends. A unit whose caller left before it began
//! never starts; one that has begun runs to its commit or rollback.

use std::any::Any;
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

/// Why a unit of work did not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandoned {
    /// The caller left (cancelled, or the call ended some other way).
    Cancelled = 0,
    /// The call's deadline (the caller's, or the server's request timeout) passed.
    DeadlineExceeded = 1,
}

impl Abandoned {
    /// The label the metrics give it.
    pub fn as_str(self) -> &'static str {
        match self {
            Abandoned::Cancelled => "cancelled",
            Abandoned::DeadlineExceeded => "deadline_exceeded",
        }
    }
}

/// One call in progress.
pub struct Call {
    deadline: Option<Instant>,
    /// 0 while the caller waits, else why it stopped (`Abandoned` + 1).
    ended: AtomicU8,
    /// The call's `(service, method)` metric labels.
    labels: (&'static str, &'static str),
    /// Whatever must be held while the call or any of its work lasts.
    held: Mutex<Vec<Box<dyn Any + Send>>>,
}

impl Call {
    pub fn new(deadline: Option<Instant>, labels: (&'static str, &'static str)) -> Arc<Call> {
        Arc::new(Call {
            deadline,
            ended: AtomicU8::new(0),
            labels,
            held: Mutex::new(Vec::new()),
        })
    }

    /// Keeps `guard` until the call has ended and every unit of work it started
    /// has finished (the last clone of the call is dropped).
    pub fn hold(&self, guard: impl Any + Send) {
        if let Ok(mut held) = self.held.lock() {
            held.push(Box::new(guard));
        }
    }

    /// The caller has its answer or has gone (`why`; the first reason given
    /// stays): no unit of work starts after this.
    pub fn end(&self, why: Abandoned) {
        let code = why as u8 + 1;
        let _ = self
            .ended
            .compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire);
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn labels(&self) -> (&'static str, &'static str) {
        self.labels
    }

    /// Whether nobody waits for this call's work any more, and why.
    pub fn abandoned(&self) -> Option<Abandoned> {
        match self.ended.load(Ordering::Acquire) {
            1 => Some(Abandoned::Cancelled),
            2 => Some(Abandoned::DeadlineExceeded),
            _ if self.deadline.is_some_and(|d| Instant::now() >= d) => {
                Some(Abandoned::DeadlineExceeded)
            }
            _ => None,
        }
    }
}

tokio::task_local! {
    static CURRENT: Arc<Call>;
}

/// Runs `work` as part of `call`: the units of work it starts check and hold it.
pub async fn scope<F: Future>(call: Arc<Call>, work: F) -> F::Output {
    CURRENT.scope(call, work).await
}

/// The call the running code serves, if any (none in tools and tests that call
/// the use cases directly).
pub fn current() -> Option<Arc<Call>> {
    CURRENT.try_with(Arc::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_is_abandoned_once_ended_or_past_its_deadline() {
        let call = Call::new(None, ("s", "m"));
        assert_eq!(call.abandoned(), None);
        call.end(Abandoned::Cancelled);
        call.end(Abandoned::DeadlineExceeded);
        assert_eq!(
            call.abandoned(),
            Some(Abandoned::Cancelled),
            "the first reason stays"
        );
        let past = Call::new(Some(Instant::now()), ("s", "m"));
        assert_eq!(past.abandoned(), Some(Abandoned::DeadlineExceeded));
        assert!(current().is_none());
        let seen = scope(call.clone(), async { current().map(|c| c.labels()) }).await;
        assert_eq!(seen, Some(("s", "m")));
    }

    #[tokio::test]
    async fn what_a_call_holds_goes_with_its_last_clone() {
        let permits = Arc::new(tokio::sync::Semaphore::new(1));
        let call = Call::new(None, ("s", "m"));
        call.hold(permits.clone().try_acquire_owned().unwrap());
        let work = call.clone();
        drop(call);
        assert_eq!(permits.available_permits(), 0, "the work still holds it");
        drop(work);
        assert_eq!(permits.available_permits(), 1);
    }
}
