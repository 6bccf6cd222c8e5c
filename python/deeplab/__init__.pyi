from ._deeplab import *  # noqa: F401,F403
from ._deeplab import with_gstreamer as with_gstreamer, MAX_IN_FLIGHT as MAX_IN_FLIGHT
