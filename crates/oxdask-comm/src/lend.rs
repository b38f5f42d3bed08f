//! Lent buffers: one copy between processes of one machine instead of two.
//!
//! Through a socket, a large buffer is copied twice: into the kernel by the sender, out of it
//! by the receiver. On a connection over the same-machine Unix socket ([`crate::local`]), when
//! the receiver may read the sender's memory (it runs as the same user, and the kernel's
//! ptrace rules allow it), it says so once, and the sender then *lends* each buffer of at least
//! [`LEND_FROM`] bytes: the frame carries the buffer's address instead of its bytes
//! (`oxdask_protocol::LENT`) and the sender keeps the buffer alive; the receiver copies it
//! straight from the sender's memory (`process_vm_readv`, at memory speed) into a buffer of its
//! own, then tells the sender it is done with that frame.
//!
//! ```text
//!  receiver                              sender
//!   ReadsLent ───────────────────────────►  (lends from now on)
//!             ◄─────────────────────────── frame: header, payload, address of buffer 3
//!   copy buffer 3 from the sender
//!   Done(1) ─────────────────────────────►  lets go of that frame's buffers
//! ```
//!
//! Both messages are control frames the transport reads and writes itself: a payload that
//! starts with [`CONTROL`], a byte MessagePack never uses, so no message is mistaken for one.
//! A frame with lent buffers from a peer that was not offered them is a protocol error.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::Mutex;

/// Buffers of at least this many bytes are lent, once the peer reads lent buffers.
pub(crate) const LEND_FROM: usize = 1 << 20;

/// First payload byte of a control frame (never used by MessagePack).
const CONTROL: u8 = 0xc1;

/// What a control frame says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Control {
    /// The sender of this may lend buffers to it.
    ReadsLent,
    /// The sender of this has copied the buffers of the oldest `n` frames it was lent.
    Done(u32),
}

impl Control {
    /// The whole frame (header and payload) carrying this.
    pub(crate) fn frame(self) -> Bytes {
        let mut payload = vec![CONTROL];
        match self {
            Control::ReadsLent => payload.push(1),
            Control::Done(n) => {
                payload.push(2);
                payload.extend_from_slice(&n.to_le_bytes());
            }
        }
        let mut out = BytesMut::with_capacity(oxdask_protocol::header_len(0) + payload.len());
        oxdask_protocol::encode_header(payload.len(), &[], &mut out)
            .expect("a few bytes and no buffers fit any header");
        out.put_slice(&payload);
        out.freeze()
    }

    /// The control message a frame's payload carries: `None` for an ordinary frame, an error
    /// for a malformed control frame.
    pub(crate) fn parse(payload: &[u8]) -> Option<Result<Self, String>> {
        let (&first, rest) = payload.split_first()?;
        if first != CONTROL {
            return None;
        }
        Some(match rest {
            [1] => Ok(Control::ReadsLent),
            [2, n @ ..] if n.len() == 4 => Ok(Control::Done(u32::from_le_bytes(
                n.try_into().expect("four bytes"),
            ))),
            _ => Err(format!("malformed control frame {payload:?}")),
        })
    }
}

/// One end of a same-machine connection: what it lent, and whether it may lend.
#[derive(Debug)]
pub(crate) struct Lending {
    /// The process at the other end.
    pub(crate) peer: i32,
    /// The peer reads lent buffers.
    may_lend: AtomicBool,
    /// Buffers lent, per frame that lent any, oldest first, until the peer is done with them.
    lent: Mutex<VecDeque<Vec<Bytes>>>,
}

impl Lending {
    pub(crate) fn new(peer: i32) -> Self {
        Self {
            peer,
            may_lend: AtomicBool::new(false),
            lent: Mutex::new(VecDeque::new()),
        }
    }

    /// Whether frames written now may lend their large buffers.
    pub(crate) fn may_lend(&self) -> bool {
        self.may_lend.load(Ordering::Acquire)
    }

    /// Keeps a frame's lent buffers until the peer is done with them (before the frame is
    /// written, so that its `Done` always finds them).
    pub(crate) fn keep(&self, buffers: Vec<Bytes>) {
        if !buffers.is_empty() {
            self.lent.lock().push_back(buffers);
        }
    }

    /// Applies a control frame from the peer; an error if it makes no sense.
    pub(crate) fn apply(&self, control: Control) -> Result<(), String> {
        match control {
            Control::ReadsLent => self.may_lend.store(true, Ordering::Release),
            Control::Done(n) => {
                let released: Vec<_> = {
                    let mut lent = self.lent.lock();
                    let n = usize::try_from(n).unwrap_or(usize::MAX);
                    if n > lent.len() {
                        return Err(format!(
                            "the peer is done with {n} lent frames, but {} are lent",
                            lent.len()
                        ));
                    }
                    lent.drain(..n).collect()
                };
                drop(released); // outside the lock: a Python buffer's release may take a while
            }
        }
        Ok(())
    }

    /// Bytes lent and not yet given back (for tests and diagnostics).
    pub(crate) fn lent_bytes(&self) -> usize {
        self.lent.lock().iter().flatten().map(Bytes::len).sum()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn control_frames_round_trip_and_differ_from_messages() {
        for c in [Control::ReadsLent, Control::Done(7)] {
            let frame = c.frame();
            let payload = &frame[oxdask_protocol::header_len(0)..];
            assert_eq!(Control::parse(payload), Some(Ok(c)));
        }
        let mut batch = oxdask_protocol::Batch::new();
        batch.push(&("msg", 1)).unwrap();
        let frame = batch.into_frame().unwrap();
        assert_eq!(Control::parse(&frame.payload), None);
        assert!(matches!(Control::parse(&[CONTROL, 9]), Some(Err(_))));
    }

    #[test]
    fn done_releases_the_oldest_lent_frames_and_no_more() {
        let lending = Lending::new(1);
        assert!(!lending.may_lend());
        lending.apply(Control::ReadsLent).unwrap();
        assert!(lending.may_lend());
        lending.keep(vec![Bytes::from(vec![0u8; 10])]);
        lending.keep(Vec::new()); // a frame that lent nothing is not kept
        lending.keep(vec![Bytes::from(vec![0u8; 5]), Bytes::from(vec![0u8; 1])]);
        assert_eq!(lending.lent_bytes(), 16);
        lending.apply(Control::Done(1)).unwrap();
        assert_eq!(lending.lent_bytes(), 6);
        assert!(lending.apply(Control::Done(2)).is_err());
        lending.apply(Control::Done(1)).unwrap();
        assert_eq!(lending.lent_bytes(), 0);
    }
}
