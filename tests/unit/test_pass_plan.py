"""Which scaled copies of an image the detector looks at (pure geometry)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from facesearch.vision import pass_plan
from facesearch.vision.aligner import alignment_matrix
from facesearch.vision.pass_plan import Placement

# thumbnails to 12 MP, square and not, portrait and landscape
IMAGE_SIZES = [(250, 250), (500, 375), (1024, 1024), (1920, 1080), (768, 1024), (4000, 3000), (112, 112),
               (2000, 2000)]


def test_the_smallest_face_is_rekognitions_40_px_in_1920_x_1080_and_scales_with_the_shorter_side() -> None:
    assert pass_plan.min_face_size(1920, 1080) == pytest.approx(40)
    assert pass_plan.min_face_size(1080, 1920) == pytest.approx(40)
    assert pass_plan.min_face_size(3840, 2160) == pytest.approx(80)
    assert pass_plan.min_face_size(1024, 1024) == pytest.approx(40 * 1024 / 1080)


def test_the_main_pass_puts_the_smallest_face_at_16_px_and_never_enlarges() -> None:
    assert pass_plan.main_scale(1920, 1080) == pytest.approx(16 / 40)
    assert pass_plan.main_scale(4000, 3000) == pytest.approx(16 / (40 * 3000 / 1080))
    assert pass_plan.main_scale(250, 250) == 1.0  # LFW-sized photos are seen at their own size
    assert pass_plan.main_scale(500, 375) == 1.0


def test_the_main_pass_of_a_panorama_is_capped() -> None:
    scale = pass_plan.main_scale(20000, 1000)
    assert 20000 * 1000 * scale**2 == pytest.approx(pass_plan.MAIN_MAX_PIXELS)


@pytest.mark.parametrize(("width", "height"), [*IMAGE_SIZES, (80, 3000)])
def test_passes_are_stride_aligned_and_hold_the_whole_image(width: int, height: int) -> None:
    for placement in pass_plan.plan_passes(width, height):
        canvas_w, canvas_h = placement.canvas
        assert canvas_w % 32 == 0 and canvas_h % 32 == 0
        assert placement.region == (0, 0, width, height)
        left, top = placement.offset
        assert left >= 0 and top >= 0
        assert left + placement.resized[0] <= canvas_w and top + placement.resized[1] <= canvas_h


@pytest.mark.parametrize(("width", "height"), [*IMAGE_SIZES, (800, 800), (640, 480)])
def test_every_face_size_from_the_minimum_to_the_whole_image_is_some_pass_s_job(
    width: int, height: int
) -> None:
    passes = pass_plan.plan_passes(width, height)
    smallest = pass_plan.min_face_size(width, height)
    for face in np.geomspace(smallest, max(width, height), 60):
        in_range = [p for p in passes if p.valid[0] <= face * p.scale[0] <= p.valid[1]]
        assert in_range, f"a {face:.0f} px face in a {width} x {height} image belongs to no pass"
        # and where it is that pass's job, the face is big enough to be found (or refined)
        assert max(face * p.scale[0] for p in in_range) >= min(face, pass_plan.MAIN_MIN_FACE_PX) - 1e-6


def test_a_frame_filling_face_is_shrunk_into_yunets_range() -> None:
    main, overview = pass_plan.plan_passes(800, 800)
    assert 800 * main.scale[0] > pass_plan.RELIABLE_MAX_PX  # too big for the main pass...
    assert pass_plan.RELIABLE_MIN_PX <= 800 * overview.scale[0] <= pass_plan.RELIABLE_MAX_PX  # ...not for this
    assert overview.valid[1] == math.inf and main.valid[1] == pass_plan.RELIABLE_MAX_PX


def test_small_images_get_one_pass() -> None:
    [only] = pass_plan.plan_passes(250, 250)
    assert only.scale == (1.0, 1.0) and only.valid == (0.0, math.inf)


def test_the_overview_has_a_mirrored_border_and_the_main_pass_repeats_its_edges() -> None:
    main, overview = pass_plan.plan_passes(1024, 1024)
    assert main.border == "edge" and overview.border == "mirror"
    assert min(main.offset) >= pass_plan.MAIN_BORDER_PX
    # the overview leaves room around the image for the rest of a big face the frame cuts
    assert min(overview.offset) >= pass_plan.OVERVIEW_BORDER * pass_plan.OVERVIEW_SIDE
    right = overview.canvas[0] - overview.offset[0] - overview.resized[0]
    assert right >= pass_plan.OVERVIEW_BORDER * pass_plan.OVERVIEW_SIDE


@pytest.mark.parametrize(("width", "height"), IMAGE_SIZES)
def test_the_border_passes_halve_the_main_scale_and_mirror_a_third_of_the_image_around(
    width: int, height: int
) -> None:
    main = pass_plan.plan_passes(width, height)[0]
    borders = pass_plan.border_passes(width, height, main)
    factors = [pass_plan.BORDER_FACTOR, 1.0] if main.scale[0] == 1.0 else [pass_plan.BORDER_FACTOR]
    assert [b.scale[0] for b in borders] == pytest.approx([f * main.scale[0] for f in factors], rel=0.02)
    for border in borders:
        assert border.border == "mirror" and border.valid == (0.0, math.inf)
        pad = pass_plan.BORDER_PAD * max(border.resized)
        (left, top), (cw, ch) = border.offset, border.canvas
        assert min(left, top, cw - left - border.resized[0], ch - top - border.resized[1]) >= pad - 1
        assert cw % pass_plan.STRIDE == 0 and ch % pass_plan.STRIDE == 0


def test_placement_maps_coordinates_both_ways() -> None:
    placement = Placement(region=(100, 50, 500, 350), resized=(200, 150), offset=(16, 8), canvas=(256, 192))
    assert placement.scale == (0.5, 0.5)
    corners = np.array([[100.0, 50.0, 500.0, 350.0]])
    np.testing.assert_allclose(placement.to_canvas(corners), [[16, 8, 216, 158]])
    points = np.array([[123.0, 77.0], [480.5, 300.25]]).reshape(1, 4)
    np.testing.assert_allclose(placement.to_original(placement.to_canvas(points)), points)
    landmarks = np.arange(10, dtype=np.float64).reshape(1, 10) + 200
    np.testing.assert_allclose(placement.to_original(placement.to_canvas(landmarks)), landmarks)


def test_a_refine_crop_shows_the_face_about_64_px_wide_and_centred() -> None:
    box = (400.0, 300.0, 600.0, 540.0)  # 200 x 240 face in a big photo
    placement = pass_plan.refine_placement(box, 2000, 1500)
    canvas_box = placement.to_canvas(np.array([box]))[0]
    assert canvas_box[3] - canvas_box[1] == pytest.approx(pass_plan.REFINE_FACE_PX, rel=0.02)
    centre = (canvas_box[:2] + canvas_box[2:]) / 2
    np.testing.assert_allclose(centre, np.array(placement.canvas) / 2, atol=16)


def test_a_refine_crop_never_enlarges_and_pads_where_the_image_ends() -> None:
    box = (0.0, 2.0, 30.0, 40.0)  # a small face in the corner
    placement = pass_plan.refine_placement(box, 500, 400)
    assert placement.scale == (1.0, 1.0)
    assert placement.region[:2] == (0, 0)
    left, top = placement.offset
    assert left > 0 and top > 0  # mirrored where the image would have continued
    assert placement.border == "mirror"
    assert left + placement.resized[0] <= placement.canvas[0]
    assert top + placement.resized[1] <= placement.canvas[1]
    canvas_box = placement.to_canvas(np.array([box]))[0]
    np.testing.assert_allclose((canvas_box[:2] + canvas_box[2:]) / 2, np.array(placement.canvas) / 2, atol=16)


def rolled_landmarks(degrees: float, scale: float, centre: tuple[float, float]) -> np.ndarray:
    upright = np.array([[-18.0, -10.0], [18.0, -10.0], [0.0, 8.0], [-14.0, 24.0], [14.0, 24.0]]) * scale
    angle = math.radians(degrees)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return upright @ rotation.T + centre


def test_the_upright_view_levels_the_eyes_and_centres_the_face() -> None:
    landmarks = rolled_landmarks(30, 5.0, (700, 400))  # a big face rolled 30 degrees
    forward, side = pass_plan.upright_transform(alignment_matrix(landmarks))
    seen = pass_plan.apply(forward, landmarks)
    eye_left, eye_right = seen[0], seen[1]
    assert abs(eye_right[1] - eye_left[1]) < 1e-6 * side + 0.5  # level
    assert eye_left[0] < eye_right[0]
    np.testing.assert_allclose(seen.mean(axis=0), side / 2, atol=side / 6)
    np.testing.assert_allclose(pass_plan.apply(np.linalg.inv(forward), seen), landmarks, atol=1e-9)


def test_the_upright_view_does_not_enlarge_small_faces() -> None:
    landmarks = rolled_landmarks(-20, 0.5, (60, 60))  # an 18 px eye distance
    forward, _ = pass_plan.upright_transform(alignment_matrix(landmarks))
    assert math.sqrt(abs(np.linalg.det(forward[:2, :2]))) <= 1.0 + 1e-9


def test_each_pass_answers_only_for_the_face_sizes_it_sees_well() -> None:
    placement = Placement((0, 0, 1000, 1000), (500, 500), (0, 0), (512, 512), valid=(24.0, 320.0))
    boxes = np.array([[0, 0, 10, 10], [100, 100, 200, 220], [0, 0, 400, 400]], np.float32)
    kept = pass_plan.in_original(placement, boxes, np.array([0.9, 0.9, 0.9], np.float32), np.zeros((3, 5, 2)))
    assert len(kept) == 1
    np.testing.assert_allclose(kept.boxes[0], [200, 200, 400, 440])
    assert kept.widths_in_pass.tolist() == [100.0]


def test_refinement_verifies_small_weak_candidates_first_and_stays_within_budget() -> None:
    scores = np.array([0.95, 0.60, 0.92, 0.75, 0.91, 0.55, 0.80])
    in_pass = np.array([100.0, 20.0, 18.0, 16.0, 20.0, 22.0, 60.0])
    widths = in_pass * 2.5  # the photo has 2.5x the pixels of the main pass
    plan = pass_plan.plan_refinement(in_pass, widths, scores, threshold=0.87, budget=3)
    assert plan.verify.tolist() == [3, 1, 5]  # weak and small, strongest first
    assert plan.sharpen.tolist() == []  # no budget left
    assert sorted(plan.keep.tolist()) == [0, 2, 4]  # confident faces are never dropped
    roomy = pass_plan.plan_refinement(in_pass, widths, scores, threshold=0.87, budget=10)
    assert roomy.sharpen.tolist() == [2, 4]  # confident but small in their pass
    assert sorted(roomy.keep.tolist()) == [0]


def test_a_weak_candidate_gets_no_second_chance_where_a_closer_look_shows_nothing_new() -> None:
    scores = np.array([0.848, 0.70])
    in_pass = np.array([80.0, 20.0])  # a dog's face at a size YuNet judges well; a small one...
    widths = np.array([200.0, 20.0])  # ...in a pass at full resolution already
    plan = pass_plan.plan_refinement(in_pass, widths, scores, threshold=0.87, budget=10)
    assert plan.verify.tolist() == [] and plan.keep.tolist() == []


def test_a_fine_pass_doubles_the_main_scale_when_that_is_possible() -> None:
    main = pass_plan.plan_passes(1920, 1080)[0]
    fine = pass_plan.fine_pass(1920, 1080, main)
    assert fine is not None and fine.scale[0] == pytest.approx(2 * main.scale[0], rel=0.01)
    assert fine.canvas[0] % 32 == 0 and fine.valid[1] == pass_plan.RELIABLE_MAX_PX
    big = pass_plan.fine_pass(8000, 6000, pass_plan.plan_passes(8000, 6000)[0])
    assert big is not None and big.resized[0] * big.resized[1] <= pass_plan.FINE_MAX_PIXELS * 1.01
    assert pass_plan.fine_pass(500, 375, pass_plan.plan_passes(500, 375)[0]) is None  # main is already 1:1


def test_only_faces_near_the_main_pass_s_lower_limit_ask_for_a_fine_pass() -> None:
    assert pass_plan.wants_fine_pass(np.array([150.0, 20.0]), np.array([0.95, 0.8]))
    assert not pass_plan.wants_fine_pass(np.array([150.0, 60.0]), np.array([0.95, 0.9]))
    assert not pass_plan.wants_fine_pass(np.array([20.0]), np.array([0.55]))  # too weak to mean anything
    assert not pass_plan.wants_fine_pass(np.empty(0), np.empty(0))


def test_a_centred_portrait_leaves_no_room_for_a_face_only_the_overview_could_find() -> None:
    main, overview = pass_plan.plan_passes(1024, 1024)
    smallest = overview.valid[0] / overview.scale[0]
    assert 1024 * main.scale[0] > pass_plan.RELIABLE_MAX_PX
    portrait = np.array([[350.0, 300.0, 680.0, 760.0]])  # a studio face in the middle
    assert not pass_plan.overview_needed(overview, portrait, 1024, 1024)
    beside = np.array([[20.0, 300.0, 120.0, 420.0]])  # a small face at the edge: room for a big one
    assert smallest < 1024 - 70
    assert pass_plan.overview_needed(overview, beside, 1024, 1024)
    assert pass_plan.overview_needed(overview, np.empty((0, 4)), 1024, 1024)  # nothing found: look
