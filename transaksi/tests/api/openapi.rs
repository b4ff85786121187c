//! The served OpenAPI document and the router agree (see
//! `bukubesar_testkit::openapi`).

use bukubesar_testkit::openapi::assert_document_matches_routes;

use crate::support::spawn_app;

#[tokio::test]
async fn the_served_document_and_the_routes_agree() {
    let app = spawn_app().await;
    let document = assert_document_matches_routes(
        &app.base_url,
        "bukubesar transaksi",
        &[
            "GET /healthz",
            "GET /metrics",
            "GET /readyz",
            "GET /saldo/{no_rekening}",
            "POST /daftar",
            "POST /tabung",
            "POST /tarik",
        ],
        |path| path.replace("{no_rekening}", "1234567897"),
    )
    .await;
    for schema in [
        "DaftarRequest",
        "PostingRequest",
        "PostingResponse",
        "SaldoResponse",
        "ErrorBody",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "schema {schema} is in the document"
        );
    }
}
