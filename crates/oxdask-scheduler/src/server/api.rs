//! Dask's HTTP API for cluster managers (`/api/v1/...`): Dask's Kubernetes operator and other
//! autoscalers drive an oxdask scheduler through it. As protected as `/json/state`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::oneshot;

use super::core::Input;
use super::dashboard::Query;
use super::http::{denied, Endpoint};

/// The routes, added to the HTTP server's router.
pub(crate) fn routes(router: Router<Endpoint>) -> Router<Endpoint> {
    router
        .route("/api/v1", get(|| async { "API V1" }))
        .route(
            "/api/v1/adaptive_target",
            get(|e, h| view(e, h, "adaptive_target")),
        )
        .route("/api/v1/get_workers", get(|e, h| view(e, h, "get_workers")))
        .route("/api/v1/check_idle", get(|e, h| view(e, h, "check_idle")))
        .route("/api/v1/retire_workers", post(retire))
}

fn json(body: String) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn view(State(endpoint): State<Endpoint>, headers: HeaderMap, path: &str) -> Response {
    if let Some(denied) = denied(&endpoint, &headers) {
        return denied;
    }
    let Some(query) = Query::parse(path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (tx, rx) = oneshot::channel();
    if endpoint.inputs.send(Input::Query(query, tx)).is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the scheduler is stopping").into_response();
    }
    match rx.await {
        Ok(body) => json(body),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the scheduler is stopping").into_response(),
    }
}

/// `{"workers": [addresses]}` or `{"n": count}` (the least loaded): retires them gracefully
/// (their results move first); answers `{"workers": [the addresses retiring]}`.
async fn retire(State(endpoint): State<Endpoint>, headers: HeaderMap, body: String) -> Response {
    if let Some(denied) = denied(&endpoint, &headers) {
        return denied;
    }
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_owned()).into_response();
    let Ok(request) = serde_json::from_str::<serde_json::Value>(&body) else {
        return bad("expected a JSON body: {\"workers\": [addresses]} or {\"n\": count}");
    };
    let workers: Option<Vec<String>> = request["workers"].as_array().map(|list| {
        list.iter()
            .filter_map(|w| w.as_str().map(str::to_owned))
            .collect()
    });
    let n = request["n"].as_u64().map(|n| n as usize);
    if workers.is_none() && n.is_none() {
        return bad("give \"workers\" (a list of addresses) or \"n\" (a count)");
    }
    let (tx, rx) = oneshot::channel();
    let input = Input::Retire {
        workers: workers.unwrap_or_default(),
        n,
        reply: tx,
    };
    if endpoint.inputs.send(input).is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the scheduler is stopping").into_response();
    }
    match rx.await {
        Ok(body) => json(body),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the scheduler is stopping").into_response(),
    }
}
