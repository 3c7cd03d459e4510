# ResNetV1c-18 + Semantic FPN: the LR student. Same decoder and losses as
# the R50 teacher (fpn_r50.py); only the backbone depth and widths differ.
_base_ = ['./fpn_r50.py']
model = dict(
    backbone=dict(depth=18),
    neck=dict(in_channels=[64, 128, 256, 512]))
