//! The server's bearer token: beyond loopback, live and record servers refuse to start without one; with one,
//! every request must present it (`Authorization: Bearer`, or `X-API-KEY` as Serper clients send), and the
//! token is never printed.
use crate::common::*;
use crate::serve::recorded;

const TOKEN: &str = "tok-0123456789abcdef-secret";

/// GET `url` with extra header lines; the HTTP status.
fn status_with(url: &str, headers: &str) -> u16 {
    http_get_with(url, headers).0
}

#[test]
fn open_live_or_record_servers_beyond_loopback_are_refused() {
    let tmp = tempdir();
    let snap = tmp.path().join("snap");
    for mode in ["record", "live"] {
        let out = webtape()
            .args(["serve", "--port", "0", "--bind", "0.0.0.0", "--mode", mode, "--snapshot", s(&snap)])
            .env_remove("WEBTAPE_TOKEN")
            .output()
            .unwrap();
        assert!(!out.status.success(), "{mode}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains("without a token") && err.contains("WEBTAPE_TOKEN"), "{mode}: {err}");
    }
    let out = webtape()
        .args(["serve", "--port", "0", "--bind", "0.0.0.0", "--mode", "record", "--snapshot", s(&snap)])
        .env("WEBTAPE_TOKEN", "short")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("use at least 16"), "{}", stderr(&out));
    assert!(!snap.exists(), "nothing was created before the refusal");
}

#[test]
fn a_token_is_required_on_every_route_and_never_printed() {
    let tmp = tempdir();
    let (snap, _) = recorded(tmp.path(), 1);
    let srv = ServeProc::start(&["--bind", "0.0.0.0", "--snapshot", s(&snap)], &[("WEBTAPE_TOKEN", TOKEN)]);
    // Bound to every interface; the test talks to it over loopback only.
    let base = srv.url.replace("0.0.0.0", "127.0.0.1");
    for route in ["/healthz", "/digest", "/metrics", "/search?q=x"] {
        let url = format!("{base}{route}");
        assert_eq!(status_with(&url, ""), 401, "{route} without a token");
        assert_eq!(status_with(&url, "Authorization: Bearer wrong-token-0123456789\r\n"), 401, "{route}");
        assert_eq!(status_with(&url, &format!("Authorization: Bearer {TOKEN}\r\n")), 200, "{route}");
        assert_eq!(status_with(&url, &format!("X-API-KEY: {TOKEN}\r\n")), 200, "{route} as a Serper key");
    }
    let (ok, rest) = srv.stop();
    assert!(ok);
    assert!(!rest.contains(TOKEN), "the token is never printed: {rest}");
}

#[test]
fn loopback_servers_stay_open_without_a_token() {
    let tmp = tempdir();
    let (snap, _) = recorded(tmp.path(), 1);
    let srv = ServeProc::start(&["--snapshot", s(&snap)], &[]);
    assert_eq!(status_with(&format!("{}/healthz", srv.url), ""), 200);
}
