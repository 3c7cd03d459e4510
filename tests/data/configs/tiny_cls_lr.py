# A tiny LR classifier for the tests: the Fashion-MNIST x0.5 LR-only config,
# a narrow ResNet-18 and a short schedule (the tests set data_root to a
# generated set in the Fashion-MNIST file format).
_base_ = ['../../../configs/baselines/cls_fmnist_r18_lr.py']
model = dict(
    backbone=dict(stem_channels=8, base_channels=8),
    head=dict(in_channels=64))
val_size = 8
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(val_size=val_size))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(val_size=val_size))
test_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
train_cfg = dict(max_iters=4, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=2,
         end=4),
]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=3))
