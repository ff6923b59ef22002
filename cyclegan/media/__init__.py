"""Video stylisation: PyAV decoding/encoding with audio copy and a flicker measure (video.py), and the
per-method frame stylisers for CycleGAN, fast NST and Gatys (stylizers.py); stereo pairs (stereo.py) and clips
of known motion made from still photos (clips.py) are imported from their modules."""
from .stylizers import cyclegan_frames, fast_nst_frames, gatys_frames
from .video import FORMATS, Flicker, VideoError, frame_size, open_video, stylize_video

__all__ = ["FORMATS", "Flicker", "VideoError", "frame_size", "open_video", "stylize_video", "cyclegan_frames",
           "fast_nst_frames", "gatys_frames"]
