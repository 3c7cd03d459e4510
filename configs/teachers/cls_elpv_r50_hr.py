# The HR teacher for ELPV on a GPU: ResNet-50 from scratch at the native
# 300x300 (the cracks and finger interruptions are 1-3 px wide there),
# 5,000 iterations of 32. The GPU counterpart of the CPU regime
# (cls_elpv_mnv2_hr.py: ImageNet-pretrained MobileNetV2 at 224x224); not
# measured here (docs/elpv_regime.md).
_base_ = [
    '../_base_/models/resnet50_elpv.py', '../_base_/datasets/elpv.py',
    '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_gpu_elpv.py'
]
model = dict(data_preprocessor={{_base_.data_preprocessor}})
train_dataloader = dict(dataset=dict(pipeline={{_base_.native_train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.native_test_pipeline}}))
test_dataloader = dict(dataset=dict(pipeline={{_base_.native_test_pipeline}}))
