# RKD on ELPV on a GPU: ResNet-50 at the native 300x300 -> ResNet-18 at x0.5
# (150x150), the CRKD loss in its global form with a linear connector from
# the student's 512-d pooled feature to the teacher's 2048-d one (for MMD
# and the discriminator). On a 2-core CPU use
# cls_elpv_mnv2_to_mnv2_lr_x0.25.py. Weights are 1 (adversarial 0.1).
_base_ = [
    '../_base_/datasets/elpv.py', '../_base_/schedules/distill_gpu_elpv.py'
]
taps = dict(feat=dict(module='neck', index=0), logits='head.fc')
model = dict(
    type='rkd_mm.ResolutionAwareDistiller',
    teacher=dict(cfg_path='{{fileDirname}}/../teachers/cls_elpv_r50_hr.py'),
    student=dict(cfg_path='{{fileDirname}}/../baselines/cls_elpv_r18_lr.py'),
    # the newest best checkpoint of `python tools/train.py <teacher config>`
    # (relative to the working directory; --cfg-options
    # model.teacher_ckpt=PATH for another)
    teacher_ckpt='work_dirs/cls_elpv_r50_hr/best_macro_f1_iter_*.pth',
    distiller=dict(
        type='rkd_mm.ConfigurableDistiller',
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
                preds_S=dict(from_student=True, tap='feat',
                             connector='feat'),
                preds_T=dict(from_student=False, tap='feat'))),
        adversarial=dict(
            discriminator=dict(
                type='rkd_mm.FeatureDiscriminator', in_channels=2048),
            loss=dict(
                type='rkd_mm.AdversarialLoss', gan_type='lsgan',
                loss_weight=0.1),
            tap='feat',
            # it judges the student's feature after the connector
            connector='feat')),
    distill_warmup_iters=250,
    # flips only: every (image, flip) variant's teacher taps are reusable
    teacher_cache=dict(cache_dir='work_dirs/teacher_cache', max_memory_gb=0))
train_dataloader = dict(dataset=dict(pipeline={{_base_.native_train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.native_test_pipeline}}))
test_dataloader = dict(dataset=dict(pipeline={{_base_.native_test_pipeline}}))
# the KD baselines tools/run_experiment.py compares with: the
# classification recipes (only their model.distiller is used)
method_recipes = dict(
    kd='{{fileDirname}}/../kd_baselines/cls_fmnist_r18_to_r18_kd_lr.py',
    dkd='{{fileDirname}}/../kd_baselines/cls_fmnist_r18_to_r18_dkd_lr.py')
