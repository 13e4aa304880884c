"""PyTorch scenario: a tensor lives on the GPU; another module (here: ctypes on torch's own
libcudart) calls cudaDeviceReset. Exit 0 when the tensor is intact and arithmetic still right,
1 when it was lost (the error is printed), 2 when the test itself could not run."""
import ctypes, sys
try:
    import torch
except Exception as e:  # pragma: no cover
    print("no torch:", e); sys.exit(2)
if not torch.cuda.is_available():
    print("no GPU"); sys.exit(2)
x = torch.arange(1 << 20, device="cuda", dtype=torch.float32)
want = (torch.arange(1 << 20, dtype=torch.float64) * 3 + 1)
torch.cuda.synchronize()
cudart = ctypes.CDLL("libcudart.so.13")   # the same soname torch loaded: the same library
r = cudart.cudaDeviceReset()
print("cudaDeviceReset returned", r)
try:
    y = (x * 3 + 1).double().cpu()
    torch.cuda.synchronize()
except Exception as e:
    print("tensor lost:", str(e).splitlines()[0]); sys.exit(1)
if not torch.equal(y, want):
    print("tensor values wrong"); sys.exit(1)
print("tensor intact, arithmetic right"); sys.exit(0)
