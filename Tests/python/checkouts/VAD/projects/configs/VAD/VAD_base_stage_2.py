# STAND-IN config (tests only): the parts of VAD's config the worker reads.
plugin = True
plugin_dir = 'projects/mmdet3d_plugin/'
class_names = ['car', 'truck', 'construction_vehicle', 'bus', 'trailer', 'barrier',
               'motorcycle', 'bicycle', 'pedestrian', 'traffic_cone']
map_classes = ['divider', 'ped_crossing', 'boundary']
model = dict(type='VAD', video_test_mode=True)
test_pipeline = [
    dict(type='LoadMultiViewImageFromFiles', to_float32=True),
    dict(type='LoadPointsFromFile', coord_type='LIDAR', load_dim=5, use_dim=5),
    dict(type='LoadAnnotations3D', with_bbox_3d=True, with_label_3d=True, with_attr_label=True),
    dict(type='CustomObjectRangeFilter'),
    dict(type='CustomObjectNameFilter', classes=class_names),
    dict(type='NormalizeMultiviewImage'),
    dict(type='MultiScaleFlipAug3D', img_scale=(1600, 900), pts_scale_ratio=1, flip=False, transforms=[
        dict(type='RandomScaleImageMultiViewImage', scales=[0.8]),
        dict(type='PadMultiViewImage', size_divisor=32),
        dict(type='CustomDefaultFormatBundle3D', class_names=class_names, with_label=False, with_ego=True),
        dict(type='CustomCollect3D', keys=['points', 'gt_bboxes_3d', 'gt_labels_3d', 'img', 'fut_valid_flag',
                                           'ego_his_trajs', 'ego_fut_trajs', 'ego_fut_masks', 'ego_fut_cmd',
                                           'ego_lcf_feat', 'gt_attr_labels'])])
]
data = dict(test=dict(pipeline=test_pipeline, classes=class_names))
