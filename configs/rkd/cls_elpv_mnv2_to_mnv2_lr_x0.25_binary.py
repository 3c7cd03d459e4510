# RKD on ELPV at x0.25, binary mode (defective if p >= 0.5): the binary
# teacher and student configs and their data.
_base_ = ['./cls_elpv_mnv2_to_mnv2_lr.py']
model = dict(
    teacher=dict(
        cfg_path='{{fileDirname}}/../teachers/cls_elpv_mnv2_hr_binary.py'),
    student=dict(cfg_path='{{fileDirname}}/../baselines/'
                 'cls_elpv_mnv2_lr_x0.25_binary.py'),
    teacher_ckpt='work_dirs/cls_elpv_mnv2_hr_binary/best_macro_f1_iter_*.pth')
train_dataloader = dict(dataset=dict(label_mode='binary'))
val_dataloader = dict(dataset=dict(label_mode='binary'))
test_dataloader = dict(dataset=dict(label_mode='binary'))
