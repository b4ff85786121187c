//! Hostile input, table-driven: every case is answered with the expected 4xx and a JSON
//! `remark` (never a 5xx, a panic or a partial write), and the service stays healthy.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Account, TestApp, basic, spawn_app};

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    expected: u16,
    /// The `field` the answer must name; `None`: the answer names none.
    field: Option<&'static str>,
}

fn case(name: &'static str, method: Method, path: &str, expected: u16) -> Case {
    Case {
        name,
        method,
        path: path.to_owned(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: None,
        expected,
        field: None,
    }
}

impl Case {
    /// The one field at fault, which the answer must name.
    fn field(mut self, field: &'static str) -> Case {
        self.field = Some(field);
        self
    }
    /// Adds a header (Content-Type replaces the default one; others are added, so a header
    /// can be sent twice).
    fn header(mut self, name: &str, value: &str) -> Case {
        if name.eq_ignore_ascii_case("content-type") {
            self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        }
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    fn auth(self, account: &Account) -> Case {
        let value = account.authorization();
        self.header("Authorization", &value)
    }
    fn json(mut self, body: Value) -> Case {
        self.body = Some(body.to_string().into_bytes());
        self
    }
    fn raw(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.body = Some(body.into());
        self
    }
}

async fn send(app: &TestApp, case: &Case) -> (u16, String, Option<String>) {
    let mut request = app.client.request(
        case.method.clone(),
        format!("{}{}", app.base_url, case.path),
    );
    for (name, value) in &case.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if let Some(body) = &case.body {
        request = request.body(body.clone());
    }
    let reply = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let status = reply.status().as_u16();
    let content_type = reply
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = reply.text().await.unwrap_or_default();
    (status, text, content_type)
}

fn deep_json(depth: usize) -> String {
    format!(
        "{{\"no_rekening\":\"1234567897\",\"nominal\":{}1{}}}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
}

#[tokio::test]
async fn every_hostile_request_gets_its_4xx_with_a_remark_and_writes_nothing() {
    let app = spawn_app().await;
    let account = app.register().await;
    assert_eq!(app.tabung(&account, "100").await.status, 200);
    let other = app.register().await;
    let no = account.no_rekening.clone();
    let sql = "1' OR '1'='1'; DROP TABLE rekening; --";
    let posting = |nominal: Value| json!({ "no_rekening": no, "nominal": nominal });
    let nama_101 = "é".repeat(101);

    let cases = vec![
        // Size and shape of bodies.
        case("huge body", Method::POST, "/tabung", 413).auth(&account).raw(vec![b' '; 64 * 1024]),
        case("deep JSON", Method::POST, "/tabung", 400).auth(&account).raw(deep_json(5_000))
            .field("nominal"),
        case("not JSON", Method::POST, "/daftar", 400).raw("nama=x&pin=123456"),
        case("truncated JSON", Method::POST, "/tabung", 400).auth(&account).raw("{\"no_rekening\":")
            .field("no_rekening"),
        case("JSON array", Method::POST, "/daftar", 400).raw("[1,2,3]"),
        case("invalid UTF-8", Method::POST, "/daftar", 400).raw(vec![b'{', 0xff, 0xfe, b'}']),
        case("no content type", Method::POST, "/tabung", 415)
            .auth(&account)
            .header("Content-Type", "text/plain")
            .json(posting(json!(1)))
            .field("Content-Type"),
        case("duplicate field", Method::POST, "/tabung", 400)
            .auth(&account)
            .raw(format!("{{\"no_rekening\":\"{no}\",\"nominal\":1,\"nominal\":999}}"))
            .field("nominal"),
        // Fields: missing, unknown, of the wrong type.
        case("missing nominal", Method::POST, "/tabung", 400)
            .auth(&account)
            .json(json!({ "no_rekening": no }))
            .field("nominal"),
        case("misspelt field", Method::POST, "/tabung", 400)
            .auth(&account)
            .json(json!({ "no_rekening": no, "nominal": 1, "nomnal": 1 }))
            .field("nomnal"),
        case("unknown field at registration", Method::POST, "/daftar", 400)
            .json(json!({"nama": "Budi", "nik": "3201010101010307", "no_hp": "081234567007", "pin": "123456", "email": "b@x"}))
            .field("email"),
        case("no_rekening as a number", Method::POST, "/tabung", 400)
            .auth(&account)
            .raw(format!("{{\"no_rekening\":{no},\"nominal\":1}}"))
            .field("no_rekening"),
        // Amounts.
        case("amount as string", Method::POST, "/tabung", 400).auth(&account).json(posting(json!("10")))
            .field("nominal"),
        case("amount null", Method::POST, "/tabung", 400).auth(&account).json(posting(Value::Null))
            .field("nominal"),
        case("negative amount", Method::POST, "/tabung", 400).auth(&account).json(posting(json!(-5)))
            .field("nominal"),
        case("zero amount", Method::POST, "/tarik", 400).auth(&account).json(posting(json!(0)))
            .field("nominal"),
        case("three decimals", Method::POST, "/tabung", 400).auth(&account).raw(format!("{{\"no_rekening\":\"{no}\",\"nominal\":0.001}}"))
            .field("nominal"),
        case("1e400", Method::POST, "/tabung", 400).auth(&account).raw(format!("{{\"no_rekening\":\"{no}\",\"nominal\":1e400}}"))
            .field("nominal"),
        case("19 digits", Method::POST, "/tabung", 400).auth(&account).raw(format!("{{\"no_rekening\":\"{no}\",\"nominal\":1000000000000000000}}"))
            .field("nominal"),
        case("overdraft", Method::POST, "/tarik", 400).auth(&account).json(posting(json!(100.01)))
            .field("nominal"),
        // SQL in every field.
        case("SQL in nik", Method::POST, "/daftar", 400)
            .json(json!({"nama": "Budi", "nik": sql, "no_hp": "081234567001", "pin": "123456"}))
            .field("nik"),
        case("SQL in no_hp", Method::POST, "/daftar", 400)
            .json(json!({"nama": "Budi", "nik": "3201010101010301", "no_hp": sql, "pin": "123456"}))
            .field("no_hp"),
        case("SQL in pin", Method::POST, "/daftar", 400)
            .json(json!({"nama": "Budi", "nik": "3201010101010302", "no_hp": "081234567002", "pin": sql}))
            .field("pin"),
        case("SQL in no_rekening", Method::POST, "/tabung", 400)
            .auth(&account)
            .json(json!({"no_rekening": sql, "nominal": 1}))
            .field("no_rekening"),
        case("SQL in the path", Method::GET, "/saldo/1'%20OR%20'1'='1", 400).auth(&account)
            .field("no_rekening"),
        case("SQL as the account", Method::GET, &format!("/saldo/{no}"), 401)
            .header("Authorization", &basic(sql, "123456")),
        // Names.
        case("101 characters", Method::POST, "/daftar", 400)
            .json(json!({"nama": nama_101, "nik": "3201010101010303", "no_hp": "081234567003", "pin": "123456"}))
            .field("nama"),
        case("control character in nama", Method::POST, "/daftar", 400)
            .json(json!({"nama": "Budi\u{0007}", "nik": "3201010101010304", "no_hp": "081234567004", "pin": "123456"}))
            .field("nama"),
        // PINs.
        case("7-digit PIN at registration", Method::POST, "/daftar", 400)
            .json(json!({"nama": "Budi", "nik": "3201010101010305", "no_hp": "081234567005", "pin": "1234567"}))
            .field("pin"),
        case("letters in PIN at registration", Method::POST, "/daftar", 400)
            .json(json!({"nama": "Budi", "nik": "3201010101010306", "no_hp": "081234567006", "pin": "12a456"}))
            .field("pin"),
        case("7-digit PIN", Method::GET, &format!("/saldo/{no}"), 401)
            .header("Authorization", &basic(&no, "1234567")),
        case("letters in PIN", Method::GET, &format!("/saldo/{no}"), 401)
            .header("Authorization", &basic(&no, "abcdef")),
        // Authorization headers.
        case("very long Authorization", Method::GET, &format!("/saldo/{no}"), 401)
            .header("Authorization", &format!("Basic {}", "QUFB".repeat(4_000)))
            .field("Authorization"),
        case("invalid base64", Method::GET, &format!("/saldo/{no}"), 401)
            .header("Authorization", "Basic !!!not*base64===")
            .field("Authorization"),
        case("no colon", Method::GET, &format!("/saldo/{no}"), 401)
            // base64("1234567897"): an account number and no PIN
            .header("Authorization", "Basic MTIzNDU2Nzg5Nw==")
            .field("Authorization"),
        case("Bearer scheme", Method::GET, &format!("/saldo/{no}"), 401)
            .header("Authorization", "Bearer abc.def.ghi")
            .field("Authorization"),
        case("two Authorization headers", Method::GET, &format!("/saldo/{no}"), 401)
            .auth(&account)
            .auth(&other)
            .field("Authorization"),
        case("another customer's account", Method::GET, &format!("/saldo/{no}"), 403).auth(&other)
            .field("no_rekening"),
        // Headers.
        case("Idempotency-Key with spaces", Method::POST, "/tabung", 400)
            .auth(&account)
            .header("Idempotency-Key", "a b")
            .json(posting(json!(1)))
            .field("Idempotency-Key"),
        case("Idempotency-Key of 300 characters", Method::POST, "/tabung", 400)
            .auth(&account)
            .header("Idempotency-Key", &"k".repeat(300))
            .json(posting(json!(1)))
            .field("Idempotency-Key"),
        // Paths.
        case("non-UTF-8 path segment", Method::GET, "/saldo/%ff%fe", 400).auth(&account)
            .field("no_rekening"),
        case("unknown route", Method::GET, "/admin/../../etc/passwd", 404),
        case("wrong method", Method::DELETE, "/tabung", 405),
    ];

    for case in &cases {
        let (status, text, content_type) = send(&app, case).await;
        assert_eq!(status, case.expected, "{}: {text}", case.name);
        assert_eq!(
            content_type.as_deref(),
            Some("application/json"),
            "{}",
            case.name
        );
        let body: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON ({e}): {text}", case.name));
        assert!(
            body["remark"].as_str().is_some_and(|r| !r.is_empty()),
            "{}: no remark: {text}",
            case.name
        );
        assert_eq!(body["field"].as_str(), case.field, "{}: {text}", case.name);
        for parser_text in ["EOF", " at line ", "column", "expected", "invalid type"] {
            assert!(
                !text.contains(parser_text),
                "{}: the parser's text in the answer: {text}",
                case.name
            );
        }
        assert!(
            !text.contains("123456\""),
            "{}: a PIN echoed: {text}",
            case.name
        );
    }

    // Nothing partial was written: one account's deposit, the two registrations, the tables intact.
    assert_eq!(
        app.saldo_in_db(&no).await,
        rust_decimal::Decimal::new(100, 0)
    );
    assert_eq!(app.journal_rows(&no).await, 1);
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM nasabah")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(customers, 2);
    let gagal: i32 = sqlx::query_scalar("SELECT gagal_pin FROM nasabah WHERE no_rekening = $1")
        .bind(&no)
        .fetch_one(&app.pool)
        .await
        .expect("gagal_pin");
    assert_eq!(
        gagal, 0,
        "malformed PINs are refused without counting as attempts"
    );
    assert_eq!(app.get("/readyz", None).await.status, 200);
}

#[tokio::test]
async fn unicode_names_and_sql_looking_text_are_just_data() {
    let app = spawn_app().await;
    for (i, nama) in [
        "Ṣẹ́gun Ọláńrewájú",
        "Nguyễn Thị Minh Khai",
        "李小龍",
        "Robert'); DROP TABLE nasabah;--",
        "🙂🙂🙂",
        "ميمونة",
    ]
    .into_iter()
    .enumerate()
    {
        let reply = app
            .daftar(
                nama,
                &format!("32010101010104{i:02}"),
                &format!("0812345674{i:02}"),
                "246802",
            )
            .await;
        assert_eq!(reply.status, 200, "{nama}: {}", reply.text);
        let no_rekening = reply.json()["no_rekening"].as_str().expect("no").to_owned();
        let stored: String = sqlx::query_scalar("SELECT nama FROM nasabah WHERE no_rekening = $1")
            .bind(&no_rekening)
            .fetch_one(&app.pool)
            .await
            .expect("stored");
        assert_eq!(stored, nama, "stored exactly");
    }
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('nasabah', 'rekening')",
    )
    .fetch_one(&app.pool)
    .await
    .expect("tables");
    assert_eq!(tables, 2);
}

/// Header injection: a client-chosen request id is echoed only when it is a plain token;
/// anything else (quotes, markup, spaces, separators, obs-text bytes, over 64 characters) is
/// replaced by a fresh id, so no client bytes reach a response header or a log field raw.
#[tokio::test]
async fn request_ids_that_are_not_plain_tokens_are_replaced() {
    let app = spawn_app().await;
    let long = "a".repeat(65);
    let hostile: [&[u8]; 6] = [
        b"x\"; injected=1",
        b"<script>alert(1)</script>",
        b"two words",
        b"a,b;c=d",
        b"caf\xc3\xa9",
        long.as_bytes(),
    ];
    for value in hostile {
        let header = reqwest::header::HeaderValue::from_bytes(value).expect("a legal header value");
        let reply = app
            .send(
                app.client
                    .get(format!("{}/healthz", app.base_url))
                    .header("x-request-id", header),
            )
            .await;
        assert_eq!(reply.status, 200);
        let echoed = reply.headers.get("x-request-id").expect("an id").as_bytes();
        assert_ne!(echoed, value, "{}", String::from_utf8_lossy(value));
        let echoed = std::str::from_utf8(echoed).expect("ASCII");
        assert!(
            uuid::Uuid::parse_str(echoed).is_ok(),
            "a fresh id, not {echoed}"
        );
    }
}
