"""Reference GRPO loss and gradients with plain PyTorch + transformers, using veRL core_algos' formulas.

Usage: grpo_reference.py CASE.json   -> JSON on stdout

CASE.json: {"policy_dir", "ref_dir", "params": [names], "config": {"clip_eps", "kl_coef", "entropy_coef",
"temperature", "max_grad_norm"}, "sequences": [{"prompt_ids", "response_ids", "loss_mask", "old_logprobs",
"advantage"}]}. Each sequence runs through the models on its own (no padding); per-token tensors are then
right-padded to [B, R] as veRL lays out responses. Old log-probs that are not given are recomputed under
no_grad. Output: loss, pg_loss, kl, entropy, clip_frac, grad_norm (clip_grad_norm_'s return value) and the
gradient (before clipping) of each named parameter, flattened.
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM


def masked_mean(values, mask):
    return (values * mask).sum() / mask.sum()


def entropy_from_logits(logits):
    probs = torch.softmax(logits, dim=-1)
    return torch.logsumexp(logits, dim=-1) - (probs * logits).sum(dim=-1)


def response_logprobs(model, seq, temperature):
    """Log-probs and entropies of the response tokens, from logits / temperature."""
    ids = torch.tensor([seq["prompt_ids"] + seq["response_ids"]])
    logits = model(ids).logits[0].float() / temperature
    start = len(seq["prompt_ids"])
    logits = logits[start - 1 : -1]
    labels = ids[0, start:]
    logp = torch.log_softmax(logits, dim=-1).gather(-1, labels[:, None])[:, 0]
    return logp, entropy_from_logits(logits)


def right_pad(rows, width):
    return torch.stack([torch.cat([r, r.new_zeros(width - r.shape[0])]) for r in rows])


def main():
    case = json.load(open(sys.argv[1]))
    cfg = case["config"]
    load = lambda d: AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
    policy, ref = load(case["policy_dir"]), load(case["ref_dir"])
    temp = cfg["temperature"]
    new, ent, old, ref_lp, masks, adv = [], [], [], [], [], []
    for seq in case["sequences"]:
        lp, e = response_logprobs(policy, seq, temp)
        with torch.no_grad():
            r, _ = response_logprobs(ref, seq, temp)
        given = seq["old_logprobs"]
        new.append(lp)
        ent.append(e)
        old.append(torch.tensor(given, dtype=torch.float32) if given else lp.detach().clone())
        ref_lp.append(r)
        masks.append(torch.tensor(seq["loss_mask"], dtype=torch.float32))
        adv.append(seq["advantage"])
    width = max(x.shape[0] for x in new)
    new, ent, old, ref_lp, mask = (right_pad(x, width) for x in (new, ent, old, ref_lp, masks))
    advantages = torch.tensor(adv, dtype=torch.float32)[:, None] * mask

    # compute_policy_loss (token-level mean)
    ratio = torch.exp(new - old)
    pg_losses1 = -advantages * ratio
    pg_losses2 = -advantages * torch.clamp(ratio, 1 - cfg["clip_eps"], 1 + cfg["clip_eps"])
    pg_loss = masked_mean(torch.maximum(pg_losses1, pg_losses2), mask)
    clip_frac = masked_mean(torch.gt(pg_losses2, pg_losses1).float(), mask)
    # kl_penalty low_var_kl
    kl = ref_lp - new
    kld = torch.clamp(torch.exp(kl) - kl - 1, min=-10, max=10)
    kl_loss = masked_mean(kld, mask)
    entropy = masked_mean(ent, mask)
    loss = pg_loss - cfg["entropy_coef"] * entropy + cfg["kl_coef"] * kl_loss
    loss.backward()

    named = dict(policy.named_parameters())
    grads = {n: named[n].grad.flatten().tolist() for n in case["params"]}
    norm = torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg["max_grad_norm"])
    out = dict(loss=loss.item(), pg_loss=pg_loss.item(), kl=kl_loss.item(), entropy=entropy.item(),
               clip_frac=clip_frac.item(), grad_norm=norm.item(), grads=grads)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
