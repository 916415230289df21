//! The reading-model client against an OpenAI-compatible server on loopback (the sim's), with its outputs
//! recorded in the snapshot's `reader` column family and read back exactly.
use std::time::Duration;

use webtape::snapshot::{Snapshot, SnapshotWriter};
use webtape::web::ReaderClient;

use crate::common::*;

#[test]
fn reader_outputs_are_recorded_and_replayed() {
    let sim = SimProc::start(&["--api-key", "reader-key-31415"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let prompt = "Where was the author born?\nThe author was born in Wobymville. The weather was fine.\nThe author wrote novels.";
    let client = ReaderClient::new(
        &format!("{}/v1", sim.url),
        "sim-reader",
        Some("reader-key-31415".into()),
        Duration::from_secs(10),
    )
    .unwrap();
    let answer = rt.block_on(client.complete(prompt)).unwrap();
    assert!(answer.contains("born in Wobymville"), "{answer}");
    assert!(!answer.contains("weather"), "{answer}");

    let tmp = tempdir();
    let dir = tmp.path().join("snap");
    let mut writer = SnapshotWriter::create(&dir).unwrap();
    writer.put_reader_output(client.model(), prompt, &answer).unwrap();
    writer.finish().unwrap();
    let snap = Snapshot::open(&dir).unwrap();
    assert_eq!(snap.reader_output("sim-reader", prompt).unwrap().as_deref(), Some(answer.as_str()));
    assert_eq!(snap.reader_output("other-model", prompt).unwrap(), None, "keyed by model too");

    // A wrong key: a clear error that does not repeat the key.
    let bad = ReaderClient::new(&sim.url, "sim-reader", Some("wrong-reader-key-2718".into()), Duration::from_secs(10))
        .unwrap();
    let err = rt.block_on(bad.complete(prompt)).unwrap_err().to_string();
    assert!(err.contains("HTTP 401") && err.contains("sim-reader") && !err.contains("wrong-reader-key-2718"), "{err}");
    assert!(ReaderClient::new("ftp://x", "m", None, Duration::from_secs(1)).is_err());
}

#[test]
fn judge_verdicts_are_recorded_and_replayed() {
    use webtape::agent::judge::{Judge, JudgeItem, Verdict};
    let item = |predicted: Option<&str>| JudgeItem {
        question: "Where was Cor Lestve born?".into(),
        answers: vec!["Zexfield".into(), "Zex Field".into()],
        predicted: predicted.map(str::to_string),
    };
    let items = vec![item(Some("zexfield, Grosia")), item(Some("Wobymville")), item(None), item(Some("Zex-field"))];
    let expected = vec![Verdict::Correct, Verdict::Incorrect, Verdict::Incorrect, Verdict::Correct];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempdir();
    let store = tmp.path().join("judge");
    let sim = SimProc::start(&[]);
    let client = ReaderClient::new(&sim.url, "sim-judge", None, Duration::from_secs(10)).unwrap();
    let live = Judge::new("sim-judge", &store, Some(client)).unwrap();
    assert_eq!(live.judge(&items, &rt).unwrap(), expected);
    drop(sim);

    // The endpoint is gone: the recorded verdicts replay; a question never judged stays unjudged.
    let replay = Judge::new("sim-judge", &store, None).unwrap();
    assert_eq!(replay.judge(&items, &rt).unwrap(), expected);
    let mut unseen = item(Some("Zexfield"));
    unseen.question = "Where was someone else born?".into();
    assert_eq!(replay.judge(&[unseen], &rt).unwrap(), vec![Verdict::Unjudged]);
    let other_model = Judge::new("another-judge", &store, None).unwrap();
    assert_eq!(other_model.judge(&items[..1], &rt).unwrap(), vec![Verdict::Unjudged], "keyed by model");
}
