//! Tests of `canon`: concrete SURT and search-key cases, then property tests.
use proptest::prelude::*;

use super::*;

fn surt(url: &str) -> String {
    match surt_key(url) {
        Ok(key) => key,
        Err(e) => panic!("{url:?} should be keyed: {e}"),
    }
}

fn refused(url: &str) -> String {
    match surt_key(url) {
        Ok(key) => panic!("{url:?} should be refused, got {key:?}"),
        Err(Error::InvalidUrl { url: got, reason }) => {
            assert_eq!(got, url);
            reason
        }
        Err(other) => panic!("{url:?}: wrong error {other:?}"),
    }
}

#[test]
fn surt_examples_from_the_spec() {
    assert_eq!(surt("https://www.Example.com:443/a?b=2&a=1#frag"), "com,example)/a?a=1&b=2");
    assert_eq!(surt("http://example.com"), "com,example)/");
    assert_eq!(surt("http://EXAMPLE.com:8080/X"), "com,example:8080)/X");
    assert_eq!(surt("  http://example.com/path/page?a=1&b=2 \n"), "com,example)/path/page?a=1&b=2");
}

#[test]
fn surt_host_rules() {
    assert_eq!(surt("http://example.com./a"), "com,example)/a");
    assert_eq!(surt("http://www2.example.com/"), "com,example)/");
    assert_eq!(surt("http://www123.sub.example.com/"), "com,example,sub)/");
    assert_eq!(surt("http://wwwx.example.com/"), "com,example,wwwx)/");
    assert_eq!(surt("http://www.com/"), "com)/");
    assert_eq!(surt("http://www/"), "www)/");
    assert_eq!(surt("http://www./"), "www)/");
    assert_eq!(surt("https://user:pw@Example.COM/"), "com,example)/");
    assert_eq!(surt("http://München.DE/straße"), "de,xn--mnchen-3ya)/stra%C3%9Fe");
}

#[test]
fn surt_ports_and_schemes() {
    assert_eq!(surt("http://example.com:80/a"), surt("https://example.com/a"));
    assert_eq!(surt("https://example.com:443/a"), "com,example)/a");
    assert_eq!(surt("https://example.com:80/a"), "com,example:80)/a");
    assert_eq!(surt("http://example.com:443/a"), "com,example:443)/a");
}

#[test]
fn surt_ip_hosts_are_not_reversed() {
    assert_eq!(surt("http://127.0.0.1:8088/x"), "127.0.0.1:8088)/x");
    assert_eq!(surt("http://10.0.0.1/"), "10.0.0.1)/");
    assert_eq!(surt("http://[::1]:8080/"), "[::1]:8080)/");
    assert_eq!(surt("https://[2001:DB8::1]:443/a"), "[2001:db8::1])/a");
}

#[test]
fn surt_path_rules() {
    assert_eq!(surt("http://example.com/A/b#x"), "com,example)/A/b");
    assert_eq!(surt("http://example.com/a/../b/./c"), "com,example)/b/c");
    assert_eq!(surt("http://example.com/a%7e"), surt("http://example.com/a~"));
    assert_eq!(surt("http://example.com/a%7e"), "com,example)/a~");
    assert_eq!(surt("http://example.com/%41%2d%5F"), "com,example)/A-_");
    assert_eq!(surt("http://example.com/a%2fb"), "com,example)/a%2Fb");
    assert_eq!(surt("http://example.com/%c3%a9"), surt("http://example.com/%C3%A9"));
    assert_eq!(surt("http://example.com/é"), "com,example)/%C3%A9");
    assert_eq!(surt("http://example.com/a b"), "com,example)/a%20b");
    assert_eq!(surt("http://example.com/100%zz%4"), "com,example)/100%zz%4");
}

#[test]
fn surt_query_rules() {
    assert_eq!(surt("http://example.com/?b=2&a=1&a=0"), "com,example)/?a=0&a=1&b=2");
    assert_eq!(surt("http://example.com/?&&a=1&&"), "com,example)/?a=1");
    assert_eq!(surt("http://example.com/?"), "com,example)/");
    assert_eq!(surt("http://example.com/p?utm_source=x&utm_medium=y&UTM_Campaign=z"), "com,example)/p");
    let tracked = "fbclid=1&gclid=2&dclid=3&MSCLKID=4&yclid=5&mc_cid=6&mc_eid=7&_ga=8&_gl=9&igshid=10&utm_=11";
    assert_eq!(surt(&format!("http://example.com/p?{tracked}&keep=1")), "com,example)/p?keep=1");
    assert_eq!(surt("http://example.com/p?utm%5Fsource=x&k=v"), "com,example)/p?k=v");
    assert_eq!(surt("http://example.com/p?utmsource=x"), "com,example)/p?utmsource=x");
    assert_eq!(surt("http://example.com/s?q=a+b&x=%7e%2f"), "com,example)/s?q=a+b&x=~%2F");
    assert_eq!(surt("http://example.com/?a&a=&b"), surt("http://example.com/?b&a=&a"));
    assert_eq!(surt("http://example.com/?q=a b"), "com,example)/?q=a%20b");
}

#[test]
fn surt_refuses_what_it_cannot_key() {
    for url in ["ftp://example.com/a", "file:///etc/passwd", "data:text/plain,hi", "mailto:a@example.com"] {
        assert!(refused(url).contains("scheme"), "{url}");
    }
    assert!(refused("javascript:alert(1)").contains("scheme"));
    assert!(refused("example.com/a").contains("no scheme"));
    assert!(refused("//example.com/a").contains("no scheme"));
    assert!(refused("http://").contains("no host"));
    assert!(refused("https:///").contains("host"));
    assert!(refused("http://./").contains("empty host"));
    for garbage in ["", "   ", "http://exa mple.com/", "http://[::1/", "http://example.com:99999/", "\u{0}"] {
        refused(garbage);
    }
}

fn request_json(body: &str) -> SearchRequest {
    match SearchRequest::from_json(body.as_bytes()) {
        Ok(r) => r,
        Err(e) => panic!("{body}: {e}"),
    }
}

fn request_qs(qs: &str) -> SearchRequest {
    match SearchRequest::from_query_string(qs) {
        Ok(r) => r,
        Err(e) => panic!("{qs}: {e}"),
    }
}

fn request_error(body: &str) -> String {
    match SearchRequest::from_json(body.as_bytes()) {
        Err(Error::InvalidRequest(message)) => message,
        other => panic!("{body}: expected InvalidRequest, got {other:?}"),
    }
}

#[test]
fn search_request_defaults_and_canonical_json() {
    let r = SearchRequest::new("  Rust   Borrow\tChecker ");
    assert_eq!((r.q.as_str(), r.num, r.page, &r.gl, &r.hl), ("rust borrow checker", 10, 1, &None, &None));
    assert_eq!(r.canonical_json(), r#"{"num":10,"page":1,"q":"rust borrow checker"}"#);
    assert_eq!(r.sent_query(), "Rust   Borrow\tChecker", "providers get the query as written");
    assert_eq!(r, SearchRequest::new("rust borrow checker"), "case is not part of the request's identity");
    assert_eq!(request_json(r#"{"q":" C++ vs. Rust? "}"#).sent_query(), "C++ vs. Rust?");
    let full = request_json(r#"{"q":"Rust","page":2,"hl":"EN","gl":" US ","tbs":"qdr:d","location":"Paris","n":5}"#);
    let expected =
        r#"{"extra":{"location":"Paris","n":"5","tbs":"qdr:d"},"gl":"us","hl":"en","num":10,"page":2,"q":"rust"}"#;
    assert_eq!(full.canonical_json(), expected);
    let round: SearchRequest = serde_json::from_str(expected).unwrap();
    assert_eq!(round, full);
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"webtape-search-v1\n");
    hasher.update(expected.as_bytes());
    assert_eq!(full.key(), *hasher.finalize().as_bytes());
}

#[test]
fn search_keys_that_must_match() {
    let base = request_json(r#"{"q":"rust borrow","num":5,"gl":"us"}"#).key();
    for body in [
        r#"{"gl":"us","num":5,"q":"rust borrow"}"#,
        r#"{ "q" : "  RUST   borrow\n", "num" : "5", "gl" : "US", "hl": "" }"#,
        r#"{"query":"rust borrow","num":5,"gl":"us","api_key":"s3cret","X-API-KEY":"k","Authorization":"Bearer x"}"#,
        r#"{"q":"rust borrow","query":"Rust Borrow","num":5,"gl":"us","page":1,"hl":null}"#,
    ] {
        assert_eq!(request_json(body).key(), base, "{body}");
    }
    for qs in ["q=rust+borrow&num=5&gl=us", "?gl=US&num=5&q=rust%20borrow&token=abc", "q=Rust++Borrow&num=+5&gl=us"] {
        assert_eq!(request_qs(qs).key(), base, "{qs}");
    }
    let default = SearchRequest::new("x").key();
    for body in
        [r#"{"q":"x"}"#, r#"{"q":"x","num":10}"#, r#"{"q":"x","num":"10","page":"1"}"#, r#"{"q":"x","key":"k"}"#]
    {
        assert_eq!(request_json(body).key(), default, "{body}");
    }
    let extras = request_json(r#"{"q":"x","safe":true,"n":5,"loc":"Paris"}"#);
    assert_eq!(request_qs("q=x&safe=true&n=5&loc=Paris"), extras);
}

#[test]
fn search_keys_that_must_differ() {
    let base = request_json(r#"{"q":"rust","num":10,"page":1,"gl":"us"}"#).key();
    for body in [
        r#"{"q":"rust lang","num":10,"page":1,"gl":"us"}"#,
        r#"{"q":"rust","num":20,"page":1,"gl":"us"}"#,
        r#"{"q":"rust","num":10,"page":2,"gl":"us"}"#,
        r#"{"q":"rust","num":10,"page":1,"gl":"uk"}"#,
        r#"{"q":"rust","num":10,"page":1}"#,
        r#"{"q":"rust","num":10,"page":1,"gl":"us","hl":"en"}"#,
        r#"{"q":"rust","num":10,"page":1,"gl":"us","tbs":"qdr:d"}"#,
    ] {
        assert_ne!(request_json(body).key(), base, "{body}");
    }
}

#[test]
fn search_request_errors_name_the_field() {
    assert!(request_error("not json").contains("JSON"));
    assert!(request_error("[1]").contains("object"));
    assert!(request_error(r#""q""#).contains("object"));
    for body in [r#"{}"#, r#"{"q":"   "}"#, r#"{"q":null}"#, r#"{"num":5}"#] {
        assert!(request_error(body).contains("`q`"), "{body}");
    }
    assert!(request_error(r#"{"q":5}"#).contains("`q` must be a string"));
    assert!(request_error(r#"{"query":["a"]}"#).contains("`query`"));
    assert!(request_error(r#"{"q":"a","query":"b"}"#).contains("disagree"));
    for num in ["0", "101", "-1", "1.5", "\"ten\"", "\"\"", "true", "4294967306"] {
        assert!(request_error(&format!(r#"{{"q":"a","num":{num}}}"#)).contains("`num`"), "{num}");
    }
    for page in ["0", "-2", "\"x\"", "[1]"] {
        assert!(request_error(&format!(r#"{{"q":"a","page":{page}}}"#)).contains("`page`"), "{page}");
    }
    assert!(request_error(r#"{"q":"a","gl":1}"#).contains("`gl`"));
    assert!(request_error(r#"{"q":"a","tbs":{"x":1}}"#).contains("`tbs`"));
    assert!(request_error(r#"{"q":"a","filters":[1]}"#).contains("`filters`"));
    assert!(SearchRequest::from_json(r#"{"q":"a","secret":{"x":1}}"#.as_bytes()).is_ok());
    assert!(matches!(SearchRequest::from_query_string("num=5"), Err(Error::InvalidRequest(m)) if m.contains("`q`")));
    assert!(
        matches!(SearchRequest::from_query_string("q=a&num=0"), Err(Error::InvalidRequest(m)) if m.contains("`num`"))
    );
}

#[test]
fn hand_built_requests_key_like_parsed_ones() {
    let mut r = SearchRequest::new("x");
    r.q = "  X ".into();
    r.gl = Some(" ".into());
    r.extra.insert("API_KEY".into(), "secret".into());
    assert_eq!(r.key(), request_json(r#"{"q":"x"}"#).key());
}

/// Flips the case of the hex digits of every percent-escape.
fn flip_escape_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut hex_left = 0;
    for c in s.chars() {
        if hex_left > 0 {
            hex_left -= 1;
            out.push(if c.is_ascii_uppercase() { c.to_ascii_lowercase() } else { c.to_ascii_uppercase() });
        } else {
            hex_left = if c == '%' { 2 } else { 0 };
            out.push(c);
        }
    }
    out
}

fn url_parts() -> impl Strategy<Value = (String, String, Vec<String>, Vec<String>)> {
    let host = ("[a-vx-z][a-z0-9]{0,7}", prop::collection::vec("[a-z0-9]{1,8}", 0..3), "[a-z]{2,6}")
        .prop_map(|(first, mid, tld)| [vec![first], mid, vec![tld]].concat().join("."));
    let path = prop::collection::vec("([A-Za-z0-9_~.-]|%[0-9a-fA-F]{2}){0,6}", 0..4)
        .prop_map(|segs| segs.iter().map(|s| format!("/{s}")).collect::<String>());
    let pairs = prop::collection::vec("[a-z]{1,4}(=([a-z0-9+]|%[0-9a-fA-F]{2}){0,4})?", 0..5);
    (host, path, pairs)
        .prop_flat_map(|(host, path, pairs)| (Just(host), Just(path), Just(pairs.clone()), Just(pairs).prop_shuffle()))
}

fn json_ws() -> impl Strategy<Value = String> {
    "[ \t\n\r]{0,3}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn surt_key_is_invariant_under_equivalent_spellings(
        (host, path, pairs, shuffled) in url_parts(),
        www in "www[0-9]{0,3}",
        utm in "utm_[a-z]{1,6}=[a-z0-9]{0,4}",
        https in any::<bool>(),
        fragment in "[a-zA-Z0-9#?&=]{0,8}",
    ) {
        let base = surt_key(&format!("http://{host}{path}?{}", pairs.join("&")));
        prop_assert!(base.is_ok(), "{:?}", base);
        let (scheme, port) = if https { ("https", 443) } else { ("http", 80) };
        let mut query = shuffled;
        query.insert(query.len() / 2, utm);
        let variant = format!(
            "{scheme}://{www}.{}:{port}{}?{}#{fragment}",
            host.to_uppercase(),
            flip_escape_case(&path),
            flip_escape_case(&query.join("&")),
        );
        prop_assert_eq!(surt_key(&variant).ok(), base.ok(), "{}", variant);
    }

    #[test]
    fn surt_key_never_panics(s in any::<String>(), tail in "\\PC{0,40}") {
        for input in [s.clone(), format!("http://{s}"), format!("https://{tail}"), format!("http://x.com/{s}")] {
            if let Ok(key) = surt_key(&input) {
                prop_assert!(!key.contains(' ') && !key.contains('#'), "{:?} -> {:?}", input, key);
            }
        }
    }

    #[test]
    fn search_key_is_invariant_under_json_layout_and_form(
        words in prop::collection::vec("[a-zA-Z0-9]{1,8}", 1..5),
        num in 1u32..=100,
        page in 1u32..=20,
        gl in prop::option::of("[a-z]{2}"),
        extra in prop::collection::btree_map("x[a-z]{0,5}", "[a-z0-9]{0,6}", 0..3),
        quote_numbers in any::<bool>(),
        ws in prop::collection::vec(json_ws(), 32),
        order in Just((0..16usize).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        let expected = SearchRequest {
            q: words.join(" ").to_lowercase(), text: String::new(), num, gl: gl.clone(), hl: None, page, extra: extra.clone(),
        };
        let spaced_q = format!(" {} ", words.join(" \t "));
        let number = |n: u32| if quote_numbers { format!("\"{n}\"") } else { n.to_string() };
        let mut fields = vec![
            ("q".to_string(), json_string(&spaced_q)),
            ("num".to_string(), number(num)),
            ("page".to_string(), number(page)),
            ("api_key".to_string(), json_string("secret")),
        ];
        if let Some(gl) = &gl {
            fields.push(("gl".to_string(), json_string(&gl.to_uppercase())));
        }
        fields.extend(extra.iter().map(|(k, v)| (k.clone(), json_string(v))));
        let ordered: Vec<usize> = order.into_iter().filter(|&i| i < fields.len()).collect();
        let body: Vec<String> = ordered.iter().enumerate().map(|(n, &i)| {
            format!("{}{}{}:{}{}", ws[2 * n], json_string(&fields[i].0), ws[2 * n + 1], ws[2 * n + 2], fields[i].1)
        }).collect();
        let body = format!("{{{}{}}}", body.join(","), ws[31]);
        let from_json = SearchRequest::from_json(body.as_bytes());
        prop_assert_eq!(from_json.as_ref().ok(), Some(&expected), "{}", body);
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for &i in &ordered {
            let (name, value) = &fields[i];
            let plain: String = serde_json::from_str::<Value>(value).map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            }).unwrap_or_default();
            form.append_pair(name, &plain);
        }
        let qs = form.finish();
        let from_qs = SearchRequest::from_query_string(&qs);
        prop_assert_eq!(from_qs.as_ref().map(SearchRequest::key).ok(), Some(expected.key()), "{}", qs);
    }
}
