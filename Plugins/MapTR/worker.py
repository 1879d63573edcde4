"""MapTR worker (hustvl/MapTR, mmdet3d 0.17): one sample of six cameras -> the vector-map raw output.

MapTR's BEV encoder is temporal (BEVFormer-style `prev_frame_info`: previous BEV and ego motion
from can_bus, kept while `scene_token` stays the same), so frames of a scene must come in time
order, as for StreamPETR: an out-of-order timestamp in the same scene is refused as bad_input; a
new scene, options.new_scene, a `reset` request or a failed frame start from no previous BEV.

Builds the input dict the way CustomNuScenesLocalMapDataset.get_data_info does (can_bus position,
orientation and yaw from the ego pose, lidar2img from the cameras) and runs the config's test pipeline.
Raw: [{"pts_bbox": {"boxes_3d": (N,4), "scores_3d": (N,), "labels_3d": (N,), "pts_3d": (N,20,2)}}].
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime"))

from podagent_mmdet import TemporalModel, nuscenes_bev_input  # noqa: E402
from podagent_worker import serve  # noqa: E402


class MapTR(TemporalModel):
    name = "MapTR"

    def input_dict(self, sample, scene, timestamp, frame_index):
        # MapTR's dataset passes the info's timestamp as is: microseconds.
        return nuscenes_bev_input(sample, scene, int(round(timestamp * 1e6)), frame_index)


if __name__ == "__main__":
    sys.exit(serve(MapTR()))
