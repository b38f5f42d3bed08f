//! The HTTP server: `GET /json/state`, `/health`, and the dashboard (`pages.rs`).
//!
//! It is as protected as the scheduler: with TLS it serves HTTPS only, to clients presenting a
//! certificate of the cluster's CA; with a token, `/json/state` wants it as
//! `Authorization: Bearer TOKEN` (`/health` stays open).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use oxdask_comm::{constant_time_eq, ServerTlsStream, Tls};
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use super::core::Input;
use super::system::SystemSampler;
use super::Extension;

/// How long an HTTPS client has to complete its TLS handshake.
const TLS_HANDSHAKE: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub(crate) struct Endpoint {
    pub(crate) inputs: mpsc::UnboundedSender<Input>,
    token: Option<String>,
    pub(crate) extension: Option<Extension>,
    pub(crate) system: Arc<Mutex<SystemSampler>>,
}

/// The 401 answer unless the request carries the scheduler's token (when it has one).
pub(crate) fn denied(endpoint: &Endpoint, headers: &HeaderMap) -> Option<Response> {
    let token = endpoint.token.as_ref()?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), token.as_bytes()) {
        None
    } else {
        let why = "this scheduler requires its token: Authorization: Bearer TOKEN\n";
        Some((StatusCode::UNAUTHORIZED, why).into_response())
    }
}

/// Binds `addr` and serves the endpoint; returns `http://host:port` (`https://` with TLS).
pub(crate) async fn serve(
    addr: &str,
    inputs: mpsc::UnboundedSender<Input>,
    token: Option<String>,
    tls: Option<Tls>,
    extension: Option<Extension>,
) -> std::io::Result<String> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    // Served until the core stops (its inputs close): then the port is released.
    let closing = inputs.clone();
    let stopped = async move { closing.closed().await };
    let router = Router::new()
        .route("/json/state", get(state))
        .route("/health", get(|| async { "ok" }));
    let endpoint = Endpoint {
        inputs,
        token,
        extension,
        system: Arc::new(Mutex::new(SystemSampler::new(std::time::Instant::now()))),
    };
    let app = super::api::routes(super::pages::routes(router)).with_state(endpoint);
    let scheme = if tls.is_some() { "https" } else { "http" };
    tokio::spawn(async move {
        let served = match tls {
            None => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await
            }
            Some(tls) => {
                axum::serve(TlsListener { listener, tls }, app)
                    .with_graceful_shutdown(stopped)
                    .await
            }
        };
        if let Err(e) = served {
            tracing::error!("state endpoint stopped: {e}");
        }
    });
    Ok(format!("{scheme}://{local}"))
}

async fn state(State(endpoint): State<Endpoint>, headers: HeaderMap) -> Response {
    if let Some(denied) = denied(&endpoint, &headers) {
        return denied;
    }
    let (tx, rx) = oneshot::channel();
    let body = if endpoint.inputs.send(Input::Snapshot(tx)).is_ok() {
        rx.await.unwrap_or_else(|_| "{}".to_owned())
    } else {
        "{}".to_owned()
    };
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Accepts TCP connections and completes their TLS handshakes; a failed or slow handshake
/// is logged and skipped.
struct TlsListener {
    listener: TcpListener,
    tls: Tls,
}

impl axum::serve::Listener for TlsListener {
    type Io = ServerTlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("state endpoint: accepting failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match tokio::time::timeout(TLS_HANDSHAKE, self.tls.accept_server(stream)).await {
                Ok(Ok(tls)) => return (tls, addr),
                Ok(Err(e)) => tracing::warn!(peer = %addr, "state endpoint: TLS failed: {e}"),
                Err(_) => tracing::warn!(peer = %addr, "state endpoint: TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}
