# The LR-only student for ELPV at x0.25 (224 -> 56 px), binary mode
# (defective if p >= 0.5): the binary fields of
# configs/teachers/cls_elpv_mnv2_hr_binary.py.
_base_ = ['./cls_elpv_mnv2_lr.py']
data_preprocessor = dict(scale_factor=0.25, num_classes=2)
model = dict(head=dict(num_classes=2))
train_dataloader = dict(dataset=dict(label_mode='binary'))
val_dataloader = dict(dataset=dict(label_mode='binary'))
test_dataloader = dict(dataset=dict(label_mode='binary'))
