//! Counter-based random blocks.
//!
//! Every element of a random array is a pure function of a 64-bit key and the element's
//! C-order flat index `i` in the whole array: the word `z = i * G + key` (a Weyl sequence,
//! wrapping) goes through two xorshift-multiply rounds. A block is therefore the same
//! whatever the chunking, and needs no state shared with other blocks. Uniform doubles take
//! the top 52 bits as the mantissa of a number in [1, 2), minus one.

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
const M1: u64 = 0xBF58_476D_1CE4_E5B9;
const M2: u64 = 0x94D0_49BB_1331_11EB;
const ONE_BITS: u64 = 0x3FF0_0000_0000_0000;

/// The mixed word of Weyl value `z`.
#[inline]
fn mix(mut z: u64) -> u64 {
    z ^= z >> 32;
    z = z.wrapping_mul(M1);
    z ^= z >> 29;
    z.wrapping_mul(M2)
}

/// The bits of the uniform double in [0, 1) made from a mixed word.
#[inline]
fn uniform_bits(word: u64) -> u64 {
    (f64::from_bits((word >> 12) | ONE_BITS) - 1.0).to_bits()
}

/// What a block holds: mixed words or uniform doubles (as bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Words,
    Uniform,
}

/// The block `starts..stops` (per axis) of an array of `shape`, in C order. Errors name the
/// axis whose bounds are wrong.
pub fn block(
    key: u64,
    starts: &[u64],
    stops: &[u64],
    shape: &[u64],
    output: Output,
) -> Result<Vec<u64>, String> {
    if starts.len() != shape.len() || stops.len() != shape.len() {
        return Err(format!(
            "random block: {} starts and {} stops for an array of {} dimensions",
            starts.len(),
            stops.len(),
            shape.len()
        ));
    }
    for (axis, ((&a, &b), &n)) in starts.iter().zip(stops).zip(shape).enumerate() {
        if a > b || b > n {
            return Err(format!(
                "random block: axis {axis} bounds {a}..{b} are not within 0..{n}"
            ));
        }
    }
    let lens: Vec<u64> = starts.iter().zip(stops).map(|(a, b)| b - a).collect();
    let total = lens
        .iter()
        .try_fold(1usize, |acc, &l| {
            usize::try_from(l).ok().and_then(|l| acc.checked_mul(l))
        })
        .filter(|&t| t <= isize::MAX as usize / 8)
        .ok_or("random block: too many elements")?;
    // Not zero-filled first: every value is written once, by `extend`.
    let mut out = Vec::with_capacity(total);
    if total == 0 {
        return Ok(out);
    }
    // strides[d]: the flat-index step of axis d in the whole array (wrapping, as the words)
    let mut strides = vec![1u64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1].wrapping_mul(shape[d + 1]);
    }
    let row_len = lens.last().copied().unwrap_or(1);
    let last_start = starts.last().copied().unwrap_or(0);
    let lead = lens.len().saturating_sub(1);
    let mut index = vec![0u64; lead]; // position within the block on the leading axes
    for _ in 0..total / row_len as usize {
        let mut flat = last_start;
        for d in 0..lead {
            flat = flat.wrapping_add((starts[d] + index[d]).wrapping_mul(strides[d]));
        }
        let first = flat.wrapping_mul(GOLDEN).wrapping_add(key);
        let row = (0..row_len).map(|j| mix(first.wrapping_add(j.wrapping_mul(GOLDEN))));
        match output {
            Output::Words => out.extend(row),
            Output::Uniform => out.extend(row.map(uniform_bits)),
        }
        for d in (0..lead).rev() {
            index[d] += 1;
            if index[d] < lens[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_agree_with_the_whole_array() {
        let shape = [5, 7, 3];
        let whole = block(9, &[0, 0, 0], &shape, &shape, Output::Words).unwrap();
        let part = block(9, &[1, 2, 1], &[4, 6, 3], &shape, Output::Words).unwrap();
        let mut expect = Vec::new();
        for i in 1..4 {
            for j in 2..6 {
                for k in 1..3 {
                    expect.push(whole[(i * 7 + j) * 3 + k]);
                }
            }
        }
        assert_eq!(part, expect);
        assert_eq!(whole[0], mix(9));
        assert_eq!(whole[4], mix(4u64.wrapping_mul(GOLDEN).wrapping_add(9)));
    }

    #[test]
    fn uniform_values_are_in_unit_interval() {
        let shape = [1000];
        let bits = block(1, &[0], &shape, &shape, Output::Uniform).unwrap();
        let values: Vec<f64> = bits.into_iter().map(f64::from_bits).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
    }

    #[test]
    fn scalars_empty_blocks_and_bad_bounds() {
        assert_eq!(block(3, &[], &[], &[], Output::Words).unwrap().len(), 1);
        assert!(block(3, &[2], &[2], &[4], Output::Words)
            .unwrap()
            .is_empty());
        let err = block(3, &[0, 3], &[1, 2], &[1, 4], Output::Words).unwrap_err();
        assert!(err.contains("axis 1"), "{err}");
        assert!(block(3, &[0], &[1], &[1, 1], Output::Words).is_err());
    }
}
