# ONE LR-only student for Fashion-MNIST at x0.5 AND x0.25: each training
# batch is seen at a scale drawn from the list (torch's seeded generator);
# validation, and so the best checkpoint, at x0.25 (the harder scale).
# Score it at every scale with
#   python tools/analysis_tools/resolution_sweep.py CONFIG CKPT --scales 0.5 0.25
_base_ = ['./cls_fmnist_r18_lr.py']
data_preprocessor = dict(scale_factor=[0.5, 0.25], test_scale_factor=0.25)
