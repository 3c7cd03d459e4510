# KD baseline, defect segmentation, x0.5: attention transfer at the last three
# stages (../_base_/recipes/at.py) in place of RKD's distiller; everything
# else (data, schedule, optimizer, teacher, student, warm-up, cache) is the
# RKD config's, so the methods compare on one protocol.
_base_ = [
    '../rkd/defect_seg_r50_to_r18_lr.py', '../_base_/recipes/at.py'
]
model = dict(distiller={{_base_.at_seg}})
