//! Errors of the scheduler crate's own API (task failures are data: see [`crate::TaskError`]).

/// What can be wrong when setting up a scheduler.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SchedulerError {
    /// A configuration value is out of its valid range.
    #[error("config field {field} is {value}, expected {expected}")]
    InvalidConfig {
        /// The field's name in [`crate::SchedulerConfig`].
        field: &'static str,
        /// The offending value, displayed.
        value: String,
        /// What a valid value looks like.
        expected: &'static str,
    },
}

/// Result type of this crate.
pub type Result<T, E = SchedulerError> = std::result::Result<T, E>;
