"""Video: reading frames with timestamps, writing browser-playable H.264 mp4 with the music."""
