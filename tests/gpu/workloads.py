"""Framework workloads whose results must not change under ctxguard: PyTorch matmul, FFT and a small
training step, CuPy matmul and FFT. Deterministic settings; prints one SHA-256 per workload so runs
bare, under observe and under guard can be compared bit for bit."""
import hashlib, os, sys
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
import torch

def h(t):
    return hashlib.sha256(t.detach().contiguous().cpu().numpy().tobytes()).hexdigest()[:16]

torch.use_deterministic_algorithms(True)
torch.backends.cuda.matmul.allow_tf32 = False
g = torch.Generator().manual_seed(1234)
a = torch.randn(1024, 1024, generator=g).cuda()
b = torch.randn(1024, 1024, generator=g).cuda()
print("torch.matmul", h(a @ b))
x = torch.randn(1 << 16, generator=g).cuda()
print("torch.fft", h(torch.fft.fft(x)))
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)).cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
xb = torch.randn(128, 256, generator=g).cuda()
yb = torch.randint(0, 10, (128,), generator=g).cuda()
for _ in range(5):
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(xb), yb)
    loss.backward()
    opt.step()
print("torch.train", h(torch.cat([p.flatten() for p in model.parameters()])))
try:
    import cupy as cp
    rs = cp.random.RandomState(7)
    m = rs.standard_normal((512, 512), dtype=cp.float32)
    print("cupy.matmul", hashlib.sha256(cp.asnumpy(m @ m).tobytes()).hexdigest()[:16])
    v = rs.standard_normal(1 << 16, dtype=cp.float32)
    print("cupy.fft", hashlib.sha256(cp.asnumpy(cp.fft.fft(v)).tobytes()).hexdigest()[:16])
except Exception as e:
    print("cupy unavailable:", e)
    sys.exit(2)
