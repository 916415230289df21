"""Writes the seed corpora under fuzz/corpus/<target>/ (small, real-looking inputs for each parser). Rerun after
editing; the files are committed. The parquet seeds need pyarrow."""
import gzip
import io
import json
import os
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def http(status, ctype, body, extra=b""):
    head = "HTTP/1.1 {} OK\r\nContent-Type: {}\r\n".format(status, ctype).encode()
    if b"Transfer-Encoding" not in extra:
        head += "Content-Length: {}\r\n".format(len(body)).encode()
    return head + extra + b"\r\n" + body


def warc(kind, uri, block, extra=""):
    head = ("WARC/1.0\r\nWARC-Type: {}\r\nWARC-Record-ID: <urn:uuid:{}>\r\nWARC-Date: 2024-05-01T10:00:00Z\r\n"
            "WARC-Target-URI: {}\r\nContent-Type: application/http; msgtype=response\r\n{}Content-Length: {}\r\n\r\n"
            ).format(kind, zlib.crc32((uri + kind).encode()), uri, extra, len(block))
    return head.encode() + block + b"\r\n\r\n"


HTML = b"<html><head><title>Borrow checker</title></head><body><main><h1>Ownership</h1><p>Each value has one owner.</p></main></body></html>"
SJIS = "<html><head><meta charset=shift_jis><title>日本語</title></head><body><p>所有権</p></body></html>".encode("shift_jis")


def warc_seeds():
    info = b"software: webtape\r\nformat: WARC File Format 1.1\r\n"
    warcinfo = ("WARC/1.1\r\nWARC-Type: warcinfo\r\nWARC-Date: 2024-05-01T10:00:00Z\r\nContent-Length: {}\r\n\r\n"
                .format(len(info)).encode() + info + b"\r\n\r\n")
    resp = warc("response", "https://example.org/rust", http(200, "text/html", HTML),
                "WARC-Payload-Digest: sha1:AAAA\r\n")
    sjis = warc("response", "http://example.jp/", http(200, "text/html", SJIS))
    chunked = warc("response", "https://example.org/chunked",
                   http(200, "text/plain", b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"Transfer-Encoding: chunked\r\n"))
    gz_body = gzip.compress(b"<html><body><p>compressed page</p></body></html>")
    gzipped = warc("response", "https://example.org/gz", http(200, "text/html", gz_body, b"Content-Encoding: gzip\r\n"))
    revisit = warc("revisit", "https://example.org/rust", b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n",
                   "WARC-Payload-Digest: sha1:AAAA\r\nWARC-Refers-To-Target-URI: <https://example.org/rust>\r\n"
                   "WARC-Refers-To-Date: 2024-05-01T10:00:00Z\r\n")
    resource = ("WARC/1.0\r\nWARC-Type: resource\r\nWARC-Date: 2024-05-01T10:00:00Z\r\nWARC-Target-URI: "
                "https://example.org/a.txt\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello\r\n\r\n").encode()
    capture = json.dumps({"url": "https://example.org/down", "final_url": "https://example.org/down", "status": None,
                          "captured_at": "2024-05-01T10:00:00Z", "fetch_error": "connect timeout"}).encode()
    meta = ("WARC/1.1\r\nWARC-Type: metadata\r\nWARC-Date: 2024-05-01T10:00:00Z\r\nWARC-Target-URI: "
            "https://example.org/down\r\nContent-Type: application/vnd.webtape.capture+json\r\nContent-Length: {}\r\n\r\n"
            .format(len(capture)).encode() + capture + b"\r\n\r\n")
    records = [warcinfo, resp, sjis, chunked, gzipped, revisit, resource, meta]
    put("warc", "plain.warc", b"".join(records))
    put("warc", "gzip-members.warc.gz", b"".join(gzip.compress(r) for r in records[:4]))
    put("warc", "one-gzip-stream.warc.gz", gzip.compress(b"".join(records[:3])))
    members = [gzip.compress(r) for r in records[1:4]]
    put("warc", "truncated-member.warc.gz", members[0] + members[1][: len(members[1]) // 2] + members[2])
    put("warc", "garbage-between-members.warc.gz", members[0] + b"not gzip at all\n" + members[1])
    put("warc", "wrong-length.warc", resp.replace(b"Content-Length: ", b"Content-Length: 1", 1) + sjis)
    put("warc", "no-content-length.warc", b"WARC/1.0\r\nWARC-Type: response\r\n\r\nbody\r\n\r\n" + resp)
    put("warc", "truncated.warc", (resp + sjis)[: len(resp) + 40])
    put("warc", "lf-only.warc", resp.replace(b"\r\n", b"\n"))
    put("warc_gzip", "records.warc", b"".join(records))
    put("warc_gzip", "damaged.warc", resp[:60] + sjis)
    arc_version = b"1 0 Alexa Internet\nURL IP-address Archive-date Content-type Archive-length\n"
    arc_head = "filedesc://fuzz.arc 0.0.0.0 19961104142103 text/plain {}\n".format(len(arc_version)).encode()
    body = http(200, "text/html", HTML)
    arc_rec = "http://arc.example/ 127.0.0.1 19961104142103 text/html {}\n".format(len(body)).encode() + body + b"\n"
    put("warc", "legacy.arc", arc_head + arc_version + b"\n" + arc_rec)
    put("warc", "legacy.arc.gz", gzip.compress(arc_head + arc_version + b"\n") + gzip.compress(arc_rec))
    put("warc_gzip", "legacy.arc", arc_head + arc_version + b"\n" + arc_rec)


def http_seeds():
    put("http_response", "html.http", http(200, "text/html; charset=utf-8", HTML))
    put("http_response", "chunked.http", http(200, "text/plain", b"4\r\nwiki\r\n5;ext=1\r\npedia\r\n0\r\nX: y\r\n\r\n",
                                              b"Transfer-Encoding: chunked\r\n"))
    put("http_response", "bad-chunk.http", http(200, "text/plain", b"zz\r\nwiki\r\n", b"Transfer-Encoding: chunked\r\n"))
    put("http_response", "gzip.http", http(200, "text/html", gzip.compress(HTML), b"Content-Encoding: gzip\r\n"))
    put("http_response", "deflate.http", http(200, "text/html", zlib.compress(HTML), b"Content-Encoding: deflate\r\n"))
    put("http_response", "gzip-chunked.http", http(200, "text/html", b"%x\r\n" % len(gzip.compress(HTML)) +
        gzip.compress(HTML) + b"\r\n0\r\n\r\n", b"Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n"))
    put("http_response", "redirect.http", b"HTTP/1.0 301 Moved\nLocation: /new\n\n")
    put("http_response", "no-reason.http", b"HTTP/1.1 204\r\n\r\n")


def html_seeds():
    put("html", "utf8.html", b"text/html; charset=utf-8\n" + HTML)
    put("html", "shift_jis-meta.html", b"text/html\n" + SJIS)
    put("html", "http-equiv-koi8.html", b"text/html\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=koi8-r\">"
        + "<title>Привет</title><p>мир</p>".encode("koi8-r"))
    put("html", "utf16-bom.html", b"text/html\n" + "\ufeff<html><title>UTF-16</title><p>text</p></html>".encode("utf-16-le"))
    put("html", "no-type-sniffed.html", b"\n  <!doctype html><h1>Only a heading</h1><ul><li>a<li>b<ol><li>c</ol></ul>")
    put("html", "og-title-table.html", b"application/xhtml+xml\n<html><head><meta property=\"og:title\" content=\"OG\">"
        b"</head><body><nav>menu</nav><article><h2>Sub</h2><table><tr><td>1</td><td>2</td></tr></table>"
        b"<pre>code  kept</pre></article><script>var x=1</script></body></html>")
    put("html", "deep.html", b"text/html\n" + b"<div>" * 700 + b"deep" + b"</div>" * 700)
    put("html", "json.txt", b"application/json\n{\"a\": [1, 2, \"\xc3\xa9\"]}")
    put("html", "latin1-text.txt", b"text/plain; charset=iso-8859-1\ncaf\xe9 na\xefve")
    put("html", "unclosed-title.html", b"text/html\n<title>never closed <p>body text")


def pdf_seeds():
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"]
    content = b"BT /F1 12 Tf 20 50 Td (Hello fuzzing world) Tj ET"
    objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    objs.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    put("pdf", "hello.pdf", out)
    flate = zlib.compress(content)
    put("pdf", "flate.pdf", out.replace(b"<< /Length %d >>\nstream\n" % len(content) + content,
                                         b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(flate) + flate))
    put("pdf", "no-xref.pdf", out[: out.index(b"xref")])
    put("pdf", "header-only.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")


def text_seeds():
    urls = ["https://www.Example.com:443/a/../b/./c?utm_source=x&b=2&a=1#frag", "http://user:pw@EXAMPLE.org:8080/%7Euser/",
            "https://xn--bcher-kva.example/path%2fencoded?q=a+b", "http://[::1]:80/", "http://192.168.0.1/x?",
            "https://例え.jp/ドキュメント?キー=値", "ftp://example.org/", "http:///nohost", "https://www2.example.com/?a&a=&=b",
            "  https://example.com/trailing%20space  ", "https://example.com/%zz%00"]
    for i, u in enumerate(urls):
        put("surt", "url-%02d.txt" % i, u)
    reqs = ['json\n{"q": "Rust  Borrow Checker", "num": 5, "gl": "US", "hl": "en", "page": 2}',
            'json\n{"query": "who wrote dune", "q": "Who wrote  Dune", "tbs": "qdr:y", "location": "Paris"}',
            'json\n{"q": "", "num": 101}', 'json\n["not", "an", "object"]', 'json\n{"q": "x", "api_key": "secret", "num": "7"}',
            "query\n?q=rust+borrow&num=5&gl=us&safe=active", "query\nq=%E6%97%A5%E6%9C%AC&page=0", "query\nnum=3"]
    for i, r in enumerate(reqs):
        put("search_request", "req-%02d.txt" % i, r)
    call = lambda name, args: "<tool_call>\n" + json.dumps({"name": name, "arguments": args}) + "\n</tool_call>"
    turns = ["I should search.</think>\n" + call("web_search", {"query": ["rust borrow checker", "ownership"]}),
             "Read it.</think>\n" + call("browse_webpage", {"url_list": ["https://example.org/rust"]}),
             "Done.</think>\n<answer>Frank Herbert</answer>", "no close tag <answer>x</answer>",
             "a</think><tool_call>{not json}</tool_call>", "a</think>" + call("calculator", {"x": 1}),
             "a</think><answer>x</answer><tool_call>{}</tool_call>", "a</think></answer>backwards<answer>",
             "a</think>" + call("web_search", {"query": "single string"}), "a</think>" + call("web_search", {"query": [1, 2]})]
    for i, t in enumerate(turns):
        put("tool_call", "turn-%02d.txt" % i, t)


if __name__ == "__main__":
    warc_seeds()
    http_seeds()
    html_seeds()
    pdf_seeds()
    text_seeds()
    import seeds_more  # noqa: F401  (routes, configs, questions, providers)
