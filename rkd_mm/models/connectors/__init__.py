from .feature_connectors import ConnectorDict, ConvConnector, LinearConnector

__all__ = ['ConnectorDict', 'ConvConnector', 'LinearConnector']
