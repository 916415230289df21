"""Retrieval quality of webtape's BM25 (the `--miss bm25` answer of `webtape serve`, queried over POST /retrieve on
loopback) against bm25s (and Pyserini's Lucene BM25 when it can run here) over the same pages' text, on one question
set. Prints recall@1, recall@5, MRR@10 and nDCG@10 per system, and writes each system's ranked lists.

usage: quality.py --name NAME --questions Q.jsonl --snapshot SNAP --bin WEBTAPE --out DIR
                  (--texts CORPUS.jsonl --id-prefix URL | --docs DOCS_DIR --docs-list FILES.txt --base-url URL)
Questions: `{"question", "urls": [..]}` (or `"ids": [..]`, made into URLs with --id-prefix), `"kind"`.
Texts for the peers: a JSONL corpus `{"id", "contents"}`, or the HTML files of DOCS_LIST extracted with lxml
(title + text, script/style/nav/header/footer dropped; cached in DIR).
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from multiprocessing import Pool

import requests

K = 10


def lxml_text(path):
    from peer_index import lxml_extract  # the import benchmark's extraction, whitespace collapsed
    with open(path, "rb") as f:
        return lxml_extract(f.read().decode("utf-8", "replace"), collapse=True)


def docs_corpus(args):
    cache = os.path.join(args.out, "docs-text.jsonl")
    files = [l.strip() for l in open(args.docs_list) if l.strip()]
    if os.path.exists(cache) and sum(1 for _ in open(cache)) == len(files):
        return [json.loads(l) for l in open(cache)]
    t = time.perf_counter()
    with Pool(max(1, min(4, os.cpu_count() or 1))) as pool:
        texts = pool.map(lxml_text, files, chunksize=64)
    docs = [{"id": args.base_url + os.path.relpath(p, args.docs).replace(os.sep, "/"), "contents": x}
            for p, x in zip(files, texts)]
    with open(cache, "w") as f:
        for d in docs:
            f.write(json.dumps(d) + "\n")
    print(f"  lxml text of {len(docs)} pages in {time.perf_counter() - t:.0f} s (cached: {cache})", flush=True)
    return docs


def metrics(ranked, gold):
    first = next((i for i, u in enumerate(ranked[:K]) if u in gold), None)
    dcg = sum(1 / math.log2(i + 2) for i, u in enumerate(ranked[:K]) if u in gold)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(gold), K)))
    return {"r@1": float(first is not None and first < 1), "r@5": float(first is not None and first < 5),
            "mrr@10": 0.0 if first is None else 1 / (first + 1), "ndcg@10": dcg / idcg}


def webtape_ranked(args, queries):
    log = open(os.path.join(args.out, f"{args.name}-serve.log"), "w")
    srv = subprocess.Popen([args.bin, "serve", "--snapshot", args.snapshot, "--miss", "bm25", "--port", "0",
                            "--bind", "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        url = None
        for _ in range(600):
            m = re.search(r"http://127\.0\.0\.1:\d+", open(log.name).read())
            if m:
                url = m.group(0)
                break
            if srv.poll() is not None:
                sys.exit(f"webtape serve exited: {open(log.name).read()}")
            time.sleep(0.1)
        assert url, "webtape serve did not print its address"
        out = []
        t = time.perf_counter()
        for i in range(0, len(queries), 64):
            r = requests.post(url + "/retrieve", json={"queries": queries[i:i + 64], "topk": K}, timeout=600)
            r.raise_for_status()
            out += [[d["id"] for d in docs] for docs in r.json()["result"]]
        return out, time.perf_counter() - t
    finally:
        srv.terminate()
        srv.wait()


def bm25s_ranked(docs, queries, stemmer=None):
    import bm25s
    ids = [d["id"] for d in docs]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([d["contents"] for d in docs], stopwords="en", stemmer=stemmer,
                                   show_progress=False), show_progress=False)
    t = time.perf_counter()
    res, _ = retriever.retrieve(bm25s.tokenize(queries, stopwords="en", stemmer=stemmer, show_progress=False),
                                k=min(K, len(ids)), show_progress=False, n_threads=1)
    return [[ids[int(j)] for j in row] for row in res], time.perf_counter() - t


def pyserini_ranked(args, docs, queries):
    """Lucene BM25 (Pyserini defaults: Porter stemming, k1 0.9, b 0.4); None and a reason when it cannot run."""
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.split("\n")[0]
    try:
        from pyserini.search.lucene import LuceneSearcher  # noqa: F401
    except ImportError as e:
        return None, f"not installed ({e}); Pyserini >= 0.23 needs Java 21, here: {java}"
    except Exception as e:  # jnius.JavaException: e.g. UnsupportedClassVersionError under Java 17
        m = re.search(r"(java\.lang\.\w+Error[^\n]{0,90})", str(e))
        return None, f"cannot run ({m.group(1) if m else type(e).__name__}); it needs Java 21, here: {java}"
    work = os.path.join(args.out, f"{args.name}-pyserini")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(f"{work}/in")
    with open(f"{work}/in/docs.jsonl", "w") as f:
        for d in docs:
            f.write(json.dumps({"id": d["id"], "contents": d["contents"]}) + "\n")
    p = subprocess.run([sys.executable, "-m", "pyserini.index.lucene", "--collection", "JsonCollection", "--input",
                        f"{work}/in", "--index", f"{work}/index", "--generator", "DefaultLuceneDocumentGenerator",
                        "--threads", "2"], capture_output=True, text=True)
    if p.returncode != 0:
        tail = (p.stderr or p.stdout).strip().splitlines()
        return None, f"indexing failed ({tail[-1][:120] if tail else p.returncode}); Java here: {java}"
    from pyserini.search.lucene import LuceneSearcher
    s = LuceneSearcher(f"{work}/index")
    t = time.perf_counter()
    return [[h.docid for h in s.search(q, k=K)] for q in queries], time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--questions", required=True)
    ap.add_argument("--snapshot", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--texts")
    ap.add_argument("--id-prefix", default="")
    ap.add_argument("--docs")
    ap.add_argument("--docs-list")
    ap.add_argument("--base-url", default="https://doc.rust-lang.org/")
    ap.add_argument("--pyserini", action="store_true", help="also try Pyserini (Lucene BM25)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    qs = [json.loads(l) for l in open(args.questions) if l.strip()]
    for q in qs:
        q["gold"] = set(q.get("urls") or [args.id_prefix + i for i in q["ids"]])
    queries = [q["question"] for q in qs]
    docs = [json.loads(l) for l in open(args.texts)] if args.texts else docs_corpus(args)
    if args.texts and args.id_prefix:
        for d in docs:
            d["id"] = args.id_prefix + d["id"]
    known = {d["id"] for d in docs}
    missing = [u for q in qs for u in q["gold"] if u not in known]
    assert not missing, f"supporting pages not in the corpus: {missing[:5]}"

    systems = {}
    systems["webtape"] = webtape_ranked(args, queries)
    systems["bm25s"] = bm25s_ranked(docs, queries)
    try:
        import Stemmer
        systems["bm25s+stem"] = bm25s_ranked(docs, queries, Stemmer.Stemmer("english"))
    except ImportError:
        pass
    notes = []
    if args.pyserini:
        ranked, why = pyserini_ranked(args, docs, queries)
        if ranked is None:
            notes.append(f"pyserini: not measured: {why}")
        else:
            systems["pyserini"] = (ranked, why)

    print(f"\n{args.name}: {len(qs)} questions, {len(docs)} pages")
    print(f"{'system':<12} {'r@1':>6} {'r@5':>6} {'MRR@10':>7} {'nDCG@10':>8}   r@5 by kind")
    summary = {}
    kinds = sorted({q.get("kind", "") for q in qs})
    for name, (ranked, secs) in systems.items():
        rows = [metrics(r, q["gold"]) for r, q in zip(ranked, qs)]
        mean = {m: sum(r[m] for r in rows) / len(rows) for m in rows[0]}
        by_kind = {k: sum(r["r@5"] for r, q in zip(rows, qs) if q.get("kind", "") == k)
                   / sum(1 for q in qs if q.get("kind", "") == k) for k in kinds}
        summary[name] = {**mean, "by_kind": by_kind, "seconds": secs}
        print(f"{name:<12} {mean['r@1']:6.3f} {mean['r@5']:6.3f} {mean['mrr@10']:7.3f} {mean['ndcg@10']:8.3f}   "
              + " ".join(f"{k} {v:.2f}" for k, v in by_kind.items()))
        with open(os.path.join(args.out, f"{args.name}-{name}.jsonl"), "w") as f:
            for r, q, m in zip(ranked, qs, rows):
                f.write(json.dumps({"question": q["question"], "kind": q.get("kind"), **m, "gold": sorted(q["gold"]),
                                    "ranked": r}) + "\n")
    for n in notes:
        print(n)
    json.dump(summary, open(os.path.join(args.out, f"{args.name}-summary.json"), "w"), indent=1)
    print(f"quality[{args.name}]: webtape r@5 {summary['webtape']['r@5']:.3f}, bm25s r@5 {summary['bm25s']['r@5']:.3f}")


if __name__ == "__main__":
    main()
