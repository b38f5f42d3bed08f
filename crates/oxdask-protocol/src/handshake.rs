//! The handshake: the first bytes each peer sends, before any frame.
//!
//! ```text
//! offset  0        6          8      9              13
//!         ┌────────┬──────────┬──────┬──────────────┬─────────────────────────────┐
//!         │"OXDASK"│ version  │ role │ hello_len    │ hello (MessagePack map)     │
//!         │6 bytes │ u16 LE   │ u8   │ u32 LE       │ hello_len bytes             │
//!         └────────┴──────────┴──────┴──────────────┴─────────────────────────────┘
//! ```
//!
//! The connecting side sends its handshake at once; the accepting side reads it, checks it
//! (version, role, token) and answers with its own, so each side can report a mismatch naming
//! both versions. A refusing acceptor still answers, with [`Hello::refused`] saying why, then
//! closes: the connecting side can then tell its user, e.g., that the scheduler requires a token. [`Handshake::decode`] is the single entry point for these
//! untrusted bytes: it fails as early as the bytes allow (a wrong first byte fails at once, so an
//! HTTP client or a port scanner is turned away without waiting) and consumes nothing until the
//! whole handshake is present and valid.

use std::fmt;

use bytes::{Buf, BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use crate::error::{ProtocolError, Result};
use crate::message::{decode_message, encode_message_into};
use crate::PROTOCOL_VERSION;

/// The bytes every oxdask stream starts with.
pub const MAGIC: [u8; 6] = *b"OXDASK";

/// Largest accepted serialized [`Hello`], in bytes: a hello is a few short strings.
pub const MAX_HELLO_LEN: u32 = 64 * 1024;

/// Bytes before the hello: magic, version, role, hello length.
const FIXED_LEN: usize = MAGIC.len() + 2 + 1 + 4;
const VERSION_AT: usize = MAGIC.len();
const ROLE_AT: usize = VERSION_AT + 2;
const HELLO_LEN_AT: usize = ROLE_AT + 1;

/// What kind of peer is speaking; decides which messages it may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Role {
    /// Submits graphs and gathers results.
    Client = 1,
    /// Runs tasks and holds data.
    Worker = 2,
    /// Decides what runs where.
    Scheduler = 3,
}

impl Role {
    /// The byte that stands for this role on the wire.
    pub fn to_byte(self) -> u8 {
        self as u8
    }

    /// The role a wire byte stands for.
    pub fn from_byte(byte: u8) -> Result<Self> {
        match byte {
            1 => Ok(Role::Client),
            2 => Ok(Role::Worker),
            3 => Ok(Role::Scheduler),
            _ => Err(ProtocolError::UnknownRole { byte }),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Client => "client",
            Role::Worker => "worker",
            Role::Scheduler => "scheduler",
        })
    }
}

/// The self-description a peer sends in its handshake.
///
/// Compatibility is decided by the protocol version alone; these fields are for logs and
/// authentication. Fields absent on the wire decode as `None`, and unknown fields are ignored,
/// so adding an optional field here is not an incompatible change.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The sending implementation and its version, e.g. `"oxdask 0.1.0"`; informational.
    pub software: String,
    /// A human-readable peer name (a worker's name, as in distributed's `--name`).
    #[serde(default)]
    pub name: Option<String>,
    /// A shared secret the receiver may require before accepting the peer.
    #[serde(default)]
    pub token: Option<String>,
    /// Set only in an accepting side's answer: why it refuses the connection (a missing or
    /// wrong token, a wrong role, TLS required...). The acceptor closes the connection after
    /// sending it; the connecting side reports the reason instead of a bare "connection closed".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

impl Default for Hello {
    /// This implementation, with no name and no token.
    fn default() -> Self {
        Self {
            software: concat!("oxdask ", env!("CARGO_PKG_VERSION")).to_owned(),
            name: None,
            token: None,
            refused: None,
        }
    }
}

impl fmt::Debug for Hello {
    /// Never prints the token, so a hello can be logged safely.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hello")
            .field("software", &self.software)
            .field("name", &self.name)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("refused", &self.refused)
            .finish()
    }
}

/// A decoded handshake. Its protocol version is ours: any other is refused while decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// What kind of peer sent it.
    pub role: Role,
    /// The peer's self-description.
    pub hello: Hello,
}

impl Handshake {
    /// A handshake for a peer of `role`.
    pub fn new(role: Role, hello: Hello) -> Self {
        Self { role, hello }
    }

    /// Appends this handshake, with our [`PROTOCOL_VERSION`], to `dst`. On error (a hello over
    /// [`MAX_HELLO_LEN`]) `dst` is left as it was.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        self.encode_with_version(PROTOCOL_VERSION, dst)
    }

    fn encode_with_version(&self, version: u16, dst: &mut BytesMut) -> Result<()> {
        let start = dst.len();
        dst.put_slice(&MAGIC);
        dst.put_u16_le(version);
        dst.put_u8(self.role.to_byte());
        dst.put_u32_le(0); // patched below, once the hello's length is known
        if let Err(err) = encode_message_into(&self.hello, dst) {
            dst.truncate(start);
            return Err(err);
        }
        let hello_len = dst.len() - start - FIXED_LEN;
        match u32::try_from(hello_len) {
            Ok(len) if len <= MAX_HELLO_LEN => {
                let at = start + HELLO_LEN_AT;
                dst[at..at + 4].copy_from_slice(&len.to_le_bytes());
                Ok(())
            }
            _ => {
                dst.truncate(start);
                Err(ProtocolError::HelloTooLarge {
                    len: crate::frame::as_u64(hello_len),
                    max: MAX_HELLO_LEN.into(),
                })
            }
        }
    }

    /// Takes a complete handshake off the front of `src`.
    ///
    /// Returns `Ok(None)` while more bytes are needed, consuming nothing; fails as soon as the
    /// bytes present are wrong (magic, then version, role and hello length), consuming nothing.
    pub fn decode(src: &mut BytesMut) -> Result<Option<Self>> {
        let seen = src.len().min(MAGIC.len());
        if src[..seen] != MAGIC[..seen] {
            return Err(ProtocolError::NotOxdaskPeer {
                got: src[..seen].to_vec(),
            });
        }
        let Some(&[lo, hi]) = src.get(VERSION_AT..ROLE_AT) else {
            return Ok(None);
        };
        let theirs = u16::from_le_bytes([lo, hi]);
        if theirs != PROTOCOL_VERSION {
            return Err(ProtocolError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs,
            });
        }
        let Some(&role) = src.get(ROLE_AT) else {
            return Ok(None);
        };
        let role = Role::from_byte(role)?;
        let Some(&[a, b, c, d]) = src.get(HELLO_LEN_AT..FIXED_LEN) else {
            return Ok(None);
        };
        let hello_len = u32::from_le_bytes([a, b, c, d]);
        if hello_len > MAX_HELLO_LEN {
            return Err(ProtocolError::HelloTooLarge {
                len: hello_len.into(),
                max: MAX_HELLO_LEN.into(),
            });
        }
        let end = FIXED_LEN + usize::try_from(hello_len).expect("at most MAX_HELLO_LEN");
        let Some(hello) = src.get(FIXED_LEN..end) else {
            return Ok(None);
        };
        let hello = decode_message::<Hello>(hello)?;
        src.advance(end);
        Ok(Some(Self { role, hello }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Handshake {
        Handshake::new(
            Role::Worker,
            Hello {
                name: Some("worker-1".into()),
                token: Some("s3cret".into()),
                ..Hello::default()
            },
        )
    }

    #[test]
    fn round_trip_leaves_following_bytes() {
        let mut src = BytesMut::new();
        sample().encode(&mut src).unwrap();
        assert_eq!(&src[..6], b"OXDASK");
        src.put_slice(b"first frame");
        assert_eq!(Handshake::decode(&mut src).unwrap(), Some(sample()));
        assert_eq!(&src[..], b"first frame");
    }

    #[test]
    fn truncated_byte_by_byte() {
        let mut whole = BytesMut::new();
        sample().encode(&mut whole).unwrap();
        let mut src = BytesMut::new();
        for &byte in whole.iter() {
            assert_eq!(Handshake::decode(&mut src).unwrap(), None);
            src.put_u8(byte);
        }
        assert_eq!(Handshake::decode(&mut src).unwrap(), Some(sample()));
    }

    #[test]
    fn wrong_magic_fails_on_the_first_byte() {
        let mut src = BytesMut::from(&b"G"[..]);
        let err = Handshake::decode(&mut src).unwrap_err();
        assert!(matches!(&err, ProtocolError::NotOxdaskPeer { got } if got == b"G"));
        let mut src = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
        let err = Handshake::decode(&mut src).unwrap_err();
        assert!(err.to_string().starts_with("not an oxdask peer: "), "{err}");
        assert_eq!(src.len(), 16, "nothing is consumed on error");
    }

    #[test]
    fn version_mismatch_names_both_versions() {
        let mut src = BytesMut::new();
        sample()
            .encode_with_version(PROTOCOL_VERSION + 1, &mut src)
            .unwrap();
        src.truncate(ROLE_AT); // the version alone is enough to refuse
        let err = Handshake::decode(&mut src).unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::VersionMismatch { ours, theirs }
                if ours == PROTOCOL_VERSION && theirs == PROTOCOL_VERSION + 1
        ));
    }

    #[test]
    fn unknown_role() {
        let mut src = BytesMut::new();
        sample().encode(&mut src).unwrap();
        src[ROLE_AT] = 0;
        let err = Handshake::decode(&mut src).unwrap_err();
        assert!(matches!(err, ProtocolError::UnknownRole { byte: 0 }));
        for role in [Role::Client, Role::Worker, Role::Scheduler] {
            assert_eq!(Role::from_byte(role.to_byte()).unwrap(), role);
        }
    }

    #[test]
    fn oversized_hello_length_fails_before_it_arrives() {
        let mut src = BytesMut::new();
        sample().encode(&mut src).unwrap();
        src.truncate(FIXED_LEN);
        src[HELLO_LEN_AT..].copy_from_slice(&u32::MAX.to_le_bytes());
        let err = Handshake::decode(&mut src).unwrap_err();
        assert!(matches!(err, ProtocolError::HelloTooLarge { .. }));
    }

    #[test]
    fn oversized_hello_is_not_encoded() {
        let hello = Hello {
            name: Some("n".repeat(MAX_HELLO_LEN as usize)),
            ..Hello::default()
        };
        let mut dst = BytesMut::from(&b"kept"[..]);
        let err = Handshake::new(Role::Client, hello)
            .encode(&mut dst)
            .unwrap_err();
        assert!(matches!(err, ProtocolError::HelloTooLarge { .. }));
        assert_eq!(&dst[..], b"kept");
    }

    #[test]
    fn hello_with_missing_optional_fields_and_unknown_extra_fields() {
        #[derive(Serialize)]
        struct Future<'a> {
            software: &'a str,
            colour: &'a str,
        }
        let mut src = BytesMut::new();
        src.put_slice(&MAGIC);
        src.put_u16_le(PROTOCOL_VERSION);
        src.put_u8(Role::Client.to_byte());
        let body = crate::encode_message(&Future {
            software: "pyoxdask 9",
            colour: "blue",
        })
        .unwrap();
        src.put_u32_le(body.len() as u32);
        src.put_slice(&body);
        let handshake = Handshake::decode(&mut src).unwrap().unwrap();
        assert_eq!(handshake.hello.software, "pyoxdask 9");
        assert_eq!(handshake.hello.name, None);
    }

    #[test]
    fn debug_redacts_the_token() {
        let text = format!("{:?}", sample());
        assert!(
            !text.contains("s3cret") && text.contains("<redacted>"),
            "{text}"
        );
    }
}
