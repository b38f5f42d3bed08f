//! The same-machine shortcut: a Unix socket beside a TCP listener.
//!
//! Loopback TCP carries about half of what a Unix socket carries on the same machine (every
//! byte goes through the TCP/IP stack twice). A listener that wants the shortcut (a worker's
//! data server: the large values move there) also binds an abstract Unix socket named after
//! its TCP address ([`bind`]); [`crate::connect`] to a plain `tcp://` address tries that name
//! first and falls back to TCP when nothing listens there. The oxdask handshake (versions,
//! roles, token) runs on it unchanged; TLS addresses never take the shortcut.
//!
//! Abstract names belong to the network namespace, as the loopback address does, so the name
//! reaches the same machine's listener that the TCP address would. Both ends check that the
//! other runs as the same user (`SO_PEERCRED`): another user who took the name first cannot
//! catch a connector's token, nor connect without one through it.

use tokio::net::{UnixListener, UnixStream};

/// The abstract socket name for a listener whose TCP address is `target` (`host:port`).
fn name(target: &str) -> String {
    format!("oxdask/{target}")
}

/// Binds the Unix socket for the listener at `tcp_address` (`tcp://host:port`), or `None`
/// (not on Linux, a TLS address, or the name is taken).
pub fn bind(tcp_address: &str) -> Option<UnixListener> {
    let target = tcp_address.strip_prefix("tcp://")?;
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name(target)).ok()?;
        let listener = std::os::unix::net::UnixListener::bind_addr(&addr)
            .map_err(|e| tracing::debug!(error = %e, "no same-machine socket for {target}"))
            .ok()?;
        listener.set_nonblocking(true).ok()?;
        UnixListener::from_std(listener).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = target;
        None
    }
}

/// Whether connectors take the shortcut: yes unless `OXDASK_LOCAL_SOCKETS=0`.
fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("OXDASK_LOCAL_SOCKETS").map_or(true, |v| v.trim() != "0"))
}

/// A connection to the Unix socket of the listener at `target` (`host:port`), if one of this
/// user's listeners is there.
pub(crate) fn connect(target: &str) -> Option<UnixStream> {
    if !enabled() {
        return None;
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name(target)).ok()?;
        // Connecting to a Unix socket completes or fails at once: no need to wait on it.
        let stream = std::os::unix::net::UnixStream::connect_addr(&addr).ok()?;
        stream.set_nonblocking(true).ok()?;
        let stream = UnixStream::from_std(stream).ok()?;
        same_user(&stream).then_some(stream)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = target;
        None
    }
}

/// Whether the process at the other end of `stream` runs as this process's user.
pub(crate) fn same_user(stream: &UnixStream) -> bool {
    // SAFETY: getuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    let uid = unsafe { libc::getuid() };
    stream.peer_cred().is_ok_and(|cred| cred.uid() == uid)
}
