//! Goal: every backend keeps the `Backend` contract as seen through `Log`.
//! Method: the shared proptest suite in `spool_tests::conformance`, ≥ 10,000
//! generated workloads per backend (RELIABILITY.md R14). A backend joins with
//! one `Subject` impl and one `#[test]` line below.

use std::sync::Arc;

use async_trait::async_trait;
use spool_backends::MemoryBackend;
use spool_engine::{Backend, Capabilities, PayloadRule, Result};
use spool_tests::conformance::{Subject, run};

/// The memory backend, storing any bytes or only JSON lines.
struct Memory(PayloadRule);

#[async_trait]
impl Subject for Memory {
    type Handle = MemoryBackend;

    fn name(&self) -> &'static str {
        match self.0 {
            PayloadRule::JsonLine => "memory (json lines)",
            _ => "memory",
        }
    }

    fn capabilities(&self) -> Capabilities {
        MemoryBackend::with_payload_rule(self.0).capabilities()
    }

    async fn create(&self) -> Result<(MemoryBackend, Arc<dyn Backend>)> {
        let backend = MemoryBackend::with_payload_rule(self.0);
        Ok((backend.clone(), Arc::new(backend)))
    }

    async fn reopen(&self, handle: &MemoryBackend) -> Option<Result<Arc<dyn Backend>>> {
        Some(Ok(Arc::new(handle.reopen())))
    }
}

#[test]
fn memory_backend_conforms() {
    run(&Memory(PayloadRule::Any), 10_000);
}

#[test]
fn memory_backend_with_json_line_payloads_conforms() {
    run(&Memory(PayloadRule::JsonLine), 2_000);
}
