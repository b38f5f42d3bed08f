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
///
/// On the wire a key is the plain MessagePack value Python would write for it: a string, an
/// integer, a float, bytes, or an array for a tuple (see the `serde` impls below).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl serde::Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Key::Str(v) => s.serialize_str(v),
            Key::Int(i) => s.serialize_i64(*i),
            Key::Float(bits) => s.serialize_f64(f64::from_bits(*bits)),
            Key::Bytes(b) => s.serialize_bytes(b),
            Key::Tuple(parts) => s.collect_seq(parts.iter()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

/// Reads a key from whichever of its plain forms the input holds.
struct KeyVisitor;

impl<'de> serde::de::Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key: a string, integer, float, bytes or an array of those")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key::Str(v.into()))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Key, E> {
        Ok(Key::Int(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Key, E> {
        i64::try_from(v)
            .map(Key::Int)
            .map_err(|_| E::custom(format!("integer key {v} is beyond 64 bits")))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Key, E> {
        Ok(Key::Float(v.to_bits()))
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Key, E> {
        Ok(Key::Bytes(v.into()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Key, A::Error> {
        let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(p) = seq.next_element::<Key>()? {
            parts.push(p);
        }
        Ok(Key::Tuple(parts.into()))
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
