/* A stand-in for an NVIDIA math library (built as libcublas.so.13, so ctxguard classes it as one):
 * it calls the runtime on its caller's behalf, as cuBLAS or cuDNN do. */
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

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

/* Frees through the driver's cuMemFree, as a library that allocated through the runtime may: the
 * pointer comes from cuGetProcAddress, which hands NVIDIA's libraries the real function (issue 15: a
 * free ctxguard does not see). */
EXPORT int fakeblas_free_driver(void *dev)
{
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    CUresult (*gpa)(const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *) =
        h ? (CUresult(*)(const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *))dlsym(h, "cuGetProcAddress_v2")
          : NULL;
    CUresult (*mem_free)(CUdeviceptr) = NULL;
    CUdriverProcAddressQueryResult st;
    if (h)
        dlclose(h);
    if (!gpa || gpa("cuMemFree", (void **)&mem_free, 12000, 0, &st) || !mem_free)
        return -2;
    return mem_free((CUdeviceptr)dev);
}

/* Allocates a workspace of the library's own through the driver's cuMemAlloc, as cuBLAS's static
 * runtime does: the pointer comes from cuGetProcAddress, which hands NVIDIA's libraries the real
 * function (an allocation ctxguard does not see). */
EXPORT int fakeblas_workspace_driver(void **dev, size_t n)
{
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    CUresult (*gpa)(const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *) =
        h ? (CUresult(*)(const char *, void **, int, cuuint64_t, CUdriverProcAddressQueryResult *))dlsym(h, "cuGetProcAddress_v2")
          : NULL;
    CUresult (*mem_alloc)(CUdeviceptr *, size_t) = NULL;
    CUdriverProcAddressQueryResult st;
    CUdeviceptr p = 0;
    if (h)
        dlclose(h);
    if (!gpa || gpa("cuMemAlloc", (void **)&mem_alloc, 12000, 0, &st) || !mem_alloc)
        return -2;
    CUresult r = mem_alloc(&p, n);
    *dev = (void *)(uintptr_t)p;
    return r;
}
