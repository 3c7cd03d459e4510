# LR view of Fashion-MNIST: the image is downscaled by rkd_mm.LRDownsample
# (area averaging) after the flip, x0.5 = 14x14 here. Children change the
# factor by redefining lr_scale AND the two pipelines (MMEngine does not
# re-evaluate a base file's variables).
_base_ = ['./fashion_mnist.py']
lr_scale = 0.5
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
