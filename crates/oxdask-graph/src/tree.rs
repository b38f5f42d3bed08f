//! The tree-reduction layer: reduce a blocked collection along some axes in levels of at most
//! `split_every` blocks per axis, so no task receives more than a bounded number of inputs and
//! partial results are combined (and freed) as soon as their group is complete.
//!
//! ```text
//!  level 0 (input)   b0  b1  b2  b3  b4      split_every = 2 along the reduced axis
//!                     \  /    \  /    |
//!  level 1 (combine)  p0      p1     p2
//!                       \    /       |
//!  level 2 (combine)     q0         q1
//!                          \       /
//!  level 3 (aggregate)        out
//! ```
//! Axes that are not reduced keep their blocks: each output block along them reduces its own
//! column of input blocks.

use crate::layer::BlockRef;
use crate::{GraphError, Result};

/// A tree reduction of a blocked input along `axes`.
#[derive(Clone, Debug)]
pub struct TreeReduce {
    /// Output name; intermediate levels are named `"{name}-partial{level}"`.
    pub name: String,
    /// Blocks of the input along each dimension.
    pub numblocks: Vec<u32>,
    /// The reduced dimensions (distinct, in range).
    pub axes: Vec<usize>,
    /// Most blocks combined at once along each reduced axis (same order as `axes`), at least 2.
    pub split_every: Vec<u32>,
    /// Keep reduced dimensions (with one block) in the output keys.
    pub keepdims: bool,
}

/// One level of the reduction: its name and its blocks per dimension (all input dimensions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// Name used in the level's keys.
    pub name: String,
    /// Blocks per input dimension; reduced axes shrink level by level to 1.
    pub numblocks: Vec<u32>,
}

impl TreeReduce {
    fn bad(&self, reason: String) -> GraphError {
        GraphError::BadLayer {
            layer: self.name.clone(),
            reason,
        }
    }

    /// Checks axes and split sizes.
    pub fn check(&self) -> Result<()> {
        if self.axes.len() != self.split_every.len() {
            return Err(self.bad(format!(
                "{} axes but {} split_every values",
                self.axes.len(),
                self.split_every.len()
            )));
        }
        for (i, &a) in self.axes.iter().enumerate() {
            if a >= self.numblocks.len() {
                return Err(self.bad(format!(
                    "axis {a} is out of range for {} dimensions",
                    self.numblocks.len()
                )));
            }
            if self.axes[..i].contains(&a) {
                return Err(self.bad(format!("axis {a} is repeated")));
            }
        }
        if let Some(s) = self.split_every.iter().find(|&&s| s < 2) {
            return Err(self.bad(format!("split_every must be at least 2, got {s}")));
        }
        Ok(())
    }

    /// The levels after the input, the last being the output (with all dimensions kept).
    pub fn levels(&self) -> Result<Vec<Level>> {
        self.check()?;
        let mut levels = Vec::new();
        let mut current = self.numblocks.clone();
        loop {
            for (&a, &s) in self.axes.iter().zip(&self.split_every) {
                current[a] = current[a].div_ceil(s).max(1);
            }
            let last = self.axes.iter().all(|&a| current[a] == 1);
            let name = if last {
                self.name.clone()
            } else {
                format!("{}-partial{}", self.name, levels.len() + 1)
            };
            levels.push(Level {
                name,
                numblocks: current.clone(),
            });
            if last {
                return Ok(levels);
            }
        }
    }

    /// Key coordinates of an output block of the final level: reduced axes are dropped unless
    /// `keepdims`.
    pub fn output_coords(&self, coords: &[u32]) -> Vec<u32> {
        coords
            .iter()
            .enumerate()
            .filter(|(d, _)| self.keepdims || !self.axes.contains(d))
            .map(|(_, &c)| c)
            .collect()
    }

    /// Block counts of the output keys.
    pub fn output_numblocks(&self) -> Vec<u32> {
        let mut numblocks = self.numblocks.clone();
        for &a in &self.axes {
            if let Some(n) = numblocks.get_mut(a) {
                *n = 1;
            }
        }
        self.output_coords(&numblocks)
    }

    /// Calls `emit(level, coords, inputs)` for every task, level by level, blocks in row-major
    /// order. `inputs` nests one list level per reduced axis (in `axes` order) around
    /// [`BlockRef::Block`]s whose coordinates are in the previous level (`arg` is the previous
    /// level's index: 0 for the input).
    pub fn expand<E: From<GraphError>>(
        &self,
        mut emit: impl FnMut(usize, &[u32], BlockRef) -> Result<(), E>,
    ) -> Result<(), E> {
        let levels = self.levels()?;
        let mut previous = self.numblocks.clone();
        for (li, level) in levels.iter().enumerate() {
            let mut coords = vec![0u32; level.numblocks.len()];
            if !level.numblocks.contains(&0) && !previous.contains(&0) {
                loop {
                    let mut base = coords.clone();
                    let inputs = self.group(li, &mut base, &coords, &previous, 0);
                    emit(li + 1, &coords, inputs)?;
                    if !crate::layer::advance(&mut coords, &level.numblocks) {
                        break;
                    }
                }
            }
            previous.clone_from(&level.numblocks);
        }
        Ok(())
    }

    /// The nested list of previous-level blocks feeding block `out` of the next level.
    fn group(&self, level: usize, at: &mut [u32], out: &[u32], prev: &[u32], k: usize) -> BlockRef {
        let Some(&axis) = self.axes.get(k) else {
            return BlockRef::Block {
                arg: level,
                coords: at.to_vec(),
            };
        };
        let split = self.split_every[k];
        let start = out[axis] * split;
        let end = (start + split).min(prev[axis]);
        let items = (start..end)
            .map(|i| {
                at[axis] = i;
                self.group(level, at, out, prev, k + 1)
            })
            .collect();
        BlockRef::List(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(numblocks: &[u32], axes: &[usize], split: &[u32], keepdims: bool) -> TreeReduce {
        TreeReduce {
            name: "r".into(),
            numblocks: numblocks.to_vec(),
            axes: axes.to_vec(),
            split_every: split.to_vec(),
            keepdims,
        }
    }

    fn leaves(r: &BlockRef) -> Vec<Vec<u32>> {
        match r {
            BlockRef::Block { coords, .. } => vec![coords.clone()],
            BlockRef::List(items) => items.iter().flat_map(leaves).collect(),
            BlockRef::Literal { .. } => vec![],
        }
    }

    #[test]
    fn five_blocks_split_two() {
        let t = tree(&[5], &[0], &[2], false);
        let levels = t.levels().unwrap();
        let counts: Vec<_> = levels.iter().map(|l| l.numblocks[0]).collect();
        assert_eq!(counts, vec![3, 2, 1]);
        assert_eq!(levels[2].name, "r");
        assert_eq!(levels[0].name, "r-partial1");
        let mut tasks = Vec::new();
        t.expand::<GraphError>(|l, c, r| {
            tasks.push((l, c.to_vec(), leaves(&r)));
            Ok(())
        })
        .unwrap();
        assert_eq!(tasks.len(), 6);
        assert_eq!(tasks[2], (1, vec![2], vec![vec![4]]));
        assert_eq!(tasks[5], (3, vec![0], vec![vec![0], vec![1]]));
        assert!(t.output_numblocks().is_empty());
    }

    #[test]
    fn reduces_one_axis_of_two() {
        // 3 x 4 blocks, reduce axis 1 with split 4: one level; rows stay separate.
        let t = tree(&[3, 4], &[1], &[4], true);
        let mut tasks = Vec::new();
        t.expand::<GraphError>(|l, c, r| {
            tasks.push((l, c.to_vec(), leaves(&r)));
            Ok(())
        })
        .unwrap();
        assert_eq!(tasks.len(), 3);
        assert_eq!(tasks[1].1, vec![1, 0]);
        assert_eq!(
            tasks[1].2,
            vec![vec![1, 0], vec![1, 1], vec![1, 2], vec![1, 3]]
        );
        assert_eq!(t.output_coords(&[1, 0]), vec![1, 0]);
        assert_eq!(t.output_numblocks(), vec![3, 1]);
    }

    #[test]
    fn nested_lists_follow_axes_order() {
        let t = tree(&[2, 2], &[0, 1], &[2, 2], false);
        let mut inputs = None;
        t.expand::<GraphError>(|_, _, r| {
            inputs = Some(r);
            Ok(())
        })
        .unwrap();
        let BlockRef::List(outer) = inputs.unwrap() else {
            panic!()
        };
        assert_eq!(outer.len(), 2);
        assert_eq!(leaves(&outer[1]), vec![vec![1, 0], vec![1, 1]]);
    }

    #[test]
    fn bad_specs_are_named() {
        let e = tree(&[2], &[1], &[2], false).levels().unwrap_err();
        assert_eq!(
            e.to_string(),
            "layer \"r\": axis 1 is out of range for 1 dimensions"
        );
        let e = tree(&[2], &[0], &[1], false).levels().unwrap_err();
        assert_eq!(
            e.to_string(),
            "layer \"r\": split_every must be at least 2, got 1"
        );
    }
}
