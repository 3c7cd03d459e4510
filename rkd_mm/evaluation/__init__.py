"""Metrics the task libraries lack."""
from .auroc import AUROC, binary_auroc
from .classification_metric import ClassificationMetric
from .per_class_iou_metric import PerClassIoUMetric
from .reid_metric import (ReIDMetric, ReIDResult, eval_cmc_map,
                          pairwise_distances, valid_gallery_order)
from .verification_metric import (FaceVerificationMetric, TarAtFar,
                                  best_threshold, far_key,
                                  kfold_verification_accuracy,
                                  pair_similarities, tar_at_far)

__all__ = [
    'AUROC', 'binary_auroc', 'ClassificationMetric', 'PerClassIoUMetric',
    'ReIDMetric', 'ReIDResult', 'eval_cmc_map', 'pairwise_distances',
    'valid_gallery_order', 'FaceVerificationMetric',
    'TarAtFar', 'best_threshold', 'far_key', 'kfold_verification_accuracy',
    'pair_similarities', 'tar_at_far'
]
