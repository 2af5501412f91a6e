import { test, before } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { skipUnless } from "../../scripts/prereqs.mjs";
import { tf, initBackend } from "../../lib/backend/index.ts";
import {
  AdamW,
  learningRate,
  globalGradNorm,
  defaultDecayFilter,
} from "../../lib/train/optimizer.ts";
import { SimVLM } from "../../lib/model/simvlm.ts";
import { Rng } from "../../lib/util/rng.ts";
import { tiny } from "./helpers.ts";

const PY = "/usr/bin/python3";

before(async () => {
  await initBackend();
});

test("schedule: linear warmup to the peak, then linear or cosine decay; never 0 on a real update", () => {
  const s = { peakLr: 1e-3, totalSteps: 100, warmupSteps: 10, decay: "linear" as const };
  assert.equal(learningRate(s, 1), 1e-4);
  assert.equal(learningRate(s, 10), 1e-3);
  assert.equal(learningRate(s, 11), 1e-3);
  assert.ok(Math.abs(learningRate(s, 56) - 0.5e-3) < 1e-9);
  assert.ok(learningRate(s, 100) > 0 && learningRate(s, 100) < 2e-5);
  for (let t = 11; t < 100; t++) assert.ok(learningRate(s, t + 1) < learningRate(s, t));
  const c = { ...s, decay: "cosine" as const, minLrRatio: 0.1 };
  assert.equal(learningRate(c, 11), 1e-3);
  assert.ok(
    Math.abs(learningRate(c, 56) - 0.55e-3) < 1e-9,
    "cosine midpoint is halfway to the floor",
  );
  assert.ok(learningRate(c, 100) >= 1e-4);
  assert.equal(learningRate({ ...s, decay: "constant" }, 80), 1e-3);
  assert.equal(learningRate({ ...s, warmupSteps: 0 }, 1), 1e-3);
});

test("weight decay goes to weight matrices and conv kernels, not to biases, LayerNorm or embeddings", () => {
  const m = new SimVLM(tiny(), 0);
  try {
    const names = [...m.weights()]
      .filter(([n, v]) => defaultDecayFilter(n, v.shape))
      .map(([n]) => n);
    for (const n of [
      "enc.0.attn.qkv.kernel",
      "dec.1.cross.kv.kernel",
      "patch.stem.kernel",
      "dec.0.mlp.fc.kernel",
    ])
      assert.ok(names.includes(n), n);
    for (const n of names) assert.ok(!/\.(bias|gamma|beta)$/.test(n) && !/emb|pos/.test(n), n);
    assert.ok(
      !names.includes("tok.embedding") &&
        !names.includes("enc.text_pos") &&
        !names.includes("patch.row_pos"),
    );
  } finally {
    m.dispose();
  }
});

test(
  "AdamW with clipping matches torch.optim.AdamW + clip_grad_norm_ step for step",
  { skip: skipUnless("torch") },
  () => {
    const rng = new Rng(7);
    const init = {
      w: Array.from({ length: 6 }, () => rng.normal()),
      b: Array.from({ length: 3 }, () => rng.normal()),
    };
    const steps = 5;
    const grads = Array.from({ length: steps }, (_, s) => ({
      w: Array.from({ length: 6 }, () => rng.normal() * (s === 2 ? 10 : 0.3)), // step 3 is clipped
      b: Array.from({ length: 3 }, () => rng.normal() * 0.3),
    }));
    const lrs = [1e-2, 2e-2, 2e-2, 1.5e-2, 5e-3];
    const hp = { beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.1, clipNorm: 1.0 };
    const params = new Map<string, tf.Variable>([
      ["w", tf.variable(tf.tensor2d(init.w, [2, 3]))],
      ["b", tf.variable(tf.tensor1d(init.b))],
    ]);
    const opt = new AdamW(params, hp);
    const before = tf.memory().numTensors;
    const norms: number[] = [];
    for (let s = 0; s < steps; s++) {
      tf.tidy(() => {
        const g = { w: tf.tensor2d(grads[s]!.w, [2, 3]), b: tf.tensor1d(grads[s]!.b) };
        const norm = globalGradNorm(g, ["w", "b"]).dataSync()[0]!;
        norms.push(norm);
        opt.apply(g, lrs[s]!, norm);
      });
    }
    assert.equal(tf.memory().numTensors, before, "no tensors left behind by the updates");
    const script = `
import json, sys, torch
d = json.loads(sys.argv[1])
w = torch.nn.Parameter(torch.tensor(d["init"]["w"], dtype=torch.float32).reshape(2, 3))
b = torch.nn.Parameter(torch.tensor(d["init"]["b"], dtype=torch.float32))
hp = d["hp"]
opt = torch.optim.AdamW([{"params": [w], "weight_decay": hp["weightDecay"]}, {"params": [b], "weight_decay": 0.0}],
                        lr=1.0, betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])
norms = []
for g, lr in zip(d["grads"], d["lrs"]):
    w.grad = torch.tensor(g["w"], dtype=torch.float32).reshape(2, 3); b.grad = torch.tensor(g["b"], dtype=torch.float32)
    norms.append(float(torch.nn.utils.clip_grad_norm_([w, b], hp["clipNorm"])))
    for grp in opt.param_groups: grp["lr"] = lr
    opt.step()
st = opt.state[w]
print(json.dumps({"w": w.detach().flatten().tolist(), "b": b.detach().tolist(), "norms": norms, "m": st["exp_avg"].flatten().tolist(), "v": st["exp_avg_sq"].flatten().tolist()}))
`;
    const r = spawnSync(PY, ["-c", script, JSON.stringify({ init, grads, lrs, hp })], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    const ref = JSON.parse(r.stdout) as {
      w: number[];
      b: number[];
      norms: number[];
      m: number[];
      v: number[];
    };
    const close = (a: ArrayLike<number>, b: number[], what: string) => {
      for (let i = 0; i < b.length; i++)
        assert.ok(
          Math.abs(a[i]! - b[i]!) <= 1e-5 * (1 + Math.abs(b[i]!)),
          `${what}[${i}]: ${a[i]} vs torch ${b[i]}`,
        );
    };
    close(norms, ref.norms, "grad norm");
    assert.ok(ref.norms[2]! > 1, "the test includes a clipped step");
    close(params.get("w")!.dataSync(), ref.w, "w");
    close(params.get("b")!.dataSync(), ref.b, "b");
    const state = opt.exportState();
    close(state.get("exp_avg.w")!.data, ref.m, "exp_avg");
    close(state.get("exp_avg_sq.w")!.data, ref.v, "exp_avg_sq");
    assert.equal(opt.step, steps);
    opt.dispose();
    for (const v of params.values()) v.dispose();
  },
);

test("optimizer state export → import restores m, v and the step exactly", () => {
  const p1 = new Map([["w", tf.variable(tf.tensor1d([1, 2, 3]))]]);
  const a = new AdamW(p1);
  tf.tidy(() => a.apply({ w: tf.tensor1d([0.5, -0.5, 0.1]) }, 1e-2, 0.71));
  const p2 = new Map([["w", tf.variable(tf.tensor1d([1, 2, 3]))]]);
  const b = new AdamW(p2);
  b.importState(a.exportState(), a.step, "opt.safetensors");
  assert.equal(b.step, 1);
  assert.deepEqual(
    Array.from(b.exportState().get("exp_avg.w")!.data),
    Array.from(a.exportState().get("exp_avg.w")!.data),
  );
  assert.throws(
    () => b.importState(new Map(), 1, "/x/optimizer.safetensors"),
    /\/x\/optimizer\.safetensors: missing optimizer tensor "exp_avg\.w"/,
  );
  a.dispose();
  b.dispose();
  p1.get("w")!.dispose();
  p2.get("w")!.dispose();
});
