"""Shared code of the real model workers (MapTR, PETR, StreamPETR, TopoMLP, VAD).

Each upstream repository tests a model with its `tools/test.py`: import the config's plugin package
(`plugin=True` + `plugin_dir`, or `custom_imports`), build the model, load the checkpoint, and feed
the dataset's `get_data_info` dict through the config's test pipeline, collated as a batch of one.
`MMDetModel` does the same for one sample description (docs/inputs.md), with mmdet3d's
`init_model(config, checkpoint, device)` (the same call in mmdet3d 0.17 and 1.0.0rc6).

torch, numpy, mmcv and mmdet3d are imported only when a model loads, so this module can be imported
(and its sample checks tested) without them.
"""
import importlib
import math
import os
import sys

from podagent_worker import BadInput, is_oom


# ---------------------------------------------------------------------------- sample description


def _shape_of(value):
    """The nested-list shape of a JSON value, or None when it is ragged or holds non-numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return ()
    if not isinstance(value, list):
        return None
    if not value:
        return (0,)
    shapes = {_shape_of(item) for item in value}
    if len(shapes) != 1 or None in shapes:
        return None
    return (len(value),) + shapes.pop()


def _describe_shape(shape):
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Sample:
    """Reads one sample description (the request's `inputs`) and names the key that is wrong."""

    def __init__(self, inputs, model):
        self.inputs = inputs
        self.model = model

    def _fail(self, key, message):
        return BadInput(f"{self.model}: inputs.{key}: {message}")

    def has(self, key):
        return self.inputs.get(key) is not None

    def string(self, key, default=None, required=True):
        value = self.inputs.get(key)
        if value is None:
            if required and default is None:
                raise self._fail(key, "required (a string)")
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self._fail(key, f"expected a string, got {type(value).__name__}")
        return str(value)

    def number(self, key, default=None, required=True):
        value = self.inputs.get(key)
        if value is None:
            if required and default is None:
                raise self._fail(key, "required (a number)")
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._fail(key, f"expected a finite number, got {value!r}")
        return float(value)

    def array(self, key, shape, default=None, required=True):
        """A numpy float64 array of `shape` (None: any size on that axis); all values finite."""
        import numpy as np

        value = self.inputs.get(key)
        if value is None:
            if required and default is None:
                raise self._fail(key, f"required (numbers of shape {_describe_shape(shape)})")
            return None if default is None else np.array(default, dtype=np.float64)
        actual = _shape_of(value)
        if actual is None:
            raise self._fail(key, f"expected numbers of shape {_describe_shape(shape)}, got a ragged or non-numeric value")
        if len(actual) != len(shape) or any(e is not None and e != a for e, a in zip(shape, actual)):
            raise self._fail(key, f"expected shape {_describe_shape(shape)}, got {_describe_shape(actual)}")
        array = np.array(value, dtype=np.float64)
        if not np.all(np.isfinite(array)):
            raise self._fail(key, "holds a non-finite value")
        return array

    def paths(self, key, count):
        value = self.inputs.get(key)
        if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
            raise self._fail(key, f"required: a list of {count} file paths")
        if len(value) != count:
            raise self._fail(key, f"expected {count} file paths (one per camera), got {len(value)}")
        for index, path in enumerate(value):
            self._check_file(f"{key}[{index}]", path)
        return list(value)

    def _check_file(self, key, path):
        # The worker runs in the upstream checkout: a relative path would silently mean a file there.
        if not os.path.isabs(path):
            raise self._fail(key, f"expected an absolute path, got {path!r}")
        if not os.path.isfile(path):
            raise self._fail(key, f"no such file: {path}")

    def path(self, key, required=True):
        value = self.inputs.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise self._fail(key, "required: a file path")
        self._check_file(key, value)
        return value

    def quaternion(self, key, required=True):
        q = self.array(key, (4,), required=required)
        if q is None:
            return None
        norm = float((q ** 2).sum()) ** 0.5
        if norm < 1e-6:
            raise self._fail(key, "the quaternion (w, x, y, z) has zero length")
        return q / norm

    def rotation(self, key):
        """A rotation given as a quaternion (w, x, y, z) or a 3x3 matrix; returns the matrix."""
        value = self.inputs.get(key)
        if value is None:
            raise self._fail(key, "required: a 3x3 rotation matrix or a quaternion (w, x, y, z)")
        if _shape_of(value) == (3, 3):
            return self.array(key, (3, 3))
        return quaternion_matrix(self.quaternion(key))


# ------------------------------------------------------------------------------------- geometry


def quaternion_matrix(q):
    """Rotation matrix of a unit quaternion (w, x, y, z), as pyquaternion's rotation_matrix."""
    import numpy as np

    w, x, y, z = (float(v) for v in q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def matrix_quaternion(m):
    """A unit quaternion (w, x, y, z) with w >= 0 for a rotation matrix."""
    import numpy as np

    trace = m[0][0] + m[1][1] + m[2][2]
    if trace > 0:
        s = 2.0 * math.sqrt(trace + 1.0)
        q = [0.25 * s, (m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s]
    elif m[0][0] > m[1][1] and m[0][0] > m[2][2]:
        s = 2.0 * math.sqrt(1.0 + m[0][0] - m[1][1] - m[2][2])
        q = [(m[2][1] - m[1][2]) / s, 0.25 * s, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s]
    elif m[1][1] > m[2][2]:
        s = 2.0 * math.sqrt(1.0 + m[1][1] - m[0][0] - m[2][2])
        q = [(m[0][2] - m[2][0]) / s, (m[0][1] + m[1][0]) / s, 0.25 * s, (m[1][2] + m[2][1]) / s]
    else:
        s = 2.0 * math.sqrt(1.0 + m[2][2] - m[0][0] - m[1][1])
        q = [(m[1][0] - m[0][1]) / s, (m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, 0.25 * s]
    q = np.array(q, dtype=np.float64)
    q /= np.linalg.norm(q)
    return -q if q[0] < 0 else q


def yaw_of(rotation):
    """Yaw (radians) of a rotation matrix: the heading of its x axis, as nuScenes' quaternion_yaw."""
    return math.atan2(rotation[1][0], rotation[0][0])


def rigid(rotation, translation):
    import numpy as np

    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = translation
    return matrix


def can_bus_from_pose(can_bus, rotation, translation, quaternion=None):
    """What the BEVFormer-style datasets write into can_bus: position, orientation quaternion
    (w, x, y, z; the given one, else one made from the matrix) and the yaw (radians, then degrees,
    in [0, 360)) from the ego pose; the other CAN values are kept."""
    import numpy as np

    can_bus = np.array(can_bus, dtype=np.float64)
    can_bus[:3] = translation
    can_bus[3:7] = matrix_quaternion(rotation) if quaternion is None else quaternion
    angle = yaw_of(rotation) / math.pi * 180
    if angle < 0:
        angle += 360
    can_bus[-2] = angle / 180 * math.pi
    can_bus[-1] = angle
    return can_bus


class EgoPose:
    """lidar -> ego -> global from the sample's nuScenes-style calibration (quaternions w, x, y, z)."""

    def __init__(self, sample):
        self.lidar2ego_rotation_q = sample.quaternion("lidar2ego_rotation")
        self.lidar2ego_translation = sample.array("lidar2ego_translation", (3,))
        self.ego2global_rotation_q = sample.quaternion("ego2global_rotation")
        self.ego2global_translation = sample.array("ego2global_translation", (3,))
        self.lidar2ego = rigid(quaternion_matrix(self.lidar2ego_rotation_q), self.lidar2ego_translation)
        self.ego2global_rotation = quaternion_matrix(self.ego2global_rotation_q)
        self.ego2global = rigid(self.ego2global_rotation, self.ego2global_translation)
        self.lidar2global = self.ego2global @ self.lidar2ego


class Cameras:
    """Per camera: K (3x3), the 4x4 intrinsics pad, and lidar->camera as a 4x4 (x_cam = M @ x_lidar),
    from the sample's `cam_intrinsic` and `sensor2lidar_rotation`/`sensor2lidar_translation`."""

    def __init__(self, sample, count):
        import numpy as np

        self.intrinsic = sample.array("cam_intrinsic", (count, 3, 3))
        rotations = sample.array("sensor2lidar_rotation", (count, 3, 3))
        translations = sample.array("sensor2lidar_translation", (count, 3))
        self.viewpad = []
        self.lidar2cam = []
        self.sensor2lidar_rotation = rotations
        self.sensor2lidar_translation = translations
        for k in range(count):
            pad = np.eye(4)
            pad[:3, :3] = self.intrinsic[k]
            self.viewpad.append(pad)
            try:
                inverse = np.linalg.inv(rotations[k])
            except np.linalg.LinAlgError:
                raise BadInput(f"{sample.model}: inputs.sensor2lidar_rotation[{k}]: not invertible") from None
            lidar2cam = np.eye(4)
            lidar2cam[:3, :3] = inverse
            lidar2cam[:3, 3] = -inverse @ translations[k]
            self.lidar2cam.append(lidar2cam)

    @property
    def lidar2img(self):
        return [pad @ l2c for pad, l2c in zip(self.viewpad, self.lidar2cam)]


# ------------------------------------------------------------------------------ temporal models


class SceneOrder:
    """Frames of one scene must come in time order: a new `scene_token` starts a new scene; within
    a scene a timestamp not after the previous frame's is refused (bad_input), never silently reordered."""

    def __init__(self, model):
        self.model = model
        self.scene = None
        self.last_timestamp = None

    def check(self, scene, timestamp, restart=False):
        """Returns True when this frame starts a new scene. Changes nothing (see commit)."""
        if restart or self.scene is None or scene != self.scene:
            return True
        if timestamp <= self.last_timestamp:
            raise BadInput(
                f"{self.model}: inputs.timestamp: frames of scene {scene!r} must come in time order: "
                f"{timestamp!r} is not after the previous frame's {self.last_timestamp!r} "
                "(send options.new_scene=true or a reset to start the scene again)")
        return False

    def commit(self, scene, timestamp):
        self.scene = scene
        self.last_timestamp = timestamp

    def reset(self):
        self.scene = None
        self.last_timestamp = None


def forget_temporal_state(model):
    """Makes the next frame start from empty memory, the way each model does on a new scene:
    StreamPETR's `prev_scene_token` + head memory; BEVFormer-style `prev_frame_info` (MapTR, VAD)."""
    if hasattr(model, "prev_scene_token"):
        model.prev_scene_token = None
    head = getattr(model, "pts_bbox_head", None)
    if head is not None and hasattr(head, "reset_memory"):
        head.reset_memory()
    info = getattr(model, "prev_frame_info", None)
    if isinstance(info, dict):
        info["prev_bev"] = None
        info["scene_token"] = None
        info["prev_pos"] = 0
        info["prev_angle"] = 0


# ------------------------------------------------ models with per-scene state (StreamPETR; MapTR, VAD by config)


def nuscenes_bev_input(sample, scene, timestamp, frame_index, cameras_count=6):
    """The input dict MapTR's and VAD's datasets build (VAD adds its own keys on top); `timestamp`
    in the unit the model's dataset passes (MapTR: microseconds, VAD: seconds)."""
    import numpy as np

    images = sample.paths("img_paths", cameras_count)
    cameras = Cameras(sample, cameras_count)
    pose = EgoPose(sample)
    can_bus = can_bus_from_pose(
        sample.array("can_bus", (18,)), pose.ego2global_rotation, pose.ego2global_translation,
        quaternion=pose.ego2global_rotation_q)
    lidar_path = sample.path("lidar_path", required=False) or ""
    result = {
        "sample_idx": sample.string("sample_id", default=""),
        "pts_filename": lidar_path,
        "lidar_path": lidar_path,
        "sweeps": [],
        "ego2global_translation": pose.ego2global_translation.tolist(),
        "ego2global_rotation": pose.ego2global_rotation_q.tolist(),
        "lidar2ego_translation": pose.lidar2ego_translation.tolist(),
        "lidar2ego_rotation": pose.lidar2ego_rotation_q.tolist(),
        "prev_idx": "",
        "next_idx": "",
        "scene_token": scene,
        "can_bus": can_bus,
        "frame_idx": frame_index,
        "timestamp": timestamp,
        "map_location": sample.string("map_location", default=""),
        "lidar2ego": pose.lidar2ego.astype(np.float32),
        "camera_intrinsics": [m.astype(np.float32) for m in cameras.viewpad],
        "img_filename": images,
        "lidar2img": cameras.lidar2img,
        "cam_intrinsic": cameras.viewpad,
        "lidar2cam": cameras.lidar2cam,
        "lidar2global": pose.lidar2global,
    }
    # camera2ego is only used by BEV-pool variants; the nuScenes infos carry it per camera.
    if sample.has("sensor2ego_rotation") or sample.has("sensor2ego_translation"):
        rotations = sample.array("sensor2ego_rotation", (cameras_count, 4))
        translations = sample.array("sensor2ego_translation", (cameras_count, 3))
        norms = np.linalg.norm(rotations, axis=1)
        if np.any(norms < 1e-6):
            raise BadInput(f"{sample.model}: inputs.sensor2ego_rotation: a quaternion (w, x, y, z) has zero length")
        result["camera2ego"] = [
            rigid(quaternion_matrix(r / n), t).astype(np.float32) for r, n, t in zip(rotations, norms, translations)]
    return result


def video_test_mode(cfg):
    """BEVFormer-style models (MapTR, VAD) use the previous frame's BEV at test time only when the config's
    `model.video_test_mode` is true; otherwise their forward_test drops prev_bev every frame (MapTR
    maptr/detectors/maptr.py l.300-302, VAD VAD/VAD.py l.282-283; both default to False, l.35)."""
    model = cfg.get("model", None) if hasattr(cfg, "get") else None
    return bool(model.get("video_test_mode", False)) if hasattr(model, "get") else False


class TemporalModel:
    """MapTR, StreamPETR and VAD: models that may carry state from frame to frame within a scene.

    Whether one does is its config's word (`uses_temporal_state`): StreamPETR always (its memory queue),
    MapTR and VAD when `model.video_test_mode` is true (VAD_base_stage_2.py l.50: true; MapTR's configs:
    false, maptr_tiny_r50_24e.py l.55). A model that does is fed one frame at a time in scene order
    (SceneOrder); a new scene, options.new_scene, a `reset` request or a failed frame make the next frame
    start from empty memory. A model that does not takes frames in any order, each from empty memory."""

    name = ""

    def uses_temporal_state(self, cfg):
        return True

    def load(self, context):
        self.net = MMDetModel(self.name)
        self.net.load(context)
        self.temporal = bool(self.uses_temporal_state(self.net.cfg))
        self.order = SceneOrder(self.name)
        self.frame_index = 0

    def input_dict(self, sample, scene, timestamp, frame_index):
        raise NotImplementedError

    def infer(self, inputs, options):
        sample = Sample(inputs, self.name)
        scene = sample.string("scene_token")
        timestamp = sample.number("timestamp")
        if not self.temporal:
            # No state between frames: no order to keep; each frame starts as the first of its scene.
            input_dict = self.input_dict(sample, scene, timestamp, 0)
            forget_temporal_state(self.net.model)
            return self.net.run(input_dict)
        new_scene = self.order.check(scene, timestamp, restart=bool(options.get("new_scene", False)))
        frame_index = 0 if new_scene else self.frame_index
        input_dict = self.input_dict(sample, scene, timestamp, frame_index)
        if new_scene:
            # The models reset on a scene_token change themselves; this also covers the same
            # token sent again after a reset or with options.new_scene.
            forget_temporal_state(self.net.model)
        try:
            raw = self.net.run(input_dict)
        except Exception:
            # The memory may hold part of this frame: the next frame starts the scene again.
            self.reset()
            raise
        self.order.commit(scene, timestamp)
        self.frame_index = frame_index + 1
        return raw

    def reset(self):
        self.order.reset()
        self.frame_index = 0
        forget_temporal_state(self.net.model)


# ---------------------------------------------------------------------------------- the model


def find_repo_root(config_path, marker):
    """The upstream checkout: the nearest folder above the config that holds `marker`."""
    folder = os.path.dirname(os.path.abspath(config_path))
    while True:
        if os.path.isdir(os.path.join(folder, marker)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            raise FileNotFoundError(
                f"no folder above {config_path} holds {marker!r}; set worker option repo_root to the upstream checkout")
        folder = parent


def import_plugin(cfg, config_path, repo_root):
    """The plugin import of the upstream tools/test.py: `plugin=True` with `plugin_dir`
    ('projects/mmdet3d_plugin/' -> module projects.mmdet3d_plugin), else the config's own folder.
    Returns the module name imported, or None (configs with `custom_imports` are imported by
    mmcv's Config.fromfile itself)."""
    if not cfg.get("plugin", False):
        return None
    plugin_dir = cfg.get("plugin_dir", None)
    if plugin_dir:
        module_dir = os.path.dirname(plugin_dir)
    else:
        module_dir = os.path.relpath(os.path.dirname(os.path.abspath(config_path)), repo_root)
    name = ".".join(part for part in module_dir.split("/") if part)
    importlib.import_module(name)
    return name


def _is_data_container(value):
    return type(value).__name__ == "DataContainer" and hasattr(value, "data")


def _unwrap(value):
    """CPU path of mmcv's scatter(...)[0]: each collated DataContainer becomes its first chunk."""
    if _is_data_container(value):
        return value.data[0]
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


class EnvironmentFailure(Exception):
    """The model's environment (a module, a registered class, a key the worker's input dict lacks
    for this version of the code) failed, not the request: never bad_input (kind model_error)."""


def _sample_strings(value):
    """Every string in the input dict (paths, tokens, map names): what a sample can get wrong."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _sample_strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _sample_strings(item)


def pipeline_blames_sample(error, input_dict):
    """Whether the test pipeline's `error` is the sample's fault (bad_input) rather than the image's.

    - ImportError: a module is missing from the image: never the sample.
    - KeyError: the worker builds every key its dataset gives the pipeline, so a missing key is a
      mismatch of the worker and the installed code (the image), unless the key is a value the sample
      gave (a map location, a camera name looked up by the pipeline).
    - OSError: the sample's when it names a file of the sample (an unreadable image), else the image's.
    - ValueError, TypeError, IndexError, AssertionError: what malformed data (wrong shapes, sizes) raise.
    """
    if isinstance(error, ImportError):
        return False
    given = set(_sample_strings(input_dict))
    if isinstance(error, KeyError):
        return bool(error.args) and isinstance(error.args[0], str) and error.args[0] in given
    if isinstance(error, OSError):
        return error.filename is not None and str(error.filename) in given
    return isinstance(error, (ValueError, TypeError, IndexError, AssertionError))


class MMDetModel:
    """One mmdet3d model, loaded like its repo's tools/test.py, running one input dict at a time.

    pre_pipeline: add the fields mmdet3d's Custom3DDataset.pre_pipeline adds (box type, field
    lists); TopoMLP's dataset adds none.
    """

    def __init__(self, name, pre_pipeline=True, plugin_marker="projects"):
        self.name = name
        self.with_pre_pipeline = pre_pipeline
        self.plugin_marker = plugin_marker
        self.model = None
        self.cfg = None
        self.pipeline = None

    def load(self, context):
        config, checkpoint = context.config, context.checkpoint
        if not config:
            raise ValueError("PODAGENT_MODEL_CONFIG is empty: the manifest names no config")
        if not os.path.isfile(config):
            raise FileNotFoundError(f"config file {config} does not exist")
        if not checkpoint:
            raise ValueError("PODAGENT_MODEL_CHECKPOINT is empty: the manifest names no checkpoint")
        if not os.path.isfile(checkpoint):
            raise FileNotFoundError(f"checkpoint file {checkpoint} does not exist")
        config = os.path.abspath(config)
        checkpoint = os.path.abspath(checkpoint)
        root = context.options.get("repo_root") or find_repo_root(config, self.plugin_marker)
        # tools/test.py runs from the checkout: plugin imports and relative paths in configs need it.
        if root not in sys.path:
            sys.path.insert(0, root)
        os.chdir(root)

        import torch
        from mmcv import Config

        cfg = Config.fromfile(config)  # also imports the config's custom_imports
        self.plugin_module = import_plugin(cfg, config, root)
        if cfg.get("class_names", None) is None:
            # init_model falls back to cfg.class_names when the checkpoint's meta has no CLASSES.
            cfg.class_names = []
        from mmdet3d.apis import init_model

        device = context.device
        self.model = init_model(cfg, checkpoint, device=device)
        if cfg.get("fp16", None):
            from mmcv.runner import wrap_fp16_model

            wrap_fp16_model(self.model)
        from mmdet3d.datasets.pipelines import Compose

        self.cfg = cfg
        self.pipeline = Compose(cfg.data.test.pipeline)
        if self.with_pre_pipeline:
            from mmdet3d.core.bbox import get_box_type

            self.box_type_3d, self.box_mode_3d = get_box_type(cfg.data.test.get("box_type_3d", "LiDAR"))
        self.gpu = -1 if str(device).startswith("cpu") else (torch.device(device).index or 0)
        return self.model

    def pre_pipeline(self, results):
        results["img_fields"] = []
        results["bbox3d_fields"] = []
        results["pts_mask_fields"] = []
        results["pts_seg_fields"] = []
        results["bbox_fields"] = []
        results["mask_fields"] = []
        results["seg_fields"] = []
        results["box_type_3d"] = self.box_type_3d
        results["box_mode_3d"] = self.box_mode_3d

    def prepare(self, input_dict):
        """The config's test pipeline on one input dict, collated as a batch of one on the device."""
        if self.with_pre_pipeline:
            self.pre_pipeline(input_dict)
        try:
            data = self.pipeline(input_dict)
        except Exception as error:  # noqa: BLE001 - sorted into the sample's fault or the image's below
            if is_oom(error):
                raise
            if pipeline_blames_sample(error, input_dict):
                raise BadInput(f"{self.name}: the config's test pipeline failed on this sample: "
                               f"{type(error).__name__}: {error}") from error
            raise EnvironmentFailure(
                f"{self.name}: the config's test pipeline failed for a reason of the image, not of the sample: "
                f"{type(error).__name__}: {error}") from error
        if data is None:
            raise BadInput(f"{self.name}: the config's test pipeline dropped this sample")
        from mmcv.parallel import collate, scatter

        data = collate([data], samples_per_gpu=1)
        if self.gpu >= 0:
            return scatter(data, [self.gpu])[0]
        return _unwrap(data)

    def run(self, input_dict):
        """`model(return_loss=False, rescale=True, **data)` under no_grad: the model's raw output."""
        import torch

        data = self.prepare(input_dict)
        with torch.no_grad():
            return self.model(return_loss=False, rescale=True, **data)
