"""Text frontend: normalization, segmentation and multi-speaker role tags."""
from .normalize import normalize  # noqa: F401
from .roles import RoleTagError, split_roles  # noqa: F401
from .segment import Segment, segment_text  # noqa: F401
