"""TopoMLP worker (wudongming97/TopoMLP, mmdet 2.26 + mmdet3d): one OpenLane-V2 frame -> raw output.

The config imports its code itself (`custom_imports = dict(imports=['projects.topomlp'])`, done by
mmcv's Config.fromfile once the checkout is on sys.path). Builds the input dict the way
OpenLaneV2SubsetADataset.get_data_info does (seven cameras, front centre first; can_bus from the
pose) and runs the config's test pipeline (no pre_pipeline fields: the dataset adds none).
Raw: [{"pred_lc": (ctrl (300,12), scores (300,1)), "pred_te": (bboxes (100,5), scores (100,)),
       "pred_topology_lclc": (300,300), "pred_topology_lcte": (300,100)}].
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime"))

from podagent_mmdet import Cameras, MMDetModel, Sample, can_bus_from_pose  # noqa: E402
from podagent_worker import serve  # noqa: E402

CAMERAS = 7  # OpenLane-V2 subset A: ring cameras, front centre first


class TopoMLP:
    def load(self, context):
        self.cameras = int(context.options.get("cameras", CAMERAS))
        self.net = MMDetModel("TopoMLP", pre_pipeline=False)
        self.net.load(context)

    def input_dict(self, inputs):
        import numpy as np

        sample = Sample(inputs, "TopoMLP")
        images = sample.paths("img_paths", self.cameras)
        cameras = Cameras(sample, self.cameras)
        rotation = sample.rotation("ego2global_rotation")
        translation = sample.array("ego2global_translation", (3,))
        return {
            "scene_token": sample.string("scene_token", default=""),
            "sample_idx": sample.string("sample_id", default=""),
            "img_paths": images,
            "lidar2cam": cameras.lidar2cam,
            "cam_intrinsic": cameras.viewpad,
            "lidar2img": cameras.lidar2img,
            "rots": [np.linalg.inv(r) for r in cameras.sensor2lidar_rotation],
            "trans": [-t for t in cameras.sensor2lidar_translation],
            "cam2imgs": list(cameras.intrinsic),
            "can_bus": can_bus_from_pose(np.zeros(18), rotation, translation),
            "te_yolov8": None,
        }

    def infer(self, inputs, options):
        return self.net.run(self.input_dict(inputs))


if __name__ == "__main__":
    sys.exit(serve(TopoMLP()))
