# A config in the form written before 2026-12-07 (flat distiller
# fields; the student and teacher models inline): the tiny reid RKD
# config of that tree, for tests/test_apis/test_config_upgrade.py.
custom_hooks = [
    dict(type='rkd_mm.NumClassCheckHook'),
    dict(type='rkd_mm.RNGStateHook'),
    dict(type='rkd_mm.TeacherCacheHook'),
]
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'rkd_mm',
    ])
data_preprocessor = dict(
    mean=[
        72.94,
    ], num_classes=5, std=[
        90.02,
    ], to_rgb=False)
data_root = 'data/fmnist_reid/market1501'
dataset_type = 'rkd_mm.Market1501Dataset'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False,
        interval=250,
        max_keep_ckpts=2,
        rule='greater',
        save_best='mAP',
        type='CheckpointHook'),
    logger=dict(interval=50, log_metric_by_epoch=False, type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'),
    visualization=dict(enable=False, type='rkd_mm.RetrievalVisualizationHook'))
default_scope = 'mmpretrain'
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
load_from = None
log_level = 'INFO'
log_processor = dict(by_epoch=False)
model = dict(
    adv_loss=dict(
        gan_type='lsgan', loss_weight=0.1, type='rkd_mm.AdversarialLoss'),
    disc_tap='emb',
    discriminator=dict(
        hidden_channels=16, in_channels=64,
        type='rkd_mm.FeatureDiscriminator'),
    distill_losses=dict(
        loss_kd=dict(
            detail_weight=2.0,
            loss_weight=1.0,
            tau=1.0,
            type='rkd_mm.ResolutionAwareKDLoss'),
        loss_mmd=dict(loss_weight=1.0, normalize=True, type='rkd_mm.MMDLoss'),
        loss_pair=dict(loss_weight=1.0, type='rkd_mm.PairwiseSimilarityLoss')),
    distill_warmup_iters=100,
    loss_inputs=dict(
        loss_kd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'),
            preds_T_lr=dict(from_student=False, tap='logits', view='lr')),
        loss_mmd=dict(
            preds_S=dict(from_student=True, tap='emb'),
            preds_T=dict(from_student=False, tap='emb')),
        loss_pair=dict(
            preds_S=dict(from_student=True, tap='emb'),
            preds_T=dict(from_student=False, tap='emb'))),
    student=dict(
        backbone=dict(
            base_channels=8,
            depth=18,
            in_channels=1,
            num_stages=4,
            out_indices=(3, ),
            stem_channels=8,
            style='pytorch',
            type='ResNet_CIFAR'),
        data_preprocessor=dict(
            mean=[
                72.94,
            ],
            num_classes=5,
            scale_factor=0.25,
            std=[
                90.02,
            ],
            to_rgb=False,
            type='rkd_mm.LRClsDataPreProcessor'),
        head=dict(in_channels=64, num_classes=5, type='rkd_mm.BNNeckHead'),
        neck=dict(type='GlobalAveragePooling'),
        type='ImageClassifier'),
    student_taps=dict(emb='head.bnneck', logits='head.fc'),
    teacher=dict(
        backbone=dict(
            base_channels=8,
            depth=18,
            in_channels=1,
            num_stages=4,
            out_indices=(3, ),
            stem_channels=8,
            style='pytorch',
            type='ResNet_CIFAR'),
        data_preprocessor=dict(
            mean=[
                72.94,
            ], num_classes=5, std=[
                90.02,
            ], to_rgb=False),
        head=dict(in_channels=64, num_classes=5, type='rkd_mm.BNNeckHead'),
        neck=dict(type='GlobalAveragePooling'),
        type='ImageClassifier'),
    teacher_cache=None,
    teacher_ckpt=None,
    teacher_config=None,
    teacher_taps=dict(emb='head.bnneck', logits='head.fc'),
    type='rkd_mm.ResolutionAwareDistiller')
model_wrapper_cfg = dict(
    broadcast_buffers=False,
    find_unused_parameters=False,
    type='MMSeparateDistributedDataParallel')
optim_wrapper = dict(
    constructor='rkd_mm.MultiOptimWrapperConstructor',
    discriminator=dict(
        optimizer=dict(betas=(
            0.5,
            0.999,
        ), lr=0.0002, type='Adam'),
        type='OptimWrapper'),
    student=dict(
        clip_grad=dict(max_norm=10.0),
        optimizer=dict(
            betas=(
                0.9,
                0.999,
            ),
            fused=True,
            lr=0.002,
            type='AdamW',
            weight_decay=0.0001),
        type='OptimWrapper'))
optimizer = dict(
    betas=(
        0.9,
        0.999,
    ),
    fused=True,
    lr=0.002,
    type='AdamW',
    weight_decay=0.0001)
param_scheduler = dict(
    discriminator=[
        dict(begin=0, by_epoch=False, end=1, factor=1.0, type='ConstantLR'),
    ],
    student=[
        dict(
            begin=0,
            by_epoch=False,
            end=50,
            start_factor=0.01,
            type='LinearLR'),
        dict(
            begin=50,
            by_epoch=False,
            end=1000,
            eta_min=1e-05,
            type='CosineAnnealingLR'),
    ])
randomness = dict(deterministic=False, seed=0)
resume = False
taps = dict(emb='head.bnneck', logits='head.fc')
test_cfg = dict(type='rkd_mm.DistillTestLoop')
test_dataloader = dict(
    batch_size=256,
    dataset=dict(
        data_root='data/fmnist_reid/market1501',
        pipeline=[
            dict(color_type='grayscale', type='LoadImageFromFile'),
            dict(
                algorithm_keys=(
                    'pid',
                    'camid',
                    'is_query',
                ),
                type='PackInputs'),
        ],
        split='test',
        type='rkd_mm.Market1501Dataset'),
    num_workers=0,
    persistent_workers=False,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = dict(dist='cosine', type='rkd_mm.ReIDMetric')
test_pipeline = [
    dict(color_type='grayscale', type='LoadImageFromFile'),
    dict(algorithm_keys=(
        'pid',
        'camid',
        'is_query',
    ), type='PackInputs'),
]
train_cfg = dict(max_iters=1000, type='IterBasedTrainLoop', val_interval=250)
train_dataloader = dict(
    batch_sampler=dict(num_instances=16, type='rkd_mm.PKBatchSampler'),
    batch_size=64,
    dataset=dict(
        data_root='data/fmnist_reid/market1501',
        pipeline=[
            dict(color_type='grayscale', type='LoadImageFromFile'),
            dict(direction='horizontal', prob=0.5, type='RandomFlip'),
            dict(type='PackInputs'),
        ],
        split='train',
        type='rkd_mm.Market1501Dataset'),
    num_workers=0,
    persistent_workers=False,
    sampler=dict(shuffle=True, type='InfiniteSampler'))
train_pipeline = [
    dict(color_type='grayscale', type='LoadImageFromFile'),
    dict(direction='horizontal', prob=0.5, type='RandomFlip'),
    dict(type='PackInputs'),
]
val_cfg = dict(type='rkd_mm.DistillValLoop')
val_dataloader = dict(
    batch_size=256,
    dataset=dict(
        data_root='data/fmnist_reid/market1501',
        gallery_dir='bounding_box_val',
        pipeline=[
            dict(color_type='grayscale', type='LoadImageFromFile'),
            dict(
                algorithm_keys=(
                    'pid',
                    'camid',
                    'is_query',
                ),
                type='PackInputs'),
        ],
        query_dir='val_query',
        split='test',
        type='rkd_mm.Market1501Dataset'),
    num_workers=0,
    persistent_workers=False,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(dist='cosine', type='rkd_mm.ReIDMetric')
vis_backends = [
    dict(type='LocalVisBackend'),
]
visualizer = dict(
    type='UniversalVisualizer', vis_backends=[
        dict(type='LocalVisBackend'),
    ])
