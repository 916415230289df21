//! The server's bearer token: who may call a server bound beyond loopback. Only the token's BLAKE3 hash is kept
//! (never the token, never logged), and a presented token is compared by hash in constant time.
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::error::{Error, Result};

/// Shortest token accepted: a guessable token on an open port is no lock.
pub const MIN_TOKEN_CHARS: usize = 16;

/// A required bearer token, kept as its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(blake3::Hash);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<hidden>)")
    }
}

impl Token {
    /// The token `secret`, or an error naming what is wrong with it (never the secret itself).
    pub fn new(secret: &str) -> Result<Token> {
        let chars = secret.chars().count();
        if chars < MIN_TOKEN_CHARS {
            return Err(Error::Config(format!(
                "the server token has {chars} characters; use at least {MIN_TOKEN_CHARS} (e.g. `openssl rand -hex 24`)"
            )));
        }
        if secret.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::Config("the server token must not contain spaces or control characters".into()));
        }
        Ok(Token(blake3::hash(secret.as_bytes())))
    }

    /// Whether `presented` is the token (`blake3::Hash` equality is constant-time).
    pub fn admits(&self, presented: &str) -> bool {
        blake3::hash(presented.as_bytes()) == self.0
    }
}

/// The token a request presents: `Authorization: Bearer <token>`, or `X-API-KEY: <token>` (what Serper clients
/// send, so an unchanged Serper client authenticates with the token as its key).
fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, rest) = value.split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then_some(rest.trim());
    }
    headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim)
}

/// Refuses (401) a request without the server's token when the server has one.
pub async fn require_token(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(token) = &state.cfg.token else {
        return next.run(req).await;
    };
    match presented(req.headers()) {
        Some(p) if token.admits(p) => next.run(req).await,
        found => {
            let why = if found.is_some() { "the token does not match" } else { "no token was sent" };
            let msg = format!("this server needs its token: send `Authorization: Bearer <token>` ({why})");
            let body = axum::Json(serde_json::json!({ "error": msg }));
            (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_spaced_tokens_are_refused_and_debug_hides_the_token() {
        assert!(Token::new("short").is_err());
        assert!(Token::new("has a space in the middle").is_err());
        let t = Token::new("0123456789abcdef0123").unwrap();
        assert!(t.admits("0123456789abcdef0123"));
        assert!(!t.admits("0123456789abcdef0124"));
        assert!(!format!("{t:?}").contains("0123"));
    }

    #[test]
    fn bearer_and_api_key_headers_present_a_token() {
        let mut h = HeaderMap::new();
        assert_eq!(presented(&h), None);
        h.insert("x-api-key", "k1".parse().unwrap());
        assert_eq!(presented(&h), Some("k1"));
        h.insert(header::AUTHORIZATION, "bearer  k2".parse().unwrap());
        assert_eq!(presented(&h), Some("k2"), "Authorization wins, scheme case-insensitive");
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(presented(&h), None, "another scheme is no bearer token");
    }
}
