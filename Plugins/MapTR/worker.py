"""MapTR worker (hustvl/MapTR, mmdet3d 0.17): one sample of six cameras -> the vector-map raw output.

MapTR's BEV encoder could use the previous frame (BEVFormer-style `prev_frame_info`), but only with
`model.video_test_mode=True`; its configs say False (maptr_tiny_r50_24e.py l.55) and its forward_test then
drops prev_bev every frame (maptr/detectors/maptr.py l.300-302). So MapTR is not temporal: frames come in
any order, each on its own. A config that sets video_test_mode=True gets StreamPETR's scene-order rules
(see podagent_mmdet.TemporalModel).

Builds the input dict the way CustomNuScenesLocalMapDataset.get_data_info does (can_bus position,
orientation and yaw from the ego pose, lidar2img from the cameras) and runs the config's test pipeline.
Raw: [{"pts_bbox": {"boxes_3d": (N,4), "scores_3d": (N,), "labels_3d": (N,), "pts_3d": (N,20,2)}}].
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime"))

from podagent_mmdet import TemporalModel, nuscenes_bev_input, video_test_mode  # noqa: E402
from podagent_worker import serve  # noqa: E402


class MapTR(TemporalModel):
    name = "MapTR"

    def uses_temporal_state(self, cfg):
        return video_test_mode(cfg)

    def input_dict(self, sample, scene, timestamp, frame_index):
        # MapTR's dataset passes the info's timestamp as is: microseconds.
        return nuscenes_bev_input(sample, scene, int(round(timestamp * 1e6)), frame_index)


if __name__ == "__main__":
    sys.exit(serve(MapTR()))
