# HR teacher: ResNetV1c-50 + Semantic FPN on the built-in 128x128 defect data,
# trained from scratch on CPU (2,000 iterations, about 45 min on 2 cores).
_base_ = [
    '../_base_/models/fpn_r50.py', '../_base_/datasets/synthetic_defect.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_cpu_2k.py'
]
