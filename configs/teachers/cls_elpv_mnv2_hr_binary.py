# The HR teacher for ELPV in binary mode (defective if the experts' defect
# probability is >= 0.5: 1/3 -> functional, 2/3 -> defective). Only the
# label mode and the class count change; with two classes
# rkd_mm.ClassificationMetric adds the AUROC of the defective score, which
# does not depend on a decision threshold.
_base_ = ['./cls_elpv_mnv2_hr.py']
model = dict(data_preprocessor=dict(num_classes=2), head=dict(num_classes=2))
train_dataloader = dict(dataset=dict(label_mode='binary'))
val_dataloader = dict(dataset=dict(label_mode='binary'))
test_dataloader = dict(dataset=dict(label_mode='binary'))
