#!/usr/bin/env python3
"""Holds GPU memory through the CUDA driver API (ctypes against libcuda.so.1; no torch needed).

Usage: cuda_hold.py MIB
Prints "READY <pid> <pgid> <MiB>" once the memory is allocated, then sleeps until killed.
Used by bench/gpu/real-gpu-check.sh to play a model worker (or an unrelated process) on a real GPU.
"""
import ctypes
import os
import sys
import time


def check(rc, what):
    if rc != 0:
        sys.stderr.write(f"cuda_hold: {what} failed with CUresult {rc}\n")
        sys.exit(2)


def main():
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    cuda = ctypes.CDLL("libcuda.so.1")
    check(cuda.cuInit(0), "cuInit")
    device = ctypes.c_int(0)
    check(cuda.cuDeviceGet(ctypes.byref(device), 0), "cuDeviceGet")
    context = ctypes.c_void_p()
    rc = cuda.cuCtxCreate_v2(ctypes.byref(context), 0, device) if hasattr(cuda, "cuCtxCreate_v2") else -1
    if rc != 0:
        # Newer drivers may drop the old entry point: the primary context does the same job here.
        check(cuda.cuDevicePrimaryCtxRetain(ctypes.byref(context), device), "cuDevicePrimaryCtxRetain")
        check(cuda.cuCtxSetCurrent(context), "cuCtxSetCurrent")
    pointer = ctypes.c_uint64()
    check(cuda.cuMemAlloc_v2(ctypes.byref(pointer), ctypes.c_size_t(mib << 20)), "cuMemAlloc_v2")
    # Touch it so the allocation is real.
    check(cuda.cuMemsetD8_v2(pointer, ctypes.c_ubyte(1), ctypes.c_size_t(mib << 20)), "cuMemsetD8_v2")
    print(f"READY {os.getpid()} {os.getpgid(0)} {mib}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
