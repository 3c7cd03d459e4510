# KD baseline, defect segmentation, x0.25 (the student sees 32x32): decoupled
# KD on the logits (../_base_/recipes/dkd.py) on the RKD protocol.
_base_ = [
    '../rkd/defect_seg_r50_to_r18_lr.py', '../_base_/recipes/dkd.py'
]
model = dict(
    student=dict(data_preprocessor=dict(scale_factor=0.25)),
    distiller={{_base_.dkd_seg}})
