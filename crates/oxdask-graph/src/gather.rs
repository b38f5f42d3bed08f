//! The gather layer: every output block is assembled from pieces of several input blocks,
//! chosen independently along each axis (rechunking, overlapping neighbourhoods).
//!
//! ```text
//!  input blocks along an axis   | 0 | 1 | 2 | 3 |        sources[axis] = [[0, 1], [1, 2, 3]]
//!  output blocks                |  0   |   1    |
//! ```
//! Output block `(i, j, ...)` receives the nested list of input blocks
//! `sources[0][i] x sources[1][j] x ...` (one list level per axis, in axis order); what part
//! of each block it keeps is the task function's business. The description is one list per
//! axis, so a rechunk of a million blocks costs a few thousand numbers, not a million tasks,
//! until it is expanded. Dimensions listed in `dropped` (one output block each: an integer
//! index) are left out of the output keys.

use crate::layer::{advance, BlockRef};
use crate::{GraphError, Result};

/// A gather of blocks of one input.
#[derive(Clone, Debug)]
pub struct Gather {
    /// Output name (only used for error messages here).
    pub name: String,
    /// Blocks of the input along each dimension.
    pub in_numblocks: Vec<u32>,
    /// Per dimension, per output block: the input blocks (along that dimension) it takes
    /// pieces of, in order. Never empty.
    pub sources: Vec<Vec<Vec<u32>>>,
    /// Dimensions left out of the output keys (each with exactly one output block).
    pub dropped: Vec<usize>,
}

impl Gather {
    fn bad(&self, reason: String) -> GraphError {
        GraphError::BadLayer {
            layer: self.name.clone(),
            reason,
        }
    }

    /// Checks that the sources match the input's dimensions and blocks.
    pub fn check(&self) -> Result<()> {
        if self.sources.len() != self.in_numblocks.len() {
            return Err(self.bad(format!(
                "sources for {} dimensions, but the input has {}",
                self.sources.len(),
                self.in_numblocks.len()
            )));
        }
        for (axis, (blocks, &n)) in self.sources.iter().zip(&self.in_numblocks).enumerate() {
            for (out, src) in blocks.iter().enumerate() {
                if src.is_empty() {
                    return Err(self.bad(format!(
                        "output block {out} along axis {axis} has no source block"
                    )));
                }
                if let Some(&i) = src.iter().find(|&&i| i >= n) {
                    return Err(self.bad(format!(
                        "output block {out} along axis {axis} reads input block {i}, but the \
                         input has {n} blocks along that axis"
                    )));
                }
            }
        }
        for &d in &self.dropped {
            if self.sources.get(d).map(Vec::len) != Some(1) {
                return Err(self.bad(format!(
                    "dropped axis {d} must exist and have exactly one output block"
                )));
            }
        }
        Ok(())
    }

    /// Blocks of the output along each dimension, dropped ones included.
    pub fn out_numblocks(&self) -> Vec<u32> {
        self.sources.iter().map(|s| s.len() as u32).collect()
    }

    /// Blocks along each dimension of the output keys (dropped dimensions left out).
    pub fn key_numblocks(&self) -> Vec<u32> {
        self.key_coords(&self.out_numblocks())
    }

    /// The key coordinates of output block `coords` (dropped dimensions left out).
    pub fn key_coords(&self, coords: &[u32]) -> Vec<u32> {
        coords
            .iter()
            .enumerate()
            .filter(|(d, _)| !self.dropped.contains(d))
            .map(|(_, &c)| c)
            .collect()
    }

    /// Number of output blocks.
    pub fn len(&self) -> usize {
        self.sources.iter().map(Vec::len).product()
    }

    /// True when the output has no block.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `emit(out_coords, blocks)` for every output block in row-major order (all
    /// dimensions, dropped ones included); `blocks` nests one list per dimension around
    /// [`BlockRef::Block`]s of the input (`arg` 0).
    pub fn expand<E: From<GraphError>>(
        &self,
        mut emit: impl FnMut(&[u32], BlockRef) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.check()?;
        let out_nb = self.out_numblocks();
        if out_nb.contains(&0) {
            return Ok(());
        }
        let mut coords = vec![0u32; out_nb.len()];
        let mut at = vec![0u32; out_nb.len()];
        loop {
            emit(&coords, self.nest(&coords, &mut at, 0))?;
            if !advance(&mut coords, &out_nb) {
                return Ok(());
            }
        }
    }

    fn nest(&self, out: &[u32], at: &mut [u32], axis: usize) -> BlockRef {
        if axis == out.len() {
            return BlockRef::Block {
                arg: 0,
                coords: at.to_vec(),
            };
        }
        let items = self.sources[axis][out[axis] as usize]
            .iter()
            .map(|&i| {
                at[axis] = i;
                self.nest(out, at, axis + 1)
            })
            .collect();
        BlockRef::List(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gather(in_numblocks: &[u32], sources: Vec<Vec<Vec<u32>>>) -> Gather {
        Gather {
            name: "g".into(),
            in_numblocks: in_numblocks.to_vec(),
            sources,
            dropped: vec![],
        }
    }

    fn all(g: &Gather) -> Vec<(Vec<u32>, BlockRef)> {
        let mut out = Vec::new();
        g.expand::<GraphError>(|c, r| {
            out.push((c.to_vec(), r));
            Ok(())
        })
        .unwrap();
        out
    }

    fn block(coords: &[u32]) -> BlockRef {
        BlockRef::Block {
            arg: 0,
            coords: coords.to_vec(),
        }
    }

    #[test]
    fn each_output_block_nests_its_sources_per_axis() {
        let g = gather(
            &[4, 2],
            vec![vec![vec![0, 1], vec![1, 2, 3]], vec![vec![1]]],
        );
        assert_eq!(g.out_numblocks(), vec![2, 1]);
        assert_eq!(g.len(), 2);
        let tasks = all(&g);
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].0, vec![0, 0]);
        assert_eq!(
            tasks[0].1,
            BlockRef::List(vec![
                BlockRef::List(vec![block(&[0, 1])]),
                BlockRef::List(vec![block(&[1, 1])]),
            ])
        );
        assert_eq!(tasks[1].0, vec![1, 0]);
        let BlockRef::List(rows) = &tasks[1].1 else {
            panic!("a list per axis")
        };
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2], BlockRef::List(vec![block(&[3, 1])]));
    }

    #[test]
    fn bad_sources_are_named() {
        let wrong_dims = gather(&[2, 2], vec![vec![vec![0]]]);
        assert!(wrong_dims.check().unwrap_err().to_string().contains("2"));
        let out_of_range = gather(&[2], vec![vec![vec![0], vec![2]]]);
        let msg = out_of_range.check().unwrap_err().to_string();
        assert!(
            msg.contains("output block 1 along axis 0 reads input block 2"),
            "{msg}"
        );
        let empty = gather(&[2], vec![vec![vec![]]]);
        assert!(empty.check().unwrap_err().to_string().contains("no source"));
        let mut wide = gather(&[2], vec![vec![vec![0], vec![1]]]);
        wide.dropped = vec![0];
        assert!(wide
            .check()
            .unwrap_err()
            .to_string()
            .contains("exactly one"));
    }

    #[test]
    fn dropped_dimensions_leave_the_keys() {
        let mut g = gather(&[3, 4], vec![vec![vec![2]], vec![vec![0], vec![1, 2]]]);
        g.dropped = vec![0];
        g.check().unwrap();
        assert_eq!(g.out_numblocks(), vec![1, 2]);
        assert_eq!(g.key_numblocks(), vec![2]);
        assert_eq!(g.key_coords(&[0, 1]), vec![1]);
    }

    #[test]
    fn zero_dimensional_and_empty_outputs() {
        let scalar = gather(&[], vec![]);
        assert_eq!(all(&scalar), vec![(vec![], block(&[]))]);
        let none = gather(&[3], vec![vec![]]);
        assert!(all(&none).is_empty());
    }
}
