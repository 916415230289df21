"""Calls one search API the way its official docs show, with `requests`, and prints the response body as hex.

usage: provider_call.py PROVIDER BASE_URL KEY QUERY NUM
Used by the recorder tests to check that webtape stored the provider's raw response byte for byte.
"""
import sys

import requests


def main():
    provider, base, key, query, num = sys.argv[1:6]
    num = int(num)
    if provider == "serper":
        r = requests.post(f"{base}/search", headers={"X-API-KEY": key, "Content-Type": "application/json"},
                          json={"q": query, "num": num}, timeout=30)
    elif provider == "searxng":
        r = requests.get(f"{base}/search", params={"q": query, "format": "json", "pageno": 1}, timeout=30)
    elif provider == "brave":
        r = requests.get(f"{base}/res/v1/web/search", params={"q": query, "count": min(num, 20)},
                         headers={"X-Subscription-Token": key, "Accept": "application/json"}, timeout=30)
    elif provider == "tavily":
        r = requests.post(f"{base}/search", headers={"Authorization": f"Bearer {key}"},
                          json={"query": query, "max_results": min(num, 20), "search_depth": "basic"}, timeout=30)
    else:
        raise SystemExit(f"unknown provider {provider}")
    r.raise_for_status()
    sys.stdout.write(r.content.hex())


if __name__ == "__main__":
    main()
