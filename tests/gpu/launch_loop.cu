// Launch-heavy loop: many tiny kernels, the case where any per-launch overhead would show.
// Prints microseconds per launch (wall clock over N launches, synchronised at the end).
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <cuda_runtime.h>

__global__ void tiny(int *p) { if (threadIdx.x == 0 && blockIdx.x == 0) p[0] += 1; }

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    int *d;
    if (cudaMalloc(&d, sizeof(int)) != cudaSuccess) return 1;
    cudaMemset(d, 0, sizeof(int));
    for (int i = 0; i < 1000; i++) tiny<<<1, 32>>>(d);
    cudaDeviceSynchronize();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; i++) tiny<<<1, 32>>>(d);
    cudaDeviceSynchronize();
    auto t1 = std::chrono::steady_clock::now();
    int h = 0;
    cudaMemcpy(&h, d, sizeof(int), cudaMemcpyDeviceToHost);
    if (h != n + 1000) { fprintf(stderr, "launch_loop: counter %d, want %d\n", h, n + 1000); return 1; }
    printf("%.4f\n", std::chrono::duration<double, std::micro>(t1 - t0).count() / n);
    return 0;
}
