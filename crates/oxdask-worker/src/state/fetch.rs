//! Values fetched from peers: which holder to ask, how many requests and bytes at once,
//! and what a reply or a failure changes.

use std::collections::HashSet;

use oxdask_graph::Key;
use oxdask_protocol::messages::WorkerToScheduler;

use super::{Command, FetchId, FetchRequest, Priority, TaskEntry, TaskState, WorkerState};

/// Largest size hint taken at face value (256 TiB).
const MAX_HINT: u64 = 1 << 48;

/// A request being planned: peer, keys, expected bytes.
type Batch = (String, Vec<Key>, u64);

impl WorkerState {
    /// Records that local task `dependent` needs `dep`, which `holders` have. Returns
    /// whether the link is new (false for a repeated dependency).
    pub(super) fn link_dependency(
        &mut self,
        dep: &Key,
        dependent: &Key,
        holders: &[String],
        hint: Option<u64>,
        priority: Priority,
    ) -> bool {
        if !self.tasks.contains_key(dep) {
            self.new_fetch(dep, priority);
        }
        let entry = self.entry_mut(dep);
        let linked = entry.dependents.insert(dependent.clone());
        if entry.nbytes_hint.is_none() {
            // Sizes come off the wire: clamped so that sums of them cannot overflow.
            entry.nbytes_hint = hint.map(|n| n.min(MAX_HINT));
        }
        self.add_holders(dep, holders, priority);
        linked
    }

    /// A new entry for a value to fetch, with no holders yet (`add_holders` queues it).
    fn new_fetch(&mut self, key: &Key, priority: Priority) {
        let entry = TaskEntry::new(TaskState::Missing, priority, self.stimulus);
        self.tasks.insert(key.clone(), entry);
    }

    /// Adds holders of a value not in memory (except holders that failed to deliver it since
    /// it was last missing) and queues it for fetching if it was missing.
    pub(super) fn add_holders(&mut self, key: &Key, holders: &[String], priority: Priority) {
        self.raise_priority(key, priority);
        let entry = self.entry_mut(key);
        let mut new_holder = false;
        for h in holders {
            if !entry.failed.contains(h) {
                new_holder |= entry.holders.insert(h.clone());
            }
        }
        let (state, priority) = (entry.state.clone(), entry.priority);
        let found = !entry.holders.is_empty();
        match state {
            // A queued key may be fetchable from a new holder with room.
            TaskState::Fetch => self.fetch_dirty |= new_holder,
            TaskState::Missing if found => {
                self.set_state(key, TaskState::Fetch);
                self.queue_fetch(priority, key.clone());
            }
            _ => {}
        }
    }

    /// Queues a key for fetching (or re-queues it with a new priority).
    pub(super) fn queue_fetch(&mut self, priority: Priority, key: Key) {
        self.fetch_queue.insert((priority, key));
        self.fetch_dirty = true;
    }

    /// Sends requests while the limits allow: see the module docs. Runs only when the
    /// queue gained a key or a request ended since the last run: removals from the queue
    /// cannot make another key fetchable, so a scan is skipped when nothing else changed.
    pub(super) fn ensure_fetching(&mut self) {
        if self.paused {
            return; // fetch_dirty stays set: resuming plans again
        }
        if !std::mem::take(&mut self.fetch_dirty) {
            return;
        }
        loop {
            let batches = self.plan_fetches();
            if batches.is_empty() {
                break;
            }
            for (from, keys, bytes) in batches {
                self.send_fetch(from, keys, bytes);
            }
        }
    }

    /// One pass over the fetch queue, best first: each key joins a request already planned
    /// for one of its holders, or opens one to its least busy holder with room, until the
    /// byte budget is spent. At most one new request per peer per pass.
    pub(super) fn plan_fetches(&self) -> Vec<Batch> {
        let mut batches: Vec<Batch> = Vec::new();
        let mut budget = self.incoming_bytes;
        let max_request = self.config.max_request_bytes;
        for (_, key) in &self.fetch_queue {
            let entry = &self.tasks[key];
            let size = entry.nbytes_hint.unwrap_or(self.config.default_nbytes);
            if budget > 0 && budget.saturating_add(size) > self.config.max_incoming_bytes {
                break;
            }
            let joined = batches.iter_mut().find(|(peer, _, bytes)| {
                entry.holders.contains(peer) && *bytes + size <= max_request
            });
            if let Some((_, keys, bytes)) = joined {
                keys.push(key.clone());
                *bytes += size;
                budget += size;
                continue;
            }
            let peer = entry
                .holders
                .iter()
                .filter(|p| !batches.iter().any(|(q, _, _)| q == *p))
                .map(|p| (self.peer_fetches.get(p).copied().unwrap_or(0), p))
                .filter(|(n, _)| *n < self.config.max_fetches_per_peer)
                .min_by_key(|(n, _)| *n);
            if let Some((_, peer)) = peer {
                batches.push((peer.clone(), vec![key.clone()], size));
                budget += size;
            }
        }
        batches
    }

    fn send_fetch(&mut self, from: String, keys: Vec<Key>, bytes: u64) {
        let id = FetchId(self.next_fetch);
        self.next_fetch += 1;
        for key in &keys {
            let priority = self.tasks[key].priority;
            self.fetch_queue.remove(&(priority, key.clone()));
            self.set_state(key, TaskState::Flight { id });
        }
        *self.peer_fetches.entry(from.clone()).or_insert(0) += 1;
        self.incoming_bytes += bytes;
        let request = FetchRequest {
            from: from.clone(),
            keys: keys.clone(),
            bytes,
        };
        self.fetches.insert(id, request);
        self.out.push(Command::Fetch { id, from, keys });
    }

    /// Removes a request from the books.
    fn finish_request(&mut self, id: FetchId) -> Option<FetchRequest> {
        let request = self.fetches.remove(&id)?;
        self.fetch_dirty = true;
        if let Some(n) = self.peer_fetches.get_mut(&request.from) {
            *n -= 1;
            if *n == 0 {
                self.peer_fetches.remove(&request.from);
            }
        }
        self.incoming_bytes -= request.bytes;
        Some(request)
    }

    pub(super) fn on_data_fetched(&mut self, id: FetchId, values: Vec<(Key, u64)>) {
        let request = self.finish_request(id);
        let mut received = HashSet::with_capacity(values.len());
        let mut added = Vec::new();
        for (key, nbytes) in values {
            match self.tasks.get(&key).map(|e| (&e.state, e.unneeded())) {
                Some((TaskState::Flight { id: f }, false)) if *f == id => {
                    self.entry_mut(&key).wanted = true; // reported below: the scheduler owns it
                    self.put_in_memory(&key, nbytes);
                    added.push((key.clone(), nbytes));
                }
                Some((TaskState::Flight { id: f }, true)) if *f == id => {
                    self.tasks.remove(&key);
                    self.drops.push(key.clone());
                }
                // Put by a client meanwhile: the runtime kept that copy.
                Some((TaskState::Memory { .. }, _)) => {}
                // Not fetched any more (computed here now, or forgotten).
                _ => self.drops.push(key.clone()),
            }
            received.insert(key);
        }
        if let Some(request) = request {
            for key in &request.keys {
                if !received.contains(key) && self.in_flight_by(key, id) {
                    self.fetch_failed_for(key, &request.from);
                }
            }
        }
        if !added.is_empty() {
            self.out
                .push(Command::Send(WorkerToScheduler::DataAdded { keys: added }));
        }
    }

    /// `error` is for the runtime's log; every key of the request failed on its peer.
    pub(super) fn on_fetch_failed(&mut self, id: FetchId, error: &str) {
        let _ = error;
        let Some(request) = self.finish_request(id) else {
            return;
        };
        for key in &request.keys {
            if self.in_flight_by(key, id) {
                self.fetch_failed_for(key, &request.from);
            }
        }
    }

    fn in_flight_by(&self, key: &Key, id: FetchId) -> bool {
        self.tasks
            .get(key)
            .is_some_and(|e| e.state == TaskState::Flight { id })
    }

    /// `from` did not deliver `key`: try another holder; with none left, tell the scheduler
    /// about every holder that failed and wait for it to name others.
    fn fetch_failed_for(&mut self, key: &Key, from: &str) {
        let entry = self.entry_mut(key);
        entry.holders.shift_remove(from);
        if !entry.failed.iter().any(|f| f == from) {
            entry.failed.push(from.to_owned());
        }
        if entry.unneeded() {
            self.tasks.remove(key);
            return;
        }
        if !entry.holders.is_empty() {
            let item = (entry.priority, key.clone());
            self.set_state(key, TaskState::Fetch);
            self.queue_fetch(item.0, item.1);
            return;
        }
        let failed = std::mem::take(&mut entry.failed);
        // A replica request ends here: the scheduler hears that the holders failed.
        entry.wanted = false;
        let replica_only = entry.dependents.is_empty();
        for holder in failed {
            self.out.push(Command::Send(WorkerToScheduler::DataMissing {
                key: key.clone(),
                holder,
            }));
        }
        if replica_only {
            self.tasks.remove(key);
        } else {
            self.set_state(key, TaskState::Missing);
        }
    }

    pub(super) fn on_replicate_requested(&mut self, keys: Vec<(Key, Vec<String>)>) {
        let mut added = Vec::new();
        for (key, holders) in keys {
            let Some(entry) = self.tasks.get_mut(&key) else {
                if !holders.is_empty() {
                    // Replicas yield to the inputs of tasks.
                    let priority = self.next_priority(i64::MAX);
                    self.new_fetch(&key, priority);
                    self.entry_mut(&key).wanted = true;
                    self.add_holders(&key, &holders, priority);
                }
                continue;
            };
            entry.wanted = true;
            match entry.state {
                TaskState::Memory { nbytes } => added.push((key, nbytes)),
                TaskState::Fetch | TaskState::Flight { .. } | TaskState::Missing => {
                    let priority = entry.priority;
                    self.add_holders(&key, &holders, priority);
                }
                // Computed here: the scheduler hears of it when it finishes.
                TaskState::Waiting { .. } | TaskState::Ready | TaskState::Executing => {}
            }
        }
        if !added.is_empty() {
            self.out
                .push(Command::Send(WorkerToScheduler::DataAdded { keys: added }));
        }
    }
}
