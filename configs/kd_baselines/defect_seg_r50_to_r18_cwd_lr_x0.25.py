# KD baseline, defect segmentation, x0.25 (the student sees 32x32): channel-
# wise distillation on the logits (../_base_/recipes/cwd.py) on the RKD
# protocol.
_base_ = [
    '../rkd/defect_seg_r50_to_r18_lr.py', '../_base_/recipes/cwd.py'
]
model = dict(
    student=dict(data_preprocessor=dict(scale_factor=0.25)),
    distiller={{_base_.cwd_seg}})
