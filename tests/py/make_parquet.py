"""Writes a question file in the shape of DeepResearcher's / Search-R1's parquet data with pyarrow.

Row 1 uses a plain `question` column with `golden_answers`; row 2 only the chat-style `prompt` list with
`reward_model.ground_truth.target`, as the veRL data preprocessors write it.
usage: make_parquet.py OUT.parquet
"""
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def main():
    rows = [
        {"id": "q1", "question": "Who founded the Hanseatic city of Lübeck?", "golden_answers": ["Henry the Lion"],
         "prompt": [{"role": "user", "content": "Who founded the Hanseatic city of Lübeck?"}],
         "reward_model": {"style": "rule", "ground_truth": {"target": ["Henry the Lion"]}}, "data_source": "hotpotqa"},
        {"id": "q2", "question": None, "golden_answers": None,
         "prompt": [{"role": "system", "content": "You are helpful."},
                    {"role": "user", "content": "What is the capital of Australia?"}],
         "reward_model": {"style": "rule", "ground_truth": {"target": ["Canberra"]}}, "data_source": "nq"},
    ]
    pq.write_table(pa.Table.from_pylist(rows), sys.argv[1])


if __name__ == "__main__":
    main()
