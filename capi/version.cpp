#include "sgl.h"

extern "C" {

SGL_EXPORT const char* sgl_version(void) { return SGL_VERSION_STRING; }

SGL_EXPORT int sgl_abi_version(void) { return SGL_ABI_VERSION_NUM; }

}  // extern "C"
