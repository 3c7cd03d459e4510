# Resolution-aware KD for classification: HR teacher (ResNet-18, 28x28
# Fashion-MNIST) -> LR student (the same network at x0.5 = 14x14) with a
# feature discriminator and the CRKD loss (resolution-aware KD on the
# logits + pair-wise constraint + MMD on the pooled features), the
# paper's global form. Same distiller as segmentation: the task adapter
# (rkd_mm.ClassificationAdapter) is picked from the student.
#
# Data are the HR batches (the teacher's view); the student makes its LR
# view in its own LR data preprocessor (the student config is the LR-only
# baseline's, whose data_preprocessor.scale_factor is the scale). The
# student gets the LR-only baseline's schedule. Weights are 1 here:
# calibrate them with the project's rule (docs/method.md, "Calibrating the weights"), e.g.
# tools/run_experiment.py CONFIG --target-ratio 0.1.
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/distill_cpu_cls_1k.py'
]

teacher_config = '{{fileDirname}}/../teachers/cls_fmnist_r18_hr.py'
student_config = '{{fileDirname}}/../baselines/cls_fmnist_r18_lr.py'
# the newest best checkpoint of `python tools/train.py <teacher_config>`
teacher_ckpt = 'work_dirs/cls_fmnist_r18_hr/best_accuracy_iter_*.pth'
# the pooled 256-d feature (the head's input) and the logits
taps = dict(feat=dict(module='neck', index=0), logits='head.fc')

model = dict(
    type='rkd_mm.ResolutionAwareDistiller',
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
    discriminator=dict(type='rkd_mm.FeatureDiscriminator', in_channels=256),
    adv_loss=dict(
        type='rkd_mm.AdversarialLoss', gan_type='lsgan', loss_weight=0.1),
    disc_tap='feat',
    distill_warmup_iters=100,
    # flips only: every (image, flip) variant's teacher taps are reusable
    # across the runs sharing the teacher (docs/method.md)
    teacher_cache=dict(cache_dir='work_dirs/teacher_cache'))

# the KD baselines the runner compares with (tools/run_experiment.py): each
# recipe's distillation fields replace this config's
method_recipes = dict(
    kd='{{fileDirname}}/../baselines/kd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py',
    dkd='{{fileDirname}}/../baselines/dkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py',
    fitnet='{{fileDirname}}/../baselines/fitnet_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py',
    relkd='{{fileDirname}}/../baselines/relkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py')
