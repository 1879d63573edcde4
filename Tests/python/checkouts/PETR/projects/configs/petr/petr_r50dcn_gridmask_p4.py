# STAND-IN config (tests only): the parts of PETR's config the worker reads.
plugin = True
plugin_dir = 'projects/mmdet3d_plugin/'
class_names = ['car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier',
               'motorcycle', 'bicycle', 'pedestrian', 'traffic_cone']
model = dict(type='Petr3D')
test_pipeline = [
    dict(type='LoadMultiViewImageFromFiles', to_float32=True),
    dict(type='ResizeCropFlipImage', training=False),
    dict(type='NormalizeMultiviewImage'),
    dict(type='PadMultiViewImage', size_divisor=32),
    dict(type='MultiScaleFlipAug3D', img_scale=(1333, 800), pts_scale_ratio=1, flip=False, transforms=[
        dict(type='DefaultFormatBundle3D', class_names=class_names, with_label=False),
        dict(type='Collect3D', keys=['img'])])
]
data = dict(test=dict(pipeline=test_pipeline, classes=class_names))
