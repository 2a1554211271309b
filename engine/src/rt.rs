//! The two runtime calls the engine makes (spawn a task, yield to the
//! scheduler), in one place so that under `--cfg spool_shuttle` they go to
//! shuttle's scheduler, which then explores the interleavings of the
//! log's writer protocol (RELIABILITY.md R9 (b)). Everything else the
//! writer uses (tokio's channels) works under any executor.

use std::future::Future;

/// Spawns `task` on the runtime (tokio's, or shuttle's in R9 (b)).
pub(crate) fn spawn<F: Future<Output = ()> + Send + 'static>(task: F) {
    #[cfg(spool_shuttle)]
    shuttle::future::spawn(task);
    #[cfg(not(spool_shuttle))]
    tokio::spawn(task);
}

/// Lets the other tasks run once.
pub(crate) async fn yield_now() {
    #[cfg(spool_shuttle)]
    shuttle::future::yield_now().await;
    #[cfg(not(spool_shuttle))]
    tokio::task::yield_now().await;
}
