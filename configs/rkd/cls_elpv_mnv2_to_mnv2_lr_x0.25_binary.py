# Entry point: RKD on ELPV at x0.25, binary mode (defective if p >= 0.5):
# the binary teacher and student configs and their data. Weights
# by the project's rule (tools/run_experiment.py CONFIG --target-ratio R).
_base_ = ['./rkd_mobilenet-v2-mobilenet-v2_1xb32-600it_elpv-lr56px.py']
model = dict(
    teacher=dict(
        cfg_path='{{fileDirname}}/../teachers/cls_elpv_mnv2_hr_binary.py'),
    student=dict(cfg_path='{{fileDirname}}/../baselines/'
                 'cls_elpv_mnv2_lr_x0.25_binary.py'),
    teacher_ckpt='work_dirs/cls_elpv_mnv2_hr_binary/best_macro_f1_iter_*.pth')
train_dataloader = dict(dataset=dict(label_mode='binary'))
val_dataloader = dict(dataset=dict(label_mode='binary'))
test_dataloader = dict(dataset=dict(label_mode='binary'))
