"""Choosing the person to animate: largest and most central wins; boxes stay inside the picture."""

from __future__ import annotations

import math

import pytest

from xdancer.pose.people import PersonBox, _body_from_face, _choice_score, crop_box

W, H = 1000, 800


def test_larger_and_more_central_scores_higher():
    centre = PersonBox(400, 200, 600, 700, "segmentation")
    edge = PersonBox(0, 200, 200, 700, "segmentation")  # same size, at the left edge
    small = PersonBox(450, 300, 550, 550, "segmentation")  # central but a quarter the area
    assert _choice_score(centre, W, H) > _choice_score(edge, W, H)
    assert _choice_score(centre, W, H) > _choice_score(small, W, H)
    # Area fraction 0.125; centre (500, 450) is 50 px from the picture's centre, half diagonal 640.3.
    assert _choice_score(centre, W, H) == pytest.approx(0.125 * (1 - 0.5 * 50 / math.hypot(500, 400)))


def test_crop_box_grows_by_the_margin_and_is_clipped():
    p = PersonBox(100, 100, 300, 500, "segmentation")
    assert crop_box(p, W, H, margin=0.1) == (80, 60, 320, 540)
    assert crop_box(PersonBox(-5, 700, 990, 790, "face"), W, H, margin=0.5) == (0, 655, W, H)


def test_body_box_from_a_face_reaches_down_and_stays_inside():
    face = PersonBox(480, 100, 520, 150, "face")  # 50 px tall face
    body = _body_from_face(face, W, H)
    assert body.y0 == pytest.approx(75) and body.y1 == pytest.approx(500)
    assert body.x0 == pytest.approx(375) and body.x1 == pytest.approx(625)
    low = _body_from_face(PersonBox(10, 700, 60, 760, "face"), W, H)
    assert low.x0 == 0 and low.y1 == H
