//! The page fetcher through its public API against the sim web: gzip on the wire, PDF text, robots.txt,
//! HTTP errors and redirects recorded as they happened.
use webtape::snapshot::{PreparedPage, SnapshotWriter};
use webtape::web::{FetchConfig, Fetched, Fetcher, Guard};

use crate::common::*;

fn fetch_all(urls: &[String]) -> Vec<Fetched> {
    let cfg = FetchConfig { guard: Guard::new(true), ..Default::default() };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let fetcher = Fetcher::new(cfg).unwrap();
        let mut out = Vec::new();
        for url in urls {
            out.push(fetcher.fetch(url).await.unwrap());
        }
        out
    })
}

#[test]
fn encodings_pdf_robots_errors_redirects() {
    let sim = SimProc::start(&[]);
    let (_, home) = http_get(&format!("{}/", sim.url));
    let home = String::from_utf8(home).unwrap();
    let first_link = home.split("href=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let slug = first_link.rsplit('/').next().unwrap().to_string();
    let urls: Vec<String> = [
        "/encoded/gzip".to_string(),
        format!("/files/{slug}.pdf"),
        "/private/secret".to_string(),
        "/status/503".to_string(),
        "/no/such/page".to_string(),
        format!("/redirect?to=/redirect%3Fto%3D{}", first_link.replace('/', "%2F")),
    ]
    .iter()
    .map(|p| format!("{}{p}", sim.url))
    .collect();
    let got = fetch_all(&urls);

    let gz = &got[0];
    assert_eq!(gz.capture.status, Some(200));
    assert_eq!(gz.body.as_deref().unwrap(), home.as_bytes(), "gzip decoded to the page bytes");

    let pdf = &got[1];
    assert_eq!(pdf.capture.content_type.as_deref(), Some("application/pdf"));
    assert!(pdf.body.as_ref().unwrap().starts_with(b"%PDF-"));
    let prepared = PreparedPage::new(pdf.capture.clone(), pdf.body.as_deref(), None).unwrap();
    assert!(prepared.text.text.contains("(PDF edition)"), "PDF text extracted: {:?}", prepared.text);

    assert_eq!(got[2].failure.as_deref(), Some("robots"));
    assert!(got[2].capture.fetch_error.as_deref().unwrap().contains("robots.txt"));
    assert!(!sim.requests().contains_key("/private/secret"), "a disallowed page is not requested");

    assert_eq!((got[3].capture.status, got[3].failure.as_deref()), (Some(503), Some("http 5xx")));
    assert_eq!(sim.requests()["/status/503"], 4, "503 retried 3 times by default");
    assert_eq!((got[4].capture.status, got[4].failure.as_deref()), (Some(404), Some("http 4xx")));

    let r = &got[5];
    assert_eq!(r.capture.status, Some(200));
    assert_eq!(r.capture.redirects.len(), 2, "{:?}", r.capture.redirects);
    assert_eq!(r.capture.final_url, format!("{}{first_link}", sim.url));

    // All of them store, failures included.
    let tmp = tempdir();
    let mut writer = SnapshotWriter::create(&tmp.path().join("s")).unwrap();
    for f in got {
        writer.put_prepared(PreparedPage::new(f.capture, f.body.as_deref(), None).unwrap(), "web").unwrap();
    }
    assert_eq!(writer.finish().unwrap().counts.page_captures, 6);
}
