# A tiny RKD distiller for the tests: the x0.5 global-CRKD recipe with the
# tiny teacher/student configs, a narrow discriminator and a short schedule.
# The tests set model.teacher_ckpt and the data_root.
_base_ = [
    '../../../configs/rkd/ablations/defect_seg_r50_to_r18_global-crkd_lr.py'
]
generator_cfg = dict(img_size=64, num_train=8, num_val=4, num_test=4, seed=1)
model = dict(
    teacher=dict(cfg_path='{{fileDirname}}/tiny_fpn_r50_hr.py'),
    student=dict(cfg_path='{{fileDirname}}/tiny_fpn_r18_lr.py'),
    teacher_ckpt=None,
    distiller=dict(
        adversarial=dict(
            discriminator=dict(in_channels=16, hidden_channels=16))),
    distill_warmup_iters=2,
    # no shared teacher cache: tests must not write into work_dirs/
    teacher_cache=None)
# one worker: augmentations then run outside the main process, which a
# bit-exact resume needs (see RNGStateHook)
train_dataloader = dict(
    batch_size=2, num_workers=1, persistent_workers=True,
    dataset=dict(generator_cfg=generator_cfg))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(generator_cfg=generator_cfg))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=4, val_interval=2)
param_scheduler = dict(student=[
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLR', eta_min=1e-5, power=1.0, by_epoch=False, begin=2,
         end=4),
])
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=4))
