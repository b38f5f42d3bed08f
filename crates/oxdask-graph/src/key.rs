//! Dask keys: strings, numbers, or tuples of them such as `("sum-4a5f", 0, 3)`.

use std::fmt;
use std::sync::Arc;

/// Hashing for maps and sets keyed by [`Key`]. Keys are short strings and tuples looked up
/// several times per task on the scheduler and the workers, where SipHash cost more than the
/// rest of the lookup; Fx is deterministic and several times faster. (SipHash guards against
/// chosen colliding keys, but only authenticated clients submit keys.)
pub type KeyHasher = rustc_hash::FxBuildHasher;

/// A hash map keyed by task keys (see [`KeyHasher`]).
pub type KeyMap<V> = std::collections::HashMap<Key, V, KeyHasher>;

/// A task key, displayed the way Python would print it (`'x'`, `('x', 0, 1)`).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Key {
    /// A string key, the most common form (`"inc-8f3a"`).
    Str(Arc<str>),
    /// An integer key, or an integer element of a tuple key.
    Int(i64),
    /// A float element, stored by its bits so that keys stay hashable.
    Float(u64),
    /// A bytes key.
    Bytes(Arc<[u8]>),
    /// A tuple key, typically `(name, i, j, ...)` for a chunk of a collection.
    Tuple(Arc<[Key]>),
}

impl Key {
    /// A string key.
    pub fn str(s: &str) -> Self {
        Key::Str(s.into())
    }

    /// The tuple key `(name, index[0], index[1], ...)` used for chunks of collections.
    pub fn chunk(name: &str, index: &[u32]) -> Self {
        let mut parts = Vec::with_capacity(index.len() + 1);
        parts.push(Key::str(name));
        parts.extend(index.iter().map(|&i| Key::Int(i64::from(i))));
        Key::Tuple(parts.into())
    }

    /// The name part of a key: the string itself, or the first element of a tuple key.
    pub fn name(&self) -> Option<&str> {
        match self {
            Key::Str(s) => Some(s),
            Key::Tuple(parts) => parts.first().and_then(Key::name),
            _ => None,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Str(s) => write!(f, "'{s}'"),
            Key::Int(i) => write!(f, "{i}"),
            Key::Float(bits) => write!(f, "{:?}", f64::from_bits(*bits)),
            Key::Bytes(b) => write!(f, "b'{}'", String::from_utf8_lossy(b)),
            Key::Tuple(parts) => {
                f.write_str("(")?;
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{p}")?;
                }
                if parts.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_python() {
        assert_eq!(Key::str("x").to_string(), "'x'");
        assert_eq!(Key::chunk("x", &[0, 3]).to_string(), "('x', 0, 3)");
        assert_eq!(Key::Tuple(vec![Key::str("a")].into()).to_string(), "('a',)");
        assert_eq!(Key::chunk("x", &[1]).name(), Some("x"));
    }
}
