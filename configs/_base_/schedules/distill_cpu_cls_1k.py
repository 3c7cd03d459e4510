# What every classification-family distiller config (Fashion-MNIST
# classification, re-ID, face) shares on top of the LR-only students'
# runtime and 1,000-iteration schedule: the student keeps that schedule's
# optimizer and LR policy, the discriminator gets Adam at a constant rate;
# the teacher-cache hook; the distillation val/test loops (student and
# teacher scored side by side); the DDP wrapper for two optimised parts.
_base_ = ['../default_runtime_cls.py', './schedule_cpu_cls_1k.py']
optim_wrapper = dict(
    _delete_=True,
    constructor='rkd_mm.MultiOptimWrapperConstructor',
    student=dict(
        type='OptimWrapper',
        optimizer={{_base_.optimizer}},  # the LR-only student's optimizer
        clip_grad=dict(max_norm=10.0)),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))
param_scheduler = dict(
    _delete_=True,
    student={{_base_.param_scheduler}},
    discriminator=[
        dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=1)
    ])
custom_hooks = [
    dict(type='rkd_mm.NumClassCheckHook'),
    dict(type='rkd_mm.RNGStateHook'),
    dict(type='rkd_mm.TeacherCacheHook'),
]
val_cfg = dict(type='rkd_mm.DistillValLoop')
test_cfg = dict(type='rkd_mm.DistillTestLoop')
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
