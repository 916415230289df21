"""Packs a folder of HTML files (e.g. the Rust documentation) into a gzip-per-record WARC with warcio, as if each
file had been fetched from BASE_URL/<relative path>. Deterministic: sorted file order, one fixed capture date.

usage: pack_docs.py DOCS_DIR OUT.warc.gz [--limit N] [--list OUT.txt] [--base-url URL]
--limit N takes every k-th file so that about N pages spread over the whole folder are packed.
"""
import argparse
import io
import os

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def html_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".html"):
                out.append(os.path.join(dirpath, name))
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("docs")
    ap.add_argument("out")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--list")
    ap.add_argument("--base-url", default="https://doc.rust-lang.org/")
    args = ap.parse_args()
    files = html_files(args.docs)
    if args.limit and len(files) > args.limit:
        step = len(files) / args.limit
        files = [files[int(i * step)] for i in range(args.limit)]
    with open(args.out, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for path in files:
            rel = os.path.relpath(path, args.docs).replace(os.sep, "/")
            with open(path, "rb") as f:
                body = f.read()
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                                  ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            record = writer.create_warc_record(args.base_url + rel, "response", payload=io.BytesIO(body),
                                               http_headers=headers,
                                               warc_headers_dict={"WARC-Date": "2026-01-01T00:00:00Z"})
            writer.write_record(record)
    if args.list:
        with open(args.list, "w") as f:
            f.write("\n".join(files) + "\n")
    print(f"packed {len(files)} pages into {args.out}")


if __name__ == "__main__":
    main()
