//! The one way behavioural code runs blocking work (disk I/O, engine calls
//! that take locks) from async code.
//!
//! Normally the work goes to tokio's blocking pool, so it never stalls the
//! async workers. A deterministic simulation runs a whole cluster on one
//! thread under paused time; there the blocking pool would finish work in an
//! order no seed decides, and awaiting a real thread lets tokio's paused clock
//! leap to the next timer while the runtime looks idle. A thread in *inline
//! mode* ([`set_inline`]) therefore runs the work right where it is awaited,
//! on the calling thread, before the future completes.
//!
//! Inline mode is per thread, so a simulation turns it on for its own thread
//! only and production threads are never affected. It is read when the
//! future returned by [`run`] is first polled: on a `current_thread` runtime
//! that is the thread that set it.

use std::any::Any;
use std::cell::Cell;
use std::panic::AssertUnwindSafe;

thread_local! {
    /// Whether this thread runs blocking work inline; off unless a
    /// simulation turns it on.
    static INLINE: Cell<bool> = const { Cell::new(false) };
}

/// The work panicked (or the blocking pool refused it).
#[derive(Debug, thiserror::Error)]
#[error("blocking work panicked: {0}")]
pub struct Panicked(pub String);

/// Runs blocking work: on tokio's blocking pool normally; inline on the calling
/// thread when this thread is in inline mode (simulation).
///
/// Outside inline mode it must be polled inside a tokio runtime, as
/// `spawn_blocking` must be called in one. A panic of the work is caught in
/// both modes and returned as [`Panicked`]; so is the pool refusing the work
/// (the runtime shutting down).
pub async fn run<F, R>(work: F) -> Result<R, Panicked>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    if is_inline() {
        // The work is a closure we own and drop right after; a panic leaves
        // nothing of it behind for anyone to observe half-updated, beyond what
        // a panicking pool thread would leave.
        return std::panic::catch_unwind(AssertUnwindSafe(work))
            .map_err(|payload| Panicked(panic_message(payload.as_ref())));
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "the seam itself: everything else reaches the blocking pool through here"
    )]
    let handle = tokio::task::spawn_blocking(work);
    handle.await.map_err(|e| match e.try_into_panic() {
        Ok(payload) => Panicked(panic_message(payload.as_ref())),
        // Cancelled: the runtime is shutting down and refused the work.
        Err(e) => Panicked(e.to_string()),
    })
}

/// Switches inline mode on or off for the current thread (thread-local).
pub fn set_inline(on: bool) {
    INLINE.with(|inline| inline.set(on));
}

/// Whether the current thread is in inline mode.
pub fn is_inline() -> bool {
    INLINE.with(Cell::get)
}

/// The text a panic carried, when it carried text (`panic!` with a literal
/// or a format string does).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread::ThreadId;

    /// Turns inline mode on for the test's thread and off again, even when
    /// the test fails, so no other test on a reused thread inherits it.
    struct Inline;

    impl Inline {
        fn on() -> Inline {
            set_inline(true);
            Inline
        }
    }

    impl Drop for Inline {
        fn drop(&mut self) {
            set_inline(false);
        }
    }

    fn here() -> ThreadId {
        std::thread::current().id()
    }

    #[test]
    fn inline_mode_is_per_thread() {
        let _inline = Inline::on();
        assert!(is_inline());
        let other = std::thread::spawn(is_inline).join().unwrap();
        assert!(!other);
        set_inline(false);
        assert!(!is_inline());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn normally_the_work_runs_on_another_thread() {
        assert!(!is_inline());
        let caller = here();
        let ran_on = run(here).await.unwrap();
        assert_ne!(ran_on, caller);
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn inline_the_work_runs_on_the_caller_without_time_passing() {
        let _inline = Inline::on();
        let (caller, start) = (here(), tokio::time::Instant::now());
        // A timer pending elsewhere: had the runtime gone idle waiting for
        // the work, paused time would have jumped to it.
        let _timer = tokio::spawn(tokio::time::sleep(std::time::Duration::from_secs(60)));
        let ran_on = run(here).await.unwrap();
        assert_eq!(ran_on, caller);
        assert_eq!(tokio::time::Instant::now(), start);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_panic_is_caught_in_both_modes() {
        let err = run(|| -> () { panic!("on the pool") }).await.unwrap_err();
        assert_eq!(err.0, "on the pool");
        let _inline = Inline::on();
        let err = run(|| -> u8 { panic!("inline {}", 7) }).await.unwrap_err();
        assert_eq!(err.0, "inline 7");
        assert_eq!(err.to_string(), "blocking work panicked: inline 7");
        // The thread goes on after a caught panic.
        assert_eq!(run(|| 3).await.unwrap(), 3);
    }
}
