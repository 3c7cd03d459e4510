# Dense CRKD with MMD (weights 1) at x0.25 with a teacher assistant: the
# trained x0.5 dense-CRKD student (R18-FPN, sees the x0.5 view) teaches the
# x0.25 student instead of the R50 HR teacher. Train the x0.5 run first:
#   python tools/train.py \
#       configs/rkd/ablations/defect_seg_r50_to_r18_dense-crkd_lr.py
# Its distiller checkpoint is read as the teacher (its student part).
_base_ = [
    '../defect_seg_r50_to_r18_lr.py', '../../_base_/recipes/crkd_dense.py'
]
model = dict(
    student=dict(data_preprocessor=dict(scale_factor=0.25)),
    teacher=dict(
        cfg_path='{{fileDirname}}/../../baselines/defect_seg_r18_lr.py'),
    teacher_config='{{fileDirname}}/defect_seg_r50_to_r18_dense-crkd_lr.py',
    teacher_ckpt='work_dirs/defect_seg_r50_to_r18_dense-crkd_lr/'
    'best_mIoU_iter_*.pth',
    distiller={{_base_.crkd_dense_mmd_ta}})
