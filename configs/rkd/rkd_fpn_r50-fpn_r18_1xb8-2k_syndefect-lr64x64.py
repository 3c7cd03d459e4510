# Resolution-aware KD: HR teacher (R50-FPN, 128x128) -> LR student (R18-FPN,
# x0.5 = 64x64) with a feature discriminator and the CRKD loss
# (resolution-aware KD + pair-wise constraint + MMD). See docs/method.md.
#
# Data are the HR batches (the teacher's view); the student makes its LR
# view in its own LR data preprocessor (the student config is the LR-only
# baseline's, whose data_preprocessor.scale_factor is the scale). The
# student gets the LR-only baseline's schedule (2,000 iterations), so the
# two compare on equal terms. Teacher and student models come from their
# own configs (cfg_path): edit those and this config follows.
_base_ = [
    '../_base_/datasets/synthetic_defect.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cpu_2k.py'
]

teacher_config = '{{fileDirname}}/../teachers/defect_seg_r50_hr.py'
student_config = '{{fileDirname}}/../baselines/defect_seg_r18_lr.py'
# the newest best checkpoint of `python tools/train.py <teacher_config>`
teacher_ckpt = 'work_dirs/defect_seg_r50_hr/best_mIoU_iter_*.pth'
# the fused FPN-head feature (128 channels at stride 4 in both models) and
# the logits. The feature is the input of the head's Dropout2d, not of
# conv_seg: in training, conv_seg's input has ~10 % of its channels zeroed
# by dropout while the frozen teacher (eval) has none, a cue that a
# discriminator or a feature loss would learn instead of the features.
taps = dict(
    feat=dict(module='decode_head.dropout', source='input'),
    logits='decode_head.conv_seg')

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
        loss_pair=dict(type='rkd_mm.PairwiseSimilarityLoss', loss_weight=10.0),
        loss_mmd=dict(type='rkd_mm.MMDLoss', normalize=True,
                      loss_weight=0.1)),
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
    discriminator=dict(type='rkd_mm.FeatureDiscriminator', in_channels=128),
    adv_loss=dict(
        type='rkd_mm.AdversarialLoss', gan_type='lsgan', loss_weight=0.1),
    disc_tap='feat',
    distill_warmup_iters=200,
    # reuse the frozen teacher's taps for recurring (image, flip) variants,
    # within a run and across the runs sharing the teacher (x0.5, x0.25,
    # ablations, seeds); the same numbers as online (docs/method.md)
    teacher_cache=dict(cache_dir='work_dirs/teacher_cache'))

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
# the student follows the LR-only schedule; the discriminator keeps its lr
param_scheduler = dict(
    _delete_=True,
    student={{_base_.param_scheduler}},
    discriminator=[
        dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=1)
    ])
# default_runtime's hooks + TeacherCacheHook, which switches the teacher
# cache off (with a warning) if the training pipeline has a random
# augmentation
custom_hooks = [
    dict(type='rkd_mm.NumClassCheckHook'),
    dict(type='rkd_mm.RNGStateHook'),
    dict(type='rkd_mm.TeacherCacheHook'),
]
val_cfg = dict(type='rkd_mm.DistillValLoop')
test_cfg = dict(type='rkd_mm.DistillTestLoop')
# Multi-process training (tools/dist_train.sh): the alternating student and
# discriminator updates need each part wrapped in DDP on its own.
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
# the KD baselines and recipes the runner compares with
# (tools/run_experiment.py --methods): each recipe's distillation fields
# replace this config's
method_recipes = {
    m: '{{fileDirname}}/../baselines/' + m +
    '_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py'
    for m in ('kd', 'fitnet', 'at', 'relkd', 'cwd', 'dkd')
}
method_recipes['rkd_dense'] = \
    '{{fileDirname}}/rkd-dense_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py'
