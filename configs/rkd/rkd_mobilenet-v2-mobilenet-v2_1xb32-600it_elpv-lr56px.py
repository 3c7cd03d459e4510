# Resolution-aware KD on ELPV solar cells (4 levels): HR teacher (the
# ImageNet-pretrained MobileNetV2 fine-tuned at 224x224) -> LR student (the
# same network and init at x0.25 = 56x56), with a feature discriminator and
# the CRKD loss (resolution-aware KD on the logits + pair-wise constraint +
# MMD on the pooled 1280-d features), the paper's global form, as for
# Fashion-MNIST. The student is the LR-only config (its LR data
# preprocessor holds the scale) and gets its schedule; checkpoints are
# chosen on val macro-F1. Weights are 1 here: calibrate them with the
# project's rule, e.g. tools/run_experiment.py CONFIG --target-ratio 0.1.
_base_ = [
    '../_base_/datasets/elpv.py', '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_cpu_elpv.py'
]

teacher_config = '{{fileDirname}}/../teachers/cls_elpv_mnv2_hr.py'
student_config = '{{fileDirname}}/../baselines/cls_elpv_mnv2_lr_x0.25.py'
# the newest best checkpoint of `python tools/train.py <teacher_config>`
teacher_ckpt = 'work_dirs/cls_elpv_mnv2_hr/best_macro_f1_iter_*.pth'
# the pooled 1280-d feature (the head's input) and the logits
taps = dict(feat=dict(module='neck', index=0), logits='head.fc')

model = dict(
    type='rkd_mm.ResolutionAwareDistiller',
    # both models come trained (teacher_ckpt) or pretrained (the student's
    # own init_cfg): no download, the converted ImageNet file is local
    teacher=dict(cfg_path=teacher_config),
    student=dict(cfg_path=student_config),
    teacher_ckpt=teacher_ckpt,
    student_taps=taps,
    teacher_taps=taps,
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
            preds_S=dict(from_student=True, tap='feat'),
            preds_T=dict(from_student=False, tap='feat'))),
    discriminator=dict(type='rkd_mm.FeatureDiscriminator', in_channels=1280),
    adv_loss=dict(
        type='rkd_mm.AdversarialLoss', gan_type='lsgan', loss_weight=0.1),
    disc_tap='feat',
    distill_warmup_iters=60,
    # flips only: every (image, flip) variant's teacher taps are reusable
    # across the runs sharing the teacher (docs/method.md). Disk only: with
    # the in-memory copy (max_memory_gb=4) a runner's run grew by ~45 MB
    # per iteration here (15.7 GB at iteration 450), far beyond the bytes
    # the cache holds; a fixed MALLOC_MMAP_THRESHOLD_ kept it at 1.35 GB
    # (+40 % step time), so it is glibc's heap, but an 80-iteration probe
    # outside the runner did not reproduce it and packing the entries did
    # not change it (docs/results.md, ELPV): the cause is open. Reading
    # the files costs no measurable time (57.9 vs 56.1 s for 60
    # iterations).
    teacher_cache=dict(cache_dir='work_dirs/teacher_cache', max_memory_gb=0))

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
# the KD baselines the runner compares with: the classification recipes
# (logits at head.fc, whatever the classifier; their distillation fields
# replace this config's, nothing else of them is used)
recipes = '{{fileDirname}}/../baselines/'
method_recipes = dict(
    kd=recipes + 'kd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py',
    dkd=recipes + 'dkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py')
