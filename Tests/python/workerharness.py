"""Test support: runs a real worker.py as a subprocess speaking the protocol, with the STAND-IN
torch/mmcv/mmdet3d (Tests/python/standins) first on PYTHONPATH and a stand-in upstream checkout
(Tests/python/checkouts/<Model>). No model weights or GPU exist here; the checkpoint is a dummy file."""
import json
import math
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PLUGINS = os.path.join(ROOT, "Plugins")
RUNTIME = os.path.join(PLUGINS, "runtime")
STANDINS = os.path.join(HERE, "standins")
CHECKOUTS = os.path.join(HERE, "checkouts")

CONFIGS = {
    "PETR": "projects/configs/petr/petr_r50dcn_gridmask_p4.py",
    "StreamPETR": "projects/configs/StreamPETR/stream_petr_vov_flash_800_bs2_seq_24e.py",
    "MapTR": "projects/configs/maptr/maptr_tiny_r50_24e.py",
    "VAD": "projects/configs/VAD/VAD_base_stage_2.py",
    "TopoMLP": "projects/configs/topomlp_setA_r50_wo_yolov8.py",
}
CAMERAS = {"PETR": 6, "StreamPETR": 6, "MapTR": 6, "VAD": 6, "TopoMLP": 7}


class WorkerProcess:
    """One worker process; every stdout line must be a protocol message (JSON object)."""

    def __init__(self, model, device="cuda:0", env=None, checkpoint=True, options=None):
        self.model = model
        self.dir = tempfile.mkdtemp(prefix=f"podagent-{model}-")
        self.log_path = os.path.join(self.dir, "standin.log")
        self.checkpoint = os.path.join(self.dir, "weights.pth")
        if checkpoint:
            with open(self.checkpoint, "wb") as handle:
                handle.write(b"stand-in checkpoint, no weights")
        self.config = os.path.join(CHECKOUTS, model, CONFIGS[model]) if model in CONFIGS else ""  # the Demo has none
        environ = dict(os.environ)
        environ.update({
            "PYTHONPATH": os.pathsep.join([STANDINS, RUNTIME]),
            "PODAGENT_MODEL": model,
            "PODAGENT_MODEL_CONFIG": self.config,
            "PODAGENT_MODEL_CHECKPOINT": self.checkpoint,
            "PODAGENT_DEVICE": device,
            "PODAGENT_WORKER_OPTIONS": json.dumps(options or {}),
            "STANDIN_LOG": self.log_path,
            "STANDIN_FAIL_FILE": os.path.join(self.dir, "fail-next"),
            "PYTHONUNBUFFERED": "1",
        })
        environ.update(env or {})
        self.stderr_path = os.path.join(self.dir, "stderr.txt")
        self.stderr = open(self.stderr_path, "wb")
        # The command the manifests give: [python3, "{plugin_dir}/worker.py"].
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(PLUGINS, model, "worker.py")], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.stderr, env=environ, cwd=self.dir)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.process.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def _fill(self, done, deadline, timeout):
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.model}: no answer within {timeout}s; stderr: {self.stderr_text()[-2000:]}")
            if not self.selector.select(left):
                continue
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"{self.model}: worker closed stdout (exit {self.process.wait()}); "
                                     f"stderr: {self.stderr_text()[-3000:]}")
            self.buffer += chunk

    def recv(self, timeout=60):
        """The next message; tensor frames (protocol 2) are read after its line and put in `raw`
        as numpy arrays, the way podagent reads them (an independent reader, in Python)."""
        deadline = time.monotonic() + timeout
        self._fill(lambda: b"\n" in self.buffer, deadline, timeout)
        line, self.buffer = self.buffer.split(b"\n", 1)
        self.last_line_bytes = len(line) + 1
        try:
            message = json.loads(line)
        except ValueError:
            raise AssertionError(f"{self.model}: stdout line is not a protocol message: {line[:200]!r}") from None
        if not isinstance(message, dict) or "type" not in message:
            raise AssertionError(f"{self.model}: stdout line is not a protocol message: {line[:200]!r}")
        for header in message.pop("frames", None) or ():
            self._fill(lambda: len(self.buffer) >= header["bytes"], deadline, timeout)
            data, self.buffer = self.buffer[:header["bytes"]], self.buffer[header["bytes"]:]
            array = frame_array(header, data)
            place, last = message, "raw"
            for step in header["path"]:
                place, last = place[last], step
            assert place[last] is None, f"frame {header}: its place holds {place[last]!r}, not null"
            place[last] = array
            message.setdefault("framed", []).append(header)
        return message

    def send(self, message):
        data = message if isinstance(message, (bytes, bytearray)) else (json.dumps(message) + "\n").encode()
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def request(self, message, timeout=60):
        self.send(message)
        return self.recv(timeout)

    def infer(self, inputs, options=None, request_id="r1"):
        return self.request({"type": "infer", "id": request_id, "inputs": inputs, "options": options or {}})

    def fail_next(self, fault):
        """The stand-in model raises `fault` (oom, oom-new, model-error) on its next forward."""
        with open(os.path.join(self.dir, "fail-next"), "w") as handle:
            handle.write(fault)

    def events(self, name=None):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path, encoding="utf-8") as handle:
            events = [json.loads(line) for line in handle if line.strip()]
        return [e for e in events if name is None or e["event"] == name]

    def stderr_text(self):
        self.stderr.flush()
        with open(self.stderr_path, "rb") as handle:
            return handle.read().decode(errors="replace")

    def shutdown(self):
        bye = self.request({"type": "shutdown"})
        code = self.process.wait(timeout=30)
        return bye, code

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process.stdin.close()
        self.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


WIRE_DTYPES = {"float32": "<f4", "float64": "<f8", "int32": "<i4", "int64": "<i8", "uint8": "|u1", "bool": "|b1"}


def frame_array(header, data):
    """A frame's bytes as the numpy array its header describes (checked: bytes = elements x width)."""
    import numpy
    dtype = numpy.dtype(WIRE_DTYPES[header["dtype"]])
    count = 1
    for size in header["shape"]:
        count *= size
    assert header["bytes"] == count * dtype.itemsize == len(data), header
    return numpy.frombuffer(data, dtype=dtype).reshape(header["shape"])


def as_lists(value):
    """numpy arrays (from frames) as the lists the JSON answer holds: tolist(), NaN and infinities as None."""
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: as_lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_lists(v) for v in value]
    return value


def _rotation_z(angle):
    c, s = math.cos(angle), math.sin(angle)
    return [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]


def quaternion_z(angle):
    return [math.cos(angle / 2), 0.0, 0.0, math.sin(angle / 2)]


def make_sample(model, folder, scene="scene-0001", timestamp=1533151603.5, sample_id="sample-1"):
    """A sample description (docs/inputs.md) whose files exist under `folder`."""
    count = CAMERAS[model]
    images = []
    for index in range(count):
        path = os.path.join(folder, f"{sample_id}-cam{index}.jpg")
        with open(path, "wb") as handle:
            handle.write(b"\xff\xd8 stand-in image bytes")
        images.append(path)
    camera_to_lidar = [[[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]] * count  # camera looks along lidar x
    sample = {
        "sample_id": sample_id,
        "scene_token": scene,
        "timestamp": timestamp,
        "img_paths": images,
        "cam_intrinsic": [[[1266.4, 0.0, 816.3], [0.0, 1266.4, 491.5], [0.0, 0.0, 1.0]]] * count,
        "sensor2lidar_rotation": camera_to_lidar,
        "sensor2lidar_translation": [[0.5, 0.0, -0.3]] * count,
    }
    if model == "TopoMLP":
        sample.update({"ego2global_rotation": _rotation_z(0.3), "ego2global_translation": [100.0, 200.0, 0.0]})
        return sample
    lidar = os.path.join(folder, f"{sample_id}.pcd.bin")
    with open(lidar, "wb") as handle:
        handle.write(b"\x00" * 20)
    sample.update({
        "lidar_path": lidar,
        "lidar2ego_rotation": quaternion_z(-math.pi / 2),
        "lidar2ego_translation": [0.94, 0.0, 1.84],
        "ego2global_rotation": quaternion_z(2.0),
        "ego2global_translation": [411.3, 1180.9, 0.0],
    })
    if model in ("MapTR", "VAD"):
        sample["can_bus"] = [0.0] * 7 + [1.0, 0.0, 9.8, 0.0, 0.0, 0.1, 5.0, 0.0, 0.0, 0.0, 0.0]
    if model == "VAD":
        sample["ego_fut_cmd"] = "go_straight"
    return sample
