"""Scene planning (numpy only): everything random about a scene is decided here, Blender only builds it."""
