//! The scheduler-side queue of ready tasks, split into groups by placement constraint.
//!
//! All tasks in a group share their constraint (restrictions, resources, and whether root
//! queuing applies), so they are runnable on exactly the same workers. If a group's *first*
//! task (best priority) cannot be placed, no task of the group can, so filling free capacity
//! looks at one head per non-empty group instead of every queued task: with 100,000 queued
//! root tasks, finishing one task costs a few comparisons, not a scan.
//!
//! Group 0 holds unconstrained root tasks (no dependencies), which obey the saturation limit;
//! group 1 holds unconstrained non-root tasks, which only wait here while no worker runs at
//! all. Other groups are interned on first use and kept (they are few: one per distinct
//! constraint).

use std::collections::{BTreeSet, HashMap};

use super::worker::Resources;
use super::{Priority, TaskId, WorkerId};

/// Index of a constraint group.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct GroupId(pub u32);

/// Unconstrained root tasks, under the saturation limit.
pub(crate) const ROOT: GroupId = GroupId(0);
/// Unconstrained tasks that go to any running worker.
pub(crate) const FREE: GroupId = GroupId(1);

/// Where a task may run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Constraint {
    /// Allowed workers, sorted and unique; `None` means any.
    pub restrictions: Option<Box<[WorkerId]>>,
    /// With restrictions: fall back to any worker when no allowed one can take it.
    pub allow_other: bool,
    pub resources: Resources,
    /// Root-task queuing: only go to a worker with fewer tasks than its slots.
    pub slot_limited: bool,
}

impl Constraint {
    pub(crate) fn is_unconstrained(&self) -> bool {
        self.restrictions.is_none() && self.resources.is_empty()
    }
}

#[derive(Debug)]
struct Group {
    constraint: Constraint,
    queue: BTreeSet<(Priority, TaskId)>,
}

#[derive(Debug)]
pub(crate) struct Queues {
    groups: Vec<Group>,
    by_constraint: HashMap<Constraint, GroupId>,
    nonempty: BTreeSet<GroupId>,
    len: usize,
}

impl Default for Queues {
    fn default() -> Self {
        let mut q = Queues {
            groups: Vec::new(),
            by_constraint: HashMap::new(),
            nonempty: BTreeSet::new(),
            len: 0,
        };
        let root = q.intern(Constraint {
            slot_limited: true,
            ..Constraint::default()
        });
        let free = q.intern(Constraint::default());
        debug_assert_eq!((root, free), (ROOT, FREE));
        q
    }
}

impl Queues {
    pub(crate) fn intern(&mut self, c: Constraint) -> GroupId {
        if let Some(&g) = self.by_constraint.get(&c) {
            return g;
        }
        let g = GroupId(u32::try_from(self.groups.len()).expect("fewer than 2^32 groups"));
        self.by_constraint.insert(c.clone(), g);
        self.groups.push(Group {
            constraint: c,
            queue: BTreeSet::new(),
        });
        g
    }

    pub(crate) fn constraint(&self, g: GroupId) -> &Constraint {
        &self.groups[g.0 as usize].constraint
    }

    pub(crate) fn push(&mut self, g: GroupId, p: Priority, t: TaskId) {
        let group = &mut self.groups[g.0 as usize];
        if group.queue.insert((p, t)) {
            self.len += 1;
            self.nonempty.insert(g);
        }
    }

    pub(crate) fn remove(&mut self, g: GroupId, p: Priority, t: TaskId) -> bool {
        let group = &mut self.groups[g.0 as usize];
        let removed = group.queue.remove(&(p, t));
        if removed {
            self.len -= 1;
            if group.queue.is_empty() {
                self.nonempty.remove(&g);
            }
        }
        removed
    }

    pub(crate) fn contains(&self, g: GroupId, p: Priority, t: TaskId) -> bool {
        self.groups[g.0 as usize].queue.contains(&(p, t))
    }

    /// The best-priority task of every non-empty group.
    pub(crate) fn heads(&self) -> impl Iterator<Item = (Priority, TaskId)> + '_ {
        self.nonempty
            .iter()
            .filter_map(|g| self.groups[g.0 as usize].queue.first().copied())
    }

    /// Whether root tasks are queued (their placement also depends on where their siblings
    /// are and on other workers' load, not only on free room).
    pub(crate) fn has_root(&self) -> bool {
        self.nonempty.contains(&ROOT)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Every queued task with its group, for invariant checks.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (GroupId, Priority, TaskId)> + '_ {
        self.groups.iter().enumerate().flat_map(|(i, g)| {
            let gid = GroupId(u32::try_from(i).expect("fewer than 2^32 groups"));
            g.queue.iter().map(move |&(p, t)| (gid, p, t))
        })
    }

    /// Checks the non-empty index and the length counter.
    pub(crate) fn check(&self) {
        let mut len = 0;
        for (i, g) in self.groups.iter().enumerate() {
            let gid = GroupId(u32::try_from(i).expect("fewer than 2^32 groups"));
            assert_eq!(
                !g.queue.is_empty(),
                self.nonempty.contains(&gid),
                "queue group {i}: non-empty index out of date"
            );
            len += g.queue.len();
        }
        assert_eq!(len, self.len, "queue length counter");
    }
}
