//! The scheduler's IO: a tokio server around [`crate::SchedulerState`].
//!
//! ```text
//!   accept ──► handshake (version, role, token) ──► connection task ──┐ Input
//!   accept ──► ...                                                    ├──────► core task ──► Sender (batched frames)
//!   ticker ───────────────────────────────────────────────────────────┤        owns SchedulerState,
//!   HTTP /json/state ── snapshot request ─────────────────────────────┘        turns messages into
//!                                                                              Events, Commands into
//!                                                                              messages
//! ```
//! One core task owns the state: no locks around it. Connection tasks only decode frames and
//! forward them; everything the scheduler decides is in the pure state machine.

mod api;
mod core;
mod dashboard;
mod extension;
mod http;
mod listen;
mod pages;
mod stream;
mod system;
mod translate;

pub use extension::{Extension, SchedulerExtension};
pub use listen::{serve, ServerConfig, ServerHandle};
pub use pages::file as dashboard_asset;
