# Built-in synthetic defect segmentation data (HR, 128x128).
# The data is generated into data_root on first use (about 30 s) if missing;
# tools/dataset_converters/generate_synthetic_defects.py writes it by hand.
dataset_type = 'rkd_mm.SyntheticDefectDataset'
data_root = 'data/synthetic_defects'
crop_size = (128, 128)
generator_cfg = dict(
    img_size=128, num_train=1000, num_val=200, num_test=200, seed=0)
# Flips only: a finite augmentation set (the distillers can cache the
# teacher's outputs for it).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        generator_cfg=generator_cfg,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        generator_cfg=generator_cfg,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        generator_cfg=generator_cfg,
        data_prefix=dict(
            img_path='img_dir/test', seg_map_path='ann_dir/test'),
        pipeline=test_pipeline))
val_evaluator = dict(type='rkd_mm.PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
