# Attention transfer (Zagoruyko & Komodakis, ICLR 2017) at the last three
# backbone stages, each as the authors add it: beta * at_loss with beta =
# 1000 (at_loss a mean over the grid; the student's maps upsampled).
_at_loss = dict(
    type='rkd_mm.AttentionTransferLoss', p=2.0, align='upsample_student',
    loss_weight=1000.0)
_stages = dict(
    stage2='backbone.layer2',
    stage3='backbone.layer3',
    stage4='backbone.layer4')
at_seg = dict(
    _delete_=True,
    type='rkd_mm.ConfigurableDistiller',
    student_taps=_stages,
    teacher_taps=_stages,
    distill_losses={f'loss_at{i}': _at_loss
                    for i in (2, 3, 4)},
    loss_inputs={
        f'loss_at{i}': dict(
            preds_S=dict(from_student=True, tap=f'stage{i}'),
            preds_T=dict(from_student=False, tap=f'stage{i}'))
        for i in (2, 3, 4)
    })
