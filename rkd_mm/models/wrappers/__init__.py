from .distiller_ddp import DistillerDistributedDataParallel

__all__ = ['DistillerDistributedDataParallel']
