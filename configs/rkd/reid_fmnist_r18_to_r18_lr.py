# RKD for re-ID on Fashion-MNIST (Market-1501 layout): the HR teacher
# (ResNet-18 + BNNeck at 28x28) -> the same network at x0.5 (14x14). The
# same distiller and recipe as classification; the task adapter
# (rkd_mm.EmbeddingAdapter) is picked from the student's embedding head.
# Resolution-aware KD on the ID logits; the pair-wise constraint, MMD and
# the discriminator act on the embedding that retrieval compares (the
# BNNeck output). The student keeps its own ID and triplet losses. Weights
# are 1 (adversarial 0.1) here: calibrate them with the project's rule,
# e.g. tools/run_experiment.py CONFIG --target-ratio 0.1.
_base_ = [
    '../_base_/datasets/fmnist_reid.py',
    '../_base_/schedules/distill_cpu_cls_1k.py'
]
# the 256-d embedding (BNNeck output) and the ID logits
taps = dict(emb='head.bnneck', logits='head.fc')
model = dict(
    type='rkd_mm.ResolutionAwareDistiller',
    teacher=dict(cfg_path='{{fileDirname}}/../teachers/reid_fmnist_r18_hr.py'),
    student=dict(cfg_path='{{fileDirname}}/../baselines/reid_fmnist_r18_lr.py'),
    # the newest best checkpoint of `python tools/train.py <teacher config>`
    # (relative to the working directory; --cfg-options
    # model.teacher_ckpt=PATH for another)
    teacher_ckpt='work_dirs/reid_fmnist_r18_hr/best_mAP_iter_*.pth',
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
                preds_S=dict(from_student=True, tap='emb'),
                preds_T=dict(from_student=False, tap='emb')),
            loss_mmd=dict(
                preds_S=dict(from_student=True, tap='emb'),
                preds_T=dict(from_student=False, tap='emb'))),
        adversarial=dict(
            discriminator=dict(
                type='rkd_mm.FeatureDiscriminator', in_channels=256),
            loss=dict(
                type='rkd_mm.AdversarialLoss', gan_type='lsgan',
                loss_weight=0.1),
            tap='emb')),
    distill_warmup_iters=100,
    # flips only: every (image, flip) variant's teacher taps are reusable
    teacher_cache=dict(cache_dir='work_dirs/teacher_cache'))
# tools/test.py --show-dir draws rank lists, not per-image predictions
default_hooks = dict(
    checkpoint=dict(save_best='mAP'),
    visualization=dict(
        _delete_=True, type='rkd_mm.RetrievalVisualizationHook',
        enable=False))
# the baselines tools/run_experiment.py compares with: KD on the ID logits
# and FitNet (the classification recipes: head.fc, backbone.layer3),
# relational KD on the embedding
method_recipes = dict(
    kd='{{fileDirname}}/../kd_baselines/cls_fmnist_r18_to_r18_kd_lr.py',
    fitnet='{{fileDirname}}/../kd_baselines/'
    'cls_fmnist_r18_to_r18_fitnet_lr.py',
    relkd='{{fileDirname}}/../kd_baselines/'
    'reid_fmnist_r18_to_r18_relkd_lr.py')
