//! Credentials: the Secrets the operator generates (created once, never overwritten) and where
//! each service finds its database and Redis credentials (generated or external Secrets).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use rand::Rng;
use rand::distr::Alphanumeric;

use super::{Component, Instance};

pub const PASSWORD_LENGTH: usize = 32;

/// A value in a Secret: which Secret, which key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretRef {
    pub secret: String,
    pub key: String,
}

impl SecretRef {
    fn new(secret: &str, key: &str) -> Self {
        SecretRef {
            secret: secret.to_owned(),
            key: key.to_owned(),
        }
    }
}

/// Database user and password of one service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbCredentials {
    pub user: SecretRef,
    pub password: SecretRef,
}

/// The two services whose credentials differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    Transaksi,
    Mutasi,
}

impl App {
    pub fn component(self) -> Component {
        match self {
            App::Transaksi => Component::Transaksi,
            App::Mutasi => Component::Mutasi,
        }
    }
    pub fn as_str(self) -> &'static str {
        self.component().as_str()
    }
}

pub fn superuser_secret_name(inst: &Instance) -> String {
    format!("{}-postgres-superuser", inst.name)
}

pub fn db_secret_name(inst: &Instance, app: App) -> String {
    format!("{}-{}-db", inst.name, app.as_str())
}

pub fn redis_secret_name(inst: &Instance) -> String {
    format!("{}-redis-auth", inst.name)
}

/// Where `app` reads `DB_USER` and `DB_PASSWORD`.
pub fn db_credentials(inst: &Instance, app: App) -> DbCredentials {
    match &inst.spec.postgres.external {
        Some(external) => DbCredentials {
            user: SecretRef::new(
                &external.credentials_secret,
                &format!("{}-username", app.as_str()),
            ),
            password: SecretRef::new(
                &external.credentials_secret,
                &format!("{}-password", app.as_str()),
            ),
        },
        None => {
            let name = db_secret_name(inst, app);
            DbCredentials {
                user: SecretRef::new(&name, "username"),
                password: SecretRef::new(&name, "password"),
            }
        }
    }
}

/// Where the services (and the bundled Redis) read `REDIS_PASSWORD`; `None` for an external
/// Redis without a password.
pub fn redis_password(inst: &Instance) -> Option<SecretRef> {
    match &inst.spec.redis.external {
        Some(external) => external
            .password_secret
            .as_ref()
            .map(|r| SecretRef::new(&r.name, &r.key)),
        None => Some(SecretRef::new(&redis_secret_name(inst), "password")),
    }
}

/// Every Secret value `app`'s pods consume, in a stable order; their hash goes into the pod
/// template so that a changed credential rolls the pods.
pub fn app_secret_refs(inst: &Instance, app: App) -> Vec<SecretRef> {
    let creds = db_credentials(inst, app);
    let mut refs = vec![creds.user, creds.password];
    refs.extend(redis_password(inst));
    refs
}

/// A random password: 32 characters from [A-Za-z0-9] (about 190 bits), safe in URLs, shells
/// and SQL literals.
pub fn random_password() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(PASSWORD_LENGTH)
        .map(char::from)
        .collect()
}

fn secret(inst: &Instance, name: String, component: Component, data: &[(&str, String)]) -> Secret {
    Secret {
        metadata: inst.meta(name, component),
        type_: Some("Opaque".to_owned()),
        string_data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Default::default()
    }
}

/// The Secrets the operator generates for this spec, each with fresh random passwords. The
/// controller creates each one only if it does not exist yet.
pub fn generated_secrets(inst: &Instance) -> Vec<Secret> {
    let mut out = Vec::new();
    if inst.spec.postgres.external.is_none() {
        out.push(secret(
            inst,
            superuser_secret_name(inst),
            Component::Postgres,
            &[
                ("username", "postgres".to_owned()),
                ("password", random_password()),
            ],
        ));
        for app in [App::Transaksi, App::Mutasi] {
            out.push(secret(
                inst,
                db_secret_name(inst, app),
                Component::Postgres,
                &[
                    ("username", app.as_str().to_owned()),
                    ("password", random_password()),
                ],
            ));
        }
    }
    if inst.spec.redis.external.is_none() {
        out.push(secret(
            inst,
            redis_secret_name(inst),
            Component::Redis,
            &[("password", random_password())],
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builders::testing::*;
    use crate::crd::{ExternalPostgres, ExternalRedis, SecretKeyRef};

    #[test]
    fn generates_four_secrets_with_distinct_random_passwords() {
        let ld = ledger(default_spec());
        let inst = Instance::new(&ld).unwrap();
        let secrets = generated_secrets(&inst);
        let names: Vec<_> = secrets
            .iter()
            .map(|s| s.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "ledger-postgres-superuser",
                "ledger-transaksi-db",
                "ledger-mutasi-db",
                "ledger-redis-auth"
            ]
        );
        let passwords: Vec<String> = secrets
            .iter()
            .map(|s| s.string_data.as_ref().unwrap()["password"].clone())
            .collect();
        for p in &passwords {
            assert_eq!(p.len(), PASSWORD_LENGTH);
            assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        }
        let mut unique = passwords.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), passwords.len());
        assert_eq!(
            secrets[1].string_data.as_ref().unwrap()["username"],
            "transaksi"
        );
        assert!(
            secrets
                .iter()
                .all(|s| s.metadata.owner_references.is_some())
        );
    }

    #[test]
    fn external_backends_use_their_secrets_and_generate_none() {
        let mut spec = default_spec();
        spec.postgres.external = Some(ExternalPostgres {
            host: "db.example".into(),
            port: 5432,
            transaksi_database: "t".into(),
            mutasi_database: "m".into(),
            credentials_secret: "pg-creds".into(),
            sslmode: "require".into(),
        });
        spec.redis.external = Some(ExternalRedis {
            host: "redis.example".into(),
            port: 6379,
            password_secret: Some(SecretKeyRef {
                name: "redis-creds".into(),
                key: "pw".into(),
            }),
        });
        let ld = ledger(spec);
        let inst = Instance::new(&ld).unwrap();
        assert!(generated_secrets(&inst).is_empty());
        let creds = db_credentials(&inst, App::Mutasi);
        assert_eq!(creds.user, SecretRef::new("pg-creds", "mutasi-username"));
        assert_eq!(
            creds.password,
            SecretRef::new("pg-creds", "mutasi-password")
        );
        assert_eq!(
            redis_password(&inst),
            Some(SecretRef::new("redis-creds", "pw"))
        );
    }
}
