/* The few CUDA types and codes ctxguard needs, declared here so the shim builds without a CUDA
 * toolkit (CI has none). Values checked against CUDA 13.0's cuda.h / driver_types.h. */
#ifndef CTXGUARD_CUDA_ABI_H
#define CTXGUARD_CUDA_ABI_H

#include <stddef.h>

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

typedef int CUresult;
typedef int cudaError_t;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
typedef unsigned long long cuuint64_t;
typedef int CUdriverProcAddressQueryResult;
typedef int cudaDriverEntryPointQueryResult;
typedef struct CUexecAffinityParam_st CUexecAffinityParam;
typedef struct CUctxCreateParams_st CUctxCreateParams;
typedef struct { unsigned int x, y, z; } cg_dim3;
/* Resource tracking (track/resources.c): what allocation, stream and event calls pass. */
typedef unsigned long long CUdeviceptr;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUmemPoolHandle_st *CUmemoryPool;
typedef struct CUmemPoolHandle_st *cudaMemPool_t;
typedef struct cudaArray *cudaArray_t;
typedef struct CUarray_st *CUarray;
struct cudaChannelFormatDesc { int x, y, z, w; int f; };
struct cudaPitchedPtr { void *ptr; size_t pitch, xsize, ysize; };
struct cudaExtent { size_t width, height, depth; };
/* Launches (CHECK rows): passed on, never read. */
typedef struct CUfunc_st *CUfunction;
typedef struct CUlaunchConfig_st CUlaunchConfig;

enum {
    CG_SUCCESS = 0,
    CG_ERR_INVALID_VALUE = 1,
    CG_ERR_NOT_INITIALIZED = 3,
    CG_ERR_SYMBOL_NOT_FOUND = 302, /* CUDA_ERROR_/cudaErrorSharedObjectSymbolNotFound */
    CG_ERR_NOT_PERMITTED = 800,    /* CUDA_ERROR_/cudaErrorNotPermitted */
};

#pragma GCC visibility pop

#endif
