# LR-only re-ID baseline on Fashion-MNIST: the teacher's config with an LR
# data preprocessor (x0.5: 28 -> 14 px, area averaging, after
# normalisation), the one home of the LR scale.
_base_ = ['../teachers/resnet18-w32-bnneck_1xb64-1k_fmnist-reid-28px.py']
model = dict(
    data_preprocessor=dict(
        type='rkd_mm.LRClsDataPreProcessor', scale_factor=0.5))
