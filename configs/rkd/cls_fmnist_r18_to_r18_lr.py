# RKD for Fashion-MNIST classification: the HR teacher (ResNet-18 at 28x28)
# -> the same network at x0.5 (14x14), with the CRKD loss in the paper's
# global form (resolution-aware KD on the logits + pair-wise constraint +
# MMD on the pooled 256-d feature) and a feature discriminator on it. The
# same distiller as segmentation: the task adapter
# (rkd_mm.ClassificationAdapter) is picked from the student. Weights are 1
# (adversarial 0.1) here: calibrate them with the project's rule, e.g.
# tools/run_experiment.py CONFIG --target-ratio 0.1.
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/schedules/distill_cpu_cls_1k.py'
]
# the pooled 256-d feature (the head's input) and the logits
taps = dict(feat=dict(module='neck', index=0), logits='head.fc')
model = dict(
    type='rkd_mm.ResolutionAwareDistiller',
    teacher=dict(cfg_path='{{fileDirname}}/../teachers/cls_fmnist_r18_hr.py'),
    student=dict(cfg_path='{{fileDirname}}/../baselines/cls_fmnist_r18_lr.py'),
    # the newest best checkpoint of `python tools/train.py <teacher config>`
    # (relative to the working directory; --cfg-options
    # model.teacher_ckpt=PATH for another)
    teacher_ckpt='work_dirs/cls_fmnist_r18_hr/best_accuracy_iter_*.pth',
    distiller=dict(
        type='rkd_mm.ConfigurableDistiller',
        student_taps=taps,
        teacher_taps=taps,
        distill_losses=dict(
            loss_kd=dict(
                type='rkd_mm.ResolutionAwareKDLoss',
                tau=1.0,
                detail_weight=2.0,
                loss_weight=1.0),
            loss_pair=dict(
                type='rkd_mm.PairwiseSimilarityLoss', loss_weight=1.0),
            loss_mmd=dict(
                type='rkd_mm.MMDLoss', normalize=True, loss_weight=1.0)),
        loss_inputs=dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, tap='logits'),
                preds_T=dict(from_student=False, tap='logits'),
                preds_T_lr=dict(from_student=False, tap='logits',
                                view='lr')),
            loss_pair=dict(
                preds_S=dict(from_student=True, tap='feat'),
                preds_T=dict(from_student=False, tap='feat')),
            loss_mmd=dict(
                preds_S=dict(from_student=True, tap='feat'),
                preds_T=dict(from_student=False, tap='feat'))),
        adversarial=dict(
            discriminator=dict(
                type='rkd_mm.FeatureDiscriminator', in_channels=256),
            loss=dict(
                type='rkd_mm.AdversarialLoss', gan_type='lsgan',
                loss_weight=0.1),
            tap='feat')),
    distill_warmup_iters=100,
    # flips only: every (image, flip) variant's teacher taps are reusable
    # across the runs sharing the teacher (docs/method.md)
    teacher_cache=dict(cache_dir='work_dirs/teacher_cache'))
# the KD baselines tools/run_experiment.py compares with (--methods): each
# one's model.distiller replaces this config's
method_recipes = {
    m: '{{fileDirname}}/../kd_baselines/cls_fmnist_r18_to_r18_' + m +
    '_lr.py'
    for m in ('kd', 'dkd', 'fitnet', 'relkd')
}
