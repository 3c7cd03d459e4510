# Resolution-aware KD on ELPV on a GPU: HR teacher ResNet-50 at the native
# 300x300 -> LR student ResNet-18 at x0.5 (150x150), both from scratch, the
# GPU schedule (5,000 iterations of 32). The same global CRKD recipe as the
# CPU MobileNetV2 config (rkd_mobilenet-v2-mobilenet-v2_1xb32-600it_elpv-
# lr56px.py); the student's pooled 512-d feature meets the teacher's
# 2048-d one through a linear connector (MMD and the discriminator; the
# pair-wise term compares n x n similarity matrices, so it needs none). Not
# run here (docs/elpv_regime.md). Weights are 1: calibrate them with
# tools/run_experiment.py CONFIG --target-ratio R.
_base_ = [
    '../_base_/datasets/elpv.py', '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_gpu_elpv.py'
]

teacher_config = '{{fileDirname}}/../teachers/cls_elpv_r50_hr.py'
student_config = '{{fileDirname}}/../baselines/cls_elpv_r18_lr.py'
# the newest best checkpoint of `python tools/train.py <teacher_config>`
teacher_ckpt = 'work_dirs/cls_elpv_r50_hr/best_macro_f1_iter_*.pth'
# the pooled feature (the head's input) and the logits
taps = dict(feat=dict(module='neck', index=0), logits='head.fc')

model = dict(
    type='rkd_mm.ResolutionAwareDistiller',
    teacher=dict(cfg_path=teacher_config),
    student=dict(cfg_path=student_config),
    teacher_ckpt=teacher_ckpt,
    student_taps=taps,
    teacher_taps=taps,
    connectors=dict(
        feat=dict(
            type='rkd_mm.LinearConnector', in_channels=512,
            out_channels=2048)),
    distill_losses=dict(
        loss_kd=dict(
            type='rkd_mm.ResolutionAwareKDLoss',
            tau=1.0,
            detail_weight=2.0,
            loss_weight=1.0),
        loss_pair=dict(type='rkd_mm.PairwiseSimilarityLoss', loss_weight=1.0),
        loss_mmd=dict(type='rkd_mm.MMDLoss', normalize=True,
                      loss_weight=1.0)),
    loss_inputs=dict(
        loss_kd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'),
            preds_T_lr=dict(from_student=False, tap='logits', view='lr')),
        loss_pair=dict(
            preds_S=dict(from_student=True, tap='feat'),
            preds_T=dict(from_student=False, tap='feat')),
        loss_mmd=dict(
            preds_S=dict(from_student=True, tap='feat', connector='feat'),
            preds_T=dict(from_student=False, tap='feat'))),
    discriminator=dict(type='rkd_mm.FeatureDiscriminator', in_channels=2048),
    adv_loss=dict(
        type='rkd_mm.AdversarialLoss', gan_type='lsgan', loss_weight=0.1),
    disc_tap='feat',
    # the discriminator judges the student's feature after the connector
    disc_connector='feat',
    distill_warmup_iters=250,
    # flips only: every (image, flip) variant's teacher taps are reusable
    teacher_cache=dict(cache_dir='work_dirs/teacher_cache', max_memory_gb=0))

# native resolution, as the teacher's config (cls_elpv_r50_hr.py)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

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
# the KD baselines the runner compares with (logits at head.fc)
recipes = '{{fileDirname}}/../baselines/'
method_recipes = dict(
    kd=recipes + 'kd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py',
    dkd=recipes + 'dkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py')
