# Iteration-based classification schedule for a 2-core CPU, the same for
# the HR teacher and every LR student (LR-only and distilled alike): 1,000
# iterations of batch 64 (64,000 samples, ~1.3 passes over the 50,000
# training images), AdamW (fused: one kernel for the update, see
# schedule_cpu_2k.py), linear warm-up then cosine decay. Checkpoints are
# chosen on val accuracy.
optimizer = dict(
    type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-4, fused=True)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer,
                     clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=50,
         end=1000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=250)
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
        max_keep_ckpts=2,
        save_best='accuracy',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # tools/test.py --show-dir: each test image, enlarged, with its true
    # and predicted class (and a distiller's teacher's)
    visualization=dict(type='rkd_mm.ClsPanelVisualizationHook', enable=False))
