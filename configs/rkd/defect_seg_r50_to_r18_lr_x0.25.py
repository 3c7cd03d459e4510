# RKD, defect segmentation at x0.25 (the student sees 32x32): the same
# recipe; the scale and the weights the rule gives at this scale change (the
# connector follows the scale: 8x8 -> 32x32).
_base_ = ['./defect_seg_r50_to_r18_lr.py']
model = dict(
    student=dict(data_preprocessor=dict(scale_factor=0.25)),
    # R = 0.1 at x0.25, seed 0, trained teacher, 8 batches
    distiller=dict(
        distill_losses=dict(
            loss_kd=dict(loss_weight=0.10445),
            loss_pair=dict(loss_weight=9.78547))))
