# Runtime shared by rkd_mm's classification configs (mmpretrain conventions;
# the segmentation configs use default_runtime.py).
default_scope = 'mmpretrain'
# Importing rkd_mm registers its components and applies the environment
# shims of rkd_mm/utils/compat.py before anything else is built.
custom_imports = dict(imports=['rkd_mm'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # On a machine without CUDA rkd_mm's shim uses gloo whatever this says.
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='UniversalVisualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
# NumClassCheckHook stops a run whose head disagrees with the data set on
# num_classes; RNGStateHook makes resumed runs repeat uninterrupted ones
# exactly (RNG states in checkpoints).
custom_hooks = [
    dict(type='rkd_mm.NumClassCheckHook'),
    dict(type='rkd_mm.RNGStateHook'),
]
# Seeded, so that methods are compared on equal terms; other seeds with
# --cfg-options randomness.seed=N.
randomness = dict(seed=0, deterministic=False)
