# KD baseline, defect segmentation, x0.25 (the student sees 32x32): Relational
# KD (Park et al.) on the pooled head feature (../_base_/recipes/relkd.py) on
# the RKD protocol.
_base_ = [
    '../rkd/defect_seg_r50_to_r18_lr.py', '../_base_/recipes/relkd.py'
]
model = dict(
    student=dict(data_preprocessor=dict(scale_factor=0.25)),
    distiller={{_base_.relkd_seg}})
