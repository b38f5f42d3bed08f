//! A feed of every task transition, for scheduler plugins (`SchedulerPlugin.transition`):
//! recorded only while someone watches, taken in batches by the IO layer.

use oxdask_graph::Key;

use super::{SchedulerState, StimulusId};

/// One transition of one task: `start -> finish` (Dask's state names; a task the scheduler
/// drops ends in `"forgotten"`), caused by `stimulus`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The task.
    pub key: Key,
    /// The state it left.
    pub start: &'static str,
    /// The state it entered.
    pub finish: &'static str,
    /// The event that caused it.
    pub stimulus: StimulusId,
}

impl SchedulerState {
    /// Starts (`true`) or stops recording transitions; stopping drops those not taken.
    pub fn watch_transitions(&mut self, on: bool) {
        match (on, self.watch.is_some()) {
            (true, false) => self.watch = Some(Vec::new()),
            (false, true) => self.watch = None,
            _ => {}
        }
    }

    /// The transitions recorded since the last call, oldest first.
    pub fn take_transitions(&mut self) -> Vec<Transition> {
        self.watch.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// How many transitions wait to be taken.
    #[must_use]
    pub fn transitions_pending(&self) -> usize {
        self.watch.as_ref().map_or(0, Vec::len)
    }

    /// Whether transitions are recorded (callers check before cloning a key for
    /// [`Self::record_transition`]).
    pub(crate) fn watching(&self) -> bool {
        self.watch.is_some()
    }

    pub(crate) fn record_transition(
        &mut self,
        key: Key,
        start: &'static str,
        finish: &'static str,
    ) {
        let stimulus = self.stimulus;
        if let Some(watch) = &mut self.watch {
            watch.push(Transition {
                key,
                start,
                finish,
                stimulus,
            });
        }
    }
}
