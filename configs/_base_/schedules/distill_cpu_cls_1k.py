# Classification-family distillers (Fashion-MNIST classification, re-ID,
# face): the LR-only students' runtime and 1,000-iteration schedule, the
# student keeping that schedule's optimizer and LR policy, with the
# distillation pieces of ../distill_runtime.py and the distillation
# val/test loops (student and teacher scored side by side).
_base_ = [
    '../default_runtime_cls.py', './schedule_cpu_cls_1k.py',
    '../distill_runtime.py'
]
optim_wrapper = dict(
    _delete_=True,
    constructor='rkd_mm.MultiOptimWrapperConstructor',
    student={{_base_.optim_wrapper}},
    discriminator={{_base_.discriminator_optim_wrapper}})
param_scheduler = dict(
    _delete_=True,
    student={{_base_.param_scheduler}},
    discriminator={{_base_.discriminator_param_scheduler}})
custom_hooks = {{_base_.distill_custom_hooks}}
val_cfg = dict(type='rkd_mm.DistillValLoop')
test_cfg = dict(type='rkd_mm.DistillTestLoop')
