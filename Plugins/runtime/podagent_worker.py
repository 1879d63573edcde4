"""podagent's worker runtime: the protocol a model worker speaks with podagent (docs/worker-protocol.md).

A model's worker.py defines a class with `load(self, context)` and `infer(self, inputs, options)`
(and optionally `cleanup(self)` and `reset(self)`), then calls `serve(MyModel())`.

Protocol: one JSON object per line. podagent writes requests to the worker's stdin; the worker
answers on the descriptor that was its stdout. Everything else the model prints (stdout included)
goes to stderr, so a stray print() can never corrupt the protocol.
"""
import gc
import json
import os
import sys
import time
import traceback

PROTOCOL_VERSION = 1


class BadInput(Exception):
    """The request's inputs are wrong: podagent answers 400 and never retries it."""


class ModelFailure(Exception):
    """The model failed on a valid input."""


def _protocol_stream():
    # Keep the real stdout for protocol messages, then point fd 1 (and sys.stdout) at stderr.
    fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(fd, "w", buffering=1, encoding="utf-8")


def gpu_memory_mib():
    """GPU memory this process holds through torch, or None without torch/CUDA."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if torch.cuda.is_available():
            return torch.cuda.memory_reserved() / (1024 * 1024)
    except Exception:  # a broken driver must not break the answer
        return None
    return None


def free_gpu_caches():
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:
            pass


def to_jsonable(value):
    """tensor.tolist()/ndarray.tolist() for whatever the model returned, keys kept."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return value.detach().cpu().tolist()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None  # NaN is not JSON; parsers see null and report it
    return value


class Context:
    """What podagent tells a worker at start (from the manifest and the environment)."""

    def __init__(self, environ):
        self.model = environ.get("PODAGENT_MODEL", "")
        self.config = environ.get("PODAGENT_MODEL_CONFIG", "")
        self.checkpoint = environ.get("PODAGENT_MODEL_CHECKPOINT", "")
        self.device = environ.get("PODAGENT_DEVICE", "cuda:0")
        self.options = json.loads(environ.get("PODAGENT_WORKER_OPTIONS", "{}") or "{}")


def serve(model, environ=None, stdin=None):
    environ = os.environ if environ is None else environ
    out = _protocol_stream()
    stdin = sys.stdin if stdin is None else stdin

    def send(message):
        out.write(json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n")
        out.flush()

    started = time.monotonic()
    try:
        model.load(Context(environ))
    except Exception as error:
        send({"type": "fatal", "kind": "load_failed", "message": f"{type(error).__name__}: {error}",
              "traceback": traceback.format_exc()})
        return 3
    send({"type": "ready", "protocol": PROTOCOL_VERSION, "pid": os.getpid(),
          "load_s": time.monotonic() - started, "gpu_memory_mib": gpu_memory_mib()})

    for line in stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
        except ValueError as error:
            send({"type": "error", "id": None, "kind": "protocol", "message": f"not JSON: {error}", "traceback": ""})
            continue
        kind = request.get("type")
        if kind == "infer":
            request_id = request.get("id")
            t0 = time.monotonic()
            try:
                raw = model.infer(request.get("inputs") or {}, request.get("options") or {})
                raw = to_jsonable(raw)
                t1 = time.monotonic()
                send({"type": "result", "id": request_id, "raw": raw,
                      "timings": {"inference_s": t1 - t0}, "gpu_memory_mib": gpu_memory_mib()})
            except BadInput as error:
                send({"type": "error", "id": request_id, "kind": "bad_input", "message": str(error), "traceback": ""})
            except MemoryError as error:
                send({"type": "error", "id": request_id, "kind": "oom", "message": str(error),
                      "traceback": traceback.format_exc()})
            except Exception as error:
                kind_name = "oom" if "out of memory" in str(error).lower() else "model_error"
                send({"type": "error", "id": request_id, "kind": kind_name,
                      "message": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()})
            finally:
                free_gpu_caches()
        elif kind == "cleanup":
            if hasattr(model, "cleanup"):
                model.cleanup()
            free_gpu_caches()
            send({"type": "cleaned", "gpu_memory_mib": gpu_memory_mib()})
        elif kind == "reset":
            if hasattr(model, "reset"):
                model.reset()
            send({"type": "reset_done"})
        elif kind == "shutdown":
            send({"type": "bye"})
            return 0
        else:
            send({"type": "error", "id": request.get("id"), "kind": "protocol",
                  "message": f"unknown request type {kind!r}", "traceback": ""})
    return 0
