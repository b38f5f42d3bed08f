//! The core's part in active memory management: `Client.rebalance` and `Client.amm` (the
//! active memory manager, run on the scheduler's ticks once its interval passed).

use std::time::{Duration, Instant};

use oxdask_protocol::messages::{MemoryOp, SchedulerToClient};

use super::Core;
use crate::{ClientId, EventKind};

/// When the active memory manager runs: every `interval`, last at `last`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Amm {
    pub interval: Duration,
    pub last: Instant,
}

impl Core {
    pub(super) fn memory(&mut self, client: ClientId, id: u64, op: MemoryOp) {
        match op {
            MemoryOp::Rebalance { keys, workers } => {
                let workers = workers.map(|ws| {
                    ws.iter()
                        .filter_map(|a| self.by_address.get(a).copied())
                        .collect()
                });
                self.event(EventKind::RebalanceRequested { keys, workers });
            }
            MemoryOp::RunOnce => self.event(EventKind::ReduceReplicasRequested),
            MemoryOp::Start { interval_ms } => {
                self.amm = Some(Amm {
                    interval: Duration::from_millis(interval_ms.max(1)),
                    last: Instant::now(),
                });
            }
            MemoryOp::Stop => self.amm = None,
            MemoryOp::Status => {}
        }
        let json = serde_json::json!({
            "pending": self.state.moves_pending(),
            "amm": self.amm.is_some(),
        })
        .to_string();
        self.to_client(client, SchedulerToClient::Info { id, json });
    }

    /// On a tick: one pass of the active memory manager if it runs and its interval passed.
    pub(super) fn amm_tick(&mut self) {
        let Some(amm) = &mut self.amm else { return };
        if amm.last.elapsed() >= amm.interval {
            amm.last = Instant::now();
            self.event(EventKind::ReduceReplicasRequested);
        }
    }
}
