# STAND-IN config (tests only): the parts of StreamPETR's config the worker reads.
plugin = True
plugin_dir = 'projects/mmdet3d_plugin/'
class_names = ['car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier',
               'motorcycle', 'bicycle', 'pedestrian', 'traffic_cone']
collect_keys = ['lidar2img', 'intrinsics', 'extrinsics', 'timestamp', 'img_timestamp', 'ego_pose', 'ego_pose_inv']
model = dict(type='Petr3D')
test_pipeline = [
    dict(type='LoadMultiViewImageFromFiles', to_float32=True),
    dict(type='ResizeCropFlipRotImage', training=False),
    dict(type='NormalizeMultiviewImage'),
    dict(type='PadMultiViewImage', size_divisor=32),
    dict(type='MultiScaleFlipAug3D', img_scale=(1333, 800), pts_scale_ratio=1, flip=False, transforms=[
        dict(type='PETRFormatBundle3D', collect_keys=collect_keys, class_names=class_names, with_label=False),
        dict(type='Collect3D', keys=['img'] + collect_keys,
             meta_keys=('filename', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor', 'flip', 'box_mode_3d',
                        'box_type_3d', 'img_norm_cfg', 'scene_token'))])
]
data = dict(test=dict(pipeline=test_pipeline, classes=class_names))
