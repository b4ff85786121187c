//! Checks that a running service's served OpenAPI document (`GET /openapi.json`) and its
//! router agree: every documented operation is routed (not answered by the 404/405 fallbacks)
//! and answers only with statuses its document lists, every other method on a documented path
//! is 405, the documented operations are exactly `api`, and `GET /docs` is a page served
//! entirely by the service that loads the document.

use std::collections::BTreeSet;

use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// `api`: every operation as `"METHOD /path/{param}"`; `concrete` fills a documented path's
/// parameters with well-formed values. Returns the document.
pub async fn assert_document_matches_routes(
    base_url: &str,
    title: &str,
    api: &[&str],
    concrete: impl Fn(&str) -> String,
) -> Value {
    let client = reqwest::Client::new();
    let reply = client
        .get(format!("{base_url}/openapi.json"))
        .send()
        .await
        .expect("GET /openapi.json");
    assert_eq!(reply.status(), 200);
    let document: Value = reply.json().await.expect("a JSON document");
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "an OpenAPI 3 document"
    );
    assert_eq!(document["info"]["title"], title);
    let paths = document["paths"].as_object().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        let item = item.as_object().expect("path item");
        for method in METHODS {
            let answer = client
                .request(
                    method.to_uppercase().parse().expect("method"),
                    format!("{base_url}{}", concrete(path)),
                )
                .send()
                .await
                .expect("answered");
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
    let expected: BTreeSet<String> = api.iter().map(|s| s.to_string()).collect();
    assert_eq!(documented, expected, "the document lists exactly the API");
    assert_eq!(
        document["components"]["securitySchemes"]["basic"]["scheme"], "basic",
        "Basic authentication is declared"
    );

    assert_docs_page_is_self_contained(&client, base_url).await;
    document
}

/// `GET /docs` leads to a page whose every file is served by the service itself (no address
/// of another host, a content security policy that forbids loading one) and whose script
/// loads this document. That it renders is checked in a browser by
/// `scripts/docs-browser-check.sh`.
async fn assert_docs_page_is_self_contained(client: &reqwest::Client, base_url: &str) {
    let page = client
        .get(format!("{base_url}/docs"))
        .send()
        .await
        .expect("GET /docs");
    assert_eq!(page.status(), 200);
    let page_url = page.url().clone();
    let policy = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
        "the page may load nothing from elsewhere: {policy:?}"
    );
    let html = page.text().await.expect("HTML");
    let references: Vec<&str> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| html.split(attribute).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(
        references.iter().any(|r| r.ends_with(".js")),
        "the page loads its script: {html}"
    );
    for reference in references {
        assert!(
            !reference.contains("//") && !reference.contains(':'),
            "the page refers to another host: {reference}"
        );
        let asset = page_url.join(reference).expect("a relative address");
        let answer = client.get(asset.clone()).send().await.expect("asset");
        assert_eq!(answer.status(), 200, "{asset}");
        let text = answer.text().await.unwrap_or_default();
        if reference.contains("initializer") {
            assert!(
                text.contains("/openapi.json"),
                "the page loads this document: {text}"
            );
        }
    }
}
