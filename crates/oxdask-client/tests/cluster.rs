//! The client against a real scheduler and worker running in this process (TCP on
//! loopback): submissions, reports, structured failures, data, scheduler calls, timeouts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use oxdask_client::{Client, ClientError, KeyEvent, Request};
use oxdask_graph::Key;
use oxdask_protocol::messages::{
    BufIx, ClientToScheduler, ComputeTask, ErrorBlob, Failure, SchedulerToClient, StoredValue,
    WireTask,
};
use oxdask_scheduler::server::{serve, Extension, SchedulerExtension, ServerConfig, ServerHandle};
use oxdask_worker::{run_worker, Executed, Host, WorkerConfig};
use tokio::runtime::Runtime;

/// Values are little-endian `i64`s: a task's payload is a constant added to its inputs; a
/// payload `fail` raises.
struct IntHost;

fn int(v: i64) -> Bytes {
    Bytes::copy_from_slice(&v.to_le_bytes())
}

fn as_int(b: &[u8]) -> i64 {
    i64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

impl Host for IntHost {
    type Value = i64;

    fn execute(
        &self,
        task: &ComputeTask,
        _function: Option<Bytes>,
        inputs: Vec<Arc<i64>>,
    ) -> Result<Executed<i64>, ErrorBlob> {
        if &task.payload[..] == b"fail" {
            return Err(ErrorBlob {
                text: "ValueError: asked to fail".into(),
                ..ErrorBlob::default()
            });
        }
        let value = as_int(&task.payload) + inputs.iter().map(|v| **v).sum::<i64>();
        Ok(Executed {
            value,
            nbytes: 8,
            type_name: "int".into(),
            pickle: None,
        })
    }

    fn serialize(&self, value: &i64) -> Result<(Bytes, Vec<Bytes>), ErrorBlob> {
        Ok((int(*value), Vec::new()))
    }

    fn deserialize(&self, pickle: Bytes, _buffers: Vec<Bytes>) -> Result<(i64, u64), ErrorBlob> {
        Ok((as_int(&pickle), 8))
    }

    fn run(&self, call: Bytes) -> (Bytes, bool) {
        (call, true)
    }
}

/// Answers a call with its bytes reversed, and counts the clients that left.
#[derive(Default)]
struct Reverse {
    left: parking_lot::Mutex<Vec<u32>>,
}

impl SchedulerExtension for Reverse {
    fn call(&self, _client: u32, call: Bytes) -> (Bytes, bool) {
        let mut v = call.to_vec();
        v.reverse();
        (Bytes::from(v), true)
    }

    fn client_left(&self, client: u32) {
        self.left.lock().push(client);
    }
}

struct Cluster {
    rt: Runtime,
    scheduler: Option<ServerHandle>,
    address: String,
    ext: Arc<Reverse>,
}

impl Cluster {
    fn start(workers: usize) -> Self {
        let rt = Runtime::new().expect("runtime");
        let ext = Arc::new(Reverse::default());
        let config = ServerConfig {
            listen: "127.0.0.1:0".into(),
            http: None,
            extension: Some(Extension(ext.clone())),
            ..ServerConfig::default()
        };
        let handle = rt.block_on(serve(config)).expect("scheduler");
        let address = handle.address.clone();
        for _ in 0..workers {
            let mut config = WorkerConfig::new(address.clone());
            config.listen = "127.0.0.1:0".into();
            rt.spawn(run_worker(
                config,
                Arc::new(IntHost),
                std::future::pending(),
            ));
        }
        let cluster = Self {
            rt,
            scheduler: Some(handle),
            address,
            ext,
        };
        cluster.wait_for_workers(workers);
        cluster
    }

    fn client(&self) -> Client {
        Client::connect(self.rt.handle(), &self.address, None, None, 5.0).expect("connect")
    }

    fn wait_for_workers(&self, n: usize) {
        let client = self.client();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (reply, _) = client.request(Request::Info, 5.0).expect("info");
            let SchedulerToClient::Info { json, .. } = reply else {
                panic!("info answered with {reply:?}")
            };
            if json.matches("\"nthreads\"").count() >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "workers did not register: {json}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(h) = self.scheduler.take() {
            self.rt.block_on(h.stop());
        }
    }
}

fn task(key: &str, deps: &[&str], payload: Bytes) -> WireTask {
    WireTask {
        key: Key::str(key),
        deps: deps.iter().map(|d| Key::str(d)).collect(),
        payload,
        function: None,
        func_name: key.into(),
        priority: 0,
        workers: None,
        allow_other_workers: false,
        resources: Vec::new(),
        retries: 0,
    }
}

/// Reports until `n` arrived (bounded).
fn events(client: &Client, n: usize) -> Vec<KeyEvent> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut out = Vec::new();
    while out.len() < n {
        assert!(Instant::now() < deadline, "only {out:?} arrived");
        out.extend(client.take_events(0.2));
    }
    out
}

fn holder(client: &Client, key: &str) -> String {
    let (reply, _) = client
        .request(Request::WhoHas(vec![Key::str(key)]), 5.0)
        .expect("who_has");
    let SchedulerToClient::WhoHas { holders, .. } = reply else {
        panic!("who_has answered with {reply:?}")
    };
    holders[0].1[0].clone()
}

#[test]
fn results_come_back_and_are_fetched_from_the_worker() {
    let cluster = Cluster::start(2);
    let client = cluster.client();
    let tasks = vec![task("a", &[], int(1)), task("b", &["a"], int(2))];
    client
        .submit(tasks, vec![Key::str("b")], Vec::new(), Vec::new())
        .expect("submit");
    let got = events(&client, 1);
    assert!(matches!(&got[0], KeyEvent::Memory { key, nbytes: 8, .. } if *key == Key::str("b")));
    let worker = holder(&client, "b");
    let reply = client
        .get_data(&worker, vec![Key::str("b"), Key::str("nope")], 5.0)
        .expect("get_data");
    let pickle = reply.values[0].pickle.get(&reply.buffers).expect("buffer");
    assert_eq!(as_int(&pickle), 3);
    assert_eq!(reply.missing, vec![Key::str("nope")]);
}

#[test]
fn failures_arrive_structured_with_the_failing_task() {
    let cluster = Cluster::start(1);
    let client = cluster.client();
    let tasks = vec![
        task("bad", &[], Bytes::from_static(b"fail")),
        task("after", &["bad"], int(1)),
    ];
    client
        .submit(tasks, vec![Key::str("after")], Vec::new(), Vec::new())
        .expect("submit");
    match &events(&client, 1)[0] {
        KeyEvent::Erred { key, from, failure } => {
            assert_eq!((key, from), (&Key::str("after"), &Key::str("bad")));
            let Failure::Raised(blob) = failure else {
                panic!("not the task's own exception: {failure:?}")
            };
            assert_eq!(blob.text, "ValueError: asked to fail");
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn scattered_data_is_put_on_a_worker_and_used_by_tasks() {
    let cluster = Cluster::start(1);
    let client = cluster.client();
    let worker = holder_of_any(&client, &cluster);
    let value = StoredValue {
        key: Key::str("x"),
        pickle: BufIx(0),
        buffers: Vec::new(),
    };
    client
        .put_data(&worker, vec![value], vec![int(40)], 5.0)
        .expect("put_data");
    let scattered = ClientToScheduler::Scattered {
        worker: worker.clone(),
        keys: vec![(Key::str("x"), 8)],
    };
    client.send(scattered).expect("scattered");
    client
        .submit(
            vec![task("y", &["x"], int(2))],
            vec![Key::str("y")],
            Vec::new(),
            Vec::new(),
        )
        .expect("submit");
    // (x, scattered, may be reported first)
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|e| matches!(e, KeyEvent::Memory { key, .. } if *key == Key::str("y")))
    {
        assert!(Instant::now() < deadline, "y not reported: {seen:?}");
        seen.extend(client.take_events(0.2));
    }
    let reply = client
        .get_data(&holder(&client, "y"), vec![Key::str("y")], 5.0)
        .expect("get");
    assert_eq!(
        as_int(&reply.values[0].pickle.get(&reply.buffers).expect("buf")),
        42
    );
}

fn holder_of_any(client: &Client, _cluster: &Cluster) -> String {
    let (reply, _) = client.request(Request::Info, 5.0).expect("info");
    let SchedulerToClient::Info { json, .. } = reply else {
        panic!("info answered with {reply:?}")
    };
    let workers = json.find("\"workers\"").expect("workers");
    let start = json[workers..].find("tcp://").expect("a worker address") + workers;
    let end = json[start..].find('"').expect("end of the address") + start;
    json[start..end].to_owned()
}

#[test]
fn calls_run_in_the_scheduler_process_and_departures_are_reported() {
    let cluster = Cluster::start(0);
    let client = cluster.client();
    let (reply, buffers) = client
        .request(Request::Call(Bytes::from_static(b"abc")), 5.0)
        .expect("call");
    let SchedulerToClient::CallResult { result, ok, .. } = reply else {
        panic!("call answered with {reply:?}")
    };
    assert!(ok);
    assert_eq!(&result.get(&buffers).expect("result")[..], b"cba");
    client.send(ClientToScheduler::Close).expect("close");
    let deadline = Instant::now() + Duration::from_secs(5);
    while cluster.ext.left.lock().len() < 2 {
        // The `wait_for_workers` client and this one.
        assert!(Instant::now() < deadline, "client departures not reported");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn waits_honour_their_timeouts_and_a_lost_scheduler_is_reported() {
    let mut cluster = Cluster::start(0);
    let client = cluster.client();
    let start = Instant::now();
    let refused = client.get_data("tcp://127.0.0.1:1", vec![Key::str("k")], 0.5);
    assert!(matches!(
        refused,
        Err(ClientError::Connection(_) | ClientError::Timeout(_))
    ));
    assert!(start.elapsed() < Duration::from_secs(3));
    let handle = cluster.scheduler.take().expect("running");
    cluster.rt.block_on(handle.stop());
    assert!(matches!(
        events(&client, 1).last(),
        Some(KeyEvent::Closed { .. })
    ));
    let after = client.request(Request::Info, 1.0);
    assert!(
        matches!(after, Err(ClientError::Connection(_))),
        "{after:?}"
    );
}
