"""CudaDemo: the SYNTHETIC Demo worker holding real GPU memory (bench/gpu/live-engine/check.sh).

At load it allocates `hold_mib` through the CUDA driver API (bench/gpu/cuda_hold.py's way: ctypes,
no torch) and starts a child in its own process group that holds `child_hold_mib` and ignores
SIGTERM, as a model's data-loader helper might. Requests are answered by the Demo model.
"""
import ctypes
import json
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEMO = os.environ.get("CUDADEMO_DEMO_DIR", os.path.join(HERE, "..", "..", "..", "..", "Plugins", "Demo"))
HOLD = os.environ.get("CUDADEMO_HOLD", os.path.join(HERE, "..", "..", "cuda_hold.py"))
sys.path.insert(0, DEMO)

import worker as demo  # noqa: E402
from podagent_worker import serve  # noqa: E402


class CudaDemo(demo.Demo):
    def load(self, context):
        super().load(context)
        options = json.loads(os.environ.get("PODAGENT_WORKER_OPTIONS") or "{}")
        cuda = ctypes.CDLL("libcuda.so.1")
        assert cuda.cuInit(0) == 0
        device = ctypes.c_int(0)
        assert cuda.cuDeviceGet(ctypes.byref(device), 0) == 0
        self.context = ctypes.c_void_p()
        assert cuda.cuDevicePrimaryCtxRetain(ctypes.byref(self.context), device) == 0
        assert cuda.cuCtxSetCurrent(self.context) == 0
        self.pointer = ctypes.c_uint64()
        size = int(options.get("hold_mib", 2048)) << 20
        assert cuda.cuMemAlloc_v2(ctypes.byref(self.pointer), ctypes.c_size_t(size)) == 0
        assert cuda.cuMemsetD8_v2(self.pointer, ctypes.c_ubyte(1), ctypes.c_size_t(size)) == 0
        # A helper in the worker's group that outlives SIGTERM: only the group SIGKILL ends it.
        self.child = subprocess.Popen(
            [sys.executable, "-c", "import signal,runpy,sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
             "sys.argv=[sys.argv[1], sys.argv[2]]; runpy.run_path(sys.argv[0], run_name='__main__')",
             HOLD, str(int(options.get("child_hold_mib", 1024)))],
            stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
        line = self.child.stdout.readline()
        sys.stderr.write(f"cudademo: worker {os.getpid()} holds {size >> 20} MiB; helper says {line.strip()}\n")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    raise SystemExit(serve(CudaDemo()))
