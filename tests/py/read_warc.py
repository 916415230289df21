"""Reads a WARC with warcio (the reference implementation), checking digests, and prints one JSON line per
record: {"type", "uri", "date", "status", "payload_sha1", "length"}. Exits non-zero if warcio rejects the file.
Legacy ARC files are read as the WARC records they convert to (warcio's arc2warc)."""
import hashlib
import json
import sys

from warcio.archiveiterator import ArchiveIterator


def main():
    with open(sys.argv[1], "rb") as fh:
        for record in ArchiveIterator(fh, check_digests="raise", arc2warc=True):
            payload = record.content_stream().read()
            status = record.http_headers.get_statuscode() if record.http_headers else None
            print(json.dumps({
                "type": record.rec_type,
                "uri": record.rec_headers.get_header("WARC-Target-URI"),
                "date": record.rec_headers.get_header("WARC-Date"),
                "status": status,
                "payload_sha1": hashlib.sha1(payload).hexdigest(),
                "length": len(payload),
            }))


if __name__ == "__main__":
    main()
