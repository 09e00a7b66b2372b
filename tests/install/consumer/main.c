#include <sgl.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  if (sgl_abi_version() != SGL_ABI_VERSION) return 1;
  printf("sgl %s\n", sgl_version());
  return strlen(sgl_version()) > 0 ? 0 : 1;
}
