# LR-only baseline: ResNetV1c-18 + Semantic FPN sees the image at x0.5
# (128 -> 64 px, area averaging) in training and testing; it learns from and
# is scored against the HR 128x128 masks: its logit grid is resized to the
# mask size in one bilinear step, in the loss (mmseg) and in prediction
# (rkd_mm.LREncoderDecoder), so it is scored as it is trained.
#
# The data pipelines are the HR ones (as the teacher's and the distiller's);
# the LR view is made by the data preprocessor, after normalisation: its
# scale_factor is the one home of the LR scale (a x0.25 config changes only
# that number; a distiller whose student is this config reads it there).
_base_ = [
    '../_base_/models/fpn_r18.py', '../_base_/datasets/synthetic_defect.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_cpu_2k.py'
]
model = dict(
    type='rkd_mm.LREncoderDecoder',
    data_preprocessor=dict(
        type='rkd_mm.LRSegDataPreProcessor', scale_factor=0.5))
