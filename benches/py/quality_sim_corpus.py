"""Makes the Search-R1 / FlashRAG-style set of the quality benchmark from the sim world served on loopback: every
page fetched over HTTP and reduced to text with lxml (script/style/nav/header/footer dropped), written as
`{"id", "contents": "\"Title\"\ntext"}` lines, and questions sampled from `webtape sim questions` with the ids of
their supporting pages (one-hop and two-hop alike; the first hop's page is what the question names), plus
"reverse" questions that describe a person by facts of their infobox without naming them ("which film director
from Haxkumville worked for Lein Mining Company?"); their supporting pages are every person page whose infobox
has all the facts asked.

usage: quality_sim_corpus.py SIM_URL PAGES.jsonl QUESTIONS.jsonl OUT_CORPUS.jsonl OUT_QUESTIONS.jsonl [--per-kind N]
"""
import argparse
import json
import random
import re
from concurrent.futures import ThreadPoolExecutor

import lxml.html
import requests


def text_of(body):
    doc = lxml.html.fromstring(body)
    for bad in doc.xpath("//script|//style|//nav|//header|//footer|//noscript"):
        bad.drop_tree()
    title = (doc.findtext(".//title") or "").strip()
    for t in doc.xpath("//title"):
        t.drop_tree()
    return title, re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n", doc.text_content())).strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("pages")
    ap.add_argument("questions")
    ap.add_argument("out_corpus")
    ap.add_argument("out_questions")
    ap.add_argument("--per-kind", type=int, default=150)
    args = ap.parse_args()
    assert args.url.startswith("http://127.0.0.1:"), "loopback only"
    paths = [json.loads(l)["path"] for l in open(args.pages) if l.strip()]
    ids = {p: f"d{i:05d}" for i, p in enumerate(paths)}
    session = requests.Session()

    def fetch(path):
        r = session.get(args.url + path, timeout=30)
        r.raise_for_status()
        return text_of(r.content)

    with ThreadPoolExecutor(8) as pool:
        texts = list(pool.map(fetch, paths))
    with open(args.out_corpus, "w") as f:
        for path, (title, text) in zip(paths, texts):
            f.write(json.dumps({"id": ids[path], "contents": f'"{title}"\n{text}'}) + "\n")
    qs = [json.loads(l) for l in open(args.questions) if l.strip()]
    rng = random.Random(21)
    out = []
    for hops in (1, 2):
        pool_q = [q for q in qs if q["hops"] == hops and all(s in ids for s in q["support"])]
        for q in rng.sample(pool_q, min(args.per_kind, len(pool_q))):
            out.append({"question": q["question"], "ids": [ids[s] for s in q["support"]], "kind": f"{hops}-hop",
                        "sim_id": q["id"]})
    people = []
    for path, (_, text) in zip(paths, texts):
        box = dict(m.groups() for m in re.finditer(r"^ ?(Born|Birthplace|Occupation|Employer): (.+)$", text, re.M))
        if len(box) == 4:
            people.append((ids[path], box))
    templates = [
        ("Which {Occupation} from {Birthplace} worked for {Employer}?", ("Occupation", "Birthplace", "Employer")),
        ("{Occupation} born in {Born} who was employed by {Employer}", ("Occupation", "Born", "Employer")),
        ("who is the {Occupation} born in {Birthplace} in {Born}", ("Occupation", "Birthplace", "Born")),
    ]
    for n, (pid, box) in enumerate(rng.sample(people, min(args.per_kind, len(people)))):
        template, keys = templates[n % len(templates)]
        gold = [i for i, b in people if all(b[k] == box[k] for k in keys)]
        out.append({"question": template.format(**box), "ids": gold, "kind": "reverse"})
    with open(args.out_questions, "w") as f:
        for q in out:
            f.write(json.dumps(q) + "\n")
    print(f"sim corpus: {len(paths)} pages -> {args.out_corpus}; {len(out)} questions -> {args.out_questions}")


if __name__ == "__main__":
    main()
