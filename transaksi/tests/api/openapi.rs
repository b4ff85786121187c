//! The served OpenAPI document and the router agree: every documented operation is routed
//! (not answered by the 404/405 fallbacks), every other method on a documented path is 405,
//! the documented set is exactly the API, and the docs page renders the document.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::spawn_app;

/// Every operation of transaksi's API (the operations outside the document are the document
/// itself and its page).
const API: [&str; 7] = [
    "GET /healthz",
    "GET /metrics",
    "GET /readyz",
    "GET /saldo/{no_rekening}",
    "POST /daftar",
    "POST /tabung",
    "POST /tarik",
];
const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The path with its parameters filled in with well-formed values.
fn concrete(path: &str) -> String {
    path.replace("{no_rekening}", "1234567897")
}

#[tokio::test]
async fn the_served_document_and_the_routes_agree() {
    let app = spawn_app().await;
    let reply = app.get("/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    let document: Value = reply.json();
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "an OpenAPI 3 document"
    );
    let paths = document["paths"].as_object().expect("paths");
    let mut documented = BTreeSet::new();
    let client = reqwest::Client::new();
    for (path, item) in paths {
        let item = item.as_object().expect("path item");
        for method in METHODS {
            let request = client.request(
                method.to_uppercase().parse().expect("method"),
                format!("{}{}", app.base_url, concrete(path)),
            );
            let answer = request.send().await.expect("answered");
            let status = answer.status().as_u16();
            let body: Value = answer.json().await.unwrap_or(Value::Null);
            if item.contains_key(method) {
                documented.insert(format!("{} {path}", method.to_uppercase()));
                assert_ne!(status, 405, "{method} {path} is documented but not routed");
                assert!(
                    !(status == 404 && body["remark"] == "alamat tidak ditemukan"),
                    "{method} {path} is documented but not routed"
                );
                let responses = item[method]["responses"].as_object().expect("responses");
                assert!(
                    responses.contains_key(&status.to_string()),
                    "{method} {path} answered {status}, which its document does not list"
                );
            } else {
                assert_eq!(status, 405, "{method} {path} is routed but not documented");
            }
        }
    }
    let expected: BTreeSet<String> = API.iter().map(|s| s.to_string()).collect();
    assert_eq!(documented, expected, "the document lists exactly the API");
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
    assert_eq!(
        document["components"]["securitySchemes"]["basic"]["scheme"], "basic",
        "Basic authentication is declared"
    );
}

#[tokio::test]
async fn the_docs_page_renders_the_served_document() {
    let app = spawn_app().await;
    let page = app.get("/docs", None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text.contains("bukubesar transaksi"),
        "the page embeds the document"
    );
    assert!(page.text.contains("/tabung"));
}
