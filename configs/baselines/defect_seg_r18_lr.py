# The LR-only student for defect segmentation: ResNetV1c-18 + Semantic FPN
# (the teacher's decoder and losses, a smaller backbone) that sees each
# 128x128 image at x0.5 (64x64, area averaging) in training and testing and
# learns from, and is scored against, the HR masks: its logit grid is
# resized to the mask size in one bilinear step in the loss (mmseg) and in
# prediction (rkd_mm.LREncoderDecoder), so it is scored as it is trained.
#
# The data pipelines are HR (as the teacher's and the distiller's); the LR
# view is made by the data preprocessor after normalisation: its
# scale_factor is the one home of the LR scale (the x0.25 config changes
# only that number; a distiller whose student is this config reads it).
_base_ = [
    '../_base_/models/fpn_r50.py', '../_base_/datasets/synthetic_defect.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_cpu_2k.py'
]
model = dict(
    type='rkd_mm.LREncoderDecoder',
    data_preprocessor=dict(
        type='rkd_mm.LRSegDataPreProcessor', scale_factor=0.5),
    backbone=dict(depth=18),
    neck=dict(in_channels=[64, 128, 256, 512]))
