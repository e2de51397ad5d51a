"""lifecircle: walking access to public services against China's urbanization targets."""

__version__ = "0.1.0"
