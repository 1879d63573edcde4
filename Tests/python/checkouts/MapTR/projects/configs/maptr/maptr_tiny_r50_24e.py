# STAND-IN config (tests only): the parts of MapTR's config the worker reads.
plugin = True
plugin_dir = 'projects/mmdet3d_plugin/'
class_names = ['car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier',
               'motorcycle', 'bicycle', 'pedestrian', 'traffic_cone']
map_classes = ['divider', 'ped_crossing', 'boundary']
# As MapTR's own (maptr_tiny_r50_24e.py l.55): prev_bev is dropped at test time.
model = dict(type='MapTR', video_test_mode=False)
test_pipeline = [
    dict(type='LoadMultiViewImageFromFiles', to_float32=True),
    dict(type='NormalizeMultiviewImage'),
    dict(type='MultiScaleFlipAug3D', img_scale=(1600, 900), pts_scale_ratio=1, flip=False, transforms=[
        dict(type='RandomScaleImageMultiViewImage', scales=[0.5]),
        dict(type='PadMultiViewImage', size_divisor=32),
        dict(type='DefaultFormatBundle3D', class_names=class_names, with_label=False),
        dict(type='CustomCollect3D', keys=['img'])])
]
data = dict(test=dict(pipeline=test_pipeline, classes=class_names))
fp16 = dict(loss_scale=512.)
