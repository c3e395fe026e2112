# Runs mirror.py for each setting below in parallel processes on one GPU (the last sweep that chose the default
# preset: three seeds each of the 4×4-map and 7×7-map stride-2 models). DEADLINE: seconds before the rest is killed.
import json, os, subprocess, sys, time
D = os.path.dirname(os.path.abspath(__file__))
S4 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 2, 1), (6, 96, 1, 1)]
S7L = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 1), (6, 48, 2, 1)]
# Three seeds of each (stages, peak rate, epochs), named <stages>_oc<epochs>_lr<peak in thousandths>_s<seed>.
RUNS = [('S4', S4, 0.005, 11), ('S4', S4, 0.003, 11), ('L', S7L, 0.005, 10), ('L', S7L, 0.005, 9)]
C = [dict(name=f'{tag}_oc{ep}_lr{round(lr * 1000)}_s{seed}', sched='onecycle', lr=lr, epochs=ep, stages=st, seed=seed)
     for tag, st, lr, ep in RUNS for seed in (1, 2, 3)]
only = sys.argv[1:]
if only and only[0] == 'dry':
    for c in C: c['dry'] = True; c['epochs'] = 1
procs = []
for c in C:
    procs.append((c['name'], subprocess.Popen([os.environ.get('PY', sys.executable), os.path.join(D, 'mirror.py'), json.dumps(c)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)))
deadline = time.time() + float(os.environ.get('DEADLINE', 470))
for name, p in procs:
    try:
        out, _ = p.communicate(timeout=max(1, deadline - time.time()))
        print(name, out[-200:], flush=True)
    except subprocess.TimeoutExpired:
        p.kill(); print(name, 'TIMEOUT', flush=True)
