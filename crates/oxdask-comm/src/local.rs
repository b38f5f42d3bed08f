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

/// The process at the other end of `stream`, if the kernel says.
pub(crate) fn peer_pid(stream: &UnixStream) -> Option<i32> {
    stream.peer_cred().ok()?.pid()
}

/// Whether this process may read the memory of process `pid`: the call is allowed here (a
/// seccomp filter, as in some containers, may forbid it; tried on our own memory) and the
/// kernel's ptrace access rules let us at `pid` (the same user, no Yama restriction against
/// it; opening its `mem` file asks the same question `process_vm_readv` does).
pub(crate) fn can_read(pid: i32) -> bool {
    // Whether the call is allowed does not change: probed once per process.
    static ALLOWED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let allowed = *ALLOWED.get_or_init(|| {
        let probe = [0x5au8; 16];
        let mut copy = [std::mem::MaybeUninit::<u8>::uninit(); 16];
        // SAFETY: getpid has no preconditions.
        #[allow(unsafe_code)]
        let me = unsafe { libc::getpid() };
        read_into(me, probe.as_ptr() as u64, &mut copy).is_ok_and(|n| n == probe.len())
    });
    allowed && std::fs::File::open(format!("/proc/{pid}/mem")).is_ok()
}

/// Bytes this process copied from other processes' memory (lent buffers).
static BORROWED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Bytes this process has copied straight from other processes' memory: the lent buffers of
/// same-machine peers (see the crate docs).
pub fn borrowed_bytes() -> u64 {
    BORROWED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Copies `len` bytes at `addr` in process `pid` into a new buffer (a recycled one when large).
pub(crate) fn read_from(pid: i32, addr: u64, len: usize) -> std::io::Result<bytes::Bytes> {
    let mut buf = if len >= crate::recycle::RECYCLE_FROM {
        crate::recycle::take(len, len)
    } else {
        Vec::with_capacity(len)
    };
    let mut done = 0;
    while done < len {
        let at = addr.checked_add(done as u64).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a lent buffer past the end of memory",
            )
        })?;
        let n = read_into(pid, at, &mut buf.spare_capacity_mut()[..len - done])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("process {pid} gave no more of a lent buffer ({done} of {len} bytes)"),
            ));
        }
        // SAFETY: the kernel wrote `n` more bytes after the first `done`.
        #[allow(unsafe_code)]
        unsafe {
            buf.set_len(done + n);
        }
        done += n;
    }
    BORROWED.fetch_add(len as u64, std::sync::atomic::Ordering::Relaxed);
    Ok(if len >= crate::recycle::RECYCLE_FROM {
        crate::recycle::into_bytes(buf)
    } else {
        bytes::Bytes::from(buf)
    })
}

/// One `process_vm_readv` into `dst`: how many bytes it copied.
#[allow(unsafe_code)]
fn read_into(pid: i32, addr: u64, dst: &mut [std::mem::MaybeUninit<u8>]) -> std::io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let local = libc::iovec {
            iov_base: dst.as_mut_ptr().cast(),
            iov_len: dst.len(),
        };
        let remote = libc::iovec {
            iov_base: addr as usize as *mut libc::c_void,
            iov_len: dst.len(),
        };
        // SAFETY: `local` is writable memory of ours of `iov_len` bytes; the kernel checks
        // the remote range against the other process's mappings (EFAULT if not mapped).
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        usize::try_from(n).map_err(|_| std::io::Error::last_os_error())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (pid, addr, dst);
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}
