"""Writes a legacy ARC v1 file (file header `filedesc://...` with its version block, then one record per
capture: `URL IP-address Archive-date Content-type Archive-length` and the HTTP response), plain or one gzip member
per record (`--gz`), the way the Internet Archive's crawlers did. Prints the URLs written as one JSON line."""
import gzip
import json
import sys


def http(status, reason, ctype, body, extra=b""):
    head = "HTTP/1.0 {} {}\r\nContent-Type: {}\r\n".format(status, reason, ctype).encode()
    if not extra:
        head += "Content-Length: {}\r\n".format(len(body)).encode()
    return head + extra + b"\r\n" + body


def record(url, date, ctype, block):
    line = "{} 127.0.0.1 {} {} {}\n".format(url, date, ctype, len(block)).encode()
    return line + block + b"\n"


def main():
    out, gz = sys.argv[1], "--gz" in sys.argv
    name = out.rsplit("/", 1)[-1]
    version = b"1 0 Alexa Internet\nURL IP-address Archive-date Content-type Archive-length\n"
    header = "filedesc://{} 0.0.0.0 19961104142103 text/plain {}\n".format(name, len(version)).encode()
    records = [header + version + b"\n"]
    base = "http://arc.example"
    pages = [
        ("/", 200, "OK", b"<html><head><title>ARC home</title></head><body><p>early web words</p></body></html>"),
        ("/gone", 404, "Not Found", b"<html><body><p>no such page</p></body></html>"),
        ("/moved", 301, "Moved Permanently", b"<html><body><p>moved away</p></body></html>"),
        ("/notes.txt", 200, "OK", b"plain text notes from 1996\n"),
    ]
    urls = []
    for i, (path, status, reason, body) in enumerate(pages):
        ctype = "text/plain" if path.endswith(".txt") else "text/html"
        block = http(status, reason, ctype, body)
        records.append(record(base + path, "1996110414{:04d}".format(i), ctype, block))
        urls.append(base + path)
    chunked = b"5\r\nearly\r\n6\r\n chunk\r\n0\r\n\r\n"
    block = http(200, "OK", "text/plain", chunked, b"Transfer-Encoding: chunked\r\n")
    records.append(record(base + "/chunked", "19961104150000", "text/plain", block))
    urls.append(base + "/chunked")
    with open(out, "wb") as fh:
        for rec in records:
            fh.write(gzip.compress(rec) if gz else rec)
    print(json.dumps({"urls": urls}))


if __name__ == "__main__":
    main()
