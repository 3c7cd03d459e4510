# KD baseline, defect segmentation, x0.25 (the student sees 32x32): attention
# transfer at the last three stages (../_base_/recipes/at.py) on the RKD
# protocol.
_base_ = [
    '../rkd/defect_seg_r50_to_r18_lr.py', '../_base_/recipes/at.py'
]
model = dict(
    student=dict(data_preprocessor=dict(scale_factor=0.25)),
    distiller={{_base_.at_seg}})
