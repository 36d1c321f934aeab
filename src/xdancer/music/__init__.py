"""Music: audio decoding, per-frame features on the pose frame grid, encoders, the demo groove."""
