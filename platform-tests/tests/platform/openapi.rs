//! The served OpenAPI document and the router agree (see
//! `bukubesar_testkit::openapi`).

use bukubesar_testkit::openapi::assert_document_matches_routes;

use crate::support::spawn_platform;

#[tokio::test]
async fn the_served_document_and_the_routes_agree() {
    let platform = spawn_platform().await;
    let document = assert_document_matches_routes(
        &platform.mutasi_url,
        "bukubesar mutasi",
        &["GET /healthz", "GET /mutasi/{no_rekening}", "GET /readyz"],
        |path| path.replace("{no_rekening}", "1234567897"),
    )
    .await;
    for schema in ["MutasiResponse", "MutasiItem", "ErrorBody"] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "schema {schema} is in the document"
        );
    }
}
