//! Learned task durations, per function name.
//!
//! Like Dask's task prefixes, tasks are grouped by `func_name` (usually the key prefix such as
//! `inc` or `read-parquet`), and each group keeps an exponential moving average of measured
//! run times with weight 1/2 on the newest sample. A name never timed is expected to take
//! [`crate::SchedulerConfig::unknown_task_duration`]. Occupancy and stealing use these.

use std::collections::HashMap;
use std::sync::Arc;

use super::Time;

/// Interned function name.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct FuncId(u32);

#[derive(Debug, Default)]
pub(crate) struct Durations {
    ids: HashMap<Box<str>, FuncId>,
    names: Vec<Box<str>>,
    /// Average in microseconds, `None` until the first sample.
    average: Vec<Option<u64>>,
    /// Interned result type names: one allocation per distinct type, not per task.
    type_names: HashMap<Box<str>, Arc<str>>,
}

impl Durations {
    pub(crate) fn intern(&mut self, name: &str) -> FuncId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = FuncId(u32::try_from(self.names.len()).expect("fewer than 2^32 names"));
        self.ids.insert(name.into(), id);
        self.names.push(name.into());
        self.average.push(None);
        id
    }

    pub(crate) fn name(&self, id: FuncId) -> &str {
        &self.names[id.0 as usize]
    }

    /// Folds a measured duration into the average.
    pub(crate) fn record(&mut self, id: FuncId, duration: Time) {
        let slot = &mut self.average[id.0 as usize];
        let sample = duration.as_micros();
        *slot = Some(match *slot {
            None => sample,
            // Average of two u64 without overflow.
            Some(old) => old / 2 + sample / 2 + (old % 2 + sample % 2) / 2,
        });
    }

    /// The learned average, if any sample was recorded.
    pub(crate) fn learned(&self, id: FuncId) -> Option<Time> {
        self.average[id.0 as usize].map(Time)
    }

    /// Expected run time in microseconds.
    pub(crate) fn expected(&self, id: FuncId, unknown: Time) -> u64 {
        self.average[id.0 as usize].unwrap_or(unknown.as_micros())
    }

    pub(crate) fn type_name(&mut self, name: &str) -> Arc<str> {
        if let Some(t) = self.type_names.get(name) {
            return Arc::clone(t);
        }
        let t: Arc<str> = name.into();
        self.type_names.insert(name.into(), Arc::clone(&t));
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moving_average_halves_towards_each_sample() {
        let mut d = Durations::default();
        let f = d.intern("inc");
        assert_eq!(d.expected(f, Time::from_millis(500)), 500_000);
        d.record(f, Time::from_secs(2));
        assert_eq!(d.learned(f), Some(Time::from_secs(2)));
        d.record(f, Time::from_secs(1));
        assert_eq!(d.learned(f), Some(Time::from_millis(1_500)));
        assert_eq!(d.intern("inc"), f);
        assert_eq!(d.name(f), "inc");
    }
}
