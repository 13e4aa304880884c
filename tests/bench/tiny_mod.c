/* The smallest CUDA-using module, copied thousands of times by the scale benchmark (scale.c). */
#include <cuda_runtime_api.h>

__attribute__((visibility("default"))) int tiny_call(void)
{
    int d = -1;
    int r = cudaGetDevice(&d);
    return r ? r : d; /* not a tail call: the runtime sees this module as the caller */
}
