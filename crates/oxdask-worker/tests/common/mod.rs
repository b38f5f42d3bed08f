//! Test helpers: a fake host whose values are byte vectors, and a fake scheduler.
// Each test file uses its own subset of the helpers.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use oxdask_comm::{accept, FrameReader, Sender};
use oxdask_graph::Key;
use oxdask_protocol::messages::{
    ComputeTask, ErrorBlob, SchedulerToWorker, WorkerInfo, WorkerToScheduler,
};
use oxdask_protocol::{decode_batch, Hello, Role};
use oxdask_worker::{
    run_worker, Executed, Host, PeerHandle, Pieces, WorkerConfig, WorkerError, WorkerExit,
};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Bound on every await in these tests.
pub const LIMIT: Duration = Duration::from_secs(10);

/// Values are little-endian `i64`s. A task's payload is a constant `c` (8 bytes): the result
/// is `c + sum(inputs)`, times the function's factor (8 bytes) if the task names one. A
/// payload starting with `fail` raises. A payload `take <address>` sums the pieces of
/// partition 0 of shuffle `s` taken from the worker at `address`.
///
/// Shuffle pieces are integers in `shuffles`, by (shuffle, partition): `(input, value)`.
#[derive(Default)]
pub struct FakeHost {
    pub shuffles: Mutex<HashMap<(String, u32), IntPieces>>,
    peers: OnceLock<PeerHandle>,
}

/// A fake host's pieces of one shuffle partition: `(input, value)`.
pub type IntPieces = Vec<(u32, i64)>;

pub fn int(v: i64) -> Bytes {
    Bytes::copy_from_slice(&v.to_le_bytes())
}

pub fn as_int(bytes: &[u8]) -> Option<i64> {
    Some(i64::from_le_bytes(bytes.get(..8)?.try_into().ok()?))
}

fn blob(text: &str) -> ErrorBlob {
    ErrorBlob {
        text: text.to_owned(),
        ..ErrorBlob::default()
    }
}

impl Host for FakeHost {
    type Value = Vec<u8>;

    fn execute(
        &self,
        task: &ComputeTask,
        function: Option<Bytes>,
        inputs: Vec<Arc<Vec<u8>>>,
    ) -> Result<Executed<Vec<u8>>, ErrorBlob> {
        if task.payload.starts_with(b"fail") {
            return Err(blob("ValueError: asked to fail"));
        }
        if let Some(address) = task.payload.strip_prefix(b"take ") {
            let address = String::from_utf8_lossy(address).into_owned();
            let peers = self.peers.get().ok_or_else(|| blob("not started"))?;
            let mut replies = peers
                .take_shuffle(&[address], "s", 0)
                .map_err(|e| blob(&e))?;
            let pieces = replies.remove(0).map_err(|e| blob(&e))?;
            let sum: i64 = pieces.iter().filter_map(|(_, _, b)| as_int(&b[0])).sum();
            return Ok(Executed {
                value: sum.to_le_bytes().to_vec(),
                nbytes: 8,
                type_name: "int".to_owned(),
                pickle: None,
            });
        }
        let constant = as_int(&task.payload).ok_or_else(|| blob("TypeError: bad payload"))?;
        let mut sum = constant;
        for input in inputs {
            sum += as_int(&input).ok_or_else(|| blob("TypeError: bad input"))?;
        }
        if let Some(f) = function {
            sum *= as_int(&f).ok_or_else(|| blob("TypeError: bad function"))?;
        }
        let value = sum.to_le_bytes().to_vec();
        Ok(Executed {
            pickle: task.inline.then(|| Bytes::from(value.clone())),
            value,
            nbytes: 8,
            type_name: "int".to_owned(),
        })
    }

    /// The pickle stream is a marker; the value travels as an out-of-band buffer.
    fn serialize(&self, value: &Vec<u8>) -> Result<(Bytes, Vec<Bytes>), ErrorBlob> {
        Ok((Bytes::from_static(b"v"), vec![Bytes::from(value.clone())]))
    }

    fn deserialize(&self, pickle: Bytes, buffers: Vec<Bytes>) -> Result<(Vec<u8>, u64), ErrorBlob> {
        if &pickle[..] != b"v" {
            return Err(blob("UnpicklingError: not a fake value"));
        }
        let value: Vec<u8> = buffers.iter().flat_map(|b| b.iter().copied()).collect();
        let n = value.len() as u64;
        Ok((value, n))
    }

    fn run(&self, call: Bytes) -> (Bytes, bool) {
        let mut reversed = call.to_vec();
        reversed.reverse();
        (Bytes::from(reversed), true)
    }

    fn started(&self, peers: PeerHandle) {
        let _ = self.peers.set(peers);
    }

    fn take_shuffle(&self, shuffle: &str, partition: u32) -> Result<Pieces, ErrorBlob> {
        let taken = self
            .shuffles
            .lock()
            .unwrap()
            .remove(&(shuffle.to_owned(), partition));
        let pieces = taken.unwrap_or_default().into_iter();
        Ok(pieces
            .map(|(input, v)| (input, Bytes::from_static(b"v"), vec![int(v)]))
            .collect())
    }

    fn drop_shuffle(&self, shuffle: &str) {
        self.shuffles
            .lock()
            .unwrap()
            .retain(|(s, _), _| s != shuffle);
    }
}

/// A worker running in the background, stopped by `stop`.
pub struct RunningWorker {
    pub host: Arc<FakeHost>,
    pub handle: JoinHandle<Result<WorkerExit, WorkerError>>,
    stop: Option<oneshot::Sender<()>>,
}

impl RunningWorker {
    pub fn start(scheduler: &str) -> Self {
        let mut config = WorkerConfig::new(scheduler);
        config.nthreads = 2;
        Self::start_with(config)
    }

    pub fn start_with(config: WorkerConfig) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let host = Arc::new(FakeHost::default());
        let handle = tokio::spawn(run_worker(config, host.clone(), shutdown));
        Self {
            host,
            handle,
            stop: Some(stop),
        }
    }

    pub async fn stop(mut self) -> Result<WorkerExit, WorkerError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        within(self.handle).await.unwrap()
    }
}

pub async fn within<T>(fut: impl Future<Output = T>) -> T {
    timeout(LIMIT, fut).await.expect("timed out")
}

/// The scheduler end of the tests.
pub struct FakeScheduler {
    listener: TcpListener,
    pub address: String,
}

impl FakeScheduler {
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("tcp://{}", listener.local_addr().unwrap());
        Self { listener, address }
    }

    /// Accepts a worker, reads its registration and welcomes it.
    pub async fn accept_worker(&self, worker_id: u32) -> WorkerLink {
        let (stream, _) = within(self.listener.accept()).await.unwrap();
        let conn = within(accept(
            stream,
            Role::Scheduler,
            Hello::default(),
            &[Role::Worker],
            None,
            None,
        ))
        .await
        .unwrap();
        let (reader, sender) = conn.split();
        let mut link = WorkerLink {
            info: None,
            reader,
            sender,
            inbox: VecDeque::new(),
        };
        match link.next().await {
            (WorkerToScheduler::Register(info), _) => link.info = Some(info),
            (other, _) => panic!("expected Register, got {other:?}"),
        }
        link.send(SchedulerToWorker::Welcome { worker_id });
        link
    }
}

/// The scheduler's connection to one worker.
pub struct WorkerLink {
    pub info: Option<WorkerInfo>,
    reader: FrameReader,
    pub sender: Sender,
    inbox: VecDeque<(WorkerToScheduler, Vec<Bytes>)>,
}

impl WorkerLink {
    pub fn address(&self) -> String {
        self.info.as_ref().unwrap().address.clone()
    }

    pub fn send(&self, msg: SchedulerToWorker) {
        assert!(self.sender.send(msg));
    }

    /// The next message other than a heartbeat or a transfer report (both for the
    /// dashboard), with the buffers of its frame.
    pub async fn next(&mut self) -> (WorkerToScheduler, Vec<Bytes>) {
        for _ in 0..1000 {
            if let Some(item) = self.inbox.pop_front() {
                let diagnostic = matches!(
                    item.0,
                    WorkerToScheduler::Heartbeat { .. } | WorkerToScheduler::Transferred { .. }
                );
                if !diagnostic {
                    return item;
                }
                continue;
            }
            self.read_frame().await;
        }
        panic!("only heartbeats from the worker");
    }

    /// Queues the messages of the worker's next frame.
    async fn read_frame(&mut self) {
        let frame = within(self.reader.next())
            .await
            .unwrap()
            .expect("worker closed");
        for msg in decode_batch::<WorkerToScheduler>(&frame.payload).unwrap() {
            self.inbox.push_back((msg, frame.buffers.clone()));
        }
    }

    /// The next heartbeat's `(managed, spilled)` bytes; other messages stay queued.
    pub async fn heartbeat(&mut self) -> (u64, u64) {
        for _ in 0..1000 {
            let found = self
                .inbox
                .iter()
                .position(|(m, _)| matches!(m, WorkerToScheduler::Heartbeat { .. }));
            if let Some(i) = found {
                if let Some((
                    WorkerToScheduler::Heartbeat {
                        managed, spilled, ..
                    },
                    _,
                )) = self.inbox.remove(i)
                {
                    return (managed, spilled);
                }
            }
            self.read_frame().await;
        }
        panic!("no heartbeat from the worker");
    }

    /// Messages until (and including) the first one `done` accepts.
    pub async fn until(
        &mut self,
        done: impl Fn(&WorkerToScheduler) -> bool,
    ) -> Vec<WorkerToScheduler> {
        let mut seen = Vec::new();
        for _ in 0..100 {
            let (msg, _) = self.next().await;
            let last = done(&msg);
            seen.push(msg);
            if last {
                return seen;
            }
        }
        panic!("the expected message never came; got {seen:?}");
    }
}

pub fn k(s: &str) -> Key {
    Key::str(s)
}

/// A task computing `constant + sum(deps)`.
pub fn task(key: &str, constant: i64, deps: &[(&str, &str)]) -> ComputeTask {
    ComputeTask {
        key: k(key),
        payload: int(constant),
        function: None,
        deps: deps
            .iter()
            .map(|(d, holder)| (k(d), vec![(*holder).to_owned()]))
            .collect(),
        priority: 0,
        resources: Vec::new(),
        nbytes: vec![8; deps.len()],
        inline: false,
    }
}
