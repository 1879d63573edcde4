# STAND-IN config (tests only): the parts of TopoMLP's config the worker reads (no class_names, like upstream).
custom_imports = dict(imports=['projects.topomlp'])
model = dict(type='TopoMLP')
test_pipeline = [
    dict(type='CustomLoadMultiViewImageFromFiles', to_float32=True),
    dict(type='NormalizeMultiviewImage'),
    dict(type='ResizeFrontView'),
    dict(type='ResizeMultiview3D', img_scale=(1024, 775), keep_ratio=False),
    dict(type='CustomPadMultiViewImage', size_divisor=32),
    dict(type='CustomDefaultFormatBundle'),
    dict(type='Collect', keys=['img'], meta_keys=['scene_token', 'sample_idx', 'img_paths', 'img_shape',
                                                  'scale_factor', 'pad_shape', 'lidar2img', 'can_bus', 'te_yolov8'])
]
data = dict(test=dict(pipeline=test_pipeline, test_mode=True))
