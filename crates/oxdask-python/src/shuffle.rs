//! `_core.ShuffleStore`: the pieces of one engine shuffle (`oxdask.dataframe`), held between
//! the tasks that cut input partitions and the tasks that assemble output partitions.
//!
//! Pieces stay Python objects while they fit under the store's memory limit (a local shuffle
//! then copies nothing). Past the limit, the output partition holding the most bytes in
//! memory is spilled: its pieces are pickled (by the caller's `dump`) and appended to that
//! partition's file, an unnamed temporary file that disappears with the store. `take` hands
//! back an output partition's pieces in input order, spilled ones as the pickled bytes.
//!
//! Pushing a piece for an (input, output) pair that already has one replaces it, so a cut
//! task that runs again (a retried or repeated compute) never duplicates rows.
//!
//! Locking: the mutex is never held while Python runs (no call, no reference dropped), so a
//! thread holding the GIL and waiting for it cannot deadlock with one that holds it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use parking_lot::Mutex;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

enum Held {
    Memory(Py<PyAny>),
    Disk { offset: u64, len: u64 },
}

struct Piece {
    input: u32,
    nbytes: u64,
    held: Held,
}

#[derive(Default)]
struct Part {
    pieces: Vec<Piece>,
    in_memory: u64,
    file: Option<File>,
    file_len: u64,
}

/// A piece taken out of memory to be spilled: input, size, object.
type InMemory = (u32, u64, Py<PyAny>);

#[derive(Default)]
struct State {
    parts: Vec<Part>,
    in_memory: u64,
    spilled: u64,
}

impl State {
    /// Removes the piece of `input` from `part`, if any, returning its object to drop later.
    fn remove(&mut self, part: usize, input: u32) -> Option<Py<PyAny>> {
        let p = &mut self.parts[part];
        let at = p.pieces.iter().position(|x| x.input == input)?;
        let old = p.pieces.swap_remove(at);
        match old.held {
            Held::Memory(obj) => {
                p.in_memory -= old.nbytes;
                self.in_memory -= old.nbytes;
                Some(obj)
            }
            Held::Disk { .. } => {
                self.spilled -= old.nbytes;
                None // its bytes stay in the file, unreferenced
            }
        }
    }

    /// Takes the in-memory pieces of the largest part when over `limit`.
    fn take_spillable(&mut self, limit: u64) -> Option<(usize, Vec<InMemory>)> {
        if self.in_memory <= limit {
            return None;
        }
        let (part, _) = self
            .parts
            .iter()
            .enumerate()
            .max_by_key(|(_, p)| p.in_memory)?;
        let p = &mut self.parts[part];
        let mut out = Vec::new();
        let mut kept = Vec::new();
        for piece in p.pieces.drain(..) {
            match piece.held {
                Held::Memory(obj) => out.push((piece.input, piece.nbytes, obj)),
                held => kept.push(Piece { held, ..piece }),
            }
        }
        p.pieces = kept;
        let moved: u64 = out.iter().map(|(_, n, _)| n).sum();
        p.in_memory -= moved;
        self.in_memory -= moved;
        (!out.is_empty()).then_some((part, out))
    }
}

/// See the module docs and `_core.pyi`.
#[pyclass(module = "oxdask._core", frozen)]
pub(crate) struct ShuffleStore {
    limit: u64,
    directory: PathBuf,
    state: Mutex<State>,
}

fn io_err(what: &str, e: std::io::Error) -> PyErr {
    PyOSError::new_err(format!("shuffle store: {what}: {e}"))
}

#[pymethods]
impl ShuffleStore {
    #[new]
    fn new(npartitions: u32, memory_limit: u64, directory: PathBuf) -> Self {
        let state = State {
            parts: (0..npartitions).map(|_| Part::default()).collect(),
            ..State::default()
        };
        Self {
            limit: memory_limit,
            directory,
            state: Mutex::new(state),
        }
    }

    /// Adds the piece of input partition `input` for output partition `output` (`nbytes` its
    /// size); spills with `dump(piece) -> bytes` while the store is over its memory limit.
    fn push(
        &self,
        py: Python<'_>,
        input: u32,
        output: u32,
        piece: Py<PyAny>,
        nbytes: u64,
        dump: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let part = output as usize;
        let replaced = {
            let mut st = self.state.lock();
            if part >= st.parts.len() {
                return Err(PyValueError::new_err(format!(
                    "shuffle store: output partition {output} is out of range (the shuffle \
                     has {} output partitions)",
                    st.parts.len()
                )));
            }
            let replaced = st.remove(part, input);
            let p = &mut st.parts[part];
            p.pieces.push(Piece {
                input,
                nbytes,
                held: Held::Memory(piece),
            });
            p.in_memory += nbytes;
            st.in_memory += nbytes;
            replaced
        };
        drop(replaced);
        loop {
            let Some((part, pieces)) = self.state.lock().take_spillable(self.limit) else {
                return Ok(());
            };
            let mut dumped = Vec::with_capacity(pieces.len());
            for (input, nbytes, obj) in pieces {
                let bytes: Vec<u8> = dump.call1((obj.bind(py),))?.extract()?;
                dumped.push((input, nbytes, bytes));
            }
            py.detach(|| self.write(part, dumped))?;
        }
    }

    /// The pieces of output partition `output` in input order, each `(input, piece, pickled)`:
    /// `pickled` is True for a spilled piece given as the bytes `dump` made. The partition is
    /// empty afterwards.
    #[allow(clippy::type_complexity)]
    fn take<'py>(
        &self,
        py: Python<'py>,
        output: u32,
    ) -> PyResult<Vec<(u32, Bound<'py, PyAny>, bool)>> {
        let (mut pieces, file) = {
            let mut st = self.state.lock();
            let Some(p) = st.parts.get_mut(output as usize) else {
                return Err(PyValueError::new_err(format!(
                    "shuffle store: output partition {output} is out of range"
                )));
            };
            let pieces = std::mem::take(&mut p.pieces);
            let file = p.file.take();
            let in_memory = std::mem::take(&mut p.in_memory);
            p.file_len = 0;
            st.in_memory -= in_memory;
            let on_disk: u64 = pieces
                .iter()
                .filter(|x| matches!(x.held, Held::Disk { .. }))
                .map(|x| x.nbytes)
                .sum();
            st.spilled -= on_disk;
            (pieces, file)
        };
        pieces.sort_by_key(|p| p.input);
        let mut file = file;
        let mut out = Vec::with_capacity(pieces.len());
        for piece in pieces {
            match piece.held {
                Held::Memory(obj) => out.push((piece.input, obj.into_bound(py), false)),
                Held::Disk { offset, len } => {
                    let f = file
                        .as_mut()
                        .ok_or_else(|| PyOSError::new_err("shuffle store: spill file missing"))?;
                    let bytes = py.detach(|| read_at(f, offset, len))?;
                    out.push((piece.input, PyBytes::new(py, &bytes).into_any(), true));
                }
            }
        }
        Ok(out)
    }

    /// Bytes of pieces held in memory.
    #[getter]
    fn in_memory(&self) -> u64 {
        self.state.lock().in_memory
    }

    /// Bytes (as counted in memory) of pieces spilled to disk.
    #[getter]
    fn spilled(&self) -> u64 {
        self.state.lock().spilled
    }
}

impl ShuffleStore {
    /// Appends pickled pieces to `part`'s spill file (created on first use).
    fn write(&self, part: usize, dumped: Vec<(u32, u64, Vec<u8>)>) -> PyResult<()> {
        let mut st = self.state.lock();
        let st = &mut *st;
        let p = &mut st.parts[part];
        if p.file.is_none() {
            let f = tempfile::tempfile_in(&self.directory)
                .map_err(|e| io_err(&format!("creating a file in {:?}", self.directory), e))?;
            p.file = Some(f);
        }
        let f = p.file.as_mut().expect("created above");
        f.seek(SeekFrom::End(0)).map_err(|e| io_err("seeking", e))?;
        for (input, nbytes, bytes) in dumped {
            f.write_all(&bytes).map_err(|e| io_err("writing", e))?;
            p.pieces.push(Piece {
                input,
                nbytes,
                held: Held::Disk {
                    offset: p.file_len,
                    len: bytes.len() as u64,
                },
            });
            p.file_len += bytes.len() as u64;
            st.spilled += nbytes;
        }
        Ok(())
    }
}

fn read_at(f: &mut File, offset: u64, len: u64) -> PyResult<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    f.seek(SeekFrom::Start(offset))
        .map_err(|e| io_err("seeking", e))?;
    f.read_exact(&mut buf).map_err(|e| io_err("reading", e))?;
    Ok(buf)
}
