from .feature_connectors import (ConnectorDict, ConvConnector,
                                 LinearConnector, UpsampleConnector)

__all__ = [
    'ConnectorDict', 'ConvConnector', 'LinearConnector', 'UpsampleConnector'
]
