"""Demo: a SYNTHETIC model for trying and testing podagent without a GPU or weights.

It emits any of the five real raw formats (MapTR, PETR, StreamPETR, TopoMLP, VAD: the shapes of
shared/specs/model-outputs.md), chosen per request with options.raw_format or per worker with the
manifest's worker options. Nothing it returns comes from a real model, and every answer says so:
raw = {"synthetic": true, "format": <raw_format>, "output": <that model's raw output>}.

Options (per request, falling back to the worker options):
  raw_format    maptr | petr | streampetr | topomlp | vad   (default petr)
  infer_time_s  seconds one request takes                     (default 0)
  detections    boxes to emit (capped by each model's maximum)
  fail          crash | error | bad_input | hang | oom       (failure injection)
  fail_once_file  with fail: fail only while this file does not exist (it is created first),
                  so a retried request succeeds
  read_inputs   true: open and read the files the sample names (img_paths, img_path, lidar_path),
                as a real model does, as the user the worker runs as; one it cannot read is bad_input
  nan_scores    make the first N scores of each score tensor non-finite (NaN, +inf, -inf in turn),
                as a model's output can be: sent as null in JSON answers, as themselves in frames
  echo_inputs   true: the answer also holds the inputs as the worker received them (under "inputs"),
                so a client can see what its tensors became on the way (e.g. Triton binary inputs)
  tensors       numpy: the output's tensors are numpy arrays (float32, labels int64), as a real
                model's are: sent as binary tensor frames (protocol 2) or as JSON lists (protocol 1);
                lists: plain Python lists, always sent as JSON (the answer the Demo gave before
                tensor frames). Default: numpy when numpy can be imported, else lists.
Worker options (PODAGENT_WORKER_OPTIONS): load_time_s (default 0), raw_format.
(`format` is not read: in podagent's API it names the export format.)
"""
import math
import os
import random
import sys
import time

try:
    import numpy
except ImportError:  # the Demo runs without numpy; it then answers with lists
    numpy = None

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime"))

from podagent_worker import BadInput, serve  # noqa: E402

FORMATS = ("maptr", "petr", "streampetr", "topomlp", "vad")
PC_RANGE_MAP = (-15.0, -30.0, 15.0, 30.0)


def box9(rng, mmdet_10):
    x, y = rng.uniform(-45, 45), rng.uniform(-45, 45)
    z = rng.uniform(-2.5, -0.5)
    w, l, h = rng.uniform(0.5, 2.5), rng.uniform(0.5, 6.0), rng.uniform(1.0, 3.5)
    yaw = rng.uniform(-math.pi, math.pi)
    vx, vy = rng.uniform(-5, 5), rng.uniform(-5, 5)
    # mmdet3d 0.17 orders dims w, l, h; 1.0 orders l, w, h.
    return [x, y, z, l, w, h, yaw, vx, vy] if mmdet_10 else [x, y, z, w, l, h, yaw, vx, vy]


def detections(rng, count, mmdet_10=False):
    boxes = [box9(rng, mmdet_10) for _ in range(count)]
    scores = sorted((rng.random() for _ in range(count)), reverse=True)
    labels = [rng.randrange(10) for _ in range(count)]
    return boxes, scores, labels


def polylines(rng, count):
    lines = []
    for _ in range(count):
        x0, y0 = rng.uniform(PC_RANGE_MAP[0], PC_RANGE_MAP[2]), rng.uniform(PC_RANGE_MAP[1], PC_RANGE_MAP[3])
        dx, dy = rng.uniform(-1, 1), rng.uniform(-1, 1)
        lines.append([[x0 + dx * i, y0 + dy * i] for i in range(20)])
    boxes = [[min(p[0] for p in line), min(p[1] for p in line), max(p[0] for p in line), max(p[1] for p in line)]
             for line in lines]
    return lines, boxes


def maptr(rng, n):
    n = min(n, 50)
    lines, boxes = polylines(rng, n)
    return [{"pts_bbox": {"boxes_3d": boxes, "scores_3d": sorted((rng.random() for _ in range(n)), reverse=True),
                          "labels_3d": [rng.randrange(3) for _ in range(n)], "pts_3d": lines}}]


def petr(rng, n, mmdet_10=False):
    boxes, scores, labels = detections(rng, min(n, 300), mmdet_10)
    return [{"pts_bbox": {"boxes_3d": boxes, "scores_3d": scores, "labels_3d": labels}}]


def vad(rng, n):
    n = min(n, 100)
    boxes, scores, labels = detections(rng, n)
    trajs = [[[rng.uniform(-1.5, 1.5) for _ in range(12)] for _ in range(6)] for _ in range(n)]
    m = 50
    lines, map_boxes = polylines(rng, m)
    ego = [[[rng.uniform(-0.3, 0.3), rng.uniform(0.5, 2.5)] for _ in range(6)] for _ in range(3)]
    command = [0.0, 0.0, 0.0]
    command[rng.randrange(3)] = 1.0
    return [{"pts_bbox": {"boxes_3d": boxes, "scores_3d": scores, "labels_3d": labels, "trajs_3d": trajs,
                          "map_boxes_3d": map_boxes, "map_scores_3d": sorted((rng.random() for _ in range(m)), reverse=True),
                          "map_labels_3d": [rng.randrange(3) for _ in range(m)], "map_pts_3d": lines,
                          "ego_fut_preds": ego, "ego_fut_cmd": [[[command]]]},
             "metric_results": {}}]


def topomlp(rng, _n):
    lanes = [[rng.uniform(-50, 50) if k % 3 == 0 else rng.uniform(-25, 25) if k % 3 == 1 else rng.uniform(-2, 1)
              for k in range(12)] for _ in range(300)]
    lane_scores = [[rng.random()] for _ in range(300)]
    te_boxes = []
    for _ in range(100):
        x1, y1 = rng.uniform(0, 1800), rng.uniform(0, 1000)
        te_boxes.append([x1, y1, x1 + rng.uniform(10, 100), y1 + rng.uniform(10, 100), float(rng.randrange(13))])
    te_scores = [rng.random() for _ in range(100)]
    lclc = [[rng.random() * 0.2 for _ in range(300)] for _ in range(300)]
    lcte = [[rng.random() * 0.2 for _ in range(100)] for _ in range(300)]
    for i in range(0, 300, 7):
        lclc[i][(i + 1) % 300] = 0.9
    return {"pred_lc": [lanes, lane_scores], "pred_te": [te_boxes, te_scores],
            "pred_topology_lclc": lclc, "pred_topology_lcte": lcte}


# Each detection-style key's trailing shape (a tensor of zero rows keeps it, as torch's does).
_ROW_SHAPES = {"boxes_3d": (9,), "trajs_3d": (6, 12), "map_boxes_3d": (4,), "map_pts_3d": (20, 2),
               "pts_3d": (20, 2)}


def as_tensors(fmt, output):
    """The output with its tensors as numpy arrays of the dtypes the real models return
    (float32; labels int64), shaped like theirs."""
    def array(values, key):
        dtype = numpy.int64 if key.endswith("labels_3d") else numpy.float32
        result = numpy.asarray(values, dtype=dtype)
        if key == "boxes_3d" and fmt == "maptr":
            return result.reshape((-1, 4))
        tail = _ROW_SHAPES.get(key)
        return result.reshape((-1,) + tail) if tail else result

    if fmt == "topomlp":
        f32 = numpy.float32
        return {"pred_lc": [numpy.asarray(output["pred_lc"][0], f32), numpy.asarray(output["pred_lc"][1], f32)],
                "pred_te": [numpy.asarray(output["pred_te"][0], f32), numpy.asarray(output["pred_te"][1], f32)],
                "pred_topology_lclc": numpy.asarray(output["pred_topology_lclc"], f32),
                "pred_topology_lcte": numpy.asarray(output["pred_topology_lcte"], f32)}
    converted = []
    for sample in output:
        bbox = {key: array(values, key) for key, values in sample["pts_bbox"].items()}
        converted.append(dict(sample, pts_bbox=bbox))
    return converted


def spoil_scores(fmt, output, count):
    """The first `count` scores of each score list become NaN, +inf, -inf in turn (before any
    conversion to tensors, so both answer forms carry the same values)."""
    spoiled = [float("nan"), float("inf"), float("-inf")]
    if fmt == "topomlp":
        lane_scores, te_scores = output["pred_lc"][1], output["pred_te"][1]
        for i in range(min(count, len(lane_scores))):
            lane_scores[i][0] = spoiled[i % 3]
        for i in range(min(count, len(te_scores))):
            te_scores[i] = spoiled[i % 3]
        return
    for sample in output:
        for key, values in sample["pts_bbox"].items():
            if key.endswith("scores_3d"):
                for i in range(min(count, len(values))):
                    values[i] = spoiled[i % 3]


def read_inputs(inputs):
    """Reads the sample's files like a real worker's loaders do; one that cannot be read is the sample's fault."""
    for key in ("img_paths", "img_path", "lidar_path"):
        value = inputs.get(key)
        for path in value if isinstance(value, list) else [value]:
            if not isinstance(path, str):
                continue
            try:
                with open(path, "rb") as handle:
                    handle.read(1)
            except OSError as error:
                raise BadInput(f"inputs.{key}: cannot read {path} as uid {os.getuid()}: {error.strerror}") from None


class Demo:
    def load(self, context):
        self.options = context.options
        time.sleep(float(self.options.get("load_time_s", 0)))
        self.frames = 0

    def infer(self, inputs, options):
        merged = dict(self.options)
        merged.update(options)
        fmt = merged.get("raw_format", "petr")
        if fmt not in FORMATS:
            raise BadInput(f"options.raw_format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        fail = merged.get("fail")
        once = merged.get("fail_once_file")
        if fail and once:
            if os.path.exists(once):
                fail = None
            else:
                open(once, "w").close()
        if fail == "crash":
            os._exit(17)
        if fail == "hang":
            while True:
                time.sleep(3600)
        if fail == "error":
            raise RuntimeError("injected model failure")
        if fail == "oom":
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB (injected)")
        if fail == "bad_input":
            raise BadInput("injected bad input")
        if merged.get("read_inputs"):
            read_inputs(inputs)
        time.sleep(float(merged.get("infer_time_s", 0)))
        tensors = merged.get("tensors", "numpy" if numpy is not None else "lists")
        if tensors not in ("numpy", "lists"):
            raise BadInput(f"options.tensors must be numpy or lists, got {tensors!r}")
        if tensors == "numpy" and numpy is None:
            raise BadInput("options.tensors numpy: numpy cannot be imported in this worker's Python")
        rng = random.Random(str(inputs.get("sample_id", "")) + fmt)
        count = int(merged.get("detections", 50))
        self.frames += 1
        output = self.output(fmt, rng, count)
        spoil_scores(fmt, output, int(merged.get("nan_scores", 0)))
        if tensors == "numpy":
            output = as_tensors(fmt, output)
        answer = {"synthetic": True, "format": fmt, "output": output}
        if merged.get("echo_inputs"):
            answer["inputs"] = inputs
        return answer

    @staticmethod
    def output(fmt, rng, count):
        if fmt == "maptr":
            return maptr(rng, count)
        if fmt == "petr":
            return petr(rng, count)
        if fmt == "streampetr":
            return petr(rng, count, mmdet_10=True)
        if fmt == "vad":
            return vad(rng, count)
        return topomlp(rng, count)


if __name__ == "__main__":
    sys.exit(serve(Demo()))
