/*
 * sgl.h — the stable C ABI of libsgl (C99).
 *
 * This header is self-contained and grows by addition only: signatures never change in place.
 * Thread-safety: functions declared here may be called from any thread.
 */
#ifndef SGL_H
#define SGL_H

#ifdef __cplusplus
extern "C" {
#endif

/* Incremented on every incompatible change; it is also the shared library's soname suffix. */
#define SGL_ABI_VERSION 0

#if defined(_WIN32)
#define SGL_EXPORT __declspec(dllexport)
#else
#define SGL_EXPORT __attribute__((visibility("default")))
#endif

/* Library version as "MAJOR.MINOR.PATCH"; a static string, never freed. @since 0.1 */
SGL_EXPORT const char* sgl_version(void);

/* The ABI version the library was built with; compare with SGL_ABI_VERSION. @since 0.1 */
SGL_EXPORT int sgl_abi_version(void);

#ifdef __cplusplus
}
#endif

#endif /* SGL_H */
