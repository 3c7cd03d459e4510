# The LR-only student for ELPV: the HR teacher's network and init
# (ImageNet-pretrained MobileNetV2, stem + 3 stages frozen), data and
# schedule with an LR data preprocessor, which shows the network each
# 224x224 image at x0.5 (112x112, area averaging) in training and testing,
# after normalisation; its scale_factor is the one home of the LR scale.
# Same network and init as the teacher: the gap between them is the
# resolution's alone (docs/elpv_regime.md). Converting the ImageNet
# weights: configs/teachers/cls_elpv_mnv2_hr.py.
_base_ = [
    '../_base_/models/mobilenetv2_elpv.py', '../_base_/datasets/elpv.py',
    '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_cpu_elpv.py'
]
data_preprocessor = dict(type='rkd_mm.LRClsDataPreProcessor', scale_factor=0.5)
model = dict(
    backbone=dict(
        frozen_stages=3,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/mobilenet_v2_imagenet_mmpretrain.pth',
            prefix='backbone')))
