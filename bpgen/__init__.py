"""bpgen: synthetic people in extreme poses, rendered with BlenderProc."""

__version__ = "0.1.0"
