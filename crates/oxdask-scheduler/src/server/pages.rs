//! The dashboard's routes: its pages (one HTML page drawing what its path names), static
//! files, JSON for the pages, Prometheus metrics, and the route lists Dask's JupyterLab
//! extension reads. The JSON is answered by the core ([`super::dashboard`]) or, under
//! `/json/ext/`, by the scheduler's extension (profiles, call stacks, logs: Python).

use std::collections::HashMap;

use axum::extract::{Path, Query as Params, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde_json::json;
use tokio::sync::oneshot;

use super::core::Input;
use super::dashboard::Query;
use super::http::{denied, Endpoint};

// `ASSETS`: `(file name, content type, contents)` of every file in `dashboard/`.
include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The dashboard file `name` (`"page.html"`, `"dashboard.js"`...), as served under `/static/`.
#[must_use]
pub fn file(name: &str) -> Option<&'static str> {
    ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, body)| *body)
}

/// The page every page route serves.
fn page_html() -> &'static str {
    file("page.html").unwrap_or("<!doctype html><title>oxdask</title>")
}

/// Pages (all served by [`PAGE`]) and their titles.
const PAGES: [(&str, &str); 9] = [
    ("/status", "Status"),
    ("/workers", "Workers"),
    ("/tasks", "Tasks"),
    ("/system", "System"),
    ("/profile", "Profile"),
    ("/graph", "Graph"),
    ("/groups", "Groups"),
    ("/exceptions", "Exceptions"),
    ("/info/main/workers.html", "Info"),
];

/// Single plots, as Dask's `/individual-plots.json` names them.
const PLOTS: [(&str, &str); 9] = [
    ("Task Stream", "/individual-task-stream"),
    ("Progress", "/individual-progress"),
    ("Bytes Stored per Worker", "/individual-workers-memory"),
    ("Tasks Processing", "/individual-nprocessing"),
    ("Graph", "/individual-graph"),
    ("Groups", "/individual-groups"),
    ("Profile", "/individual-profile"),
    ("System", "/individual-system"),
    ("Exceptions", "/individual-exceptions"),
];

/// The routes, added to the state endpoint's router.
pub(crate) fn routes(mut router: Router<Endpoint>) -> Router<Endpoint> {
    let paths = PAGES.iter().map(|(p, _)| *p);
    for path in paths.chain(PLOTS.iter().map(|(_, p)| *p)) {
        router = router.route(path, get(page));
    }
    router
        .route("/", get(|| async { Redirect::temporary("/status") }))
        .route("/info/task/{file}", get(page))
        .route("/info/worker/{file}", get(page))
        .route("/static/{file}", get(static_file))
        .route("/individual-plots.json", get(plots))
        .route("/sitemap.json", get(sitemap))
        .route("/metrics", get(metrics))
        .route("/json/task-stream", get(task_stream))
        .route("/json/progress", get(|e, h| core(e, h, Query::Progress)))
        .route("/json/groups", get(|e, h| core(e, h, Query::Groups)))
        .route(
            "/json/exceptions",
            get(|e, h| core(e, h, Query::Exceptions)),
        )
        .route("/json/graph", get(graph))
        .route("/json/task/{key}", get(task))
        .route("/json/worker/{address}", get(worker))
        .route("/json/system", get(system))
        .route("/json/ext/{name}", get(ext))
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", page_html())
}

async fn static_file(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, body)) => asset(kind, body),
        None => (StatusCode::NOT_FOUND, format!("no file {file}")).into_response(),
    }
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

fn json_body(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn plots() -> Response {
    let map: serde_json::Map<String, serde_json::Value> = PLOTS
        .iter()
        .map(|(name, path)| ((*name).to_owned(), json!(path)))
        .collect();
    json_body(serde_json::Value::Object(map).to_string())
}

async fn sitemap() -> Response {
    let mut paths: Vec<&str> = PAGES.iter().map(|(p, _)| *p).collect();
    paths.extend(PLOTS.iter().map(|(_, p)| *p));
    paths.extend([
        "/individual-plots.json",
        "/sitemap.json",
        "/metrics",
        "/health",
        "/json/state",
        "/json/task-stream",
        "/json/progress",
        "/json/groups",
        "/json/graph",
        "/json/exceptions",
        "/json/system",
    ]);
    json_body(json!({ "paths": paths }).to_string())
}

/// Asks the core; `Err` when the scheduler is stopping.
async fn ask(endpoint: &Endpoint, query: Query) -> Option<String> {
    let (tx, rx) = oneshot::channel();
    endpoint.inputs.send(Input::Query(query, tx)).ok()?;
    rx.await.ok()
}

async fn core(State(endpoint): State<Endpoint>, headers: HeaderMap, query: Query) -> Response {
    if let Some(denied) = denied(&endpoint, &headers) {
        return denied;
    }
    match ask(&endpoint, query).await {
        Some(body) => json_body(body),
        None => (StatusCode::SERVICE_UNAVAILABLE, "the scheduler is stopping").into_response(),
    }
}

async fn task_stream(
    endpoint: State<Endpoint>,
    headers: HeaderMap,
    Params(params): Params<HashMap<String, String>>,
) -> Response {
    let since = params
        .get("since")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    core(endpoint, headers, Query::TaskStream { since }).await
}

async fn graph(
    endpoint: State<Endpoint>,
    headers: HeaderMap,
    Params(params): Params<HashMap<String, String>>,
) -> Response {
    let limit = params
        .get("limit")
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    core(endpoint, headers, Query::Graph { limit }).await
}

async fn task(endpoint: State<Endpoint>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    core(endpoint, headers, Query::Task(key)).await
}

async fn worker(
    endpoint: State<Endpoint>,
    headers: HeaderMap,
    Path(address): Path<String>,
) -> Response {
    core(endpoint, headers, Query::Worker(address)).await
}

async fn metrics(State(endpoint): State<Endpoint>, headers: HeaderMap) -> Response {
    if let Some(denied) = denied(&endpoint, &headers) {
        return denied;
    }
    match ask(&endpoint, Query::Metrics).await {
        Some(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "the scheduler is stopping").into_response(),
    }
}

async fn system(State(endpoint): State<Endpoint>, headers: HeaderMap) -> Response {
    if let Some(denied) = denied(&endpoint, &headers) {
        return denied;
    }
    let sample = endpoint.system.lock().sample();
    json_body(sample.to_string())
}

async fn ext(
    State(endpoint): State<Endpoint>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Params(params): Params<HashMap<String, String>>,
) -> Response {
    if let Some(denied) = denied(&endpoint, &headers) {
        return denied;
    }
    let Some(extension) = endpoint.extension.clone() else {
        return (StatusCode::NOT_FOUND, "this scheduler has no extension").into_response();
    };
    let answered = tokio::task::spawn_blocking(move || extension.0.http(&name, &params)).await;
    match answered {
        Ok(Some(body)) => json_body(body),
        Ok(None) => (StatusCode::NOT_FOUND, "no such route").into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
