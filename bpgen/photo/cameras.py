"""Camera classes that exist: phones' main, wide and tele cameras, mirrorless/DSLR bodies with common lenses,
action and CCTV cameras (plain data). A frame draws one class by ``photo.camera_mix``; the class gives the field
of view, sensor, aperture, ISO, sensor noise, JPEG quality and sharpening of the frame. Labels never depend on it.

Numbers (typical of current models, rounded; sources: manufacturers' spec sheets as summarised by GSMArena and
DPReview, and sensor measurements of photonstophotos.net / sensorgen.info):
- phone main: 1/1.3"-1/2.55" sensors (9.8-5.6 mm wide), 24-28 mm equivalent lenses (63-72 degrees horizontal on
  4:3), f/1.5-1.9 (f/7-10 full-frame equivalent), 12 MP output, ~1.2 um pixels holding ~6000 e-, read noise
  ~2 e-, ISO 50-3200; JPEG quality ~90 with strong sharpening.
- phone ultra-wide: 1/3"-1/2.55" (5-5.6 mm), 13-16 mm equivalent (95-110 degrees), f/2.2-2.4.
- phone tele: 1/3.5"-1/2" (4-6.4 mm), 70-120 mm equivalent (17-28 degrees), f/2.8.
- mirrorless / DSLR: full frame (36 mm) or APS-C (23.5 mm), primes and zooms of 24-105 mm equivalent
  (20-74 degrees), f/1.8-5.6, 24 MP, ~50000 e- full well, ~3 e- read noise, ISO 100-6400, JPEG 90-97, mild
  sharpening.
- action / CCTV: 1/2.3"-1/2.8" (6.2-5.4 mm), 90-120 degrees (after distortion correction), f/2.0-2.8, 8 MP,
  ~4000 e-, ISO 100-6400; JPEG 70-88; often mounted high.
Depth of field follows from sensor width, focal length (from the field of view), aperture and focus distance
(``bpgen.photo.develop.circle_of_confusion``); noise from the full well and read noise summed over the sensor
pixels that make one output pixel, at the drawn ISO (``bpgen.photo.develop.apply_sensor_noise``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bpgen.validate import FloatRange, IntRange


@dataclass(frozen=True)
class CameraClass:
    name: str
    sensor_width_mm: FloatRange  # the sensor's long side
    fov_deg: FloatRange  # horizontal field of view of its lenses
    f_number: FloatRange  # the real aperture (not full-frame equivalent)
    iso: FloatRange  # drawn log-uniformly
    base_iso: float  # ISO at unit gain
    megapixels: float
    full_well_e: float  # electrons a sensor pixel holds at base ISO
    read_noise_e: float  # electrons, per sensor pixel
    jpeg_quality: IntRange
    sharpening: FloatRange  # unsharp-mask amount of the camera's JPEG engine
    elevated_share: float = 0.0  # share of frames taken from above head height (mounted cameras)


CAMERA_CLASSES: dict[str, CameraClass] = {
    c.name: c
    for c in (
        CameraClass(
            "phone_main",
            (5.6, 9.8),
            (63.0, 72.0),
            (1.5, 1.9),
            (50.0, 3200.0),
            50.0,
            12.0,
            6000.0,
            2.0,
            (85, 95),
            (0.5, 1.0),
        ),
        CameraClass(
            "phone_wide",
            (5.0, 5.6),
            (95.0, 110.0),
            (2.2, 2.4),
            (50.0, 3200.0),
            50.0,
            12.0,
            4500.0,
            2.5,
            (85, 95),
            (0.5, 1.0),
        ),
        CameraClass(
            "phone_tele",
            (4.0, 6.4),
            (17.0, 28.0),
            (2.8, 2.8),
            (50.0, 3200.0),
            50.0,
            12.0,
            4500.0,
            2.5,
            (85, 95),
            (0.5, 1.0),
        ),
        CameraClass(
            "mirrorless",
            (23.5, 36.0),
            (20.0, 74.0),
            (1.8, 5.6),
            (100.0, 6400.0),
            100.0,
            24.0,
            50000.0,
            3.0,
            (90, 97),
            (0.2, 0.5),
        ),
        CameraClass(
            "action_cctv",
            (5.4, 6.2),
            (90.0, 120.0),
            (2.0, 2.8),
            (100.0, 6400.0),
            100.0,
            8.0,
            4000.0,
            3.0,
            (70, 88),
            (0.3, 0.8),
            elevated_share=0.5,
        ),
    )
}
