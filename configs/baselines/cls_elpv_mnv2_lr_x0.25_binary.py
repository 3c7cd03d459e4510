# Entry point: the LR-only student on ELPV at x0.25 (224 -> 56 px), binary
# mode (defective if p >= 0.5). The binary fields are those of
# configs/teachers/cls_elpv_mnv2_hr_binary.py.
_base_ = ['./mobilenet-v2_in1k-pre_1xb32-600it_elpv-lr56px.py']
model = dict(data_preprocessor=dict(num_classes=2), head=dict(num_classes=2))
train_dataloader = dict(dataset=dict(label_mode='binary'))
val_dataloader = dict(dataset=dict(label_mode='binary'))
test_dataloader = dict(dataset=dict(label_mode='binary'))
