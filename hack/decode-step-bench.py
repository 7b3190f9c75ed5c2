#!/usr/bin/env python3
"""Times a Llama-3.1-8B-shaped forward pass on the local NVIDIA GPU, to check
the LLM profile's calibration (docs/calibration.md) on real hardware.

Not vLLM: random BF16 weights in Llama-3.1-8B's shapes (32 layers, hidden
4096, 32 query and 8 KV heads of 128, MLP 14336, vocabulary 128256), PyTorch
matmuls and scaled_dot_product_attention, each decode step captured in a CUDA
graph as vLLM captures its own. What it measures is what bounds vLLM's decode
step: reading the weights and the batch's KV cache once per step. It prints,
per batch size, the decode step with every sequence attending over CONTEXT
cached tokens, and the prefill time per prompt token of one 512-token prompt.

Usage: python3 hack/decode-step-bench.py   (needs PyTorch with CUDA, ~20 GB)
"""
import json
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError as err:
    sys.exit(f"decode-step-bench: needs PyTorch with CUDA ({err})")

LAYERS, HIDDEN, HEADS, KV_HEADS, HEAD_DIM, MLP, VOCAB = 32, 4096, 32, 8, 128, 14336, 128256
CONTEXT = 576  # a request of the profile's median size, 512 in + 128 out, halfway through its answer
PROMPT = 512
BATCHES = (1, 2, 4, 8, 16, 24, 32)
DT = torch.bfloat16


def weight(*shape):
    return torch.randn(*shape, device="cuda", dtype=DT) * 0.02


def rms(x, g):
    return (x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + 1e-5)).to(DT) * g


class Model:
    def __init__(self):
        self.layers = [
            dict(qkv=weight(HIDDEN, (HEADS + 2 * KV_HEADS) * HEAD_DIM), o=weight(HEADS * HEAD_DIM, HIDDEN),
                 gate_up=weight(HIDDEN, 2 * MLP), down=weight(MLP, HIDDEN),
                 n1=torch.ones(HIDDEN, device="cuda", dtype=DT), n2=torch.ones(HIDDEN, device="cuda", dtype=DT))
            for _ in range(LAYERS)
        ]
        self.norm = torch.ones(HIDDEN, device="cuda", dtype=DT)
        self.lm_head = weight(HIDDEN, VOCAB)

    def forward(self, x, kv=None):
        """x: [batch, tokens, hidden]. kv: per layer (k, v) caches of
        [batch, KV_HEADS, CONTEXT + 1, HEAD_DIM] whose last slot takes the
        new token (decode, one token per sequence), or None for a causal
        prefill of x."""
        b, s, _ = x.shape
        for i, l in enumerate(self.layers):
            h = rms(x, l["n1"]) @ l["qkv"]
            q, k, v = h.split([HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM], -1)
            if kv is None:
                q = q.view(b, s, HEADS, HEAD_DIM).transpose(1, 2)
                k = k.view(b, s, KV_HEADS, HEAD_DIM).transpose(1, 2)
                v = v.view(b, s, KV_HEADS, HEAD_DIM).transpose(1, 2)
                a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True).transpose(1, 2)
            else:
                kc, vc = kv[i]
                kc[:, :, -1] = k.view(b, KV_HEADS, HEAD_DIM)
                vc[:, :, -1] = v.view(b, KV_HEADS, HEAD_DIM)
                # The query heads sharing a KV head attend as that head's
                # queries, so the cache is read once, as decode kernels do.
                q = q.view(b, KV_HEADS, HEADS // KV_HEADS, HEAD_DIM)
                a = F.scaled_dot_product_attention(q, kc, vc)
            x = x + a.reshape(b, s, HIDDEN) @ l["o"]
            g, u = (rms(x, l["n2"]) @ l["gate_up"]).chunk(2, -1)
            x = x + (F.silu(g) * u) @ l["down"]
        return rms(x[:, -1], self.norm) @ self.lm_head


def timed(fn, reps):
    for _ in range(3):
        fn()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps  # ms


def main():
    if not torch.cuda.is_available():
        sys.exit("decode-step-bench: no CUDA device")
    torch.manual_seed(0)
    m = Model()
    out = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "context": CONTEXT, "decode_step_ms": {}}
    with torch.inference_mode():
        for b in BATCHES:
            x = weight(b, 1, HIDDEN)
            kv = [(weight(b, KV_HEADS, CONTEXT + 1, HEAD_DIM), weight(b, KV_HEADS, CONTEXT + 1, HEAD_DIM)) for _ in range(LAYERS)]
            m.forward(x, kv)  # warm up kernels before capture
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                m.forward(x, kv)
            out["decode_step_ms"][b] = round(timed(graph.replay, 50), 3)
            del graph, kv
            torch.cuda.empty_cache()
        prompt = weight(1, PROMPT, HIDDEN)
        out["prefill_ms_per_token"] = round(timed(lambda: m.forward(prompt), 20) / PROMPT, 4)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
