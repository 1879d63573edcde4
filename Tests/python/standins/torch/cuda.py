"""STAND-IN for torch.cuda (tests only): pretends a GPU whose caching allocator numbers it tracks."""
import os

from standin_log import record as _record

_MIB = 1024 * 1024
_state = {"initialized": False, "allocated": 0, "reserved": 0}


class OutOfMemoryError(RuntimeError):
    """Like torch.cuda.OutOfMemoryError (torch >= 1.13)."""


def is_available():
    return os.environ.get("STANDIN_CUDA", "1") != "0"


def is_initialized():
    return _state["initialized"]


def set_device(device):
    _state["initialized"] = True
    _record("torch.cuda.set_device", device=str(device))


def standin_use(mib_allocated, mib_cached):
    """Stand-in only: the model 'holds' mib_allocated in tensors and mib_cached more in the cache."""
    _state["initialized"] = True
    _state["allocated"] = mib_allocated * _MIB
    _state["reserved"] = (mib_allocated + mib_cached) * _MIB


def memory_allocated(device=None):
    return _state["allocated"]


def memory_reserved(device=None):
    return _state["reserved"]


def synchronize(device=None):
    _record("torch.cuda.synchronize")


def empty_cache():
    _state["reserved"] = _state["allocated"]
    _record("torch.cuda.empty_cache", reserved_mib=_state["reserved"] / _MIB)


# What the GPU-compatibility check asks (Plugins/runtime/podagent_gpu.py). Knobs:
# STANDIN_CUDA_CAPABILITY ("8.6"), STANDIN_CUDA_NAME, STANDIN_TORCH_ARCH_LIST (space-separated, torch's
# spelling; default: what torch 1.9 + CUDA 11.1 wheels list), STANDIN_CUDA_COUNT ("1").
def device_count():
    return int(os.environ.get("STANDIN_CUDA_COUNT", "1")) if is_available() else 0


def get_device_capability(device=None):
    major, _, minor = os.environ.get("STANDIN_CUDA_CAPABILITY", "8.6").partition(".")
    return int(major), int(minor or 0)


def get_device_name(device=None):
    return os.environ.get("STANDIN_CUDA_NAME", "STAND-IN GPU (not a real device)")


def get_arch_list():
    return os.environ.get("STANDIN_TORCH_ARCH_LIST", "sm_37 sm_50 sm_60 sm_70 sm_75 sm_80 sm_86").split()
