from ._deeplab import *  # noqa: F401,F403
