# LR-only baseline for ELPV: the HR teacher's config (ImageNet-pretrained
# MobileNetV2, stem + 3 stages frozen, 600 iterations) with an LR data
# preprocessor, which shows the network each 224x224 image at x0.25
# (56x56, area averaging) in training and testing, after normalisation. Its
# scale_factor is the one home of the LR scale. Same network and init as
# the teacher: the gap between them is the resolution's alone
# (docs/elpv_regime.md).
_base_ = ['../teachers/mobilenet-v2_in1k-pre_1xb32-600it_elpv-224px.py']
model = dict(
    data_preprocessor=dict(
        type='rkd_mm.LRClsDataPreProcessor', scale_factor=0.25))
