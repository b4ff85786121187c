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
            "GET /readyz",
            "GET /saldo/{no_rekening}",
            "GET /transaksi/{id}",
            "POST /daftar",
            "POST /tabung",
            "POST /tarik",
            "POST /transfer",
        ],
        |path| {
            path.replace("{no_rekening}", "1234567897")
                .replace("{id}", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
        },
    )
    .await;
    for schema in [
        "DaftarRequest",
        "PostingRequest",
        "PostingResponse",
        "SaldoResponse",
        "TransferRequest",
        "TransferResponse",
        "TransaksiResponse",
        "EntriResponse",
        "ErrorBody",
    ] {
        assert!(
            document["components"]["schemas"][schema].is_object(),
            "schema {schema} is in the document"
        );
    }
    // Every request body refuses fields it does not know (400 naming the field), and says so.
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("schemas");
    let requests: Vec<&String> = schemas.keys().filter(|n| n.ends_with("Request")).collect();
    assert!(requests.len() >= 2, "{requests:?}");
    for name in requests {
        assert_eq!(
            schemas[name]["additionalProperties"], false,
            "{name}: a request schema without #[serde(deny_unknown_fields)]"
        );
    }
}
