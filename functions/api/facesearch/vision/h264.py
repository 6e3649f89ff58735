"""Just enough of H.264's sequence parameter set to read its VUI video_full_range_flag: VideoMetadata's
ColorRange when the container has no `colr` box (H.264's default, and the answer when anything is odd, is
limited range)."""

from __future__ import annotations

import struct


def avcc_full_range(avcc: bytes) -> bool:
    """video_full_range_flag from the first SPS's VUI; False whenever anything is missing or odd."""
    try:
        if len(avcc) < 8 or avcc[5] & 0x1F == 0:
            return False
        sps_len = struct.unpack(">H", avcc[6:8])[0]
        return _sps_full_range(avcc[8:8 + sps_len])
    except (IndexError, struct.error, ValueError):
        return False


class _Bits:
    """An H.264 RBSP bit reader (emulation-prevention bytes already removed)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3]
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad exp-Golomb code")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k % 2 else -(k // 2)


def _rbsp(nal: bytes) -> bytes:
    """The NAL unit's payload without its header byte and with 00 00 03 emulation prevention undone."""
    rbsp = bytearray()
    zeros = 0
    for byte in nal[1:]:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        rbsp.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(rbsp)


_HIGH_PROFILES = (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135)


def _skip_chroma_and_scaling(r: _Bits) -> None:
    chroma_format_idc = r.ue()
    if chroma_format_idc == 3:
        r.u(1)  # separate_colour_plane_flag
    r.ue(), r.ue(), r.u(1)  # bit depths, qpprime_y_zero_transform_bypass
    if not r.u(1):  # seq_scaling_matrix_present_flag
        return
    for i in range(12 if chroma_format_idc == 3 else 8):
        if r.u(1):
            last = nxt = 8
            for _ in range(16 if i < 6 else 64):
                if nxt:
                    nxt = (last + r.se() + 256) % 256
                last = nxt or last


def _skip_frame_layout(r: _Bits) -> None:
    r.ue()  # log2_max_frame_num_minus4
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.u(1), r.se(), r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue(), r.u(1), r.ue(), r.ue()  # max_num_ref_frames, gaps, width/height in macroblocks
    if not r.u(1):  # frame_mbs_only_flag
        r.u(1)
    r.u(1)  # direct_8x8_inference
    if r.u(1):  # frame_cropping
        r.ue(), r.ue(), r.ue(), r.ue()


def _sps_full_range(nal: bytes) -> bool:
    r = _Bits(_rbsp(nal))
    profile = r.u(8)
    r.u(16)  # constraint flags, level
    r.ue()  # seq_parameter_set_id
    if profile in _HIGH_PROFILES:
        _skip_chroma_and_scaling(r)
    _skip_frame_layout(r)
    if not r.u(1):  # vui_parameters_present_flag
        return False
    if r.u(1) and r.u(8) == 255:  # aspect_ratio_info_present, aspect_ratio_idc == Extended_SAR
        r.u(32)
    if r.u(1):  # overscan_info_present
        r.u(1)
    if not r.u(1):  # video_signal_type_present_flag
        return False
    r.u(3)  # video_format
    return r.u(1) == 1
