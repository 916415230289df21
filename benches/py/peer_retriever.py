"""Peer of the serve benchmark: a Search-R1-style retrieval server - FastAPI + uvicorn (one process, as their
retrieval_server.py runs), bm25s over the same page texts - answering POST /retrieve with
{"queries", "topk", "return_scores"} -> {"result": [[{"document": {"id", "contents"}, "score"}]]}.

usage: peer_retriever.py CORPUS.jsonl PORT
"""
import json
import sys
from typing import List

import bm25s
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

corpus = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
retriever = bm25s.BM25()
retriever.index(bm25s.tokenize([d["contents"] for d in corpus], stopwords="en", show_progress=False), show_progress=False)
app = FastAPI()


class Request(BaseModel):
    queries: List[str]
    topk: int = 3
    return_scores: bool = False


@app.post("/retrieve")
def retrieve(req: Request):
    tokens = bm25s.tokenize(req.queries, stopwords="en", show_progress=False)
    docs, scores = retriever.retrieve(tokens, k=req.topk, show_progress=False, n_threads=1)
    result = []
    for row, row_scores in zip(docs, scores):
        items = []
        for idx, score in zip(row, row_scores):
            doc = {"id": corpus[int(idx)]["id"], "contents": corpus[int(idx)]["contents"]}
            items.append({"document": doc, "score": float(score)} if req.return_scores else doc)
        result.append(items)
    return {"result": result}


if __name__ == "__main__":
    print("peer ready", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
