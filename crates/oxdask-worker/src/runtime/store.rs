//! The values held by the worker, shared by the state owner (the only writer) and the data
//! server (a reader).

use std::collections::HashMap;
use std::sync::Arc;

use oxdask_graph::Key;
use parking_lot::RwLock;

/// Key to value. The state owner keeps it equal to the keys the state machine has in memory.
#[derive(Debug)]
pub(crate) struct Store<V> {
    values: RwLock<HashMap<Key, Arc<V>>>,
}

impl<V> Default for Store<V> {
    fn default() -> Self {
        Self {
            values: RwLock::new(HashMap::new()),
        }
    }
}

impl<V> Store<V> {
    /// Stores `value` unless `key` already has one (the state machine's contract: see
    /// [`crate::EventKind`]).
    pub(crate) fn insert_if_absent(&self, key: Key, value: V) {
        self.values
            .write()
            .entry(key)
            .or_insert_with(|| Arc::new(value));
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Arc<V>> {
        self.values.read().get(key).cloned()
    }

    /// The values held among `keys`, and the keys not held.
    pub(crate) fn get_many(&self, keys: Vec<Key>) -> (Vec<(Key, Arc<V>)>, Vec<Key>) {
        let values = self.values.read();
        let mut found = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        for key in keys {
            match values.get(&key) {
                Some(v) => found.push((key, v.clone())),
                None => missing.push(key),
            }
        }
        (found, missing)
    }

    pub(crate) fn remove(&self, keys: &[Key]) {
        let mut values = self.values.write();
        for key in keys {
            values.remove(key);
        }
    }
}
