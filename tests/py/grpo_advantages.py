"""GRPO outcome advantages as veRL's compute_grpo_outcome_advantage computes them (torch.mean / torch.std,
epsilon 1e-6; a group of one gets mean 0 and std 1).

Usage: grpo_advantages.py '[rewards...]' GROUP_SIZE   -> JSON list of advantages
"""
import json
import sys

import torch


def main():
    rewards = json.loads(sys.argv[1])
    size = int(sys.argv[2])
    scores = torch.tensor(rewards, dtype=torch.float32)
    out = scores.clone()
    for start in range(0, len(rewards), size):
        group = scores[start : start + size]
        if size == 1:
            mean, std = torch.tensor(0.0), torch.tensor(1.0)
        else:
            mean, std = torch.mean(group), torch.std(group)
        out[start : start + size] = (group - mean) / (std + 1e-6)
    print(json.dumps(out.tolist()))


if __name__ == "__main__":
    main()
