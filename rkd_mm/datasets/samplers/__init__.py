from .pk_batch_sampler import PKBatchSampler, identity_labels

__all__ = ['PKBatchSampler', 'identity_labels']
