# LR-only baseline at x0.25 (128 -> 32 px); otherwise as the x0.5 config.
_base_ = ['./fpn_r18_1xb8-2k_syndefect-lr64x64.py']
lr_scale = 0.25
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='rkd_mm.LRDownsample', scale_factor=lr_scale),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='rkd_mm.LRDownsample', scale_factor=lr_scale),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
