//! Where the engine's log lines go: standard error, at the level `OXDASK_LOG` names.
//!
//! The scheduler and workers log what they refuse or drop (a bad handshake, a malformed frame,
//! a lost peer) with `tracing`; without a subscriber those lines would vanish. Levels: `off`,
//! `error`, `warn` (default), `info`, `debug`, `trace`. Writing happens on the IO threads without
//! the GIL, which is why this does not forward to Python's `logging`.

use tracing::level_filters::LevelFilter;

/// Installs the stderr subscriber once per process (later calls, or another subscriber already
/// installed by an embedding program, leave things as they are).
pub(crate) fn init() {
    let level = match std::env::var("OXDASK_LOG")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "off" => LevelFilter::OFF,
        "error" => LevelFilter::ERROR,
        "info" => LevelFilter::INFO,
        "debug" => LevelFilter::DEBUG,
        "trace" => LevelFilter::TRACE,
        _ => LevelFilter::WARN,
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
