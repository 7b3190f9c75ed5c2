/*
 * A stand-in libnvidia-ml.so.1 for the image test: NVML initialises and
 * reports no devices. It is linked against libpthread, libdl, librt and
 * libm as the driver's library is, so loading it needs those in the image.
 */
typedef int nvmlReturn_t;

nvmlReturn_t nvmlInit_v2(void) { return 0; }
nvmlReturn_t nvmlInit(void) { return 0; }
nvmlReturn_t nvmlShutdown(void) { return 0; }
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) { *count = 0; return 0; }
nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) { *count = 0; return 0; }
const char *nvmlErrorString(nvmlReturn_t r) { return r == 0 ? "Success" : "fake NVML error"; }
