//! The node's side of [`NodeControl`]: `nodetool drain` stops the CQL server
//! and flushes every memtable, leaving the process up (as Cassandra does) until
//! it is stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cql_lite::server::Server;
use storage::Engine;

use crate::admin::{BoxFuture, NodeControl};

/// Owns the CQL server so that either a drain or the node's shutdown can stop it.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    server: tokio::sync::Mutex<Option<Server>>,
    engine: Arc<Engine>,
    serving: AtomicBool,
}

impl Lifecycle {
    pub(crate) fn new(server: Option<Server>, engine: Arc<Engine>) -> Self {
        Lifecycle {
            serving: AtomicBool::new(server.is_some()),
            server: tokio::sync::Mutex::new(server),
            engine,
        }
    }

    /// Stops the CQL server (finishing requests in flight) if it still runs.
    pub(crate) async fn stop_serving(&self) {
        let server = self.server.lock().await.take();
        self.serving.store(false, Ordering::Release);
        if let Some(server) = server {
            server.shutdown().await;
        }
    }
}

impl NodeControl for Lifecycle {
    fn drain(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.stop_serving().await;
            let engine = Arc::clone(&self.engine);
            ::cluster::blocking::run(move || engine.flush_all())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            tracing::info!("drained: not serving clients, memtables flushed");
            Ok(())
        })
    }

    fn native_transport_active(&self) -> bool {
        self.serving.load(Ordering::Acquire)
    }

    fn gossip_active(&self) -> bool {
        // No gossip runs on a single node; the cluster layer reports its own.
        false
    }
}
