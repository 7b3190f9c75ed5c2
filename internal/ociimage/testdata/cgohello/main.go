// Command cgohello is the dynamically linked binary ociimage's tests put
// in an image and run with the image's own loader and libraries. Like
// kis-gpu-exporter loading NVML, it dlopens libraries it is not linked
// against, and prints where the loader found each.
package main

// #cgo LDFLAGS: -ldl
// #define _GNU_SOURCE
// #include <dlfcn.h>
// #include <link.h>
// #include <stdio.h>
//
// static int hello(void) {
// 	const char *libs[] = {"libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1"};
// 	puts("hello through the image's libc");
// 	for (int i = 0; i < 4; i++) {
// 		void *h = dlopen(libs[i], RTLD_NOW);
// 		struct link_map *m;
// 		if (h == NULL || dlinfo(h, RTLD_DI_LINKMAP, &m) != 0) {
// 			fprintf(stderr, "%s: %s\n", libs[i], dlerror());
// 			return 1;
// 		}
// 		printf("loaded %s\n", m->l_name);
// 	}
// 	fflush(stdout);
// 	return 0;
// }
import "C"

import "os"

func main() { os.Exit(int(C.hello())) }
