//! Health, readiness, unknown routes and methods.

use crate::support::spawn_app;

#[tokio::test]
async fn health_and_readiness_need_no_credentials() {
    let app = spawn_app().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "{}", ready.text);
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.pool.close().await;
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert!(!ready.remark().is_empty());
    assert_eq!(
        app.get("/healthz", None).await.status,
        200,
        "the process is alive"
    );
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = spawn_app().await;
    let missing = app.get("/tidak-ada", None).await;
    assert_eq!(missing.status, 404);
    assert!(!missing.remark().is_empty());
    let wrong_method = app.get("/tabung", None).await;
    assert_eq!(wrong_method.status, 405);
    assert!(!wrong_method.remark().is_empty());
    let wrong_method = app.post_json("/healthz", None, "{}", &[]).await;
    assert_eq!(wrong_method.status, 405);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let reply = app
        .send(
            app.client
                .get(format!("{}/healthz", app.base_url))
                .header("x-request-id", "abc-123"),
        )
        .await;
    assert_eq!(
        reply.headers.get("x-request-id").map(|v| v.as_bytes()),
        Some(&b"abc-123"[..])
    );
    let reply = app.get("/healthz", None).await;
    assert!(reply.headers.contains_key("x-request-id"));
}
