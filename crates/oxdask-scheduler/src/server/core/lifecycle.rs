//! The core's part in lifecycles beyond the state machine: clients leaving, their calls to
//! the scheduler's extension, and nannies reporting why their worker died.

use std::time::Instant;

use bytes::Bytes;
use oxdask_protocol::messages::{BufIx, SchedulerToClient};

use super::{Core, NANNY_GRACE};
use crate::{ClientId, EventKind, LeaveReason};

impl Core {
    pub(super) fn client_left(&mut self, client: ClientId) {
        if self.clients.remove(&client).is_none() {
            return;
        }
        self.event(EventKind::ClientDisconnected { client });
        if let Some(ext) = &self.extension {
            let ext = ext.0.clone();
            tokio::task::spawn_blocking(move || ext.client_left(client.0));
        }
    }

    /// Runs a client's call on the blocking pool; the answer goes straight to the client.
    pub(super) fn call(&mut self, client: ClientId, id: u64, call: Option<Bytes>) {
        let Some(sender) = self.clients.get(&client).cloned() else {
            return;
        };
        let reply = move |result: Bytes, ok: bool| {
            sender.send_buffers(vec![result], move |ix| SchedulerToClient::CallResult {
                id,
                result: BufIx(ix),
                ok,
            });
        };
        match (call, &self.extension) {
            (Some(call), Some(ext)) => {
                let ext = ext.0.clone();
                tokio::spawn(async move {
                    let done = tokio::task::spawn_blocking(move || ext.call(client.0, call)).await;
                    let (result, ok) = done.unwrap_or_else(|_| (Bytes::new(), false));
                    reply(result, ok);
                });
            }
            _ => reply(Bytes::new(), false),
        }
    }

    /// Removes the dying workers whose nanny did not report within [`NANNY_GRACE`] (all of
    /// them with `all`).
    pub(super) fn bury_dying(&mut self, all: bool) {
        let now = Instant::now();
        let late: Vec<u32> = self
            .dying
            .iter()
            .filter(|(_, (_, since))| all || now.duration_since(*since) >= NANNY_GRACE)
            .map(|(&pid, _)| pid)
            .collect();
        for pid in late {
            if let Some((worker, _)) = self.dying.remove(&pid) {
                let reason = LeaveReason::Died;
                self.event(EventKind::WorkerLeft { worker, reason });
            }
        }
    }

    /// A nanny reports why its worker process died.
    pub(super) fn worker_died(&mut self, pid: u32, reason: String) {
        if let Some((worker, _)) = self.dying.remove(&pid) {
            self.event(EventKind::WorkerClosing { worker, reason });
            let reason = LeaveReason::Died;
            self.event(EventKind::WorkerLeft { worker, reason });
            return;
        }
        // The report overtook the connection's end.
        let found = self
            .workers
            .iter_mut()
            .find(|(_, w)| w.pid == pid && w.nanny);
        if let Some((&worker, w)) = found {
            w.cause_known = true;
            self.event(EventKind::WorkerClosing { worker, reason });
        }
    }

    /// Hands the recorded task transitions to the extension's scheduler plugins, in order,
    /// on a thread of their own (whether they are recorded is set per event, in `event`).
    pub(super) fn feed_transitions(&mut self) {
        let Some(ext) = &self.extension else { return };
        let batch = self.state.take_transitions();
        if batch.is_empty() {
            return;
        }
        let ext = ext.0.clone();
        let tx = self.transitions_tx.get_or_insert_with(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Vec<crate::Transition>>();
            let spawned = std::thread::Builder::new()
                .name("oxdask-plugins".into())
                .spawn(move || {
                    for batch in rx {
                        ext.transitions(batch);
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start the plugins' thread");
            }
            tx
        });
        let _ = tx.send(batch);
    }
}
