//! `POST /daftar`.

use crate::support::{spawn_app, unique_identity};

#[tokio::test]
async fn registration_returns_a_fresh_account_and_stores_only_a_hash() {
    let app = spawn_app().await;
    let (nik, no_hp) = unique_identity();
    let reply = app.daftar("Ni Luh Putu Ayu", &nik, &no_hp, "918273").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let no_rekening = reply.json()["no_rekening"]
        .as_str()
        .expect("no_rekening")
        .to_owned();
    assert!(
        bukubesar_common::no_rekening::is_well_formed(&no_rekening),
        "{no_rekening}"
    );

    let (pin_hash, saldo): (String, rust_decimal::Decimal) = sqlx::query_as(
        "SELECT n.pin_hash, r.saldo FROM nasabah n JOIN rekening r USING (no_rekening)
          WHERE no_rekening = $1",
    )
    .bind(&no_rekening)
    .fetch_one(&app.pool)
    .await
    .expect("rows");
    assert!(pin_hash.starts_with("$argon2id$"), "PHC string");
    assert!(!pin_hash.contains("918273"));
    assert_eq!(saldo, rust_decimal::Decimal::ZERO);

    let second = app.register().await;
    assert_ne!(second.no_rekening, no_rekening);
}

#[tokio::test]
async fn each_invalid_field_is_400_naming_it() {
    let app = spawn_app().await;
    let (nik, no_hp) = unique_identity();
    let long_name = "a".repeat(101);
    let cases = [
        ("", nik.as_str(), no_hp.as_str(), "123456", "nama"),
        (long_name.as_str(), &nik, &no_hp, "123456", "nama"),
        ("Budi", "123", &no_hp, "123456", "nik"),
        ("Budi", "320101010101010a", &no_hp, "123456", "nik"),
        ("Budi", &nik, "0812", "123456", "no_hp"),
        ("Budi", &nik, "+1 555 0100", "123456", "no_hp"),
        ("Budi", &nik, &no_hp, "12345", "pin"),
        ("Budi", &nik, &no_hp, "1234567", "pin"),
        ("Budi", &nik, &no_hp, "abcdef", "pin"),
    ];
    for (nama, nik, no_hp, pin, field) in cases {
        let reply = app.daftar(nama, nik, no_hp, pin).await;
        assert_eq!(reply.status, 400, "{field}: {}", reply.text);
        assert_eq!(reply.json()["field"], field, "{}", reply.text);
        assert!(reply.remark().contains(field), "{}", reply.text);
    }
    let missing = app
        .post_json(
            "/daftar",
            None,
            r#"{"nama":"Budi","nik":"3201010101010101","pin":"123456"}"#,
            &[],
        )
        .await;
    assert_eq!(missing.status, 400);
    assert!(missing.remark().contains("no_hp"), "{}", missing.text);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM nasabah")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(count, 0, "nothing was written");
}

#[tokio::test]
async fn nik_and_no_hp_are_unique_in_any_spelling() {
    let app = spawn_app().await;
    let first = app
        .daftar("Budi", "3201010101010101", "081234567890", "123456")
        .await;
    assert_eq!(first.status, 200);

    let same_nik = app
        .daftar("Andi", "3201010101010101", "081299999999", "123456")
        .await;
    assert_eq!(same_nik.status, 400);
    assert_eq!(same_nik.json()["field"], "nik");

    let same_phone = app
        .daftar("Andi", "3201010101010102", "+6281234567890", "123456")
        .await;
    assert_eq!(same_phone.status, 400, "+62 and 0 are the same number");
    assert_eq!(same_phone.json()["field"], "no_hp");
}
