# A tiny LR student for the tests: the real x0.5 baseline config with a
# narrow R18, few iterations and 64x64 data (data_root set by the tests).
_base_ = ['../../../configs/baselines/defect_seg_r18_lr.py']
generator_cfg = dict(img_size=64, num_train=8, num_val=4, num_test=4, seed=1)
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=16),
    decode_head=dict(in_channels=[16, 16, 16, 16], channels=16))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(generator_cfg=generator_cfg))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(generator_cfg=generator_cfg))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=4, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLR', eta_min=1e-5, power=1.0, by_epoch=False, begin=2,
         end=4),
]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=3))
