//! Connections inside one process.
//!
//! A listener whose peers may live in its own process (the scheduler of a `LocalCluster`, with
//! the client beside it) registers its TCP address here ([`bind`]); [`crate::connect`] to that
//! address from the same process then gets an in-memory pipe instead of a socket, so a message
//! between the two costs a copy into the pipe and a task wake-up, not the system calls and
//! readiness events of a socket. The handshake (versions, roles, token) runs on it unchanged;
//! TLS addresses are never registered.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

use parking_lot::Mutex;
use tokio::io::DuplexStream;
use tokio::sync::mpsc;

/// Bytes a pipe buffers each way before its writer waits for the reader.
const PIPE: usize = 4 << 20;

type Registry = HashMap<String, (u64, mpsc::UnboundedSender<DuplexStream>)>;

static LISTENERS: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT: AtomicU64 = AtomicU64::new(1);

/// The in-process side of a listener: the pipes opened to it. Unregisters when dropped.
#[derive(Debug)]
pub struct InprocListener {
    target: String,
    id: u64,
    rx: mpsc::UnboundedReceiver<DuplexStream>,
}

impl InprocListener {
    /// The next pipe opened to this listener (never `None` while it is registered).
    pub async fn accept(&mut self) -> Option<DuplexStream> {
        self.rx.recv().await
    }
}

impl Drop for InprocListener {
    fn drop(&mut self) {
        let mut listeners = LISTENERS.lock();
        if listeners
            .get(&self.target)
            .is_some_and(|(id, _)| *id == self.id)
        {
            listeners.remove(&self.target);
        }
    }
}

/// Registers the listener at `tcp_address` (`tcp://host:port`) for connections from this
/// process; `None` for other schemes or an address already registered.
pub fn bind(tcp_address: &str) -> Option<InprocListener> {
    let target = tcp_address.strip_prefix("tcp://")?.to_owned();
    let mut listeners = LISTENERS.lock();
    if listeners.contains_key(&target) {
        return None;
    }
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::unbounded_channel();
    listeners.insert(target.clone(), (id, tx));
    Some(InprocListener { target, id, rx })
}

/// A pipe to the listener of this process at `target` (`host:port`), if there is one.
pub(crate) fn connect(target: &str) -> Option<DuplexStream> {
    let tx = LISTENERS.lock().get(target).map(|(_, tx)| tx.clone())?;
    let (ours, theirs) = tokio::io::duplex(PIPE);
    tx.send(theirs).ok()?;
    Some(ours)
}
