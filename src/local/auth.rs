//! The API's `COGNITO_USER_POOLS` authorizer, as API Gateway runs it: the `Authorization`
//! header holds the token (raw, or `Bearer <token>`), an RS256 JWT that must be signed by one
//! of the user pool's keys (its JWKS), issued by the pool, unexpired, and meant for one of the
//! pool's app clients: an ID token's `aud`, an access token's `client_id`. The verified claims
//! reach the function as `requestContext.authorizer.claims`, every value as a string (API
//! Gateway flattens them: numbers in decimal, lists comma-separated).

use axum::http::{header::AUTHORIZATION, HeaderMap};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Claims as API Gateway hands them to the function: name -> string value.
pub type Claims = BTreeMap<String, String>;

/// At most one JWKS download per this interval for unknown key IDs, so tokens with made-up
/// `kid`s cannot make the server hammer the key endpoint.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// Why a request is not authorized. Every variant is answered with the same 401; the detail
/// is for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header, or an empty one.
    #[error("no token in the Authorization header")]
    Missing,
    /// The token is not a JWT signed by a key of the pool.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Signed by the pool, but not acceptable (token use, audience, expiry, issuer).
    #[error("token refused: {0}")]
    Refused(String),
    /// The pool's keys could not be downloaded.
    #[error("cannot read the user pool's keys: {0}")]
    Keys(String),
}

/// The issuer of a user pool's tokens.
pub fn issuer(region: &str, pool_id: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
}

/// Where a user pool publishes its keys: under the Cognito endpoint, which is the endpoint
/// override when one is set (an emulator serves the keys there too), else the regional one.
pub fn jwks_url(endpoint: Option<&str>, region: &str, pool_id: &str) -> String {
    let base = match endpoint {
        Some(e) => e.trim_end_matches('/').to_string(),
        None => format!("https://cognito-idp.{region}.amazonaws.com"),
    };
    format!("{base}/{pool_id}/.well-known/jwks.json")
}

/// The token in an `Authorization` header value: the value itself, or what follows `Bearer `.
pub fn token_from(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Invalid("the Authorization header is not text".into()))?
        .trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ if value.eq_ignore_ascii_case("bearer") => "",
        _ => value,
    };
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token)
}

/// Checks a token's signature (RS256, key by `kid` from `keys`), issuer and expiry (no leeway),
/// then its use and audience; returns its claims.
pub fn verify(
    token: &str,
    keys: &JwkSet,
    issuer: &str,
    client_ids: &[String],
) -> Result<Map<String, Value>, AuthError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
    let kid = header
        .kid
        .ok_or_else(|| AuthError::Invalid("the token names no key (kid)".into()))?;
    let jwk = keys
        .find(&kid)
        .ok_or_else(|| AuthError::Invalid(format!("unknown key {kid:?}")))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| AuthError::Invalid(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.leeway = 0;
    validation.validate_aud = false; // depends on token_use: checked below
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss"]);
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(
        |e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                AuthError::Refused("the token has expired".into())
            }
            jsonwebtoken::errors::ErrorKind::InvalidIssuer => {
                AuthError::Refused("the token was not issued by this user pool".into())
            }
            _ => AuthError::Invalid(e.to_string()),
        },
    )?;
    check_use(&data.claims, client_ids)?;
    Ok(data.claims)
}

/// An ID token (`token_use: id`) must name one of the app clients in `aud`; an access token
/// (`token_use: access`) in `client_id`. Anything else is refused.
pub fn check_use(claims: &Map<String, Value>, client_ids: &[String]) -> Result<(), AuthError> {
    let known = |v: &Value| match v {
        Value::String(s) => client_ids.contains(s),
        Value::Array(a) => a.iter().any(|x| {
            x.as_str()
                .is_some_and(|s| client_ids.iter().any(|c| c == s))
        }),
        _ => false,
    };
    match claims.get("token_use").and_then(Value::as_str) {
        Some("id") => match claims.get("aud") {
            Some(aud) if known(aud) => Ok(()),
            _ => Err(AuthError::Refused(
                "the ID token's audience is not an app client of the pool".into(),
            )),
        },
        Some("access") => match claims.get("client_id") {
            Some(c) if known(c) => Ok(()),
            _ => Err(AuthError::Refused(
                "the access token's client_id is not an app client of the pool".into(),
            )),
        },
        Some(other) => Err(AuthError::Refused(format!(
            "token_use {other:?} is neither id nor access"
        ))),
        None => Err(AuthError::Refused("the token has no token_use".into())),
    }
}

/// Claims flattened to strings as API Gateway passes them: strings as they are, numbers and
/// booleans in their JSON form, lists comma-separated, objects as JSON text.
pub fn api_gateway_claims(claims: &Map<String, Value>) -> Claims {
    fn flat(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => items.iter().map(flat).collect::<Vec<_>>().join(","),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
    claims.iter().map(|(k, v)| (k.clone(), flat(v))).collect()
}

enum KeySource {
    /// Downloaded (and re-downloaded on an unknown `kid`).
    Url {
        client: reqwest::Client,
        url: String,
    },
    /// Fixed keys (tests).
    Fixed,
}

#[derive(Default)]
struct KeyCache {
    keys: Option<JwkSet>,
    fetched_at: Option<Instant>,
}

/// The authorizer of one user pool: its issuer, app clients and (cached) keys.
pub struct Authorizer {
    issuer: String,
    client_ids: Vec<String>,
    source: KeySource,
    cache: tokio::sync::Mutex<KeyCache>,
}

impl Authorizer {
    /// An authorizer that downloads the pool's keys from `jwks_url` on first use, and again
    /// (at most every [`JWKS_REFETCH_INTERVAL`]) when a token names a key it does not know.
    /// `direct` skips any HTTP proxy from the environment (for a loopback emulator).
    pub fn new(
        issuer: String,
        client_ids: Vec<String>,
        jwks_url: String,
        direct: bool,
    ) -> anyhow::Result<Authorizer> {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
        if direct {
            builder = builder.no_proxy();
        }
        Ok(Authorizer {
            issuer,
            client_ids,
            source: KeySource::Url {
                client: builder.build()?,
                url: jwks_url,
            },
            cache: tokio::sync::Mutex::new(KeyCache::default()),
        })
    }

    /// An authorizer with fixed keys (never downloaded).
    pub fn with_keys(issuer: String, client_ids: Vec<String>, keys: JwkSet) -> Authorizer {
        Authorizer {
            issuer,
            client_ids,
            source: KeySource::Fixed,
            cache: tokio::sync::Mutex::new(KeyCache {
                keys: Some(keys),
                fetched_at: None,
            }),
        }
    }

    /// The issuer tokens must carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The app client IDs tokens may be meant for.
    pub fn client_ids(&self) -> &[String] {
        &self.client_ids
    }

    /// Downloads the keys now (at startup), so a wrong endpoint shows at once.
    pub async fn prefetch(&self) -> Result<(), AuthError> {
        let mut cache = self.cache.lock().await;
        self.refresh(&mut cache).await
    }

    async fn refresh(&self, cache: &mut KeyCache) -> Result<(), AuthError> {
        let KeySource::Url { client, url } = &self.source else {
            return Ok(());
        };
        cache.fetched_at = Some(Instant::now());
        let keys = async {
            client
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .json::<JwkSet>()
                .await
        }
        .await
        .map_err(|e| AuthError::Keys(format!("{url}: {e}")))?;
        tracing::debug!(
            url,
            keys = keys.keys.len(),
            "downloaded the user pool's keys"
        );
        cache.keys = Some(keys);
        Ok(())
    }

    /// The key set to check a token naming `kid` against: the cached one, refreshed first if
    /// it lacks `kid` and no download happened within [`JWKS_REFETCH_INTERVAL`].
    async fn keys_for(&self, kid: Option<&str>) -> Result<JwkSet, AuthError> {
        let mut cache = self.cache.lock().await;
        let knows = |c: &KeyCache| {
            c.keys
                .as_ref()
                .is_some_and(|k| kid.is_some_and(|kid| k.find(kid).is_some()))
        };
        let stale = cache
            .fetched_at
            .is_none_or(|t| t.elapsed() >= JWKS_REFETCH_INTERVAL);
        if !knows(&cache) && (cache.keys.is_none() || stale) {
            if let Err(e) = self.refresh(&mut cache).await {
                if cache.keys.is_none() {
                    return Err(e);
                }
                tracing::warn!(error = %e, "keeping the user pool's previous keys");
            }
        }
        Ok(cache.keys.clone().unwrap_or(JwkSet { keys: Vec::new() }))
    }

    /// Authorizes a request by its headers; returns the claims for the function.
    pub async fn authorize(&self, headers: &HeaderMap) -> Result<Claims, AuthError> {
        let token = token_from(headers)?;
        let kid = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::Invalid(e.to_string()))?
            .kid;
        let keys = self.keys_for(kid.as_deref()).await?;
        let claims = verify(token, &keys, &self.issuer, &self.client_ids)?;
        Ok(api_gateway_claims(&claims))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    /// A throwaway RSA key for these tests only.
    pub(crate) const TEST_KEY_PEM: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEpQIBAAKCAQEApaBAhCkMVSQzEtLVMN+jGAxjQ2DVeROidWzdIRk5SnOfZuxl
PFzd4hzn+h3XpNHuEtOSv6db9wPkNHNw34EI3wBOMc20CnKEgIvfriPylhGqJYFl
7UH5F7+f6rcbwMa+Yt8lx1aC75ZE+LDbTPLF5kFEfsblY2ovfvUlu+u4ywd9llWE
OChCFyZ/EGpP+WcCMV9qmW4NIG0z++A17e5Uy1ytSkfJP9WCGih2tAbxKmOOZLdI
hs6WywkBjOHdEKFxrDNpPDQ6G4PSE4kUgY4PSufjqyCs1wd97wXMjb93n0m8LL0Z
bSv5MMOFdhvFc+8pPjnhkgp1q9iRc8MA6QO+owIDAQABAoIBAAFJhYwsECnOkOG3
PGuXfAUBKPmqaaj55hao30RqlcS7sU7IzOCd4tDnDfEmWjlbCFFNI6Qpq3qipRtj
P5/9DhHtnANMaKHMJ2DNtXynpYhVCtAlI/hRaEYu+byGlR33wshcmPE7qDjZyh9v
VcT7U15paMbeH4TuRlWOQi97stahF7wryHECtAwu/gvtYRMYr4QCohLwThQ0BKNe
pW6g3xhWkDTwNxrGqTLpVyImHcodyE0UsumaCYukAfoiq0O3DWfl1yP0hO8Heagq
WEK4m9+7jxhhjOrjipoN8uFIePWVZdyPEyoQYBuubbbIdZ1btsu2VBGUCCPpqH9a
ED2U5sECgYEA2Y4ujGpYPAI1OblBgabYl200T5lZcrHRmU0ajQ3ekYF+Vaj0OO39
Y69wiFEaTAMuzoMfn0J1WBNWln/w10aqE79MMbBuJ2keUpB2MVX1Ddh8ZWI6tYvS
B1gmgbp7/vd8tKkazwxpM54plofSg0rDF3Akzc8CYOYYgyzgYFfRpjcCgYEAwuTg
Syy8Dq7kFk1lSWRvngTDhhsIB2mIar00gLIA0sOseg8FIkAz8WVr2IcnpmBicgtP
SZ5XqcT9VTLQ0lQxxv9gVCFjyIlPtU4haq0rzlfmDQ7wtLo5Z7bDWJ1OaDVcDTt0
2+ZaedD9wWvae40HIi1ZixjC3IHUn90NuN8HtPUCgYEAr4NNemqxFHiTiCY0+uwo
AMJRWYZV63oZppvVt8ZgsPLPgTv1C5i0vB9lohQMKxbGRET01f8/u/ad/HzrSEHy
JExIpC26MIFVvTZepB68vJbShNhilORgZRxwtGhGcMQpD3b98dwJY2NOGespolJG
YjpO9trzCEmZrPofappuwLECgYEAuG9oYzvea/bOGtz7cUz+5AeWER8bpggU9Q5A
1VmetdY/LvNv5E3l2hgkyzB8MVMdVtelHQIf66VkKHCCdcj/olaijntatrhbGjTq
Is3mmstMBieRWzawhJnMm9uiC7QTfOI7YK7KCGXi/lxW0n1PtuQ7zQqNvaeP1AmZ
ps5JuNECgYEAy1gE4twypfG5sPMnVvkpJBc5wdv4fs06O7imZ5LjUpp7vZOLZFOP
pnPJ8C0LTvBGM9hbg1TFTGGaxcICQxVQLL47KBlFXNK7ufzfeKfmPLo1qafQ5RFu
SuPE2yGDuP5JVMmKGMJ8PGnDx74wEQdwPsNWUw5ULVqf3gxL+6yWdHA=
-----END RSA PRIVATE KEY-----
";

    /// Base64url modulus of [`TEST_KEY_PEM`].
    const TEST_KEY_N: &str = "paBAhCkMVSQzEtLVMN-jGAxjQ2DVeROidWzdIRk5SnOfZuxlPFzd4hzn-h3XpNHuEtOSv6db9wPkNHNw34EI3wBOMc20CnKEgIvfriPylhGqJYFl7UH5F7-f6rcbwMa-Yt8lx1aC75ZE-LDbTPLF5kFEfsblY2ovfvUlu-u4ywd9llWEOChCFyZ_EGpP-WcCMV9qmW4NIG0z--A17e5Uy1ytSkfJP9WCGih2tAbxKmOOZLdIhs6WywkBjOHdEKFxrDNpPDQ6G4PSE4kUgY4PSufjqyCs1wd97wXMjb93n0m8LL0ZbSv5MMOFdhvFc-8pPjnhkgp1q9iRc8MA6QO-ow";

    pub(crate) const POOL: &str = "us-east-1_TestPool";
    pub(crate) const CLIENT: &str = "client-abc";

    pub(crate) fn test_keys() -> JwkSet {
        serde_json::from_value(json!({"keys": [{
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": "test-key",
            "n": TEST_KEY_N, "e": "AQAB"
        }]}))
        .unwrap()
    }

    pub(crate) fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    /// A token signed with the test key, named `kid`.
    pub(crate) fn sign_with(kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        let key = EncodingKey::from_rsa_pem(TEST_KEY_PEM.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    pub(crate) fn sign(claims: &Value) -> String {
        sign_with("test-key", claims)
    }

    /// The claims of a valid ID token of [`CLIENT`] in [`POOL`].
    pub(crate) fn id_claims() -> Value {
        json!({
            "iss": issuer("us-east-1", POOL),
            "sub": "5f1c-user",
            "aud": CLIENT,
            "token_use": "id",
            "cognito:username": "alice",
            "cognito:groups": ["producers", "analysts"],
            "email_verified": true,
            "iat": now() - 10,
            "exp": now() + 3600,
        })
    }

    fn clients() -> Vec<String> {
        vec!["other".into(), CLIENT.into()]
    }

    fn check(token: &str) -> Result<Map<String, Value>, AuthError> {
        verify(token, &test_keys(), &issuer("us-east-1", POOL), &clients())
    }

    fn with(mut claims: Value, key: &str, value: Value) -> Value {
        claims[key] = value;
        claims
    }

    #[test]
    fn a_valid_id_or_access_token_passes() {
        let claims = check(&sign(&id_claims())).unwrap();
        assert_eq!(claims["cognito:username"], "alice");
        let mut access = id_claims();
        let obj = access.as_object_mut().unwrap();
        obj.remove("aud");
        obj.insert("token_use".into(), json!("access"));
        obj.insert("client_id".into(), json!(CLIENT));
        check(&sign(&access)).unwrap();
    }

    #[test]
    fn claims_that_do_not_fit_the_pool_are_refused() {
        let refused = |c: Value| match check(&sign(&c)) {
            Err(AuthError::Refused(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        };
        assert!(refused(with(id_claims(), "aud", json!("stranger"))).contains("audience"));
        assert!(refused(with(id_claims(), "exp", json!(now() - 1))).contains("expired"));
        assert!(refused(with(
            id_claims(),
            "iss",
            json!(issuer("us-east-1", "us-east-1_Other"))
        ))
        .contains("issued"));
        assert!(refused(with(id_claims(), "token_use", json!("refresh"))).contains("token_use"));
        // An access token names its client in client_id; aud does not count.
        let access = with(id_claims(), "token_use", json!("access"));
        assert!(refused(access).contains("client_id"));
        let mut no_use = id_claims();
        no_use.as_object_mut().unwrap().remove("token_use");
        assert!(refused(no_use).contains("token_use"));
    }

    #[test]
    fn tampered_unknown_or_unsigned_tokens_are_invalid() {
        let token = sign(&id_claims());
        // Change the payload (the user) but keep the signature.
        let parts: Vec<&str> = token.split('.').collect();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let forged = b64.encode(
            serde_json::to_vec(&with(id_claims(), "cognito:username", json!("mallory"))).unwrap(),
        );
        let tampered = format!("{}.{forged}.{}", parts[0], parts[2]);
        assert!(matches!(check(&tampered), Err(AuthError::Invalid(_))));
        assert!(matches!(
            check(&sign_with("other-key", &id_claims())),
            Err(AuthError::Invalid(m)) if m.contains("unknown key")
        ));
        let none = format!(
            "{}.{}.",
            b64.encode(br#"{"alg":"none","kid":"test-key"}"#),
            parts[1]
        );
        assert!(matches!(check(&none), Err(AuthError::Invalid(_))));
        assert!(matches!(check("not-a-jwt"), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn the_token_is_the_header_or_what_follows_bearer() {
        let mut h = HeaderMap::new();
        assert_eq!(token_from(&h), Err(AuthError::Missing));
        h.insert(AUTHORIZATION, "abc.def.ghi".parse().unwrap());
        assert_eq!(token_from(&h), Ok("abc.def.ghi"));
        h.insert(AUTHORIZATION, "Bearer abc.def.ghi".parse().unwrap());
        assert_eq!(token_from(&h), Ok("abc.def.ghi"));
        h.insert(AUTHORIZATION, "bearer   abc.def.ghi ".parse().unwrap());
        assert_eq!(token_from(&h), Ok("abc.def.ghi"));
        h.insert(AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(token_from(&h), Err(AuthError::Missing));
    }

    #[test]
    fn claims_are_flattened_to_strings() {
        let claims = api_gateway_claims(id_claims().as_object().unwrap());
        assert_eq!(claims["cognito:groups"], "producers,analysts");
        assert_eq!(claims["email_verified"], "true");
        assert!(claims["exp"].parse::<i64>().unwrap() > now());
        assert_eq!(claims["aud"], CLIENT);
    }

    #[test]
    fn endpoints_follow_the_override() {
        assert_eq!(
            jwks_url(Some("http://127.0.0.1:5000/"), "eu-west-1", "eu-west-1_X"),
            "http://127.0.0.1:5000/eu-west-1_X/.well-known/jwks.json"
        );
        assert_eq!(
            jwks_url(None, "eu-west-1", "eu-west-1_X"),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X/.well-known/jwks.json"
        );
        assert_eq!(
            issuer("eu-west-1", "eu-west-1_X"),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X"
        );
    }

    #[tokio::test]
    async fn the_authorizer_reads_the_header_and_returns_flat_claims() {
        let a = Authorizer::with_keys(issuer("us-east-1", POOL), clients(), test_keys());
        let mut h = HeaderMap::new();
        h.insert(
            AUTHORIZATION,
            format!("Bearer {}", sign(&id_claims())).parse().unwrap(),
        );
        let claims = a.authorize(&h).await.unwrap();
        assert_eq!(claims["cognito:username"], "alice");
        assert_eq!(
            a.authorize(&HeaderMap::new()).await,
            Err(AuthError::Missing)
        );
    }
}
