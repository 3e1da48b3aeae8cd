//! Cognito groups authorise the API's routes, end to end on the emulator: the stack is
//! applied, `users sync` makes a producer, an analyst and a user in no group, each signs in
//! with USER_PASSWORD_AUTH (the emulator's ID tokens carry `cognito:groups`), and `local
//! serve` answers as API Gateway and the handlers do deployed: the authorizer verifies the
//! token (401 without one), the handler checks the groups of the route (`ROUTE_GROUPS`, 403).
//! A producer removed from `producers` by the next `users sync` is refused once signed in
//! again.
//!
//! `local serve` runs as the other tests start it; when it offers `--in-process`, a second
//! server runs the handlers in-process and every request is checked against both.

mod support;

use serde_json::Value;
use std::path::Path;
use support::{run, sign_in, Moto, Server};

const INSTANCE: &str = "t-access";
const PASSWORD: &str = "Acc3ss-Test-Passw0rd!";
const PRODUCER: &str = "acc-producer";
const ANALYST: &str = "acc-analyst";
const NOBODY: &str = "acc-nobody";

/// The users file: the producer in `producer_groups`, the analyst in `analysts`, the third
/// user in no group.
fn write_users(path: &Path, producer_groups: &str) {
    let yaml = format!(
        "groups:\n\
         \x20 - name: producers\n    description: May POST rows to the ingest API\n    precedence: 10\n\
         \x20 - name: analysts\n    description: May query invoices and customers\n    precedence: 20\n\
         users:\n\
         \x20 - username: {PRODUCER}\n    email: producer@example.com\n    groups: {producer_groups}\n\
         \x20 - username: {ANALYST}\n    email: analyst@example.com\n    groups: [analysts]\n\
         \x20 - username: {NOBODY}\n    email: nobody@example.com\n    groups: []\n"
    );
    std::fs::write(path, yaml).unwrap();
}

fn sync(ep: &str, users: &Path, passwords: &Path) {
    run(
        ep,
        &[
            "users",
            "sync",
            "--instance",
            INSTANCE,
            "--users",
            users.to_str().unwrap(),
            "--yes",
            "--passwords-out",
            passwords.to_str().unwrap(),
        ],
    )
    .expect(0);
}

/// The servers, each with its name for messages.
struct Api {
    servers: Vec<(&'static str, Server)>,
    http: reqwest::Client,
}

/// Two rows of invoice 536365.
const CSV: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
    536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n\
    536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\n";

/// The four routes, as (method, concrete path, route key).
const ROUTES: [(&str, &str, &str); 4] = [
    ("POST", "/records", "POST /records"),
    ("GET", "/invoices/536365", "GET /invoices/{invoiceNo}"),
    (
        "GET",
        "/invoices/536365/items/85123A",
        "GET /invoices/{invoiceNo}/items/{stockCode}",
    ),
    (
        "GET",
        "/customers/17850/invoices",
        "GET /customers/{customerId}/invoices",
    ),
];

impl Api {
    /// Sends the request to every server; (status, JSON body) of each, checked to agree.
    async fn call(&self, method: &str, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut answers = Vec::new();
        for (name, server) in &self.servers {
            let url = format!("{}{path}", server.base);
            let mut req = match method {
                "POST" => self
                    .http
                    .post(&url)
                    .header("content-type", "text/csv")
                    .body(CSV),
                _ => self.http.get(&url),
            };
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            let body: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{name}: {method} {path}: {status} {text:?}: {e}"));
            answers.push((*name, status, body));
        }
        let (first, status, body) = answers[0].clone();
        for (name, s, b) in &answers[1..] {
            assert_eq!(
                (*s, &b.get("message")),
                (status, &body.get("message")),
                "{method} {path}: {first} and {name} answer differently: {body} / {b}"
            );
        }
        (status, body)
    }

    /// The answer must be the handler's 403 for `route`: its message names the route and the
    /// group allowed on it.
    async fn forbidden(&self, method: &str, path: &str, token: &str, route: &str, group: &str) {
        let (status, body) = self.call(method, path, Some(token)).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!(
                "forbidden: {route} may be called only by members of the Cognito group {group};"
            )),
            "{method} {path}: {message}"
        );
    }

    fn logs(&self) -> String {
        self.servers
            .iter()
            .map(|(name, s)| format!("--- {name}:\n{}", s.stderr()))
            .collect()
    }
}

#[test]
fn groups_decide_who_may_call_each_route() {
    let moto = Moto::start();
    let ep = moto.endpoint.clone();
    let dir = tempfile::tempdir().unwrap();
    run(&ep, &["apply", "--yes", "--instance", INSTANCE]).expect(0);
    let outputs: Value = serde_json::from_str(
        &run(&ep, &["outputs", "--json", "--instance", INSTANCE])
            .expect(0)
            .stdout,
    )
    .unwrap();
    let pool = outputs["user_pool_id"].as_str().unwrap().to_string();
    let client = outputs["app_client_id"].as_str().unwrap().to_string();

    // The users, made by `users sync` only; permanent passwords for the test's sign-ins.
    let users = dir.path().join("users.yaml");
    let passwords = dir.path().join("passwords.csv");
    write_users(&users, "[producers]");
    sync(&ep, &users, &passwords);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let idp = rt
        .block_on(async { aws_sdk_cognitoidentityprovider::Client::new(&moto.sdk_config().await) });
    rt.block_on(async {
        for user in [PRODUCER, ANALYST, NOBODY] {
            idp.admin_set_user_password()
                .user_pool_id(&pool)
                .username(user)
                .password(PASSWORD)
                .permanent(true)
                .send()
                .await
                .unwrap();
        }
    });

    // `local serve` in both modes: the packaged bootstraps, and the handlers in-process.
    let servers = vec![
        (
            "local serve",
            Server::start(&ep, INSTANCE, &dir.path().join("a.json"), &["--no-poller"]),
        ),
        (
            "local serve --in-process",
            Server::start(
                &ep,
                INSTANCE,
                &dir.path().join("b.json"),
                &["--no-poller", "--in-process"],
            ),
        ),
    ];
    let api = Api {
        servers,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    };

    rt.block_on(async {
        // Nobody signs themselves up: only administrators create users.
        let refused = idp
            .sign_up()
            .client_id(&client)
            .username("self-made")
            .password(PASSWORD)
            .user_attributes(
                aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                    .name("email")
                    .value("self-made@example.com")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect_err("SignUp must be refused");
        let refused = refused.into_service_error();
        assert!(refused.is_not_authorized_exception(), "{refused:?}");
        assert_eq!(
            refused.meta().message(),
            Some("SignUp is not permitted for this user pool")
        );

        let producer = sign_in(&idp, &client, PRODUCER, PASSWORD).await;
        let analyst = sign_in(&idp, &client, ANALYST, PASSWORD).await;
        let nobody = sign_in(&idp, &client, NOBODY, PASSWORD).await;

        // Without a token the authorizer answers, before any handler.
        for (method, path, _) in ROUTES {
            assert_eq!(api.call(method, path, None).await.0, 401, "{method} {path}");
        }

        // An analyst may query, not post.
        api.forbidden("POST", "/records", &analyst, "POST /records", "producers")
            .await;
        for (method, path, _) in &ROUTES[1..] {
            let (status, body) = api.call(method, path, Some(&analyst)).await;
            assert!(
                status == 200 || status == 404,
                "analyst {method} {path}: {status} {body}\n{}",
                api.logs()
            );
        }

        // A producer may post, not query.
        let (status, body) = api.call("POST", "/records", Some(&producer)).await;
        assert_eq!(status, 202, "producer POST: {body}\n{}", api.logs());
        assert_eq!(body["accepted"], 2, "{body}");
        for (method, path, route) in &ROUTES[1..] {
            api.forbidden(method, path, &producer, route, "analysts")
                .await;
        }

        // A user in no group may call nothing.
        for (method, path, route) in ROUTES {
            let (status, body) = api.call(method, path, Some(&nobody)).await;
            assert_eq!(status, 403, "{method} {path}: {body}");
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(route) && message.ends_with("the caller is in no group"),
                "{message}"
            );
        }

        // The administrator takes the producer out of `producers`: its next sign-in's token
        // carries no group, and its POST is refused.
        write_users(&users, "[]");
        sync(&ep, &users, &passwords);
        let again = sign_in(&idp, &client, PRODUCER, PASSWORD).await;
        let (status, body) = api.call("POST", "/records", Some(&again)).await;
        assert_eq!(status, 403, "{body}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("POST /records") && m.contains("producers")),
            "{body}"
        );
        // The token issued before holds its groups until it expires (an hour): the check
        // reads the verified claims, it does not look the user up.
        assert_eq!(
            api.call("POST", "/records", Some(&producer)).await.0,
            202,
            "{}",
            api.logs()
        );
    });
}
