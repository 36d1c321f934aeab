"""Rates and sizes shared by every stage. Derived values use exact division so that a frame rate
that does not divide the audio sample rate fails at import instead of drifting silently."""


def exact_div(x: int, y: int) -> int:
    if x % y != 0:
        raise ValueError(f"{x} is not divisible by {y}")
    return x // y


# Audio is decoded to mono at this rate. 24 kHz divides exactly into every common video frame
# rate (24, 25, 30, 50, 60 fps), so one video frame is a whole number of samples.
SAMPLE_RATE = 24_000
# The pose / video frame rate of generated dances (X-Dancer resamples its videos to 30 fps).
POSE_FPS = 30
SAMPLES_PER_FRAME = exact_div(SAMPLE_RATE, POSE_FPS)  # 800 samples = one pose frame

# X-Dancer crops videos around the person to 896 x 512 (H x W). Poses are normalised into a frame
# of this aspect for the motion model; the renderer works at the photo's own aspect.
CANVAS_HEIGHT = 896
CANVAS_WIDTH = 512

# Sampling temperature of the motion generator when none is asked for: of the temperatures 0.8-1.0
# tried with the default guidance on the validation dances, the one with the lowest Frechet distance
# to the real dances that also stays below the distance reached when the same model hears another
# song, and with the most variety of those (the bundled generator's model card has the numbers).
SAMPLING_TEMPERATURE = 0.95
