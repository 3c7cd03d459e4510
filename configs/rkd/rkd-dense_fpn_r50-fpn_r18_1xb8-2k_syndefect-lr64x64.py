# Dense CRKD: the paper's three CRKD terms and its discriminator carried
# over to dense prediction (docs/method.md, "Dense CRKD"), x0.5 student.
# Everything but the distillation fields is the RKD config's (data,
# schedule, optimizers, teacher, student, taps, cache, warm-up).
#
# * feat (the head's 128-channel map before dropout, stride 4) is lifted
#   from the student's 16x16 grid to the teacher's 32x32 by a learned
#   sub-pixel connector, so every dense term compares aligned maps;
# * loss_kd: pixel-wise KD weighted where the teacher's HR and LR
#   predictions disagree (detail_weight), averaged per class (labels by
#   block majority), so thin defects weigh as much as the background;
# * loss_pair: pair-wise constraint over pixel pairs (cosine affinities of
#   all 32x32 locations; Liu et al. 2019);
# * loss_mmd: MMD between the pixel embeddings of each class;
# * a PatchGAN discriminator judges the aligned maps location by location.
# Weights: the calibration rule (docs/method.md): at initialisation each
# term's gradient norm on the student is a fixed fraction of the task's
# (tools/analysis_tools/loss_gradients.py --target-ratio).
_base_ = ['./rkd_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
model = dict(
    connectors=dict(
        feat=dict(
            type='rkd_mm.UpsampleConnector',
            in_channels=128,
            out_channels=128,
            # the teacher's input size over the student's: 2 here, 4 at
            # x0.25 (set by the distiller)
            scale='auto')),
    distill_losses=dict(
        _delete_=True,
        loss_kd=dict(
            type='rkd_mm.ResolutionAwareKDLoss',
            tau=1.0,
            detail_weight=2.0,
            class_balance='gt',
            loss_weight=1.0),
        loss_pair=dict(type='rkd_mm.PixelAffinityLoss', loss_weight=1.0),
        loss_mmd=dict(
            type='rkd_mm.PixelMMDLoss',
            mode='class',
            max_samples=1024,
            loss_weight=1.0)),
    loss_inputs=dict(
        _delete_=True,
        loss_kd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'),
            preds_T_lr=dict(from_student=False, tap='logits', view='lr'),
            gt='gt'),
        loss_pair=dict(
            preds_S=dict(from_student=True, tap='feat', connector='feat'),
            preds_T=dict(from_student=False, tap='feat')),
        loss_mmd=dict(
            preds_S=dict(from_student=True, tap='feat', connector='feat'),
            preds_T=dict(from_student=False, tap='feat'),
            gt='gt')),
    discriminator=dict(
        _delete_=True,
        type='rkd_mm.PatchDiscriminator',
        in_channels=128,
        grid_size=32,
        base_channels=64),
    # the discriminator judges the student's map after the same connector
    disc_connector='feat',
    adv_loss=dict(loss_weight=0.1))
