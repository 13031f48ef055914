"""DICOM files written attribute by attribute from PS3.3, the way a vendor's writer does.

pydicom's Dataset/FileDataset API is only the byte encoder here: every attribute is named
by the standard (PS3.3 C.7.6.16 Multi-frame Functional Groups with the Pixel Measures,
Pixel Value Transformation, Plane Position (Patient) and Plane Orientation (Patient)
macros; C.7.6.2 Image Plane; C.11.1 Modality LUT; C.7.6.3 Image Pixel with Float/Double
Float Pixel Data), never produced by mpistd's reader.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"  # Enhanced MR Image Storage
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"  # Enhanced CT Image Storage
MR = "1.2.840.10008.5.1.4.1.1.4"  # MR Image Storage (classic)
PARAMETRIC_MAP = "1.2.840.10008.5.1.4.1.1.30"  # Parametric Map Storage (Float Pixel Data)
SC = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture


def item(**attrs):
    from pydicom.dataset import Dataset

    d = Dataset()
    for k, v in attrs.items():
        setattr(d, k, v)
    return d


def write(path: Path, pixels: np.ndarray, *, sop_class: str = MR, pixel: str = "int", shared: dict | None = None,
          per_frame: list[dict] | None = None, **top) -> Path:
    """pixels: (rows, cols) or (frames, rows, cols). ``pixel``: "int" (uint16 Pixel Data,
    or int16 when the values are negative), "float" (Float Pixel Data, 7FE0,0008) or
    "double" (Double Float Pixel Data, 7FE0,0009). ``shared``/``per_frame``: functional
    group macros as {"PixelMeasuresSequence": {...attributes}} (one item each)."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    px = np.asarray(pixels)
    frames = px.shape[0] if px.ndim == 3 else 1
    ds.Rows, ds.Columns = px.shape[-2], px.shape[-1]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    if frames > 1 or per_frame is not None:
        ds.NumberOfFrames = frames
    if pixel == "int":
        signed = px.min() < 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1 if signed else 0
        ds.PixelData = px.astype("<i2" if signed else "<u2").tobytes()
    elif pixel == "float":
        ds.BitsAllocated = 32  # C.7.6.24: Float Pixel Data has no BitsStored/HighBit/PixelRepresentation
        ds.FloatPixelData = px.astype("<f4").tobytes()
    else:
        ds.BitsAllocated = 64
        ds.DoubleFloatPixelData = px.astype("<f8").tobytes()
    if shared is not None:
        ds.SharedFunctionalGroupsSequence = [item(**{k: [item(**v)] for k, v in shared.items()})]
    if per_frame is not None:
        ds.PerFrameFunctionalGroupsSequence = [item(**{k: [item(**v)] for k, v in f.items()}) for f in per_frame]
    for k, v in top.items():
        setattr(ds, k, v)
    ds.save_as(path, enforce_file_format=True)
    return path


def lorentz_phantom(nz: int = 40, nx: int = 24, row: int = 20, col: int = 12, amplitude: float = 651.2,
                    gamma_px: float = 2.0) -> np.ndarray:
    """(z, x) zeros but row `row`: A/(1+((x−x₀)/γ)²), x₀ = `col`, γ in pixels.

    Closed form, for a threshold T below A/(1+((nx−1−x₀)/γ)²) (every pixel of the row above
    it, nothing else): maximum A; ROI = the nx pixels of the row; ROI sum Σ A/(1+u²);
    FWHM = 2γ × the x spacing (the fit of an exact Lorentzian is exact).
    """
    img = np.zeros((nz, nx))
    u = (np.arange(nx) - col) / gamma_px
    img[row] = amplitude / (1.0 + u * u)
    return img
