"""StreamPETR worker (exiawsh/StreamPETR, mmdet3d 1.0.0rc6): one frame of a scene -> the raw output.

Stateful: the model keeps a memory queue of past frames and resets it when `scene_token` changes.
This worker keeps the frames of a scene in order: a frame whose `timestamp` is not after the
previous frame of the same scene is refused as bad_input (nothing is reordered or dropped silently).
A new `scene_token`, the request option `new_scene: true`, a `reset` request, or any failed frame
makes the next frame start from empty memory.

Builds the input dict the way StreamPETR's CustomNuScenesDataset.get_data_info does (ego_pose =
lidar->global, intrinsics/extrinsics, img_timestamp) and runs it through the config's test pipeline.
Raw: [{"pts_bbox": {"boxes_3d": (N,9), "scores_3d": (N,), "labels_3d": (N,)}}] (1.0 box convention).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime"))

from podagent_mmdet import Cameras, EgoPose, TemporalModel  # noqa: E402
from podagent_worker import serve  # noqa: E402

CAMERAS = 6


def _inverse_pose(pose):
    import numpy as np

    inverse = np.zeros((4, 4), dtype=np.float32)
    inverse[:3, :3] = pose[:3, :3].T
    inverse[:3, 3] = -pose[:3, :3].T @ pose[:3, 3]
    inverse[3, 3] = 1.0
    return inverse


class StreamPETR(TemporalModel):
    name = "StreamPETR"

    def input_dict(self, sample, scene, timestamp, frame_index):
        import numpy as np

        images = sample.paths("img_paths", CAMERAS)
        cameras = Cameras(sample, CAMERAS)
        pose = EgoPose(sample)
        ego_pose = pose.lidar2global.astype(np.float32)
        img_timestamp = sample.array("img_timestamp", (CAMERAS,), required=False)
        img_timestamp = [timestamp] * CAMERAS if img_timestamp is None else [float(t) for t in img_timestamp]
        return {
            "sample_idx": sample.string("sample_id", default=""),
            "pts_filename": sample.path("lidar_path", required=False) or "",
            "sweeps": [],
            "ego_pose": ego_pose,
            "ego_pose_inv": _inverse_pose(ego_pose),
            "prev_idx": "",
            "next_idx": "",
            "scene_token": scene,
            "frame_idx": frame_index,
            "timestamp": timestamp,  # seconds, as the dataset's info['timestamp'] / 1e6
            "img_timestamp": img_timestamp,
            "img_filename": images,
            "lidar2img": [m.astype(np.float32) for m in cameras.lidar2img],
            "intrinsics": [m.astype(np.float32) for m in cameras.viewpad],
            "extrinsics": [m.astype(np.float32) for m in cameras.lidar2cam],
            "prev_exists": None,
        }


if __name__ == "__main__":
    sys.exit(serve(StreamPETR()))
