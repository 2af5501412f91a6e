#!/usr/bin/python3
"""The benchmark's training step in PyTorch: lib/model's SimVLM "reference" config as
bench/product-step.ts trains it — linear patches, pre-LN encoder and decoder blocks with GELU,
final layer norms, the output projection tied to the token embedding, dropout on the embeddings and
each residual branch, AdamW with weight decay 0.01 and global-norm clipping at 1 — with the same
shapes and the same analytic FLOP count (bench/product-step.ts stepFlops). Q, K and V are separate
Linear layers here and one fused [d, 3d] product there: the same arithmetic.

Usage: /usr/bin/python3 bench/torch-ref.py [--steps N] [--warmup N] [--threads N] [--json]
        [--device cpu|cuda] [--dtype fp32|tf32|bf16] [--compile] [--config reference|base]
        [--batch N] [--text N] [--max-batch]
torch.set_num_threads(1) by default: OpenBLAS still uses both cores for matmuls, and more
OpenMP threads oversubscribe this 2-core machine (measured slower).
On a GPU (--device cuda): --dtype bf16 runs forward and loss under torch.autocast(bfloat16) with
fp32 master weights; tf32 allows TF32 tensor cores for fp32 products; --compile wraps the model in
torch.compile. --config base is the paper's Base width (d 768, 12 + 12 layers, 224 px / 16 = 196
patches, vocabulary 32,000; batch 64 unless --batch). --max-batch doubles the batch from --batch
until the GPU runs out of memory and reports the examples/s of the largest that fitted.
"""
import argparse, contextlib, json, math, resource, statistics, time
import torch
import torch.nn.functional as F

C = dict(d=256, heads=4, enc=4, dec=4, ffn=1024, image=128, patch=16, text=32, vocab=4000, batch=16, dropout=0.0)
CONFIGS = dict(reference=C, base=dict(C, d=768, heads=12, enc=12, dec=12, ffn=3072, image=224, patch=16, vocab=32000, batch=64))


def step_flops(c):
    P = (c["image"] // c["patch"]) ** 2; T = c["text"]; B = c["batch"]; d = c["d"]
    mm = lambda m, k, n: 2 * m * k * n
    f = mm(B * P, c["patch"] ** 2 * 3, d)
    enc = 4 * mm(B * P, d, d) + mm(B * P, d, c["ffn"]) + mm(B * P, c["ffn"], d) + 2 * B * mm(P, d, P)
    dec = (4 * mm(B * T, d, d) + 2 * B * mm(T, d, T) + 2 * mm(B * T, d, d) + 2 * mm(B * P, d, d)
           + 2 * B * mm(T, d, P) + mm(B * T, d, c["ffn"]) + mm(B * T, c["ffn"], d))
    f += c["enc"] * enc + c["dec"] * dec + mm(B * T, d, c["vocab"])
    return 3 * f


class Attn(torch.nn.Module):
    def __init__(s, d, h):
        super().__init__(); s.h = h
        s.q, s.k, s.v, s.o = (torch.nn.Linear(d, d) for _ in range(4))

    def forward(s, xq, xkv, mask=None):
        B, Tq, d = xq.shape; Tk = xkv.shape[1]; dh = d // s.h
        q = s.q(xq).view(B, Tq, s.h, dh).transpose(1, 2)
        k = s.k(xkv).view(B, Tk, s.h, dh).transpose(1, 2)
        v = s.v(xkv).view(B, Tk, s.h, dh).transpose(1, 2)
        a = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        if mask is not None: a = a + mask
        y = (a.softmax(-1) @ v).transpose(1, 2).reshape(B, Tq, d)
        return s.o(y)


class Block(torch.nn.Module):
    def __init__(s, c, cross):
        super().__init__(); d = c["d"]
        s.ln1, s.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        s.self_attn = Attn(d, c["heads"])
        s.cross = Attn(d, c["heads"]) if cross else None
        s.ln3 = torch.nn.LayerNorm(d) if cross else None
        s.ff1, s.ff2 = torch.nn.Linear(d, c["ffn"]), torch.nn.Linear(c["ffn"], d)
        s.drop = torch.nn.Dropout(c["dropout"])

    def forward(s, x, mem=None, mask=None):
        # Dropout where lib/model applies it: on each residual branch (and on the embeddings, in Ref).
        h = s.ln1(x); x = x + s.drop(s.self_attn(h, h, mask))
        if s.cross is not None:
            x = x + s.drop(s.cross(s.ln2(x), mem)); last = s.ln3
        else:
            last = s.ln2
        return x + s.drop(s.ff2(F.gelu(s.ff1(last(x)), approximate="tanh")))


class Ref(torch.nn.Module):
    def __init__(s, c):
        super().__init__(); d = c["d"]; P = (c["image"] // c["patch"]) ** 2; s.c = c
        s.patch = torch.nn.Linear(c["patch"] ** 2 * 3, d)
        s.pos_img = torch.nn.Parameter(torch.randn(P, d) * 0.02)
        s.pos_txt = torch.nn.Parameter(torch.randn(c["text"], d) * 0.02)
        s.tok = torch.nn.Embedding(c["vocab"], d)
        torch.nn.init.normal_(s.tok.weight, std=0.02)  # lib/model's init; also scales the tied output
        s.enc = torch.nn.ModuleList(Block(c, False) for _ in range(c["enc"]))
        s.dec = torch.nn.ModuleList(Block(c, True) for _ in range(c["dec"]))
        s.lne, s.lnf = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d); s.drop = torch.nn.Dropout(c["dropout"])
        T = c["text"]
        s.register_buffer("causal", torch.triu(torch.full((T, T), -1e9), 1))

    def forward(s, images, ids):
        c = s.c; B = images.shape[0]; g = c["image"] // c["patch"]; p = c["patch"]
        x = images.view(B, g, p, g, p, 3).permute(0, 1, 3, 2, 4, 5).reshape(B, g * g, p * p * 3)
        x = s.drop(s.patch(x) + s.pos_img)
        for b in s.enc: x = b(x)
        x = s.lne(x)
        y = s.drop(s.tok(ids) + s.pos_txt)
        for b in s.dec: y = b(y, x, s.causal)
        return s.lnf(y) @ s.tok.weight.t()  # tied to the token embedding, as lib/model


def run_steps(c, a, n_steps, n_warmup, device):
    """Train `n_warmup + n_steps` steps of the model on one fixed batch; (times ms, losses)."""
    torch.manual_seed(0)
    model = Ref(c).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    fwd = torch.compile(model) if a.compile else model
    images = torch.rand(c["batch"], c["image"], c["image"], 3, device=device)
    ids = torch.randint(4, c["vocab"], (c["batch"], c["text"] + 1), device=device)
    amp = torch.autocast("cuda", dtype=torch.bfloat16) if a.dtype == "bf16" and device == "cuda" else contextlib.nullcontext()
    times, losses = [], []
    for i in range(n_warmup + n_steps):
        if device == "cuda": torch.cuda.synchronize()
        t0 = time.perf_counter()
        with amp:
            logits = fwd(images, ids[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, c["vocab"]).float(), ids[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
        lv = loss.item(); ms = (time.perf_counter() - t0) * 1000
        losses.append(lv)
        if i >= n_warmup: times.append(ms)
        if not a.json: print(f"{'warm-up' if i < n_warmup else 'step'} {i + 1}: {ms:.1f} ms, loss {lv:.4f}", flush=True)
    del model, opt, fwd
    return times, losses


def largest_batch(c, a, device):
    """Double the batch until out of memory (or 2 s a step); the largest that fitted and its examples/s."""
    best, b = None, c["batch"]
    while b <= a.max_batch_limit:
        try:
            times, _ = run_steps(dict(c, batch=b), a, 2, 1, device)
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            if device == "cuda": torch.cuda.empty_cache()
        ms = statistics.median(times)
        best = dict(batch=b, ms_per_step=round(ms, 2), examples_per_s=round(b / (ms / 1000), 1))
        if not a.json: print(f"batch {b}: {ms:.1f} ms/step, {best['examples_per_s']} examples/s", flush=True)
        if ms > 2000: break
        b *= 2
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10); ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1); ap.add_argument("--json", action="store_true")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--dtype", choices=["fp32", "tf32", "bf16"], default="fp32")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--config", choices=sorted(CONFIGS), default="reference")
    ap.add_argument("--batch", type=int); ap.add_argument("--text", type=int)
    ap.add_argument("--max-batch", action="store_true"); ap.add_argument("--max-batch-limit", type=int, default=8192)
    a = ap.parse_args()
    if a.device == "cuda" and not torch.cuda.is_available(): raise SystemExit("torch-ref: --device cuda but torch sees no CUDA GPU")
    torch.set_num_threads(a.threads)
    torch.backends.cuda.matmul.allow_tf32 = a.dtype == "tf32"
    torch.backends.cudnn.allow_tf32 = a.dtype == "tf32"
    c = dict(CONFIGS[a.config], dropout=a.dropout)
    if a.batch: c["batch"] = a.batch
    if a.text: c["text"] = a.text
    times, losses = run_steps(c, a, a.steps, a.warmup, a.device)
    ms = statistics.median(times); fl = step_flops(c)
    variant = f"{a.device}-{a.dtype}{'-compile' if a.compile else ''}"
    r = dict(bench="train-step", backend=f"pytorch-{torch.__version__}-{variant}", device=a.device, dtype=a.dtype, compile=a.compile,
             config=a.config, batch=c["batch"], text_len=c["text"], threads=a.threads, dropout=a.dropout,
             ms_per_step=round(ms, 2), ms_min=round(min(times), 2), examples_per_s=round(c["batch"] / (ms / 1000), 2),
             gflop_per_step=round(fl / 1e9, 2), gflops=round(fl / 1e9 / (ms / 1000), 2),
             peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, losses=[round(l, 6) for l in losses])
    if a.device == "cuda":
        r["gpu"] = torch.cuda.get_device_name(0)
        r["peak_gpu_mb"] = torch.cuda.max_memory_allocated() // 2 ** 20
    if a.max_batch: r["largest_batch"] = largest_batch(c, a, a.device)
    if a.json: print(json.dumps(r))
    else: print(f"pytorch ({variant}) {r['ms_per_step']} ms/step, {r['examples_per_s']} examples/s, {r['gflops']} GFLOP/s ({r['gflop_per_step']} GFLOP/step)")


if __name__ == "__main__":
    main()
