# Iteration-based schedule for the LR students (LR-only and distilled alike,
# so every student gets the same budget): the teacher's optimizer and
# policy over 1,000 iterations of batch 8.
_base_ = ['./schedule_cpu_2k.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='PolyLR', eta_min=1e-5, power=1.0, by_epoch=False, begin=50,
         end=1000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=250)
default_hooks = dict(checkpoint=dict(interval=250))
