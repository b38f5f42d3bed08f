//! The values held by the worker, in memory or spilled to disk.
//!
//! The state owner is the only one to add and remove keys; task threads read inputs (loading
//! spilled ones back into memory), the data server reads values to send (spilled ones go out
//! as the bytes on disk, never deserialized), and the spill job moves least recently used
//! values to disk. A spilled value is the host's serialized form, a pickle stream and its
//! out-of-band buffers, in one file under the worker's spill directory (see [`SpillDir`]).

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use oxdask_graph::{Key, KeyMap};
use parking_lot::RwLock;

use super::disklog::DiskLog;
use super::Host;

/// A stored value: in memory, on disk, or both (a value read back from disk keeps its file,
/// so spilling it again costs nothing). Never neither.
#[derive(Debug)]
struct Slot<V> {
    value: Option<Arc<V>>,
    file: Option<SpillFile>,
    nbytes: u64,
    /// Store clock at the last use (insertion, input to a task, sent to a peer).
    used: AtomicU64,
    /// Serializing it failed once: never try to spill it again.
    unspillable: bool,
}

#[derive(Debug)]
struct Inner<V> {
    slots: KeyMap<Slot<V>>,
    /// Bytes of the values in memory, and of those only on disk.
    memory_bytes: u64,
    disk_bytes: u64,
}

impl<V> Inner<V> {
    /// Brings a loaded value into a slot that had it on disk only.
    fn reload(&mut self, key: &Key, value: &Arc<V>) -> Option<Arc<V>> {
        let slot = self.slots.get_mut(key)?;
        if let Some(v) = &slot.value {
            return Some(v.clone()); // another thread loaded it first
        }
        slot.value = Some(value.clone());
        self.disk_bytes -= slot.nbytes;
        self.memory_bytes += slot.nbytes;
        Some(value.clone())
    }
}

/// Key to value. The state owner keeps its keys equal to the keys the state machine has in
/// memory (spilled or not).
#[derive(Debug)]
pub(crate) struct Store<V> {
    inner: RwLock<Inner<V>>,
    clock: AtomicU64,
    spill: Option<SpillDir>,
    /// Spills and reads back, for the task stream.
    pub(crate) disk: DiskLog,
}

/// A value to read: in memory, or the serialized form read back from disk.
pub(crate) enum Serialized<V> {
    Memory(Arc<V>),
    Disk { pickle: Bytes, buffers: Vec<Bytes> },
}

impl<V> Default for Store<V> {
    fn default() -> Self {
        Self::new(None)
    }
}

impl<V> Store<V> {
    /// A store spilling into `spill` (never spilling without one).
    pub(crate) fn new(spill: Option<SpillDir>) -> Self {
        Self {
            inner: RwLock::new(Inner {
                slots: KeyMap::default(),
                memory_bytes: 0,
                disk_bytes: 0,
            }),
            clock: AtomicU64::new(0),
            spill,
            disk: DiskLog::default(),
        }
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed)
    }

    /// Stores `value` unless `key` already has one (the state machine's contract: see
    /// [`crate::EventKind`]).
    pub(crate) fn insert_if_absent(&self, key: Key, value: V, nbytes: u64) {
        let used = AtomicU64::new(self.tick());
        let mut inner = self.inner.write();
        if inner.slots.contains_key(&key) {
            return;
        }
        inner.memory_bytes += nbytes;
        inner.slots.insert(
            key,
            Slot {
                value: Some(Arc::new(value)),
                file: None,
                nbytes,
                used,
                unspillable: false,
            },
        );
    }

    /// Removes the spill directory now (see [`SpillDir::remove_now`]).
    pub(crate) fn remove_spill_dir(&self) {
        if let Some(dir) = &self.spill {
            dir.remove_now();
        }
    }

    /// Bytes of the values in memory and of those only on disk.
    pub(crate) fn bytes(&self) -> (u64, u64) {
        let inner = self.inner.read();
        (inner.memory_bytes, inner.disk_bytes)
    }

    /// The value of `key`, read back from disk (and kept in memory again, its file kept as a
    /// clean copy) if it was spilled. Called on task threads.
    pub(crate) fn load<H: Host<Value = V>>(&self, key: &Key, host: &H) -> Result<Arc<V>, String> {
        let path = {
            let inner = self.inner.read();
            let slot = inner
                .slots
                .get(key)
                .ok_or_else(|| format!("{key} is not in memory"))?;
            slot.used.store(self.tick(), Ordering::Relaxed);
            match (&slot.value, &slot.file) {
                (Some(v), _) => return Ok(v.clone()),
                (None, Some(file)) => file.path.clone(),
                (None, None) => return Err(format!("{key} has neither a value nor a file")),
            }
        };
        let started = std::time::Instant::now();
        let (pickle, buffers) = read_spilled(&path).map_err(|e| format!("reading {key}: {e}"))?;
        let nbytes = serialized_len(&pickle, &buffers);
        let (value, _) = host
            .deserialize(pickle, buffers)
            .map_err(|e| format!("unspilling {key}: {}", e.text))?;
        self.disk.note(true, key, 1, nbytes, started);
        let value = Arc::new(value);
        // Freed meanwhile: the task still gets its input.
        Ok(self.inner.write().reload(key, &value).unwrap_or(value))
    }

    /// The values held among `keys` (in memory, or as read from disk), and the keys not held.
    /// Called on blocking threads.
    pub(crate) fn read_many(&self, keys: Vec<Key>) -> (Vec<(Key, Serialized<V>)>, Vec<Key>) {
        let mut found = Vec::with_capacity(keys.len());
        let mut missing = Vec::new();
        let mut on_disk = Vec::new();
        {
            let inner = self.inner.read();
            let now = self.tick();
            for key in keys {
                let Some(slot) = inner.slots.get(&key) else {
                    missing.push(key);
                    continue;
                };
                slot.used.store(now, Ordering::Relaxed);
                match (&slot.value, &slot.file) {
                    (Some(v), _) => found.push((key, Serialized::Memory(v.clone()))),
                    (None, Some(file)) => on_disk.push((key, file.path.clone())),
                    (None, None) => missing.push(key),
                }
            }
        }
        let started = std::time::Instant::now();
        let (mut read, mut first) = ((0, 0), None);
        for (key, path) in on_disk {
            match read_spilled(&path) {
                Ok((pickle, buffers)) => {
                    read.0 += 1;
                    read.1 += serialized_len(&pickle, &buffers);
                    first.get_or_insert_with(|| key.clone());
                    found.push((key, Serialized::Disk { pickle, buffers }));
                }
                Err(e) => {
                    // Removed since (freed), or the disk failed: the peer asks elsewhere.
                    tracing::warn!(key = %key, error = %e, "could not read a spilled value");
                    missing.push(key);
                }
            }
        }
        if let Some(first) = first {
            self.disk.note(true, &first, read.0, read.1, started);
        }
        (found, missing)
    }

    /// Forgets `keys`; returns the values that were in memory and their bytes, for the
    /// caller to drop where that is cheap.
    pub(crate) fn remove(&self, keys: &[Key]) -> (Vec<Arc<V>>, u64) {
        let mut inner = self.inner.write();
        let mut freed = (Vec::new(), 0);
        for key in keys {
            if let Some(slot) = inner.slots.remove(key) {
                match slot.value {
                    Some(v) => {
                        inner.memory_bytes -= slot.nbytes;
                        freed.0.push(v);
                        freed.1 += slot.nbytes;
                    }
                    None => inner.disk_bytes -= slot.nbytes,
                }
            }
        }
        freed
    }

    /// Moves values to disk until at most `target` bytes are in memory, or nothing more can
    /// be spilled: first those with a clean copy on disk (just dropped from memory: nothing to
    /// write, and reading them back maps the file), least recently used first, then the
    /// others, least recently used first. So a scan over spilled results does not push the
    /// results never spilled out to disk in its wake. Returns `(values, bytes)` spilled and the values evicted, which the caller
    /// drops where that is cheap (Python: holding the GIL). Called on a blocking thread; the
    /// host serializes, the file is written without holding anything.
    pub(crate) fn spill_to<H: Host<Value = V>>(
        &self,
        target: u64,
        host: &H,
    ) -> ((usize, u64), Vec<Arc<V>>) {
        let mut evicted = Vec::new();
        let Some(dir) = &self.spill else {
            return ((0, 0), evicted);
        };
        let candidates: Vec<(Key, Arc<V>, u64, bool)> = {
            let inner = self.inner.read();
            if inner.memory_bytes <= target {
                return ((0, 0), evicted);
            }
            let mut lru: Vec<(u64, &Key, &Arc<V>, u64, bool)> = inner
                .slots
                .iter()
                .filter_map(|(k, s)| match &s.value {
                    Some(v) if !s.unspillable && s.nbytes > 0 => Some((
                        s.used.load(Ordering::Relaxed),
                        k,
                        v,
                        s.nbytes,
                        s.file.is_some(),
                    )),
                    _ => None,
                })
                .collect();
            lru.sort_unstable_by_key(|&(used, _, _, _, clean)| (!clean, used));
            let mut excess = inner.memory_bytes - target;
            let mut chosen = Vec::new();
            for (_, key, value, nbytes, clean) in lru {
                if excess == 0 {
                    break;
                }
                excess = excess.saturating_sub(nbytes);
                chosen.push((key.clone(), value.clone(), nbytes, clean));
            }
            chosen
        };
        let mut spilled = (0, 0);
        let (started, mut first) = (std::time::Instant::now(), None);
        for (key, value, nbytes, clean) in candidates {
            let written = if clean {
                Ok(None)
            } else {
                host.serialize(&value)
                    .map_err(|e| e.text)
                    .and_then(|(pickle, buffers)| {
                        dir.write(&pickle, &buffers).map_err(|e| e.to_string())
                    })
                    .map(Some)
            };
            let mut inner = self.inner.write();
            let inner = &mut *inner;
            let Some(slot) = inner.slots.get_mut(&key) else {
                continue; // freed meanwhile; the file (if any) is dropped here
            };
            let same = matches!(&slot.value, Some(v) if Arc::ptr_eq(v, &value));
            match written {
                Ok(file) if same => {
                    if file.is_some() {
                        slot.file = file;
                    }
                    if slot.file.is_some() {
                        evicted.extend(slot.value.take());
                        inner.memory_bytes -= nbytes;
                        inner.disk_bytes += nbytes;
                        spilled.0 += 1;
                        spilled.1 += nbytes;
                        first.get_or_insert_with(|| key.clone());
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(key = %key, %error, "could not spill a value; keeping it in memory");
                    slot.unspillable = true;
                }
            }
            drop(value);
        }
        if let Some(first) = first {
            let count = u32::try_from(spilled.0).unwrap_or(u32::MAX);
            self.disk.note(false, &first, count, spilled.1, started);
        }
        (spilled, evicted)
    }
}

/// The directory spilled values go to: `oxdask-spill-<pid>-*`, created on the first spill and
/// removed (with its files) when dropped or by [`SpillDir::remove_now`]. Creating it first
/// removes the spill directories of processes that no longer exist (workers killed outright).
#[derive(Debug)]
pub(crate) struct SpillDir {
    parent: Option<PathBuf>,
    dir: std::sync::OnceLock<Result<tempfile::TempDir, String>>,
    next: AtomicU64,
}

/// One spilled value's file, deleted when dropped.
#[derive(Debug)]
struct SpillFile {
    path: PathBuf,
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Parts start on this alignment in spill files, so buffers read back are as aligned as the
/// read buffer (NumPy arrays over them stay aligned).
const ALIGN: usize = 64;
const MAGIC: &[u8; 8] = b"OXSPILL1";

impl SpillDir {
    /// A spill directory to be created under `parent` (the system's temporary directory when
    /// `None`) when first needed.
    pub(crate) fn new(parent: Option<PathBuf>) -> Self {
        Self {
            parent,
            dir: std::sync::OnceLock::new(),
            next: AtomicU64::new(0),
        }
    }

    /// The directory, created on first use.
    pub(crate) fn path(&self) -> std::io::Result<&std::path::Path> {
        let dir = self.dir.get_or_init(|| {
            let parent = self.parent.clone().unwrap_or_else(std::env::temp_dir);
            std::fs::create_dir_all(&parent).map_err(|e| e.to_string())?;
            remove_orphans(&parent);
            let dir = tempfile::Builder::new()
                .prefix(&format!("{PREFIX}{}-", std::process::id()))
                .tempdir_in(&parent)
                .map_err(|e| format!("creating a spill directory in {}: {e}", parent.display()))?;
            tracing::debug!(path = %dir.path().display(), "spill directory");
            Ok(dir)
        });
        match dir {
            Ok(d) => Ok(d.path()),
            Err(e) => Err(std::io::Error::other(e.clone())),
        }
    }

    /// Removes the directory and its files now (before the process re-executes itself, which
    /// runs no destructors).
    pub(crate) fn remove_now(&self) {
        if let Some(Ok(dir)) = self.dir.get() {
            let _ = std::fs::remove_dir_all(dir.path());
        }
    }

    /// Writes a pickle stream and its buffers: `MAGIC`, the part count and each part's
    /// length (little-endian u64), then the parts, each padded to [`ALIGN`].
    fn write(&self, pickle: &Bytes, buffers: &[Bytes]) -> std::io::Result<SpillFile> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = self.path()?.join(format!("{n}.spill"));
        let file = SpillFile { path };
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file.path)?);
        let parts: Vec<&Bytes> = std::iter::once(pickle).chain(buffers).collect();
        let mut header = Vec::with_capacity(16 + 8 * parts.len());
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&(parts.len() as u64).to_le_bytes());
        for p in &parts {
            header.extend_from_slice(&(p.len() as u64).to_le_bytes());
        }
        write_padded(&mut out, &header)?;
        for p in parts {
            write_padded(&mut out, p)?;
        }
        out.into_inner().map_err(|e| e.into_error())?;
        Ok(file)
    }
}

const PREFIX: &str = "oxdask-spill-";

/// Removes `oxdask-spill-<pid>-*` directories under `parent` whose process is gone (Linux:
/// no `/proc/<pid>`; elsewhere nothing is removed).
fn remove_orphans(parent: &std::path::Path) {
    if !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn padding(len: usize) -> usize {
    (ALIGN - len % ALIGN) % ALIGN
}

fn write_padded(out: &mut impl Write, data: &[u8]) -> std::io::Result<()> {
    out.write_all(data)?;
    out.write_all(&[0u8; ALIGN][..padding(data.len())])
}

/// Spill files at least this large are mapped rather than read.
const MAP_FROM: u64 = 1 << 20;

/// A spill file's bytes. Large files are mapped copy-on-write: their pages are the page
/// cache's own until written, so reading a value back neither zero-fills a new buffer nor
/// copies it (and the buffers handed to Python stay writable).
fn load_spilled(path: &std::path::Path) -> std::io::Result<Bytes> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len < MAP_FROM {
        let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut data)?;
        return Ok(Bytes::from(data));
    }
    map_private(&file)
}

#[allow(unsafe_code)]
fn map_private(file: &std::fs::File) -> std::io::Result<Bytes> {
    // SAFETY: a spill file is written completely before it is read, and never written to or
    // truncated afterwards; it is only unlinked, which leaves existing mappings valid. The
    // mapping is private, so writes through it never reach the file. (Not populated: on a
    // writable private mapping that would copy every page.)
    let map = unsafe { memmap2::MmapOptions::new().map_copy(file)? };
    Ok(Bytes::from_owner(map))
}

/// Bytes of a serialized value: its pickle stream and buffers.
fn serialized_len(pickle: &Bytes, buffers: &[Bytes]) -> u64 {
    pickle.len() as u64 + buffers.iter().map(|b| b.len() as u64).sum::<u64>()
}

/// Reads a spill file back: the pickle stream and buffers, slices of one read.
fn read_spilled(path: &std::path::Path) -> std::io::Result<(Bytes, Vec<Bytes>)> {
    let data = load_spilled(path)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let word = |at: usize| -> std::io::Result<u64> {
        let b = data
            .get(at..at + 8)
            .ok_or_else(|| bad("truncated header"))?;
        Ok(u64::from_le_bytes(b.try_into().map_err(|_| bad("header"))?))
    };
    if data.get(..8) != Some(MAGIC.as_slice()) {
        return Err(bad("not a spill file"));
    }
    let count = usize::try_from(word(8)?).map_err(|_| bad("part count"))?;
    if count == 0 || count > data.len() / 8 {
        return Err(bad("part count"));
    }
    let header = 16 + 8 * count;
    let mut at = header + padding(header);
    let mut parts = Vec::with_capacity(count);
    for i in 0..count {
        let len = usize::try_from(word(16 + 8 * i)?).map_err(|_| bad("part length"))?;
        let end = at.checked_add(len).filter(|&e| e <= data.len());
        let end = end.ok_or_else(|| bad("truncated part"))?;
        parts.push(data.slice(at..end));
        at = end + padding(len);
    }
    let pickle = parts.remove(0);
    Ok((pickle, parts))
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
