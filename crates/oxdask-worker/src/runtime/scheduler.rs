//! The connection to the scheduler: registering, then reading its messages.

use bytes::Bytes;
use oxdask_comm::{connect, FrameReader, Sender};
use oxdask_protocol::messages::{SchedulerToWorker, WorkerInfo, WorkerToScheduler};
use oxdask_protocol::{decode_batch, Role};
use tokio::sync::mpsc;

use super::WorkerConfig;
use crate::{Result, WorkerError};

/// Messages of one frame, with the frame's buffers they refer to.
pub(crate) struct Received {
    pub(crate) messages: Vec<SchedulerToWorker>,
    pub(crate) buffers: Vec<Bytes>,
}

/// What the scheduler reader reports to the state owner.
pub(crate) enum FromScheduler {
    Frame(Received),
    /// The connection ended; why.
    Lost(String),
    /// A frame did not decode.
    Invalid(oxdask_protocol::ProtocolError),
}

/// Connects, registers, and waits for `Welcome`. Returns the connection and whatever the
/// scheduler sent in the same frame after `Welcome`.
pub(crate) async fn register(
    config: &WorkerConfig,
    address: &str,
) -> Result<(FrameReader, Sender, Received)> {
    let scheduler = config.scheduler.clone();
    let timeout = config.connect_timeout;
    let timed_out = || WorkerError::Timeout {
        address: scheduler.clone(),
        after: timeout,
    };
    let connecting = connect(
        &scheduler,
        Role::Worker,
        config.hello(),
        Role::Scheduler,
        config.tls.as_ref(),
    );
    let conn = tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| timed_out())?
        .map_err(|source| WorkerError::Connect {
            address: scheduler.clone(),
            source,
        })?;
    let (mut reader, sender) = conn.split();
    sender.send(WorkerToScheduler::Register(WorkerInfo {
        address: address.to_owned(),
        name: config.name.clone().unwrap_or_else(|| address.to_owned()),
        nthreads: config.nthreads,
        memory_limit: config.memory_limit,
        resources: config.resources.clone(),
        pid: std::process::id(),
        // Set by the nanny for the processes it starts.
        nanny: std::env::var_os("OXDASK_NANNY").is_some(),
    }));
    let frame = tokio::time::timeout(timeout, reader.next())
        .await
        .map_err(|_| timed_out())?
        .map_err(|source| WorkerError::Connect {
            address: scheduler.clone(),
            source,
        })?
        .ok_or_else(|| WorkerError::Rejected {
            address: scheduler.clone(),
            reason: "it closed the connection".to_owned(),
        })?;
    let mut messages = decode_batch::<SchedulerToWorker>(&frame.payload).map_err(|source| {
        WorkerError::Protocol {
            address: scheduler.clone(),
            source,
        }
    })?;
    match messages.first() {
        Some(SchedulerToWorker::Welcome { worker_id }) => {
            tracing::info!(%address, %scheduler, worker_id, "registered with the scheduler");
        }
        Some(SchedulerToWorker::Close { reason }) => {
            return Err(WorkerError::Rejected {
                address: scheduler,
                reason: format!("it closed the connection ({reason})"),
            })
        }
        Some(other) => {
            return Err(WorkerError::Rejected {
                address: scheduler,
                reason: format!("it sent {} before Welcome", message_name(other)),
            })
        }
        None => {
            return Err(WorkerError::Rejected {
                address: scheduler,
                reason: "it sent an empty frame instead of Welcome".to_owned(),
            })
        }
    }
    messages.remove(0);
    let rest = Received {
        messages,
        buffers: frame.buffers,
    };
    Ok((reader, sender, rest))
}

/// Forwards the scheduler's frames until the connection ends.
pub(crate) async fn read_scheduler(
    mut reader: FrameReader,
    tx: mpsc::UnboundedSender<FromScheduler>,
) {
    loop {
        let report = match reader.next().await {
            Ok(Some(frame)) => match decode_batch::<SchedulerToWorker>(&frame.payload) {
                Ok(messages) => FromScheduler::Frame(Received {
                    messages,
                    buffers: frame.buffers,
                }),
                Err(e) => FromScheduler::Invalid(e),
            },
            Ok(None) => FromScheduler::Lost("the scheduler closed the connection".to_owned()),
            Err(e) => FromScheduler::Lost(e.to_string()),
        };
        let last = !matches!(report, FromScheduler::Frame(_));
        if tx.send(report).is_err() || last {
            return;
        }
    }
}

/// A message's kind, for errors and logs.
pub(crate) fn message_name(msg: &SchedulerToWorker) -> &'static str {
    match msg {
        SchedulerToWorker::Welcome { .. } => "Welcome",
        SchedulerToWorker::Functions { .. } => "Functions",
        SchedulerToWorker::Compute(_) => "Compute",
        SchedulerToWorker::Free { .. } => "Free",
        SchedulerToWorker::Steal { .. } => "Steal",
        SchedulerToWorker::Replicate { .. } => "Replicate",
        SchedulerToWorker::Run { .. } => "Run",
        SchedulerToWorker::Close { .. } => "Close",
    }
}
