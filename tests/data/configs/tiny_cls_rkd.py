# A tiny classification RKD distiller for the tests: the Fashion-MNIST x0.5
# recipe with the tiny teacher/student configs, a narrow discriminator and
# a short schedule (the tests set data_root and, or not, teacher_ckpt).
_base_ = ['../../../configs/rkd/cls_fmnist_r18_to_r18_lr.py']
model = dict(
    teacher=dict(cfg_path='{{fileDirname}}/tiny_cls_hr.py'),
    student=dict(cfg_path='{{fileDirname}}/tiny_cls_lr.py'),
    teacher_ckpt=None,
    distiller=dict(
        adversarial=dict(
            discriminator=dict(in_channels=64, hidden_channels=16))),
    distill_warmup_iters=2,
    # no shared teacher cache: tests must not write into work_dirs/
    teacher_cache=None)
val_size = 8
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(val_size=val_size))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(val_size=val_size))
test_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False)
train_cfg = dict(max_iters=4, val_interval=2)
param_scheduler = dict(student=[
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=2,
         end=4),
])
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=3))
