# Entry point: RKD into ONE student for x0.5 and x0.25 on Fashion-MNIST: the
# student is the multi-resolution LR-only config (a scale drawn per batch,
# validated at x0.25); the teacher sees HR, its @lr taps the drawn view.
_base_ = ['./rkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py']
model = dict(
    student=dict(
        cfg_path='{{fileDirname}}/../baselines/cls_fmnist_r18_lr_multires.py'))
