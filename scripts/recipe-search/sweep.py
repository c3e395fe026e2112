# Runs mirror.py for each setting below in parallel processes on one GPU (the last sweep that chose the default
# preset: three seeds each of the 4×4-map and 7×7-map stride-2 models). DEADLINE: seconds before the rest is killed.
import json, os, subprocess, sys, time
D = os.path.dirname(os.path.abspath(__file__))
S4 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 2, 1), (6, 96, 1, 1)]
S7 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 1), (6, 64, 2, 1), (6, 96, 1, 1)]
AUG = (12, 2, 8, 3, 0.3)
S7L = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 1), (6, 48, 2, 1)]
C = [
 dict(name='S4_oc11_lr5_s1', sched='onecycle', lr=0.005, epochs=11, stages=S4, seed=1),
 dict(name='S4_oc11_lr5_s2', sched='onecycle', lr=0.005, epochs=11, stages=S4, seed=2),
 dict(name='S4_oc11_lr5_s3', sched='onecycle', lr=0.005, epochs=11, stages=S4, seed=3),
 dict(name='S4_oc11_lr3_s1', sched='onecycle', lr=0.003, epochs=11, stages=S4, seed=1),
 dict(name='S4_oc11_lr3_s2', sched='onecycle', lr=0.003, epochs=11, stages=S4, seed=2),
 dict(name='S4_oc11_lr3_s3', sched='onecycle', lr=0.003, epochs=11, stages=S4, seed=3),
 dict(name='L_oc10_lr5_s1', sched='onecycle', lr=0.005, epochs=10, stages=S7L, seed=1),
 dict(name='L_oc10_lr5_s2', sched='onecycle', lr=0.005, epochs=10, stages=S7L, seed=2),
 dict(name='L_oc10_lr5_s3', sched='onecycle', lr=0.005, epochs=10, stages=S7L, seed=3),
 dict(name='L_oc9_lr5_s1', sched='onecycle', lr=0.005, epochs=9, stages=S7L, seed=1),
 dict(name='L_oc9_lr5_s2', sched='onecycle', lr=0.005, epochs=9, stages=S7L, seed=2),
 dict(name='L_oc9_lr5_s3', sched='onecycle', lr=0.005, epochs=9, stages=S7L, seed=3),
]
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
