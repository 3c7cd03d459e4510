# The HR teacher for defect segmentation: ResNetV1c-50 + Semantic FPN on the
# built-in 128x128 defect data, trained from scratch on a 2-core CPU (2,000
# iterations of 8, 21-47 min by CPU kind). The RKD configs find its newest
# best checkpoint in work_dirs/defect_seg_r50_hr/.
_base_ = [
    '../_base_/models/fpn_r50.py', '../_base_/datasets/synthetic_defect.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_cpu_2k.py'
]
