# Entry point: the LR-only student (ResNet-18) on Fashion-MNIST at x0.25
# (28 -> 7 px). Only the scale changes (both pipelines carry it).
_base_ = ['./resnet18-w32_1xb64-1k_fmnist-lr14px.py']
lr_scale = 0.25
train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='rkd_mm.LRDownsample', scale_factor=lr_scale),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='rkd_mm.LRDownsample', scale_factor=lr_scale),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
