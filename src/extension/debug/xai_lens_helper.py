"""XAI Lens helper, injected into a Python program paused in the debugger (debugpy).

The extension evaluates small expressions that call these functions in the paused frame; every answer is one
base64 string of JSON (so the debugger's repr never escapes anything), and large byte blocks travel in base64 chunks
through `chunk(i)`. Standard library only, plus numpy / torch / PIL / TensorFlow when the value needs them (imported
lazily from sys.modules or on demand). Nothing is printed. The only object left behind is this module, registered as
sys.modules['_xai_lens_helper']; release() drops the bytes it holds between transfers.
"""
import base64
import json
import math
import os
import sys

_state = {}
_CHUNK = 4 * 1024 * 1024


def _answer(obj):
    return base64.b64encode(json.dumps(obj).encode('utf-8')).decode('ascii')


def _error(message):
    return _answer({'error': str(message).splitlines()[0] if str(message) else 'unknown error'})


def _kind_of(v):
    t = type(v)
    mod = getattr(t, '__module__', '') or ''
    if isinstance(v, str):
        return 'path'
    if isinstance(v, (bytes, bytearray, memoryview)):
        return 'bytes'
    if mod.startswith('torch') and hasattr(v, 'detach') and hasattr(v, 'shape'):
        return 'torch'
    if mod.startswith('numpy') and hasattr(v, 'dtype') and hasattr(v, 'shape'):
        return 'numpy'
    if mod.startswith('PIL.') and hasattr(v, 'mode') and hasattr(v, 'size'):
        return 'pil'
    torch = sys.modules.get('torch')
    if torch is not None and isinstance(v, torch.nn.Module):
        return 'torch-model'
    for name in ('keras', 'tensorflow', 'tf_keras'):
        m = sys.modules.get(name)
        model_cls = getattr(m, 'Model', None) or getattr(getattr(m, 'keras', None), 'Model', None)
        if isinstance(model_cls, type) and isinstance(v, model_cls):
            return 'keras-model'
    return None


def _magic(b):
    if b[:8] == b'\x89PNG\r\n\x1a\n':
        return 'png'
    if b[:3] == b'\xff\xd8\xff':
        return 'jpeg'
    return None


def _dtype_name(v):
    return str(getattr(v, 'dtype', '')).replace('torch.', '')


def _describe_array(shape, dtype):
    return {'kind': 'array', 'shape': [int(d) for d in shape], 'dtype': dtype}


def describe(v):
    """What the value is: an array (shape, dtype), encoded image bytes, a model, or an error."""
    try:
        kind = _kind_of(v)
        if kind == 'path':
            if not os.path.isfile(v):
                return _error('the string %r is not the path of an image file in the debuggee' % (v[:200],))
            with open(v, 'rb') as f:
                head = f.read(16)
            fmt = _magic(head)
            if not fmt:
                return _error('%s is not a PNG or JPEG file' % (v,))
            return _answer({'kind': 'encoded', 'format': fmt, 'byteLength': os.path.getsize(v), 'path': v})
        if kind == 'bytes':
            fmt = _magic(bytes(v[:16]))
            if not fmt:
                return _error('these %d bytes are not a PNG or JPEG image' % (len(v),))
            return _answer({'kind': 'encoded', 'format': fmt, 'byteLength': len(v)})
        if kind in ('torch', 'numpy'):
            return _answer(_describe_array(v.shape, _dtype_name(v)))
        if kind == 'pil':
            w, h = v.size
            if v.mode in ('L', '1', 'P'):
                c = 1 if v.mode != 'P' else 3
            elif v.mode in ('I', 'F', 'I;16'):
                return _answer(_describe_array((h, w), 'float32'))
            else:
                c = 4 if 'A' in v.mode else 3
            return _answer(_describe_array((h, w, c) if c != 1 else (h, w), 'uint8'))
        if kind == 'torch-model':
            return _answer({'kind': 'model', 'framework': 'torch', 'className': type(v).__name__})
        if kind == 'keras-model':
            return _answer({'kind': 'model', 'framework': 'keras', 'className': type(v).__name__})
        return _error('a value of type %s is not an image (numpy.ndarray, torch.Tensor, PIL.Image, PNG/JPEG bytes or an image path)' % (type(v).__name__,))
    except Exception as e:  # the user's value, not the debugger, is at fault: one line
        return _error('%s: %s' % (type(e).__name__, e))


def _flat_bytes(v, index):
    """(bytes, transfer dtype, shape) of v, or of v[index] when index is not None; uint8/bool stay bytes."""
    kind = _kind_of(v)
    if kind == 'torch':
        t = v.detach()
        if index is not None:
            t = t[index]
        t = t.cpu().contiguous()
        name = _dtype_name(t)
        if name in ('uint8', 'bool'):
            t, dtype = t.to(dtype=sys.modules['torch'].uint8), 'uint8'
        else:
            t, dtype = t.to(dtype=sys.modules['torch'].float32), 'float32'
        try:
            data = t.numpy().tobytes()
        except Exception:  # torch without numpy: the standard library's array
            import array
            data = array.array('B' if dtype == 'uint8' else 'f', t.flatten().tolist()).tobytes()
            if sys.byteorder != 'little' and dtype == 'float32':
                a = array.array('f', data)
                a.byteswap()
                data = a.tobytes()
        return data, dtype, list(t.shape)
    if kind == 'numpy':
        np = sys.modules['numpy']
        a = v if index is None else v[index]
        if a.dtype == np.uint8 or a.dtype == np.bool_:
            a, dtype = a.astype('<u1', copy=False), 'uint8'
        else:
            a, dtype = a.astype('<f4', copy=False), 'float32'
        return np.ascontiguousarray(a).tobytes(), dtype, list(a.shape)
    if kind == 'pil':
        img = v
        if img.mode in ('I', 'F', 'I;16'):
            img = img.convert('F')
            import array
            data = array.array('f', list(img.getdata()))
            if sys.byteorder != 'little':
                data.byteswap()
            return data.tobytes(), 'float32', [img.size[1], img.size[0]]
        if img.mode == '1':
            img = img.convert('L')
        elif img.mode not in ('L', 'RGB', 'RGBA'):
            img = img.convert('RGBA' if 'A' in img.mode else 'RGB')
        c = {'L': 1, 'RGB': 3, 'RGBA': 4}[img.mode]
        shape = [img.size[1], img.size[0]] + ([c] if c != 1 else [])
        return img.tobytes(), 'uint8', shape
    if kind == 'path':
        with open(v, 'rb') as f:
            return f.read(), 'uint8', None
    if kind == 'bytes':
        return bytes(v), 'uint8', None
    raise TypeError('%s is not an image' % (type(v).__name__,))


def prepare(v, index=None, chunk_size=_CHUNK):
    """Holds the value's bytes (one batch item when index is given) for chunk(i); answers their size."""
    try:
        data, dtype, shape = _flat_bytes(v, index)
        return _hold({'dtype': dtype, 'shape': shape}, data, chunk_size)
    except Exception as e:
        return _error('%s: %s' % (type(e).__name__, e))


def _hold(meta, data, chunk_size=_CHUNK):
    """Answers the meta with the first chunk inline; holds the rest for chunk(i), released after the last one."""
    _state.clear()
    n = int(chunk_size)
    meta = dict(meta)
    meta['byteLength'] = len(data)
    meta['chunks'] = max(1, int(math.ceil(len(data) / float(n))))
    meta['first'] = base64.b64encode(data[:n]).decode('ascii')
    if meta['chunks'] > 1:
        _state['data'] = data
        _state['chunk'] = n
    return _answer(meta)


def chunk(i):
    """The i-th block of the held bytes, base64 (a bare string, not JSON); the last one releases them."""
    data = _state.get('data')
    if data is None:
        return _error('no transfer in progress')
    n = _state['chunk']
    if (i + 1) * n >= len(data):
        _state.clear()
    return base64.b64encode(data[i * n:(i + 1) * n]).decode('ascii')


def release():
    _state.clear()
    return _answer({'released': True})


def find_models(*scopes):
    """Names of the models (torch.nn.Module, Keras Model) among the given namespaces (locals(), globals())."""
    names = []
    try:
        for scope in scopes:
            for k, v in list(scope.items()):
                if k.startswith('__') or k in names:
                    continue
                if _kind_of(v) in ('torch-model', 'keras-model'):
                    names.append(k)
    except Exception as e:
        return _error('%s: %s' % (type(e).__name__, e))
    return _answer({'models': names})


# --------------------------------------------------------------------------------------------------------------
# Explaining with the live model
# --------------------------------------------------------------------------------------------------------------

_METHODS = ('gradcam', 'gradients', 'smoothgrad', 'ig')


def _torch_input(torch, model, v, index):
    """The value as a 1×C×H×W float tensor on the model's device, as the user's code would feed it."""
    kind = _kind_of(v)
    if kind == 'torch':
        x = v.detach()
    elif kind == 'numpy':
        x = torch.from_numpy(sys.modules['numpy'].ascontiguousarray(v))
    elif kind == 'pil':
        data, dtype, shape = _flat_bytes(v, None)
        x = torch.frombuffer(bytearray(data), dtype=torch.uint8 if dtype == 'uint8' else torch.float32).reshape(shape)
        x = x.float() / 255.0 if dtype == 'uint8' else x
        x = x.permute(2, 0, 1) if x.dim() == 3 else x
    else:
        raise TypeError('a %s cannot be fed to the model' % (type(v).__name__,))
    if index is not None:
        x = x[index]
    if x.dim() == 2:
        x = x.unsqueeze(0)
    if x.dim() == 3:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError('shape %s cannot be fed to the model as an image' % (list(v.shape),))
    if x.dtype in (torch.uint8, torch.bool):
        x = x.float()
    p = next(model.parameters(), None)
    if p is not None:
        x = x.to(device=p.device, dtype=p.dtype)
    else:
        x = x.float()
    return x


def _conv_layers(torch, model):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.modules.conv._ConvNd) and n]


def _scores(out):
    if isinstance(out, (tuple, list)):
        out = out[0]
    if hasattr(out, 'logits'):
        out = out.logits
    return out.reshape(out.shape[0], -1)


def explain_torch(model, v, index=None, layer=None, target=None, methods=_METHODS, samples=50, steps=50, sigma=0.15, seed=1):
    """Grad-CAM (forward hook on a conv layer), Gradients, SmoothGrad and Integrated Gradients with the user's model.

    The conventions are the engine's: the score is the target's logit, gradient maps are summed over channels and
    signed, SmoothGrad's noise is sigma times the input's value range, IG integrates from a zero baseline by the
    midpoint rule, Grad-CAM is relu(sum_k mean(dS/dA_k) A_k) upsampled bilinearly. The model's train/eval mode and
    its parameters' .grad are left as they were (torch.autograd.grad, never backward()).
    """
    torch = sys.modules.get('torch')
    if torch is None:
        return _error('torch is not imported in the debuggee')
    try:
        import time
        t_start = time.time()
        was_training = model.training
        model.eval()
        try:
            with torch.enable_grad():
                x = _torch_input(torch, model, v, index)
                convs = _conv_layers(torch, model)
                shapes = {}
                hooks = [m.register_forward_hook(lambda mod, inp, out, n=n: shapes.__setitem__(n, list(out.shape))) for n, m in convs]
                try:
                    with torch.no_grad():
                        logits = _scores(model(x))
                finally:
                    for h in hooks:
                        h.remove()
                probs = torch.softmax(logits.float(), dim=1)[0]
                label = int(torch.argmax(probs))
                tgt = label if target is None else int(target)
                if not 0 <= tgt < probs.shape[0]:
                    return _error('class %d is outside the model\'s %d outputs' % (tgt, probs.shape[0]))
                layers = [{'name': n, 'shape': [shapes[n][2], shapes[n][3], shapes[n][1]], 'className': type(m).__name__}
                          for n, m in convs if len(shapes.get(n, ())) == 4]
                H, W = int(x.shape[2]), int(x.shape[3])
                maps = []
                blobs = []

                def add(method, signed, arr, ms, extra=None):
                    a = arr.detach().float().cpu().contiguous()
                    blobs.append(_tensor_bytes(a))
                    m = {'method': method, 'signed': signed, 'height': int(a.shape[0]), 'width': int(a.shape[1]), 'ms': ms}
                    m.update(extra or {})
                    maps.append(m)

                def score_of(inp):
                    return _scores(model(inp))[:, tgt]

                def input_grad(inp):
                    inp = inp.detach().requires_grad_(True)
                    s = score_of(inp).sum()
                    return torch.autograd.grad(s, inp)[0]

                chosen = layer
                if 'gradcam' in methods and layers:
                    names = [l['name'] for l in layers]
                    if chosen is None:
                        chosen = names[-1]
                    if chosen not in names:
                        return _error('%s is not a convolution layer of the model (%s)' % (chosen, ', '.join(names)))
                    t0 = time.time()
                    module = dict(convs)[chosen]
                    acts = []
                    h = module.register_forward_hook(lambda mod, inp, out: acts.append(out))
                    try:
                        s = score_of(x.detach().requires_grad_(True)).sum()
                    finally:
                        h.remove()
                    a = acts[-1]
                    g = torch.autograd.grad(s, a)[0]
                    w = g.mean(dim=(2, 3), keepdim=True)
                    cam = torch.relu((w * a).sum(dim=1))[0]
                    up = torch.nn.functional.interpolate(cam[None, None], size=(H, W), mode='bilinear', align_corners=False)[0, 0]
                    add('gradcam', False, up, (time.time() - t0) * 1000, {'layer': chosen, 'layerSize': [int(cam.shape[0]), int(cam.shape[1])]})
                if 'gradients' in methods:
                    t0 = time.time()
                    add('gradients', True, input_grad(x)[0].sum(dim=0), (time.time() - t0) * 1000)
                if 'smoothgrad' in methods:
                    t0 = time.time()
                    gen = torch.Generator(device='cpu').manual_seed(int(seed))
                    span = float(x.max() - x.min()) or 1.0
                    total = torch.zeros_like(x)
                    for _ in range(int(samples)):
                        noise = torch.randn(x.shape, generator=gen).to(device=x.device, dtype=x.dtype) * (sigma * span)
                        total = total + input_grad(x + noise)
                    add('smoothgrad', True, (total / int(samples))[0].sum(dim=0), (time.time() - t0) * 1000, {'samples': int(samples)})
                if 'ig' in methods:
                    t0 = time.time()
                    base = torch.zeros_like(x)
                    total = torch.zeros_like(x)
                    for k in range(int(steps)):
                        alpha = (k + 0.5) / int(steps)
                        total = total + input_grad(base + alpha * (x - base))
                    add('ig', True, ((x - base) * total / int(steps))[0].sum(dim=0), (time.time() - t0) * 1000, {'steps': int(steps)})
                pixels = x[0].detach().float().cpu().permute(1, 2, 0).contiguous()
                blobs.append(_tensor_bytes(pixels))
        finally:
            model.train(was_training)
        params = sum(int(p.numel()) for p in model.parameters())
        meta = {
            'framework': 'torch', 'className': type(model).__name__, 'params': params,
            'inputShape': [H, W, int(x.shape[1])], 'probabilities': [float(p) for p in probs.tolist()],
            'label': label, 'target': tgt, 'layer': chosen or '', 'layers': layers, 'maps': maps,
            'ms': (time.time() - t_start) * 1000,
        }
        return _hold(meta, b''.join(blobs))
    except Exception as e:
        return _error('%s: %s' % (type(e).__name__, e))


def _tensor_bytes(t):
    try:
        return t.numpy().astype('<f4').tobytes()
    except Exception:
        import array
        a = array.array('f', t.flatten().tolist())
        if sys.byteorder != 'little':
            a.byteswap()
        return a.tobytes()


def explain_keras(model, v, index=None, layer=None, target=None, methods=_METHODS, samples=50, steps=50, sigma=0.15, seed=1):
    """The same maps with a Keras model, through tf.GradientTape (needs TensorFlow in the debuggee)."""
    tf = sys.modules.get('tensorflow')
    if tf is None:
        return _error('TensorFlow is not imported in the debuggee')
    try:
        import time
        t_start = time.time()
        np = sys.modules.get('numpy') or __import__('numpy')
        kind = _kind_of(v)
        if kind == 'torch':
            arr = v.detach().cpu().float().numpy()
        elif kind == 'pil':
            data, dtype, shape = _flat_bytes(v, None)
            arr = np.frombuffer(data, dtype=np.uint8 if dtype == 'uint8' else np.float32).reshape(shape).astype('float32')
        else:
            arr = np.asarray(v, dtype='float32')
        if index is not None:
            arr = arr[index]
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim == 3:
            arr = arr[None]
        x = tf.constant(arr, dtype=tf.float32)
        H, W = int(x.shape[1]), int(x.shape[2])
        logits = tf.reshape(model(x, training=False), (1, -1))
        probs = tf.nn.softmax(logits)[0].numpy()
        label = int(np.argmax(probs))
        tgt = label if target is None else int(target)
        convs = [l for l in model.layers if 'Conv' in type(l).__name__ and len(getattr(l, 'output_shape', ()) or ()) == 4]
        layers = [{'name': l.name, 'shape': [int(d) for d in l.output_shape[1:]], 'className': type(l).__name__} for l in convs]
        maps, blobs = [], []

        def add(method, signed, arr2, ms, extra=None):
            a = np.asarray(arr2, dtype='<f4')
            blobs.append(a.tobytes())
            m = {'method': method, 'signed': signed, 'height': int(a.shape[0]), 'width': int(a.shape[1]), 'ms': ms}
            m.update(extra or {})
            maps.append(m)

        def input_grad(inp):
            with tf.GradientTape() as tape:
                tape.watch(inp)
                s = tf.reduce_sum(tf.reshape(model(inp, training=False), (inp.shape[0], -1))[:, tgt])
            return tape.gradient(s, inp)

        chosen = layer
        if 'gradcam' in methods and layers:
            names = [l['name'] for l in layers]
            chosen = chosen or names[-1]
            if chosen not in names:
                return _error('%s is not a convolution layer of the model (%s)' % (chosen, ', '.join(names)))
            t0 = time.time()
            sub = tf.keras.Model(model.inputs, [model.get_layer(chosen).output, model.output])
            with tf.GradientTape() as tape:
                a, out = sub(x, training=False)
                s = tf.reshape(out, (1, -1))[:, tgt]
            g = tape.gradient(s, a)
            w = tf.reduce_mean(g, axis=(1, 2), keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(w * a, axis=-1))[0]
            up = tf.image.resize(cam[None, :, :, None], (H, W), method='bilinear')[0, :, :, 0]
            add('gradcam', False, up.numpy(), (time.time() - t0) * 1000, {'layer': chosen, 'layerSize': [int(cam.shape[0]), int(cam.shape[1])]})
        if 'gradients' in methods:
            t0 = time.time()
            add('gradients', True, tf.reduce_sum(input_grad(x)[0], axis=-1).numpy(), (time.time() - t0) * 1000)
        if 'smoothgrad' in methods:
            t0 = time.time()
            rng = np.random.default_rng(int(seed))
            span = float(arr.max() - arr.min()) or 1.0
            total = np.zeros(x.shape, 'float32')
            for _ in range(int(samples)):
                total += input_grad(x + rng.normal(0, sigma * span, x.shape).astype('float32')).numpy()
            add('smoothgrad', True, (total / int(samples))[0].sum(axis=-1), (time.time() - t0) * 1000, {'samples': int(samples)})
        if 'ig' in methods:
            t0 = time.time()
            total = np.zeros(x.shape, 'float32')
            for k in range(int(steps)):
                total += input_grad(x * ((k + 0.5) / int(steps))).numpy()
            add('ig', True, (x.numpy() * total / int(steps))[0].sum(axis=-1), (time.time() - t0) * 1000, {'steps': int(steps)})
        blobs.append(np.asarray(x.numpy()[0], dtype='<f4').tobytes())
        meta = {
            'framework': 'keras', 'className': type(model).__name__, 'params': int(model.count_params()),
            'inputShape': [H, W, int(x.shape[3])], 'probabilities': [float(p) for p in probs],
            'label': label, 'target': tgt, 'layer': chosen or '', 'layers': layers, 'maps': maps,
            'ms': (time.time() - t_start) * 1000,
        }
        return _hold(meta, b''.join(blobs))
    except Exception as e:
        return _error('%s: %s' % (type(e).__name__, e))


def explain(model, v, index=None, layer=None, target=None, methods=_METHODS, samples=50, steps=50):
    kind = _kind_of(model)
    if kind == 'torch-model':
        return explain_torch(model, v, index, layer, target, methods, samples, steps)
    if kind == 'keras-model':
        return explain_keras(model, v, index, layer, target, methods, samples, steps)
    return _error('a %s is not a torch.nn.Module or a Keras model' % (type(model).__name__,))
