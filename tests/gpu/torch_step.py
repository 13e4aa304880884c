"""A PyTorch training step timed: prints the median milliseconds per step over 200 steps."""
import statistics, time, torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(1024, 4096), torch.nn.GELU(), torch.nn.Linear(4096, 1024)).cuda()
opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
x = torch.randn(512, 1024, device="cuda"); y = torch.randn(512, 1024, device="cuda")
def step():
    opt.zero_grad(set_to_none=True)
    torch.nn.functional.mse_loss(m(x), y).backward()
    opt.step()
for _ in range(30): step()
torch.cuda.synchronize()
ts = []
for _ in range(200):
    t = time.perf_counter(); step(); torch.cuda.synchronize(); ts.append((time.perf_counter() - t) * 1e3)
print(f"{statistics.median(ts):.4f}")
