//! Compact layers: one description standing for many tasks, expanded without a per-task object on
//! the caller's side.
//!
//! [`Blockwise`] follows Dask's `blockwise`: every dimension of every input carries an integer
//! label; output block `(i, j, ...)` takes, for each input, the block whose coordinates are the
//! output's along shared labels. Labels absent from the output are *contracted*: the task receives
//! the list of all blocks along them (nested, one level per contracted label). An input with a
//! single block along a label is broadcast against the others.

use std::collections::BTreeMap;

use crate::{GraphError, Result};

/// An argument of a blockwise function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockwiseInput {
    /// Passed unchanged to every task.
    Literal,
    /// A blocked collection: one label per dimension and its number of blocks per dimension.
    Blocks {
        /// Labels of the input's dimensions.
        ind: Vec<u32>,
        /// Number of blocks along each dimension.
        numblocks: Vec<u32>,
    },
}

/// What one argument of one expanded task is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockRef {
    /// Argument `arg` of the layer, unchanged.
    Literal {
        /// Position in [`Blockwise::inputs`].
        arg: usize,
    },
    /// One block of input `arg`.
    Block {
        /// Position in [`Blockwise::inputs`].
        arg: usize,
        /// Block coordinates within that input.
        coords: Vec<u32>,
    },
    /// Blocks along a contracted label.
    List(Vec<BlockRef>),
}

/// A blockwise layer: `out[i, j, ...] = func(*[arg block for arg in inputs])`.
#[derive(Clone, Debug)]
pub struct Blockwise {
    /// Output name (only used for error messages here).
    pub name: String,
    /// Labels of the output dimensions.
    pub out_ind: Vec<u32>,
    /// The arguments.
    pub inputs: Vec<BlockwiseInput>,
    /// Number of blocks for labels that appear in no input (new axes); usually empty.
    pub new_axes: BTreeMap<u32, u32>,
}

impl Blockwise {
    fn bad(&self, reason: String) -> GraphError {
        GraphError::BadLayer {
            layer: self.name.clone(),
            reason,
        }
    }

    /// Number of blocks along each label, reconciling broadcast dimensions.
    pub fn label_sizes(&self) -> Result<BTreeMap<u32, u32>> {
        let mut sizes = self.new_axes.clone();
        for (arg, input) in self.inputs.iter().enumerate() {
            let BlockwiseInput::Blocks { ind, numblocks } = input else {
                continue;
            };
            if ind.len() != numblocks.len() {
                return Err(self.bad(format!(
                    "argument {arg} has {} labels but {} block counts",
                    ind.len(),
                    numblocks.len()
                )));
            }
            for (&label, &n) in ind.iter().zip(numblocks) {
                let entry = sizes.entry(label).or_insert(n);
                if *entry == 1 {
                    *entry = n;
                } else if n != 1 && n != *entry {
                    return Err(self.bad(format!(
                        "argument {arg} has {n} blocks along label {label}, others have {}",
                        *entry
                    )));
                }
            }
        }
        for label in &self.out_ind {
            if !sizes.contains_key(label) {
                return Err(self.bad(format!("output label {label} appears in no input")));
            }
        }
        Ok(sizes)
    }

    /// Number of output blocks along each output dimension.
    pub fn out_numblocks(&self) -> Result<Vec<u32>> {
        let sizes = self.label_sizes()?;
        Ok(self.out_ind.iter().map(|l| sizes[l]).collect())
    }

    /// Calls `emit(out_coords, args)` for every output block in row-major order.
    pub fn expand<E>(
        &self,
        mut emit: impl FnMut(&[u32], Vec<BlockRef>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<GraphError>,
    {
        let sizes = self.label_sizes()?;
        let out_nb: Vec<u32> = self.out_ind.iter().map(|l| sizes[l]).collect();
        if out_nb.contains(&0) {
            return Ok(());
        }
        let mut coords = vec![0u32; out_nb.len()];
        loop {
            emit(&coords, self.block(&sizes, &coords))?;
            if !advance(&mut coords, &out_nb) {
                return Ok(());
            }
        }
    }

    /// The arguments of output block `coords` (as [`Blockwise::expand`] gives them), with
    /// `sizes` from [`Blockwise::label_sizes`].
    pub fn block(&self, sizes: &BTreeMap<u32, u32>, coords: &[u32]) -> Vec<BlockRef> {
        let labels: BTreeMap<u32, u32> = self
            .out_ind
            .iter()
            .copied()
            .zip(coords.iter().copied())
            .collect();
        self.inputs
            .iter()
            .enumerate()
            .map(|(arg, input)| self.resolve(arg, input, &labels, sizes))
            .collect()
    }

    fn resolve(
        &self,
        arg: usize,
        input: &BlockwiseInput,
        fixed: &BTreeMap<u32, u32>,
        sizes: &BTreeMap<u32, u32>,
    ) -> BlockRef {
        let BlockwiseInput::Blocks { ind, numblocks } = input else {
            return BlockRef::Literal { arg };
        };
        let mut contracted: Vec<u32> = Vec::new();
        for l in ind {
            if !fixed.contains_key(l) && !contracted.contains(l) {
                contracted.push(*l);
            }
        }
        let mut labels = fixed.clone();
        nest(arg, ind, numblocks, &contracted, &mut labels, sizes)
    }
}

/// Builds the nested list over `contracted` labels, then the single block reference.
fn nest(
    arg: usize,
    ind: &[u32],
    numblocks: &[u32],
    contracted: &[u32],
    labels: &mut BTreeMap<u32, u32>,
    sizes: &BTreeMap<u32, u32>,
) -> BlockRef {
    if let Some((&first, rest)) = contracted.split_first() {
        let n = sizes[&first];
        let items = (0..n)
            .map(|i| {
                labels.insert(first, i);
                nest(arg, ind, numblocks, rest, labels, sizes)
            })
            .collect();
        labels.remove(&first);
        return BlockRef::List(items);
    }
    let coords = ind
        .iter()
        .zip(numblocks)
        .map(|(l, &nb)| if nb == 1 { 0 } else { labels[l] })
        .collect();
    BlockRef::Block { arg, coords }
}

/// Row-major increment of `coords` within `shape`; false once it wraps around.
pub(crate) fn advance(coords: &mut [u32], shape: &[u32]) -> bool {
    for d in (0..coords.len()).rev() {
        coords[d] += 1;
        if coords[d] < shape[d] {
            return true;
        }
        coords[d] = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(ind: &[u32], nb: &[u32]) -> BlockwiseInput {
        BlockwiseInput::Blocks {
            ind: ind.to_vec(),
            numblocks: nb.to_vec(),
        }
    }

    fn expand(b: &Blockwise) -> Vec<(Vec<u32>, Vec<BlockRef>)> {
        let mut out = Vec::new();
        b.expand::<GraphError>(|c, a| {
            out.push((c.to_vec(), a));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn elementwise_with_transpose_and_literal() {
        // out[i, j] = f(x[i, j], y[j, i], 5)
        let b = Blockwise {
            name: "add".into(),
            out_ind: vec![0, 1],
            inputs: vec![
                blocks(&[0, 1], &[2, 3]),
                blocks(&[1, 0], &[3, 2]),
                BlockwiseInput::Literal,
            ],
            new_axes: BTreeMap::new(),
        };
        let tasks = expand(&b);
        assert_eq!(tasks.len(), 6);
        let (c, args) = &tasks[5];
        assert_eq!(c, &[1, 2]);
        assert_eq!(
            args[0],
            BlockRef::Block {
                arg: 0,
                coords: vec![1, 2]
            }
        );
        assert_eq!(
            args[1],
            BlockRef::Block {
                arg: 1,
                coords: vec![2, 1]
            }
        );
        assert_eq!(args[2], BlockRef::Literal { arg: 2 });
    }

    #[test]
    fn one_block_matches_the_expansion() {
        let b = Blockwise {
            name: "dot".into(),
            out_ind: vec![0, 2],
            inputs: vec![blocks(&[0, 1], &[2, 3]), blocks(&[1, 2], &[3, 4])],
            new_axes: BTreeMap::new(),
        };
        let sizes = b.label_sizes().unwrap();
        for (coords, args) in expand(&b) {
            assert_eq!(b.block(&sizes, &coords), args);
        }
    }

    #[test]
    fn contraction_gives_lists_and_broadcast_uses_block_zero() {
        // out[i] = f([x[i, k] for k], b[0])  with b broadcast along i
        let b = Blockwise {
            name: "dot".into(),
            out_ind: vec![0],
            inputs: vec![blocks(&[0, 1], &[2, 3]), blocks(&[0], &[1])],
            new_axes: BTreeMap::new(),
        };
        let tasks = expand(&b);
        assert_eq!(tasks.len(), 2);
        let BlockRef::List(items) = &tasks[1].1[0] else {
            panic!()
        };
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[2],
            BlockRef::Block {
                arg: 0,
                coords: vec![1, 2]
            }
        );
        assert_eq!(
            tasks[1].1[1],
            BlockRef::Block {
                arg: 1,
                coords: vec![0]
            }
        );
    }

    #[test]
    fn mismatched_blocks_are_an_error() {
        let b = Blockwise {
            name: "bad".into(),
            out_ind: vec![0],
            inputs: vec![blocks(&[0], &[2]), blocks(&[0], &[3])],
            new_axes: BTreeMap::new(),
        };
        let err = b.label_sizes().unwrap_err().to_string();
        assert_eq!(
            err,
            "layer \"bad\": argument 1 has 3 blocks along label 0, others have 2"
        );
    }
}
