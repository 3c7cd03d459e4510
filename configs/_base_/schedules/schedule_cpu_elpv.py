# Iteration-based ELPV schedule for a 2-core CPU, meant to be the same for
# the HR teacher and every LR student: 600 iterations of batch 32 (19,200
# samples, ~12 passes over the 1,574 training images), AdamW (fused),
# linear warm-up then cosine decay. ELPV's classes are imbalanced (904 /
# 177 / 64 / 429), so checkpoints are chosen on val macro-F1, not accuracy.
optimizer = dict(
    type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4, fused=True)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer,
                     clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=50),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=50,
         end=600),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600, val_interval=100)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=100,
        max_keep_ckpts=1,
        save_best='macro_f1',
        rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # tools/test.py --show-dir: each test image, enlarged, with its true
    # and predicted class (and a distiller's teacher's)
    visualization=dict(type='rkd_mm.ClsPanelVisualizationHook', enable=False))
