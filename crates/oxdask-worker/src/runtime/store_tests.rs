//! Tests of the store: spilling, reading back, files.

use super::*;

#[test]
fn spill_files_round_trip_aligned_parts() {
    let dir = SpillDir::new(None);
    let pickle = Bytes::from_static(b"pickle-stream");
    let buffers = vec![
        Bytes::from(vec![7u8; 100]),
        Bytes::new(),
        Bytes::from(vec![1u8; 64]),
    ];
    let file = dir.write(&pickle, &buffers).expect("write");
    let (p, bs) = read_spilled(&file.path).expect("read");
    assert_eq!(p, pickle);
    assert_eq!(bs, buffers);
    let path = file.path.clone();
    drop(file);
    assert!(!path.exists(), "a dropped spill file is deleted");
    let root = dir.path().expect("created").to_owned();
    drop(dir);
    assert!(!root.exists(), "the spill directory goes with the store");
}

/// Values are byte vectors, serialized as themselves.
struct Raw;

impl Host for Raw {
    type Value = Vec<u8>;

    fn execute(
        &self,
        _task: &oxdask_protocol::messages::ComputeTask,
        _function: Option<Bytes>,
        _inputs: Vec<Arc<Vec<u8>>>,
    ) -> Result<super::super::Executed<Vec<u8>>, oxdask_protocol::messages::ErrorBlob> {
        unreachable!("no tasks here")
    }

    fn serialize(
        &self,
        value: &Vec<u8>,
    ) -> Result<(Bytes, Vec<Bytes>), oxdask_protocol::messages::ErrorBlob> {
        Ok((Bytes::new(), vec![Bytes::from(value.clone())]))
    }

    fn deserialize(
        &self,
        _pickle: Bytes,
        buffers: Vec<Bytes>,
    ) -> Result<(Vec<u8>, u64), oxdask_protocol::messages::ErrorBlob> {
        let v = buffers[0].to_vec();
        let n = v.len() as u64;
        Ok((v, n))
    }

    fn run(&self, _call: Bytes) -> (Bytes, bool) {
        (Bytes::new(), false)
    }
}

#[test]
fn values_with_a_clean_copy_on_disk_are_dropped_before_others_are_written() {
    let store = Store::new(Some(SpillDir::new(None)));
    let (a, b, c) = (Key::str("a"), Key::str("b"), Key::str("c"));
    store.insert_if_absent(a.clone(), vec![1; 100], 100);
    store.insert_if_absent(b.clone(), vec![2; 100], 100);
    // a (least recently used) goes to disk, then is read back: in memory with a clean
    // copy, and now the most recently used.
    assert_eq!(store.spill_to(100, &Raw).0, (1, 100));
    assert_eq!(store.bytes(), (100, 100));
    assert_eq!(*store.load(&a, &Raw).expect("load a"), vec![1; 100]);
    store.insert_if_absent(c.clone(), vec![3; 100], 100);
    let dir = store
        .spill
        .as_ref()
        .and_then(|d| d.path().ok())
        .expect("spill dir");
    let files = || std::fs::read_dir(dir).expect("list").count();
    assert_eq!(files(), 1);
    // Over target again: a leaves (clean, though b was used before it), nothing written.
    assert_eq!(store.spill_to(200, &Raw).0, (1, 100));
    assert_eq!(files(), 1, "no new file: a was clean");
    {
        let inner = store.inner.read();
        assert!(inner.slots[&a].value.is_none());
        assert!(inner.slots[&b].value.is_some() && inner.slots[&c].value.is_some());
    }
    assert_eq!(*store.load(&a, &Raw).expect("load a again"), vec![1; 100]);
}

#[test]
fn large_spill_files_are_mapped_back_intact() {
    let dir = SpillDir::new(None);
    let big: Vec<u8> = (0..3 * MAP_FROM as usize)
        .map(|i| (i % 251) as u8)
        .collect();
    let buffers = vec![Bytes::from(big.clone()), Bytes::from(vec![9u8; 10])];
    let file = dir
        .write(&Bytes::from_static(b"p"), &buffers)
        .expect("write");
    let (p, bs) = read_spilled(&file.path).expect("read");
    drop(file); // unlinked: the mapping stays valid
    assert_eq!(p, Bytes::from_static(b"p"));
    assert_eq!(bs, buffers);
    assert_eq!(bs[0].as_ptr() as usize % ALIGN, 0, "parts stay aligned");
}

#[test]
fn orphaned_spill_directories_are_removed_live_ones_kept() {
    let parent = tempfile::tempdir().expect("temp dir");
    // No process has pid 0 in /proc; this process is alive.
    let dead = parent.path().join(format!("{PREFIX}0-abc"));
    let live = parent
        .path()
        .join(format!("{PREFIX}{}-abc", std::process::id()));
    let other = parent.path().join("unrelated");
    for d in [&dead, &live, &other] {
        std::fs::create_dir(d).expect("mkdir");
    }
    let dir = SpillDir::new(Some(parent.path().to_owned()));
    let own = dir.path().expect("created").to_owned();
    assert!(!dead.exists() && live.exists() && other.exists() && own.exists());
    dir.remove_now();
    assert!(!own.exists());
}

#[test]
fn corrupt_spill_files_are_errors_not_panics() {
    let dir = SpillDir::new(None);
    let path = dir.path().expect("created").join("bad");
    for content in [
        b"".to_vec(),
        b"OXSPILL1".to_vec(),
        [MAGIC.as_slice(), &u64::MAX.to_le_bytes()].concat(),
        [
            MAGIC.as_slice(),
            &1u64.to_le_bytes(),
            &1000u64.to_le_bytes(),
        ]
        .concat(),
    ] {
        std::fs::write(&path, content).expect("write");
        assert!(read_spilled(&path).is_err());
    }
}
