"""Writes a WARC with warcio (the reference implementation), capturing real HTTP exchanges with a loopback server.

usage: make_warc.py OUT.warc[.gz] [--plain]
Prints one JSON line per captured page: {"url", "status", "sha1", "title_hint"} so the test can compare.
"""
import gzip
import hashlib
import http.server
import json
import sys
import threading

from warcio.capture_http import capture_http  # noqa: E402  (must precede `requests`)
import requests  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402

PAGES = {
    "/": ("text/html; charset=utf-8", "<html><head><title>Loopback home</title></head><body><nav>menu</nav>"
          "<main><h1>Welcome</h1><p>The borrow checker guards every reference.</p></main></body></html>".encode()),
    "/latin1": ("text/html; charset=iso-8859-1", "<html><head><title>Caf\u00e9 page</title></head><body>"
                "<p>Cr\u00e8me br\u00fbl\u00e9e and caf\u00e9 au lait.</p></body></html>".encode("latin-1")),
    "/table": ("text/html", b"<html><head><title>Table page</title></head><body><table><tr><td>alpha</td>"
               b"<td>beta</td></tr></table><script>var x = 'tracking';</script></body></html>"),
    "/plain.txt": ("text/plain; charset=utf-8", "plain text document about tantivy indexes \u2713".encode()),
    "/json": ("application/json", b'{"answer": 42}'),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802
        path = self.path.split("?")[0]
        if path == "/old":
            self.send_response(301)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/gz":
            body = gzip.compress(b"<html><head><title>Gzipped</title></head><body><p>compressed words</p></body></html>")
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in [b"<html><head><title>Chunked</title></head>", b"<body><p>sent in chunks</p></body></html>"]:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        ctype, body = PAGES.get(path, ("text/html", b"<html><head><title>Not found</title></head></html>"))
        self.send_response(200 if path in PAGES else 404)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    out = sys.argv[1]
    plain = "--plain" in sys.argv
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://127.0.0.1:%d" % server.server_address[1]
    paths = ["/", "/latin1", "/table", "/plain.txt", "/json", "/gz", "/chunked", "/missing"]
    with capture_http(out, gzip=not plain):
        for p in paths:
            requests.get(base + p, headers={"Accept-Encoding": "identity"} if p != "/gz" else {})
        requests.get(base + "/old", allow_redirects=False)
    # A revisit of "/" (identical payload) and a resource record, appended with warcio's own writer.
    with open(out, "ab") as fh:
        writer = WARCWriter(fh, gzip=not plain)
        body = PAGES["/"][1]
        digest = "sha1:" + __import__("base64").b32encode(hashlib.sha1(body).digest()).decode()
        headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_revisit_record(base + "/?again=1", digest, base + "/", "2020-01-01T00:00:00Z",
                                                         http_headers=headers))
        res = writer.create_warc_record(base + "/resource.txt", "resource", payload=__import__("io").BytesIO(b"a resource record"),
                                        warc_content_type="text/plain")
        writer.write_record(res)
    server.shutdown()
    print(json.dumps({"base": base, "paths": paths + ["/old", "/?again=1", "/resource.txt"]}))


if __name__ == "__main__":
    main()
