//! The HTTP state endpoint: `GET /json/state` (and `/health`). The dashboard builds on it.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use super::core::Input;

/// Binds `addr` and serves the endpoint; returns `http://host:port`.
pub(crate) async fn serve(
    addr: &str,
    inputs: mpsc::UnboundedSender<Input>,
) -> std::io::Result<String> {
    let listener = TcpListener::bind(addr).await?;
    let address = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/json/state", get(state))
        .route("/health", get(|| async { "ok" }))
        .with_state(inputs);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("state endpoint stopped: {e}");
        }
    });
    Ok(address)
}

async fn state(State(inputs): State<mpsc::UnboundedSender<Input>>) -> impl IntoResponse {
    let (tx, rx) = oneshot::channel();
    let body = if inputs.send(Input::Snapshot(tx)).is_ok() {
        rx.await.unwrap_or_else(|_| "{}".to_owned())
    } else {
        "{}".to_owned()
    };
    ([(header::CONTENT_TYPE, "application/json")], body)
}
