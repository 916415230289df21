//! Flipping one byte of a stored body on disk: `verify` names the damaged capture and exits non-zero.
use crate::common::*;

#[test]
fn flipped_blob_byte_is_found_and_named() {
    let tmp = tempdir();
    // A body unlike any other, so its compressed bytes can be found in the SST files.
    let mut words = String::new();
    for i in 0..2000u32 {
        words.push_str(&format!("w{} ", blake3::hash(&i.to_le_bytes()).to_hex().get(..8).unwrap()));
    }
    let victim = page("Victim", &words);
    let records = [
        response_record("https://ok.example/a", "2024-01-01T00:00:00Z", &page("Fine", "nothing to see")),
        response_record("https://victim.example/page", "2024-01-01T00:00:00Z", &victim),
    ]
    .concat();
    let snap = tmp.path().join("snap");
    ok(&["snapshot", "import-warc", s(&snap), s(&write_file(tmp.path(), "v.warc", &records))]);
    assert!(ok(&["snapshot", "verify", s(&snap)]).contains(": ok"));

    let needle = zstd::bulk::compress(&victim, 3).unwrap();
    let mut flipped = false;
    for entry in std::fs::read_dir(snap.join("db")).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        if let Some(at) = bytes.windows(needle.len()).position(|w| w == needle.as_slice()) {
            bytes[at + needle.len() / 2] ^= 0x40;
            std::fs::write(&path, bytes).unwrap();
            flipped = true;
        }
    }
    assert!(flipped, "the compressed body is stored verbatim in an SST file");

    let out = run(&["snapshot", "verify", s(&snap)]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("DAMAGED capture of https://victim.example/page"), "{text}");
}
