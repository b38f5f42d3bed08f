//! Typed dense ids.

/// Index of a task inside one [`crate::Graph`]: `0..graph.len()`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub u32);

impl TaskId {
    /// The id as a `usize`, for indexing per-task vectors.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }

    /// Builds an id from a vector index.
    ///
    /// # Panics
    /// If `index` does not fit in `u32`; graphs are limited to 4 billion tasks.
    #[inline]
    pub fn from_index(index: usize) -> Self {
        Self(u32::try_from(index).expect("graphs hold fewer than 2^32 tasks"))
    }
}

impl std::fmt::Display for TaskId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}
