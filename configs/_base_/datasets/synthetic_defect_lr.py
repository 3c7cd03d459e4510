# LR view of the built-in defect data: the image is downscaled by
# rkd_mm.LRDownsample (area averaging), the label map stays HR (128x128), so
# LR models are trained and scored against exactly the teacher's masks.
# Children change the factor by redefining lr_scale AND the two pipelines
# (MMEngine does not re-evaluate a base file's variables).
_base_ = ['./synthetic_defect.py']
lr_scale = 0.5
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
