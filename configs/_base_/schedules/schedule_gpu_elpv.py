# Iteration-based ELPV schedule for one GPU, the same for the HR teacher
# and every LR student: 5,000 iterations of batch 32 (~100 passes over the
# 1,574 training images: from scratch, the networks need them), AdamW,
# linear warm-up then cosine decay. Checkpoints are chosen on val macro-F1
# (the classes are imbalanced). Not run on the 2-core CPU (the R50 teacher
# at 300x300 would take days there): see docs/elpv_regime.md.
optimizer = dict(
    type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=5e-2)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer,
                     clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=250),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=250,
         end=5000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=5000, val_interval=250)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=250,
        max_keep_ckpts=1,
        save_best='macro_f1',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # tools/test.py --show-dir: each test image, enlarged, with its true
    # and predicted class (and a distiller's teacher's)
    visualization=dict(type='rkd_mm.ClsPanelVisualizationHook', enable=False))
