# LR-only baseline for ELPV on a GPU: ResNet-18 from scratch, the teacher's
# data and schedule, shown each 300x300 image at x0.5 (150x150) by its LR
# data preprocessor (the one home of the LR scale).
_base_ = ['../teachers/resnet50_1xb32-5k_elpv-300px.py']
model = dict(
    backbone=dict(depth=18),
    head=dict(in_channels=512),
    data_preprocessor=dict(
        type='rkd_mm.LRClsDataPreProcessor', scale_factor=0.5))
