"""Builds benches/quality/rust_docs.jsonl from the hand-written draft (benches/quality/rust_docs_draft.tsv) and checks
it against the Rust documentation installed with the toolchain: every supporting page must exist, must not be a
redirect stub, and its text must contain the question's evidence string, a phrase of the answer (case-insensitive;
`PAGE|TEXT` in the draft gives one page its own, `~` standing for a space). rustdoc pages of
the same item under std/, alloc/ and core/ (same file name, or for a module page the same path inside the crate, e.g.
std/fmt/index.html and alloc/fmt/index.html; same summary) are added as supporting pages too: they are the same
documentation.

usage: quality_questions.py DOCS_DIR DRAFT.tsv OUT.jsonl [--base-url URL]
Exits 1, naming the offending lines, when a page is missing or lacks its evidence.
"""
import argparse
import html
import json
import os
import re
import sys

RUSTDOC = ("std", "alloc", "core")


def item_key(rel):
    """What names one rustdoc item across std/alloc/core: the file name (`struct.Vec.html`), or for a module page,
    whose file is always `index.html`, its path inside the crate (`fmt/index.html`)."""
    parts = rel.split("/")
    return "/".join(parts[1:]) if parts[-1] == "index.html" else parts[-1]


def page_text(path):
    import lxml.html
    raw = open(path, "rb").read().decode("utf-8", "replace")
    if 'http-equiv="refresh"' in raw[:600]:
        return raw, None
    doc = lxml.html.fromstring(raw)
    for bad in doc.xpath("//script|//style"):
        bad.drop_tree()
    return raw, re.sub(r"\s+", " ", doc.text_content()).lower()


def description(raw):
    m = re.search(r'<meta name="description" content="([^"]*)"', raw)
    return html.unescape(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("docs")
    ap.add_argument("draft")
    ap.add_argument("out")
    ap.add_argument("--base-url", default="https://doc.rust-lang.org/")
    args = ap.parse_args()
    by_name = {}
    for crate in RUSTDOC:
        for dirpath, _, files in os.walk(os.path.join(args.docs, crate)):
            for name in files:
                if name.endswith(".html"):
                    rel = os.path.relpath(os.path.join(dirpath, name), args.docs)
                    by_name.setdefault(item_key(rel), []).append(rel)
    rows, bad = [], []
    for lineno, line in enumerate(open(args.draft), 1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, question, evidence, pages = line.rstrip("\n").split("\t")
        evidence = evidence.lower()
        pages = pages.split()
        urls = []
        question_evidence = evidence
        for spec in pages:
            rel, _, own = spec.partition("|")
            evidence = own.replace("~", " ").lower() or question_evidence
            path = os.path.join(args.docs, rel)
            if not os.path.isfile(path):
                bad.append(f"line {lineno}: {rel} missing")
                continue
            raw, text = page_text(path)
            if text is None:
                bad.append(f"line {lineno}: {rel} is a redirect")
                continue
            if evidence not in text:
                bad.append(f"line {lineno}: {rel} lacks evidence {evidence!r}")
                continue
            urls.append(rel)
            if rel.split("/")[0] in RUSTDOC and description(raw):
                for other in sorted(by_name.get(item_key(rel), [])):
                    if other in urls or other in [p.partition("|")[0] for p in pages]:
                        continue
                    oraw, otext = page_text(os.path.join(args.docs, other))
                    if otext is not None and description(oraw) == description(raw) and evidence in otext:
                        urls.append(other)
        rows.append({"question": question, "urls": [args.base_url + u for u in urls], "kind": kind,
                     "evidence": question_evidence})
    for b in bad:
        print(b, file=sys.stderr)
    with open(args.out, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    kinds = {}
    for r in rows:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{len(rows)} questions {kinds}, {sum(len(r['urls']) for r in rows)} supporting pages -> {args.out}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
