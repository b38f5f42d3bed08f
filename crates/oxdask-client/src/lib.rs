//! oxdask's distributed client, without Python: the connection to a scheduler, the reports
//! it sends about keys, requests and their replies, and data to and from workers.
//!
//! A reader task sorts what the scheduler sends: key reports go to an [`Inbox`] that the
//! embedding program drains ([`Client::take_events`]), replies to requests go to the waiting
//! caller. Data moves between the client and workers directly ([`Client::get_data`],
//! [`Client::put_data`]) through the same [`oxdask_comm::PeerPool`] workers use, never
//! through the scheduler.
//!
//! Every method blocks the calling thread (never a runtime thread) and honours its timeout;
//! networking runs on the tokio runtime given to [`Client::connect`]. Errors are
//! [`ClientError`]s; task failures arrive structured ([`oxdask_protocol::messages::Failure`]).
#![warn(missing_docs)]

mod client;
mod error;
mod inbox;

pub use client::{Client, Request};
pub use error::ClientError;
pub use inbox::{Inbox, KeyEvent, BATCH};
pub use oxdask_comm::DataReply;
