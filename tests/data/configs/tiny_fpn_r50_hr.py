# A tiny HR model for the tests: the real teacher config, narrow and short.
_base_ = ['../../../configs/teachers/defect_seg_r50_hr.py']
generator_cfg = dict(img_size=64, num_train=8, num_val=4, num_test=4, seed=1)
model = dict(
    backbone=dict(depth=18, stem_channels=16, base_channels=16),
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
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=3))
