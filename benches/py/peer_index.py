"""Peer for the import benchmark: Python text extraction + bm25s indexing over the same pages webtape imports.

usage: peer_index.py lxml|trafilatura FILE_LIST
Reads every file in FILE_LIST, extracts text (lxml: parse, drop script/style/nav/header/footer, text_content();
trafilatura: trafilatura.extract), tokenizes and indexes with bm25s, and prints one JSON line with pages/s.
"""
import json
import sys
import time

import bm25s


def lxml_extract(html, collapse=False):
    """Title, a newline, then the page's visible text (whitespace runs made one space when `collapse`)."""
    import lxml.html
    try:
        doc = lxml.html.fromstring(html)
    except Exception:
        return ""
    for bad in doc.xpath("//script|//style|//nav|//header|//footer|//noscript"):
        bad.drop_tree()
    title = doc.findtext(".//title") or ""
    text = doc.text_content()
    return title + "\n" + (" ".join(text.split()) if collapse else text)


def trafilatura_extract(html):
    import trafilatura
    return trafilatura.extract(html) or ""


def main():
    kind, listing = sys.argv[1], sys.argv[2]
    files = [line.strip() for line in open(listing) if line.strip()]
    extract = lxml_extract if kind == "lxml" else trafilatura_extract
    start = time.perf_counter()
    texts = []
    for path in files:
        with open(path, "rb") as f:
            texts.append(extract(f.read().decode("utf-8", "replace")))
    extracted = time.perf_counter()
    tokens = bm25s.tokenize(texts, stopwords="en", show_progress=False)
    index = bm25s.BM25()
    index.index(tokens, show_progress=False)
    done = time.perf_counter()
    print(json.dumps({"peer": kind, "pages": len(files), "seconds": round(done - start, 3),
                      "extract_seconds": round(extracted - start, 3), "pages_per_s": round(len(files) / (done - start), 1)}))


if __name__ == "__main__":
    main()
