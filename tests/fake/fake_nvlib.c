/* A stand-in for an NVIDIA math library (built as libcublas.so.13, so ctxguard classes it as one):
 * it calls the runtime on its caller's behalf, as cuBLAS or cuDNN do. */
#include <cuda_runtime_api.h>
#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT int fakeblas_upload(void **dev, const void *src, size_t n)
{
    cudaError_t r = cudaMalloc(dev, n);
    if (r)
        return r;
    r = cudaMemcpy(*dev, src, n, cudaMemcpyHostToDevice);
    return r;
}

EXPORT int fakeblas_download(void *dst, const void *dev, size_t n)
{
    cudaError_t r = cudaMemcpy(dst, dev, n, cudaMemcpyDeviceToHost);
    return r;
}
