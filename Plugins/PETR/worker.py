"""PETR worker (megvii-research/PETR, mmdet3d 0.17): one sample of six cameras -> the model's raw output.

Loads the manifest's config and checkpoint with mmdet3d's init_model after importing the config's
plugin (`plugin_dir = projects/mmdet3d_plugin/`), builds the input dict the way PETR's
CustomNuScenesDataset.get_data_info does, and runs it through the config's test pipeline.
Raw: [{"pts_bbox": {"boxes_3d": (N,9), "scores_3d": (N,), "labels_3d": (N,)}}] (0.17 box convention).
The sample description is in docs/inputs.md.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime"))

from podagent_mmdet import Cameras, MMDetModel, Sample  # noqa: E402
from podagent_worker import serve  # noqa: E402

CAMERAS = 6


class PETR:
    def load(self, context):
        self.net = MMDetModel("PETR")
        self.net.load(context)

    def input_dict(self, inputs):
        sample = Sample(inputs, "PETR")
        images = sample.paths("img_paths", CAMERAS)
        cameras = Cameras(sample, CAMERAS)
        return {
            "sample_idx": sample.string("sample_id", default=""),
            "pts_filename": sample.path("lidar_path", required=False) or "",
            "sweeps": [],
            "timestamp": sample.number("timestamp", default=0.0),
            "img_filename": images,
            "lidar2img": cameras.lidar2img,
            "intrinsics": cameras.viewpad,
            # PETR keeps lidar->camera transposed (row-vector form).
            "extrinsics": [m.T for m in cameras.lidar2cam],
        }

    def infer(self, inputs, options):
        return self.net.run(self.input_dict(inputs))


if __name__ == "__main__":
    sys.exit(serve(PETR()))
