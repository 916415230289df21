"""A search client shaped like DeepResearcher's Serper call: POST a JSON string {"q": ...} with X-API-KEY and
Content-Type headers to <base>/search and read `organic` (title, link, snippet). Prints a small JSON summary.

usage: serper_like_client.py BASE_URL QUERY
"""
import json
import sys

import requests


def main():
    base, query = sys.argv[1], sys.argv[2]
    headers = {"X-API-KEY": "unused-in-replay", "Content-Type": "application/json"}
    r = requests.post(f"{base}/search", headers=headers, data=json.dumps({"q": query}), timeout=30)
    r.raise_for_status()
    organic = r.json().get("organic", [])
    pages = [{"title": o["title"], "url": o["link"], "snippet": o.get("snippet", "")} for o in organic]
    print(json.dumps({"organic_count": len(pages), "first_link": pages[0]["url"] if pages else None}))


if __name__ == "__main__":
    main()
