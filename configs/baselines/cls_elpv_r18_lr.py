# The LR-only student for ELPV on a GPU: ResNet-18 from scratch, the R50
# teacher's data (native 300x300) and schedule, shown each image at x0.5
# (150x150) by its LR data preprocessor (the one home of the LR scale).
_base_ = [
    '../_base_/models/resnet50_elpv.py', '../_base_/datasets/elpv.py',
    '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_gpu_elpv.py'
]
data_preprocessor = dict(type='rkd_mm.LRClsDataPreProcessor', scale_factor=0.5)
model = dict(backbone=dict(depth=18), head=dict(in_channels=512))
train_dataloader = dict(dataset=dict(pipeline={{_base_.native_train_pipeline}}))
val_dataloader = dict(dataset=dict(pipeline={{_base_.native_test_pipeline}}))
test_dataloader = dict(dataset=dict(pipeline={{_base_.native_test_pipeline}}))
