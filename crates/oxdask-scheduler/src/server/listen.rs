//! Binding, accepting and the per-connection reader tasks.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use oxdask_comm::{CommError, Connection, FrameReader, Listener, Tls};
use oxdask_protocol::messages::{ClientToScheduler, WorkerToScheduler};
use oxdask_protocol::{decode_batch, Hello, Role};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use super::core::{Core, Input};
use super::Extension;
use crate::SchedulerConfig;

/// How the server listens and decides.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// `host:port` for clients and workers (port 0: any free port).
    pub listen: String,
    /// `host:port` of the HTTP state endpoint, or `None` for no endpoint (HTTPS with `tls`;
    /// with `token`, the state wants it as a bearer token).
    pub http: Option<String>,
    /// Shared secret every peer must present in its handshake.
    pub token: Option<String>,
    /// TLS settings: with them the server listens for `tls://` connections only, and every
    /// peer must present a certificate signed by the same CA.
    pub tls: Option<Tls>,
    /// Serve on a non-loopback address with neither TLS nor a token (see [`serve`]).
    pub allow_insecure: bool,
    /// Interval of the periodic `Tick` (heartbeat checks, work stealing).
    pub tick: Duration,
    /// The decision policies.
    pub scheduler: SchedulerConfig,
    /// What runs clients' [`ClientToScheduler::Call`]s, if anything.
    pub extension: Option<Extension>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8786".into(),
            http: Some("127.0.0.1:8787".into()),
            token: None,
            tls: None,
            allow_insecure: false,
            tick: Duration::from_millis(200),
            scheduler: SchedulerConfig::default(),
            extension: None,
        }
    }
}

/// A running server: its addresses, and a way to stop it.
#[derive(Debug)]
pub struct ServerHandle {
    /// `tcp://host:port` that clients and workers connect to.
    pub address: String,
    /// `http://host:port` (`https://` with TLS) of the state endpoint, if any.
    pub http_address: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<()>>,
}

impl ServerHandle {
    /// Asks the server to stop (closing workers and clients) and waits until it has.
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(d) = self.done.take() {
            let _ = d.await;
        }
    }
}

/// Binds the listeners and starts the server on the current tokio runtime.
///
/// Secure by default: a server bound to anything but a loopback address refuses to start
/// without TLS or a token, unless [`ServerConfig::allow_insecure`] is set, because anyone who
/// can reach an open scheduler can run code on every worker.
pub async fn serve(config: ServerConfig) -> std::io::Result<ServerHandle> {
    config
        .scheduler
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
    // Checked before binding: a refused address is never listened on, not even briefly.
    for addr in tokio::net::lookup_host(&config.listen).await? {
        check_exposure(addr, &config)?;
    }
    // A client in this process (LocalCluster's) talks to the scheduler through a pipe.
    let listener =
        Listener::new(TcpListener::bind(&config.listen).await?, config.tls.clone())?.with_pipes();
    let address = listener.address().to_owned();
    let (inputs, rx) = mpsc::unbounded_channel();
    let http_address = match &config.http {
        Some(addr) => {
            let (token, tls) = (config.token.clone(), config.tls.clone());
            Some(
                super::http::serve(addr, inputs.clone(), token, tls, config.extension.clone())
                    .await?,
            )
        }
        None => None,
    };
    let (stop_tx, stop_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    let core = Core::new(
        config.scheduler.clone(),
        address.clone(),
        http_address.clone(),
        config.extension.clone(),
    );
    tokio::spawn(accept_loop(listener, inputs.clone(), config.token.clone()));
    tokio::spawn(ticker(inputs.clone(), config.tick));
    tokio::spawn(async move {
        core.run(rx, stop_rx).await;
        let _ = done_tx.send(());
    });
    tracing::info!(%address, "scheduler listening");
    Ok(ServerHandle {
        address,
        http_address,
        stop: Some(stop_tx),
        done: Some(done_rx),
    })
}

async fn ticker(inputs: mpsc::UnboundedSender<Input>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if inputs.send(Input::Tick).is_err() {
            return;
        }
    }
}

/// Refuses an open server on a reachable address (see [`serve`]).
fn check_exposure(bound: std::net::SocketAddr, config: &ServerConfig) -> std::io::Result<()> {
    let protected = config.tls.is_some() || config.token.is_some();
    if bound.ip().is_loopback() || protected || config.allow_insecure {
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!(
            "refusing to listen on {} without TLS or a token: anyone who can reach an open \
             scheduler can run code on every worker. Configure TLS (--tls-ca-file, --tls-cert, \
             --tls-key; security= in Python) or a token (OXDASK_TOKEN), or accept the risk \
             explicitly (--insecure; insecure=True in Python)",
            bound.ip()
        ),
    ))
}

async fn accept_loop(
    mut listener: Listener,
    inputs: mpsc::UnboundedSender<Input>,
    token: Option<String>,
) {
    const ALLOWED: &[Role] = &[Role::Client, Role::Worker];
    loop {
        // Until the core stops (its inputs close): then the port is released.
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = inputs.closed() => return,
        };
        match accepted {
            Ok(incoming) => {
                let origin = incoming.origin();
                let opening =
                    incoming.open(Role::Scheduler, Hello::default(), ALLOWED, token.clone());
                tokio::spawn(serve_connection(opening, origin, inputs.clone()));
            }
            Err(e) => {
                // Out of file descriptors, typically: back off instead of spinning.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Hands an opened connection to the core, then reads it until it ends.
async fn serve_connection(
    opening: impl Future<Output = Result<Connection, CommError>>,
    origin: String,
    inputs: mpsc::UnboundedSender<Input>,
) {
    let conn = match opening.await {
        Ok(conn) => conn,
        // A refused peer is logged and dropped; everyone else is unaffected.
        Err(e) => return tracing::warn!(peer = %origin, "refused a connection: {e}"),
    };
    let role = conn.peer.role;
    let peer = conn.peer.clone();
    let (reader, sender) = conn.split();
    let (id_tx, id_rx) = oneshot::channel();
    let connected = Input::Connected {
        role,
        peer,
        sender,
        id: id_tx,
    };
    if inputs.send(connected).is_err() {
        return;
    }
    let Ok(id) = id_rx.await else { return };
    read_loop(reader, role, id, inputs).await;
}

async fn read_loop(
    mut reader: FrameReader,
    role: Role,
    id: u32,
    inputs: mpsc::UnboundedSender<Input>,
) {
    let reason = loop {
        let frame = match reader.next().await {
            Ok(Some(f)) => f,
            Ok(None) => break None,
            Err(e) => break Some(e),
        };
        let buffers: Vec<Bytes> = frame.buffers;
        let input = match role {
            Role::Worker => match decode_batch::<WorkerToScheduler>(&frame.payload) {
                Ok(msgs) => Input::FromWorker {
                    conn: id,
                    msgs,
                    buffers,
                },
                Err(e) => {
                    break Some(CommError::Protocol {
                        context: format!("worker connection {id}"),
                        source: e,
                    })
                }
            },
            _ => match decode_batch::<ClientToScheduler>(&frame.payload) {
                Ok(msgs) => Input::FromClient {
                    conn: id,
                    msgs,
                    buffers,
                },
                Err(e) => {
                    break Some(CommError::Protocol {
                        context: format!("client connection {id}"),
                        source: e,
                    })
                }
            },
        };
        if inputs.send(input).is_err() {
            return;
        }
    };
    if let Some(e) = &reason {
        tracing::warn!("closing connection {id}: {e}");
    }
    let _ = inputs.send(Input::Disconnected { conn: id, role });
}
