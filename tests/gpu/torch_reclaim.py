"""Issue 15 with PyTorch: a tensor lives on the GPU while a plugin (loaded with ctypes, RTLD_LOCAL)
allocates PLUG_ALLOC_MB MiB and calls cudaDeviceReset, three times. Under ctxguard with
CTXGUARD_RECLAIM=1 the resets are reclaimed: exit 0 when the tensor is intact and the device memory
in use (torch.cuda.mem_get_info) is back where it was, within 256 MiB; 1 when the tensor was lost or
memory grew; 2 when the test itself could not run."""
import ctypes, os, sys
try:
    import torch
except Exception as e:  # pragma: no cover
    print("no torch:", e); sys.exit(2)
if not torch.cuda.is_available() or len(sys.argv) < 2:
    print("no GPU, or no plugin given"); sys.exit(2)
x = torch.arange(1 << 20, device="cuda", dtype=torch.float32)
want = torch.arange(1 << 20, dtype=torch.float64) * 3 + 1
torch.cuda.synchronize()
free0, total = torch.cuda.mem_get_info()
plug = ctypes.CDLL(sys.argv[1], mode=os.RTLD_LOCAL)
for i in range(3):
    r1, r2 = plug.plug_alloc(), plug.plug_reset()
    print(f"cycle {i}: plug_alloc {r1}, plug_reset {r2}")
try:
    y = (x * 3 + 1).double().cpu()
    torch.cuda.synchronize()
except Exception as e:
    print("tensor lost:", str(e).splitlines()[0]); sys.exit(1)
if not torch.equal(y, want):
    print("tensor values wrong"); sys.exit(1)
free1, _ = torch.cuda.mem_get_info()
grown = (free0 - free1) / 2**20
print(f"tensor intact; device memory in use grew by {grown:.0f} MiB over 3 cycles")
sys.exit(0 if grown < 256 else 1)
