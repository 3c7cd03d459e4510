# What every distiller adds to its schedule, as named pieces that the
# per-schedule distillation bases (schedules/distill_*.py) put in place:
# the discriminator's optimizer (Adam at a constant rate), the hooks (the
# runtime's, plus TeacherCacheHook, which switches the teacher-output cache
# off for random augmentations) and the DDP wrapper for two optimised
# parts (each trained part of the distiller in its own DDP wrapper).
discriminator_optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999)))
discriminator_param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=1)
]
distill_custom_hooks = [
    dict(type='rkd_mm.NumClassCheckHook'),
    dict(type='rkd_mm.RNGStateHook'),
    dict(type='rkd_mm.TeacherCacheHook'),
]
model_wrapper_cfg = dict(
    type='rkd_mm.DistillerDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
