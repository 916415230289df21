"""Seeds for the routes, config, questions and providers targets (run through seeds.py)."""
import io
import json
import os

from seeds import put

HERE = os.path.dirname(os.path.abspath(__file__))


def req(method, path, body=b"", headers=()):
    body = body.encode() if isinstance(body, str) else body
    head = "{} {} HTTP/1.1\r\nHost: localhost\r\n".format(method, path)
    head += "".join("{}: {}\r\n".format(k, v) for k, v in headers)
    if body:
        head += "Content-Type: application/json\r\nContent-Length: {}\r\n".format(len(body))
    return head.encode() + b"\r\n" + body


def routes_seeds():
    mcp = [("Accept", "application/json, text/event-stream")]
    seeds = {
        "retrieve": req("POST", "/retrieve", json.dumps({"queries": ["rust borrow checker", "dune"], "topk": 3, "return_scores": True})),
        "retrieve-single": req("POST", "/retrieve", json.dumps({"query": "rust", "top_k": 2})),
        "retrieve-bad": req("POST", "/retrieve", json.dumps({"queries": [1], "topk": 0})),
        "search-post": req("POST", "/search", json.dumps({"q": "rust borrow checker", "num": 10})),
        "search-get": req("GET", "/search?q=rust+borrow+checker&num=10&gl=us"),
        "browse": req("POST", "/browse", json.dumps({"url": "https://example.org/rust", "question": "who owns it"})),
        "browse-unrecorded": req("POST", "/browse", json.dumps({"url": "http://10.0.0.1/x"})),
        "tools-search": req("POST", "/tools/web_search", json.dumps({"arguments": {"query": ["rust"]}}), [("x-webtape-episode", "ep-1")]),
        "tools-browse": req("POST", "/tools/browse_webpage", json.dumps({"arguments": {"url_list": ["https://example.org/rust"]}, "episode": "ep-2"})),
        "tools-unknown": req("POST", "/tools/calculator", json.dumps({"arguments": {}})),
        "jina": req("GET", "/r/https://example.org/rust"),
        "digest-mark": req("POST", "/digest", json.dumps({"mark": "m1"})),
        "digest-get": req("GET", "/digest?since=m1"),
        "episode-show": req("GET", "/episodes/ep-1"),
        "episode-close": req("DELETE", "/episodes/ep-1"),
        "healthz": req("GET", "/healthz"),
        "metrics": req("GET", "/metrics"),
        "not-found": req("PUT", "/nowhere"),
        "mcp-initialize": req("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "0"}}}), mcp),
        "mcp-call": req("POST", "/mcp", json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "web_search", "arguments": {"query": ["rust"]}}}), mcp + [("Mcp-Session-Id", "nope")]),
        "raw-body": json.dumps({"queries": ["no head at all"]}),
    }
    for name, data in seeds.items():
        put("routes", name + ".http", data)


def config_seeds():
    for name in sorted(os.listdir(os.path.join(HERE, "..", "configs"))):
        if name.endswith(".toml"):
            with open(os.path.join(HERE, "..", "configs", name), "rb") as f:
                text = f.read()
            put("config", name, text)
            put("config", "set-" + name, b"#set train.steps=2\n#set env.rules.top_k=5\n" + text)
    put("config", "empty.toml", "")
    put("config", "unknown-field.toml", "[train]\nsteps = 1\nbogus = true\n")


def questions_seeds():
    rows = [{"id": "q1", "question": "Who wrote Dune?", "answers": ["Frank Herbert"]},
            {"question": "Capital of France?", "golden_answers": ["Paris"], "data_source": "nq"},
            {"prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "What is 2+2?"}],
             "reward_model": {"ground_truth": {"target": ["4"]}}, "extra_info": {"index": 7}},
            {"query": "split?", "answer": "a<|answer_split|>b"}]
    put("questions", "rows.jsonl", "jsonl\n" + "\n".join(json.dumps(r) for r in rows) + "\n")
    put("questions", "plain.txt", "txt\nWho wrote Dune?\n\nWhat is Rust?\n")
    put("questions", "bad.jsonl", "jsonl\n{\"id\": 1}\n{not json\n")
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return
    tables = {
        "deepresearcher": pa.table({"question": ["Who wrote Dune?", "Capital?"], "golden_answers": [["Frank Herbert"], ["Paris"]],
                                    "data_source": ["nq", "hotpot"]}),
        "searchr1": pa.table({"prompt": [[{"role": "user", "content": "What is Rust?"}]],
                              "reward_model": [{"ground_truth": {"target": ["a language"]}}], "extra_info": [{"index": 3}]}),
    }
    for name, table in tables.items():
        buf = io.BytesIO()
        pq.write_table(table, buf, compression="snappy")
        put("questions", name + ".parquet", b"parquet\n" + buf.getvalue())


def providers_seeds():
    serper = {"organic": [{"title": "Rust", "link": "https://www.rust-lang.org/", "snippet": "A language", "position": 1}],
              "answerBox": {"answer": "Rust"}, "knowledgeGraph": {"title": "Rust"}, "peopleAlsoAsk": [{"question": "q?"}],
              "relatedSearches": [{"query": "rust book"}]}
    brave = {"web": {"results": [{"title": "<strong>Rust</strong>", "url": "https://www.rust-lang.org/", "description": "A &amp; B"}]}}
    tavily = {"results": [{"title": "Rust", "url": "https://www.rust-lang.org/", "content": "A language", "score": 0.9}], "answer": "x"}
    searxng = {"results": [{"title": "Rust", "url": "https://www.rust-lang.org/", "content": "<b>A</b> language"}],
               "answers": ["Rust"], "infoboxes": [{"infobox": "Rust"}], "suggestions": ["rust book"]}
    for name, body in [("serper", serper), ("brave", brave), ("tavily", tavily), ("searxng", searxng)]:
        put("providers", name + ".json", name + "\n" + json.dumps(body))
    put("providers", "serper-no-organic.json", "serper\n{\"searchParameters\": {}}")
    put("providers", "brave-error.json", "brave\n{\"type\": \"ErrorResponse\", \"error\": {\"code\": \"RATE_LIMITED\"}}")
    put("providers", "any-not-json.txt", "<html>502 Bad Gateway</html>")
    put("providers", "tavily-null-fields.json", "tavily\n{\"results\": [{\"title\": null, \"url\": \"\", \"content\": 5}]}")


routes_seeds()
config_seeds()
questions_seeds()
providers_seeds()
