"""podagent's worker runtime: the protocol a model worker speaks with podagent (docs/worker-protocol.md).

A model's worker.py defines a class with `load(self, context)` and `infer(self, inputs, options)`
(and optionally `cleanup(self)` and `reset(self)`), then calls `serve(MyModel())`.

Protocol: one JSON object per line. podagent writes requests to the worker's stdin; the worker
answers on the descriptor that was its stdout. Everything else the process prints (Python's
sys.stdout and anything C code writes to fd 1) goes to stderr, so a stray print() can never
corrupt the protocol. From protocol 2 on (offered by podagent in PODAGENT_PROTOCOL), a `result`
line may declare tensor frames: the raw bytes of the model's numeric tensors (numpy arrays, torch
tensors on any device), which follow the line, instead of the tensors as JSON lists.

This module imports neither torch nor numpy: the Demo worker runs without them. torch is only
looked at when the model has imported it already (a process that never imported torch holds no
GPU memory through it).
"""
import gc
import json
import math
import os
import sys
import time
import traceback

import podagent_gpu

PROTOCOL_VERSION = 2
_MIB = 1024.0 * 1024.0

# The dtypes a tensor frame may carry (little-endian, C order), and the numpy type of each.
WIRE_DTYPES = {"float32": "<f4", "float64": "<f8", "int32": "<i4", "int64": "<i8", "uint8": "|u1", "bool": "|b1"}
# numpy's (kind, itemsize) -> the wire dtype it is sent as; a kind or size not listed goes as JSON.
# float16 is widened to float32 and small integers to int32, exactly (the agent reads them as numbers).
_WIRE_OF = {("f", 2): "float32", ("f", 4): "float32", ("f", 8): "float64",
            ("i", 1): "int32", ("i", 2): "int32", ("i", 4): "int32", ("i", 8): "int64",
            ("u", 1): "uint8", ("u", 2): "int32", ("u", 4): "int64", ("b", 1): "bool"}


def negotiated_protocol(environ):
    """The protocol this worker speaks: the highest both sides know. podagent offers its own in
    PODAGENT_PROTOCOL; an agent that does not (or a test harness) gets protocol 1, plain JSON."""
    try:
        offered = int(environ.get("PODAGENT_PROTOCOL", "1"))
    except ValueError:
        offered = 1
    return max(1, min(PROTOCOL_VERSION, offered))


class BadInput(Exception):
    """The request's inputs are wrong: podagent answers 400 and never retries it."""


class ModelFailure(Exception):
    """The model failed on a valid input (kind `model_error`)."""


def _protocol_stream():
    # Keep the real stdout for protocol messages, then point fd 1 (and sys.stdout) at stderr.
    # Binary: a line and the frames after it are written, then flushed, as one answer.
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "wb", buffering=1 << 16)


def _torch():
    return sys.modules.get("torch")


def gpu_memory_mib():
    """GPU memory this process holds through torch's caching allocator, in MiB.

    Reports `torch.cuda.memory_reserved()` (what the allocator holds from the driver: what other
    processes cannot use), not `memory_allocated()` (what live tensors use). None without torch or
    CUDA; 0.0 while CUDA was never initialised (asking would create a CUDA context).
    """
    torch = _torch()
    if torch is None:
        return None
    try:
        if not torch.cuda.is_available():
            return None
        is_initialized = getattr(torch.cuda, "is_initialized", None)
        if is_initialized is not None and not is_initialized():
            return 0.0
        return torch.cuda.memory_reserved() / _MIB
    except Exception:  # a broken driver must not break the answer
        return None


def synchronize_gpu():
    """Waits for the CUDA kernels queued so far (when torch has initialised CUDA): the model's
    compute ends here, not when its output is first copied to the CPU."""
    torch = _torch()
    if torch is None:
        return
    try:
        is_initialized = getattr(torch.cuda, "is_initialized", None)
        if torch.cuda.is_available() and (is_initialized is None or is_initialized()):
            torch.cuda.synchronize()
    except Exception:  # noqa: BLE001 - a broken driver shows up in the answer's conversion instead
        pass


def free_gpu_caches():
    """gc, then hand torch's cached blocks back to the driver (when torch and CUDA are there)."""
    gc.collect()
    torch = _torch()
    if torch is None:
        return
    try:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:
        pass


def is_oom(error):
    """True for CUDA out-of-memory: torch.cuda.OutOfMemoryError (torch >= 1.13) or the RuntimeError
    older torch raises ('CUDA out of memory'), and Python's MemoryError."""
    if isinstance(error, MemoryError):
        return True
    torch = _torch()
    oom_type = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None) if torch is not None else None
    if isinstance(oom_type, type) and isinstance(error, oom_type):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def _finite(value):
    """tolist()'s output with NaN and infinities as None (in place: tolist() made fresh lists)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        isfinite = math.isfinite
        for i, item in enumerate(value):
            kind = type(item)
            if kind is float:
                if not isfinite(item):
                    value[i] = None
            elif kind is list:
                _finite(item)
    return value


def _place(root, where):
    return root + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in where)


def to_jsonable(value, path="raw", frames=None, where=()):
    """What the model returned, as JSON values: tensors (any device) and numpy arrays with
    `tolist()`, mmdet3d box structures through their `.tensor`, tuples as lists, dict keys kept
    (as strings), NaN and +-inf as null. Anything else raises TypeError naming where it is.

    With `frames` (a list), every numpy array and torch tensor of at least one dimension and a
    dtype in WIRE_DTYPES' reach is appended to it as a `Frame` instead, and its place in the JSON
    holds null: `where` is that place as keys and list indices from the root."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, path, frames, where + (str(k),)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # Plain numbers inline (a list of lists of floats is the common case); the place is only
        # spelled out for an error.
        isfinite = math.isfinite
        out = []
        for i, item in enumerate(value):
            kind = type(item)
            if kind is float:
                out.append(item if isfinite(item) else None)
            elif kind is int or kind is str or kind is bool or item is None:
                out.append(item)
            else:
                out.append(to_jsonable(item, path, frames, where + (i,)))
        return out
    # mmdet3d's BaseInstance3DBoxes (LiDARInstance3DBoxes...) keeps its (N, box_dim) tensor in .tensor.
    if hasattr(value, "box_dim") and hasattr(value, "tensor"):
        return to_jsonable(value.tensor, path, frames, where)
    if hasattr(value, "detach") and hasattr(value, "cpu") and hasattr(value, "tolist"):
        if frames is not None:
            frame = Frame.of_torch(value, where)
            if frame is not None:
                frames.append(frame)
                return None
        return _finite(value.detach().cpu().tolist())
    if frames is not None and _is_ndarray(value):
        frame = Frame.of_numpy(value, where)
        if frame is not None:
            frames.append(frame)
            return None
    if hasattr(value, "tolist"):  # numpy arrays and numpy scalars
        return _finite(value.tolist())
    raise TypeError(f"{_place(path, where)}: cannot turn a {type(value).__module__}.{type(value).__name__} into JSON")


def _is_ndarray(value):
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


class Frame:
    """One tensor sent as bytes: where it sits in `raw`, its wire dtype, and a C-contiguous
    little-endian numpy array holding exactly the bytes that go on the wire."""

    __slots__ = ("path", "dtype", "array")

    def __init__(self, path, dtype, array):
        self.path = path
        self.dtype = dtype
        self.array = array

    @property
    def header(self):
        return {"path": list(self.path), "dtype": self.dtype, "shape": list(self.array.shape), "bytes": self.array.nbytes}

    @classmethod
    def of_numpy(cls, array, path):
        """The frame for a numpy array, or None when it goes as JSON (0-d, or a dtype with no wire form)."""
        if array.ndim == 0:
            return None
        wire = _WIRE_OF.get((array.dtype.kind, array.dtype.itemsize))
        if wire is None:
            return None
        numpy = sys.modules["numpy"]
        # One step: the wire dtype, little-endian, C order; no copy when the array already is.
        return cls(path, wire, numpy.ascontiguousarray(array, dtype=numpy.dtype(WIRE_DTYPES[wire])))

    @classmethod
    def of_torch(cls, tensor, path):
        """The frame for a torch tensor on any device (detached, moved to the CPU, made contiguous;
        float16 and bfloat16 widened to float32), or None when it goes as JSON."""
        tensor = tensor.detach().cpu()
        if str(getattr(tensor, "dtype", "")) in ("torch.float16", "torch.bfloat16", "torch.half"):
            tensor = tensor.float()  # numpy has no bfloat16
        if hasattr(tensor, "contiguous"):
            tensor = tensor.contiguous()
        try:
            array = tensor.numpy()
        except Exception:  # noqa: BLE001 - no numpy, or a dtype numpy lacks: JSON still works
            return None
        return cls.of_numpy(array, path) if _is_ndarray(array) else None


class Context:
    """What podagent tells a worker at start (from the manifest and the environment)."""

    def __init__(self, environ):
        self.model = environ.get("PODAGENT_MODEL", "")
        self.config = environ.get("PODAGENT_MODEL_CONFIG", "")
        self.checkpoint = environ.get("PODAGENT_MODEL_CHECKPOINT", "")
        self.device = environ.get("PODAGENT_DEVICE", "cuda:0") or "cuda:0"
        raw = environ.get("PODAGENT_WORKER_OPTIONS", "") or "{}"
        try:
            options = json.loads(raw)
        except ValueError as error:
            raise ValueError(f"PODAGENT_WORKER_OPTIONS is not JSON: {error}") from None
        if not isinstance(options, dict):
            raise ValueError("PODAGENT_WORKER_OPTIONS must be a JSON object")
        self.options = options


def _error(request_id, kind, message, trace=""):
    return {"type": "error", "id": request_id, "kind": kind, "message": message, "traceback": trace}


def _describe(error):
    return f"{type(error).__name__}: {error}"


_STDLIB = os.path.dirname(os.__file__) + os.sep


def _is_stdlib(filename):
    if filename.startswith("<"):
        return True  # frozen import machinery
    return filename.startswith(_STDLIB) and "-packages" + os.sep not in filename


def raised_at(error):
    """'file:line' of the innermost frame that raised `error` outside Python's own library (the
    import machinery, importlib), i.e. the model's or a package's line that needed it."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not _is_stdlib(f.filename)]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None


def load_failure(error):
    """What a failed load says: the error, and for what the image lacks (a module, a registered
    class) that it is the environment, with the line that needed it."""
    message = _describe(error)
    where = raised_at(error)
    if is_oom(error):
        return "out of GPU memory while loading: " + message
    if isinstance(error, ImportError):
        return f"the image lacks a module the model imports: {message}" + (f" (imported at {where})" if where else "")
    if isinstance(error, KeyError):
        return f"the model's environment lacks what its config names: {message}" + (f" (at {where})" if where else "")
    return message


def _infer(model, request, send, binary):
    request_id = request.get("id")
    inputs = request.get("inputs")
    options = request.get("options")
    if inputs is None:
        inputs = {}
    if options is None:
        options = {}
    if not isinstance(inputs, dict):
        send(_error(request_id, "bad_input", f"'inputs' must be a JSON object, got {type(inputs).__name__}"))
        return
    if not isinstance(options, dict):
        send(_error(request_id, "bad_input", f"'options' must be a JSON object, got {type(options).__name__}"))
        return
    started = time.monotonic()
    frames = [] if binary else None
    try:
        output = model.infer(inputs, options)
        synchronize_gpu()  # kernels the model queued belong to its compute, not to sending the answer
        elapsed = time.monotonic() - started
        raw = to_jsonable(output, frames=frames)
        message = {"type": "result", "id": request_id, "raw": raw, "timings": {"inference_s": elapsed}}
        if frames:
            message["frames"] = [frame.header for frame in frames]
    except BadInput as error:
        message = _error(request_id, "bad_input", str(error))
        frames = None
    except Exception as error:  # noqa: BLE001 - every failure becomes an answer, never a dead worker
        kind = "oom" if is_oom(error) else "model_error"
        message = _error(request_id, kind, _describe(error), traceback.format_exc())
        frames = None
    # Free before answering so the reported GPU memory is what stays held between requests.
    free_gpu_caches()
    message["gpu_memory_mib"] = gpu_memory_mib()
    send(message, frames)


def _hook(model, name, request, send, done):
    hook = getattr(model, name, None)
    try:
        if hook is not None:
            hook()
    except Exception as error:  # noqa: BLE001
        free_gpu_caches()
        send(_error(request.get("id"), "model_error", f"{name} failed: {_describe(error)}", traceback.format_exc()))
        return
    free_gpu_caches()
    if "gpu_memory_mib" in done:
        done["gpu_memory_mib"] = gpu_memory_mib()
    send(done)


def serve(model, environ=None, stdin=None):
    """Loads the model, says ready (or fatal), then answers requests until shutdown or EOF.
    Returns the process exit status: 0 after shutdown/EOF, 3 when loading failed."""
    environ = os.environ if environ is None else environ
    out = _protocol_stream()
    stdin = sys.stdin if stdin is None else stdin

    def send(message, frames=None):
        # No cycle check (~20% of the time for a VAD-sized answer): answers are fresh trees built by
        # to_jsonable, which would hit RecursionError on a cyclic output before getting here.
        # ensure_ascii (the default) keeps the line ASCII, so encoding it is a plain copy.
        line = json.dumps(message, separators=(",", ":"), allow_nan=False, check_circular=False)
        out.write(line.encode("ascii") + b"\n")
        for frame in frames or ():
            out.write(frame.array.data)  # the array's own buffer: no copy
        out.flush()

    started = time.monotonic()
    protocol = negotiated_protocol(environ)
    try:
        context = Context(environ)
        # Before minutes of loading: a GPU none of the image's kernels fit would only fail later,
        # in the middle of a request ("no kernel image is available").
        incompatible = podagent_gpu.check_device(context.device, environ)
    except Exception as error:  # noqa: BLE001
        send({"type": "fatal", "kind": "load_failed", "message": _describe(error), "traceback": traceback.format_exc()})
        return 3
    if incompatible:
        send({"type": "fatal", "kind": "load_failed", "reason": "gpu_incompatible", "message": incompatible, "traceback": ""})
        return 3
    try:
        model.load(context)
    except Exception as error:  # noqa: BLE001
        free_gpu_caches()
        send({"type": "fatal", "kind": "load_failed", "message": load_failure(error), "traceback": traceback.format_exc()})
        return 3
    free_gpu_caches()
    # What exists now (the model, its libraries) lives as long as the worker: freeze it out of the
    # collector, so the gc.collect() after each request walks only what the request made (a full
    # collection over a loaded model's heap costs milliseconds, on every request).
    gc.freeze()
    send({"type": "ready", "protocol": protocol, "pid": os.getpid(), "uid": os.getuid(),
          "load_s": time.monotonic() - started, "gpu_memory_mib": gpu_memory_mib()})

    for line in stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except ValueError as error:
            send(_error(None, "protocol", f"not JSON: {error}"))
            continue
        if not isinstance(request, dict):
            send(_error(None, "protocol", "a request must be a JSON object"))
            continue
        kind = request.get("type")
        if kind == "infer":
            _infer(model, request, send, binary=protocol >= 2)
        elif kind == "cleanup":
            _hook(model, "cleanup", request, send, {"type": "cleaned", "gpu_memory_mib": None})
        elif kind == "reset":
            _hook(model, "reset", request, send, {"type": "reset_done"})
        elif kind == "shutdown":
            free_gpu_caches()
            send({"type": "bye"})
            return 0
        else:
            send(_error(request.get("id"), "protocol", f"unknown request type {kind!r}"))
    return 0
