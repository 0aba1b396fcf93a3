//! Catching a handler's panic without giving it a task of its own.
//!
//! A panicking handler must not leave its client waiting forever: the request's
//! task turns the panic into a ServerError answer. Polling the handler inside
//! `catch_unwind` does that at the cost of one allocation, where a second spawned
//! task per request cost a wake-up and a scheduling round.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Resolves to the future's output, or to the panic payload if polling panicked.
pub(super) struct CatchUnwind<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> CatchUnwind<F> {
    pub(super) fn new(future: F) -> Self {
        CatchUnwind {
            inner: Box::pin(future),
        }
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        // The future is dropped right after a panic, never polled again, so the
        // state a panic may have broken is never observed.
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
